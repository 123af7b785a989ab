#pragma once
// One room: its name, topic, members, and who its events go to.

#include "server/event.hpp"
#include "server/participant.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace chat {

/// Shared, immutable recipient lists: a room's is built once per change of
/// membership and reused by every event until the next change.
using Recipients = std::shared_ptr<const std::vector<ParticipantPtr>>;

/// One of a room's latest stored events, as sent live.
struct RecentEvent {
    std::uint64_t id = 0;
    bool isMessage = false;  ///< a message (counts as unread), not a topic change
    EventPtr event;
};

/// Not thread-safe: the Hub keeps every Room under its own mutex. A room's
/// events are numbered and queued in the same step that takes the room's
/// recipients (Hub::publishLocked), so every member receives one room's
/// events in increasing id order.
class Room {
public:
    /// The announced sessions of one member, by user key.
    using SessionsOf = std::function<const std::vector<ParticipantPtr>&(const std::string& userKey)>;

    Room(std::string name, bool permanent) : name_(std::move(name)), permanent_(permanent) {}

    /// The name as first spelled; events always use this spelling.
    const std::string& name() const { return name_; }
    const std::string& topic() const { return topic_; }
    void setTopic(std::string topic) { topic_ = std::move(topic); }
    /// Permanent rooms (the default room, --room) exist even when empty.
    bool permanent() const { return permanent_; }

    /// Members by user key, in case-insensitive order.
    const std::set<std::string>& members() const { return members_; }
    bool has(const std::string& userKey) const { return members_.count(userKey) != 0; }
    void add(const std::string& userKey);
    void remove(const std::string& userKey);
    void rename(const std::string& oldKey, const std::string& newKey);
    /// Forgets the cached recipients (a member's sessions changed).
    void sessionsChanged() { recipients_.reset(); }

    /// The members' announced sessions, rebuilt after any change.
    Recipients recipients(const SessionsOf& sessionsOf) const;

    /// The id of the room's latest event; 0 before the first.
    std::uint64_t lastEventId() const { return lastEventId_; }
    void recordEvent(std::uint64_t id) { lastEventId_ = id; }

    /// Keeps a stored event among the room's latest `keep` (for backlogs)
    /// and counts it when it is a message.
    void remember(RecentEvent event, std::size_t keep);
    /// The latest stored events, oldest first.
    const std::deque<RecentEvent>& recent() const { return recent_; }
    /// Messages stored in this room so far, a running count that survives
    /// restarts (read marks compare against it).
    std::uint64_t messages() const { return messages_; }
    void setMessages(std::uint64_t count) { messages_ = count; }
    /// A room with stored events outlives its last member (its history can
    /// still be joined and read); only a room without any is dropped when empty.
    bool remembered() const { return remembered_; }
    void setRemembered() { remembered_ = true; }

private:
    std::string name_;
    std::string topic_;
    bool permanent_;
    std::set<std::string> members_;
    mutable Recipients recipients_;  // null when stale
    std::uint64_t lastEventId_ = 0;
    std::deque<RecentEvent> recent_;
    std::uint64_t messages_ = 0;
    bool remembered_ = false;
};

}  // namespace chat

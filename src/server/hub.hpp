#pragma once
// The hub: presence, rooms and routing for every connection of one server.
// It never touches a socket; it hands encoded frames to Participants.

#include "server/participant.hpp"
#include "shared/token_bucket.hpp"
#include "shared/protocol.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace chat {

struct HubConfig {
    std::string serverName = "chat";
    std::string motd;
    std::size_t maxClients = 1000;        ///< connections, joined or not
    std::size_t maxTextBytes = 4096;
    std::string defaultRoom = "#lobby";   ///< every user starts here; always exists
    std::vector<std::string> permanentRooms;  ///< exist even when empty
    std::size_t maxRoomsPerUser = 50;
    std::size_t maxPerIp = 16;            ///< connections from one address
    double ratePerSecond = 5;             ///< messages per user, sustained
    double rateBurst = 20;                ///< messages per user, at once
};

/// The answer to an operation that may be refused with a protocol error.
struct HubResult {
    std::optional<ErrorCode> error;
    std::string errorText;
    std::uint64_t messageId = 0;  ///< the event's id when one was sent
    std::string away;             ///< for a DM: the target's away message, if any
    std::int64_t retryAfterMs = 0;  ///< for RateLimited: when the next message will pass
    explicit operator bool() const { return !error; }
};

struct RoomSummary {
    std::string name;
    std::string topic;
    std::size_t members = 0;
};

struct RoomDetails {
    std::string name;
    std::string topic;
    std::vector<std::string> members;  ///< display names, sorted
};

struct UserSummary {
    std::string name;
    std::string away;  ///< empty when not away
};

struct WhoisDetails {
    std::string name;
    std::vector<std::string> rooms;
    std::int64_t sinceMillis = 0;  ///< when the user's first current session connected
    std::int64_t idleMillis = 0;   ///< since the user last sent a message
    std::string away;
};

/// Thread-safe: every public method may be called from any session thread.
/// One mutex guards all state; frames are encoded once per event and
/// delivered after the lock is released, so a slow recipient never holds up
/// the hub or other senders.
class Hub {
public:
    /// Hands one frame to every recipient of an event. The default calls
    /// deliver() on each; the server passes its flusher's post(), which
    /// queues the frame on a whole room under one lock.
    using FanOut = std::function<void(const std::vector<ParticipantPtr>& to, const SharedFrame& frame)>;

    explicit Hub(HubConfig config, FanOut fanOut = {});

    const HubConfig& config() const { return config_; }

    /// Registers a new connection from address `ip`. Returns nullopt when
    /// accepted, otherwise why not: ServerFull (maxClients attached),
    /// TooManyConnections (maxPerIp from `ip`) or ShuttingDown.
    std::optional<ErrorCode> attach(const ParticipantPtr& connection, const std::string& ip = "");

    /// Forgets a connection. When it was its user's last announced session
    /// the user leaves every room, and each room is told "left" with `reason`.
    void detach(const ParticipantPtr& connection, const std::string& reason);

    /// Gives an attached connection its user (names are case-insensitive; a
    /// user may hold several connections). With `announce`, the user is in
    /// presence and, on their first announced session, joins the default
    /// room, whose other members are told "joined". Without it (one-shot
    /// senders) the session is invisible and in no room.
    HubResult join(const ParticipantPtr& connection, const std::string& name, bool announce,
                   std::string& displayName);

    /// Joins a room, creating it when needed; `details` describes it.
    HubResult joinRoom(const ParticipantPtr& connection, const std::string& room, RoomDetails& details);

    /// Leaves a room. Leaving one's last room puts one back in the default
    /// room (`nowIn` names it); leaving the default room when it is the last
    /// one is refused.
    HubResult leaveRoom(const ParticipantPtr& connection, const std::string& room, std::string& nowIn);

    /// Sets (or, when empty, clears) a room's topic, members only, and tells the room.
    HubResult setTopic(const ParticipantPtr& connection, const std::string& room, const std::string& topic);

    HubResult roomDetails(const std::string& room, RoomDetails& details) const;
    std::vector<RoomSummary> rooms() const;

    /// Sends to a room, subject to the user's rate limit (RateLimited, with
    /// retryAfterMs). Announced users must be members; a one-shot sender
    /// may post to any existing room. `action` marks a /me.
    HubResult sendToRoom(const ParticipantPtr& from, const std::string& room, const std::string& text,
                         bool action = false);

    /// Sends to every session of user `to` and of the sender.
    HubResult sendDirect(const ParticipantPtr& from, const std::string& to, const std::string& text,
                         bool action = false);

    /// Renames the connection's user everywhere; refused if another user
    /// has the name. Everyone sharing a room with the user is told.
    HubResult rename(const ParticipantPtr& connection, const std::string& newName, std::string& displayName);

    /// Sets (non-empty) or clears (empty) the user's away message.
    HubResult setAway(const ParticipantPtr& connection, const std::string& message);

    /// Online users, or the members of `room`, sorted case-insensitively.
    HubResult who(const std::optional<std::string>& room, std::vector<UserSummary>& users) const;
    HubResult whois(const std::string& name, WhoisDetails& details) const;

    /// Display names of users with an announced session, sorted.
    std::vector<std::string> online() const;
    /// Rooms the connection's user is in, sorted.
    std::vector<std::string> roomsOf(const ParticipantPtr& connection) const;

    std::size_t connectionCount() const;

    /// Sends every connection a `shutdown` notice and asks it to close;
    /// later attach() calls fail.
    void shutdown(const std::string& notice);

    /// Waits until no connection is attached or the deadline passes.
    bool waitUntilEmpty(std::chrono::steady_clock::time_point deadline) const;

private:
    struct Connection {
        ParticipantPtr participant;
        std::string userKey;  // empty until join()
        bool announce = false;
        std::string ip;
    };
    struct User {
        std::string displayName;
        std::vector<ParticipantPtr> sessions;       // announced: receive room traffic
        std::vector<ParticipantPtr> quietSessions;  // one-shot senders: DMs only
        std::set<std::string> rooms;                // room keys
        std::int64_t sinceMillis = 0;
        std::int64_t lastActiveMillis = 0;
        std::string away;
        std::optional<TokenBucket> bucket;  // the user's message rate limit
    };
    /// Shared, immutable recipient lists: a room's is built once per change
    /// of membership and reused by every message until the next change.
    using Recipients = std::shared_ptr<const std::vector<ParticipantPtr>>;
    struct Room {
        std::string name;
        std::string topic;
        std::set<std::string> members;  // user keys
        bool permanent = false;
        mutable Recipients sessions;    // members' announced sessions; null when stale
    };
    /// One event for a list of recipients, built under the lock, delivered after.
    struct Outgoing {
        Recipients to;
        Poco::JSON::Object::Ptr event;
    };

    HubResult checkText(const std::string& text) const;
    static std::optional<HubResult> rateLimitedLocked(User& user);
    std::uint64_t nextMessageId() { return ++lastMessageId_; }
    const User* senderLocked(const ParticipantPtr& connection) const;
    User* senderLocked(const ParticipantPtr& connection);
    void addMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& roomName,
                         const ParticipantPtr& except, std::vector<Outgoing>& out);
    void removeMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& reason,
                            std::vector<Outgoing>& out);
    Recipients roomSessionsLocked(const Room& room) const;
    void invalidateRoomsLocked(const User& user);
    RoomDetails detailsLocked(const Room& room) const;
    std::vector<std::string> onlineLocked() const;
    std::vector<std::string> sortedNamesLocked(const std::set<std::string>& userKeys) const;
    void deliver(const std::vector<Outgoing>& out) const;

    const HubConfig config_;
    const FanOut fanOut_;
    std::atomic<std::uint64_t> lastMessageId_{0};

    mutable std::mutex mutex_;
    mutable std::condition_variable emptied_;                         // signalled under mutex_
    std::unordered_map<const Participant*, Connection> connections_;  // guarded by mutex_
    std::unordered_map<std::string, User> users_;                     // guarded by mutex_; by nameKey
    std::map<std::string, Room> rooms_;                               // guarded by mutex_; by nameKey
    std::unordered_map<std::string, std::size_t> perIp_;              // guarded by mutex_
    bool shuttingDown_ = false;                                       // guarded by mutex_
};

}  // namespace chat

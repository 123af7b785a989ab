#pragma once
// The hub: presence and routing for every connection of one server. It
// never touches a socket; it hands encoded frames to Participants.

#include "server/participant.hpp"
#include "shared/protocol.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace chat {

struct HubConfig {
    std::string serverName = "chat";
    std::string motd;
    std::size_t maxClients = 1000;   ///< connections, joined or not
    std::size_t maxTextBytes = 4096;
    std::string room = "#lobby";     ///< the one shared room
};

/// The answer to an operation that may be refused with a protocol error.
struct HubResult {
    std::optional<ErrorCode> error;
    std::string errorText;
    std::uint64_t messageId = 0;     ///< the event's id when one was sent
    explicit operator bool() const { return !error; }
};

/// Thread-safe: every public method may be called from any session thread.
/// Frames are encoded once per event and delivered after the lock is
/// released, so a slow recipient never holds up the hub.
class Hub {
public:
    explicit Hub(HubConfig config);

    const HubConfig& config() const { return config_; }

    /// Registers a new connection. Returns nullopt when accepted, otherwise
    /// why not: ServerFull (maxClients attached) or ShuttingDown.
    std::optional<ErrorCode> attach(const ParticipantPtr& connection);

    /// Forgets a connection. If it was its user's last announced session,
    /// the room is told "<user> left" with `reason`.
    void detach(const ParticipantPtr& connection, const std::string& reason);

    /// Gives an attached connection its user name (case-insensitive; a user
    /// may hold several connections). With `announce`, the user appears in
    /// presence and the room is told "<user> joined" when this is the user's
    /// first announced session. On success `displayName` is the spelling in use.
    HubResult join(const ParticipantPtr& connection, const std::string& name, bool announce,
                   std::string& displayName);

    /// Sends text to the shared room: every announced session, the sender's
    /// included, receives the same frame.
    HubResult sendToRoom(const ParticipantPtr& from, const std::string& text);

    /// Sends text to every session of user `to` and the sender's sessions.
    HubResult sendDirect(const ParticipantPtr& from, const std::string& to, const std::string& text);

    /// Display names of users with an announced session, sorted case-insensitively.
    std::vector<std::string> online() const;

    std::size_t connectionCount() const;

    /// Sends every connection a `shutdown` notice and asks it to close;
    /// later attach() calls fail.
    void shutdown(const std::string& notice);

    /// Waits until no connection is attached or the deadline passes.
    bool waitUntilEmpty(std::chrono::steady_clock::time_point deadline) const;

private:
    struct Connection {
        ParticipantPtr participant;
        std::string userKey;   // empty until join()
        bool announce = false;
    };
    struct User {
        std::string displayName;
        std::vector<ParticipantPtr> sessions;
        std::size_t announcedSessions = 0;
    };

    HubResult checkText(const std::string& text) const;
    std::uint64_t nextMessageId() { return ++lastMessageId_; }
    std::vector<ParticipantPtr> joinedLocked() const;
    std::vector<std::string> onlineLocked() const;
    static void deliverAll(const std::vector<ParticipantPtr>& to, const SharedFrame& frame);

    const HubConfig config_;
    std::atomic<std::uint64_t> lastMessageId_{0};

    mutable std::mutex mutex_;
    mutable std::condition_variable emptied_;                 // signalled under mutex_
    std::unordered_map<const Participant*, Connection> connections_;  // guarded by mutex_
    std::unordered_map<std::string, User> users_;            // guarded by mutex_, by nameKey
    bool shuttingDown_ = false;                              // guarded by mutex_
};

}  // namespace chat

#pragma once
// The hub: presence, rooms and routing for every connection of one server.
// It never touches a socket and knows no wire format: it produces events
// (shared JSON payloads) and hands them to Participants through a FanOut.

#include "server/event.hpp"
#include "server/history.hpp"
#include "server/moderation_rules.hpp"
#include "server/participant.hpp"
#include "server/room.hpp"
#include "shared/mutex.hpp"
#include "shared/protocol.hpp"
#include "shared/token_bucket.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace chat {

class Authenticator;
class ModerationStore;

struct HubConfig {
    std::string serverName = "chat";
    std::string motd;
    std::size_t maxClients = 1000;        ///< connections, joined or not
    std::size_t maxTextBytes = 4096;
    std::string defaultRoom = "#lobby";   ///< every user starts here; always exists
    std::vector<std::string> permanentRooms;  ///< exist even when empty
    std::size_t maxRoomsPerUser = 50;
    std::size_t maxPerIp = 16;            ///< connections from one address (IPv6: one /64)
    /// Connections that have not said hello yet, at most; 0 means a quarter
    /// of maxClients (at least 16, at most maxClients), so a flood of silent
    /// connections cannot take every slot from real users.
    std::size_t maxPendingHello = 0;
    double ratePerSecond = 5;             ///< messages per user, sustained
    double rateBurst = 20;                ///< messages per user, at once
    std::size_t backlog = 50;             ///< events in a room's backlog (docs/protocol.md)
    /// DMs waiting for one offline account, at most; beyond, mailbox_full.
    std::size_t maxOfflinePerAccount = 1000;
    /// Accounts and their rules (owned by the caller, outliving the hub);
    /// null: no accounts, every name is a guest's.
    Authenticator* auth = nullptr;
    /// Operators, bans, mutes, modes and invites (owned by the caller,
    /// outliving the hub): loaded at once (throws StorageError); the
    /// conversation stores each change the hub makes. Null: memory only.
    ModerationStore* moderation = nullptr;
    /// Server administrators by name (chat serve --admin): registered
    /// accounts with operator rights in every room (docs/protocol.md, "Moderation").
    std::vector<std::string> admins = {};
};

/// A moderation request (docs/protocol.md, "Moderation"), checked by Hub::moderate.
struct ModerationRequest {
    std::string action;                   ///< op deop kick ban unban mute unmute mode invite kill
    std::optional<std::string> room;      ///< absent: server-wide (ban, unban, kill)
    std::string user;                     ///< the target's name; empty for an address ban or mode
    std::string address;                  ///< ban and unban by IP address
    std::optional<std::int64_t> durationMs;  ///< ban, mute, invite; absent: permanent (invite: 24 h)
    std::string reason;
    std::string mode;                     ///< mode: "+i", "-i", or "" to ask
};

/// What a hello proved, for Hub::join.
struct JoinAuth {
    bool authenticated = false;  ///< the password of the (registered) name was verified
    std::string key;             ///< the guest key presented, if any
    std::string ip;              ///< the peer's address, for "another session joined from …"
};

/// The answer to an operation that may be refused with a protocol error.
struct HubResult {
    std::optional<ErrorCode> error;
    std::string errorText;
    std::uint64_t messageId = 0;  ///< the event's id when one was sent
    std::string away;             ///< for a DM: the target's away message, if any
    std::int64_t retryAfterMs = 0;  ///< for RateLimited: when the next message will pass
    History::Ticket ticket = 0;     ///< a stored event's, for whenStored(); 0 when nothing is stored
    std::string key = {};           ///< rename: the user's guest key, empty for an account
    bool offline = false;           ///< a DM stored for an offline account, delivered at its next login
    /// Moderation changes the hub made, for the caller to store (ModerationStore::apply).
    std::vector<ModerationChange> moderation = {};
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

/// A page of history or search results, and whose it is.
struct HistoryAnswer {
    std::string target;  ///< the room as it spells itself, or the user as asked
    std::vector<EventPtr> events;  ///< history: oldest first; search: newest first
    bool more = false;
};

/// What a session learns when its hello is accepted (see Hub::join).
struct JoinedState {
    std::string displayName;
    std::vector<std::string> rooms;   ///< the user's rooms, sorted
    std::vector<std::string> online;  ///< announced users, sorted
    bool account = false;             ///< the name is a registered account's
    std::string key;                  ///< a guest's key (docs/protocol.md, "Names"); empty for an account
};

/// Thread-safe: every public method may be called from any session thread.
/// One mutex guards all state. Each event is encoded once, numbered and
/// handed to the FanOut in the same critical section that decides its
/// recipients, so msg_id increases server-wide and every connection
/// receives events in increasing id order (a room's events in particular).
/// The FanOut only queues; no socket is written under the hub's lock.
class Hub {
public:
    /// Builds the welcome for a session being joined; runs under the hub's
    /// lock, so it must not call the hub.
    using WelcomeBuilder = std::function<EventPtr(const JoinedState&)>;

    /// `fanOut` (which must outlive the hub) queues each event on its
    /// recipients; without one, each recipient's deliver() is called.
    /// `history` (which must outlive the hub), when given, is loaded at
    /// once (rooms, topics, ids and backlogs continue where it left off;
    /// throws StorageError) and records every message and topic change.
    explicit Hub(HubConfig config, FanOut* fanOut = nullptr, History* history = nullptr);

    const HubConfig& config() const { return config_; }

    /// Registers a new connection from address `ip`. Returns nullopt when
    /// accepted, otherwise why not: ServerFull (maxClients attached),
    /// TooManyConnections (maxPerIp from `ip`'s address group: IPv4
    /// addresses alone, IPv6 by /64) or ShuttingDown.
    std::optional<ErrorCode> attach(const ParticipantPtr& connection, const std::string& ip = "") EXCLUDES(mutex_);

    /// Forgets a connection. When it was its user's last announced session
    /// the user leaves every room, and each room is told "left" with `reason`.
    void detach(const ParticipantPtr& connection, const std::string& reason) EXCLUDES(mutex_);

    /// Gives an attached connection its user (names are case-insensitive; a
    /// user may hold several connections). With `announce`, the user is in
    /// presence and, on their first announced session, joins the default
    /// room, whose other members are told "joined". Without it (one-shot
    /// senders) the session is transient: invisible, in no room. On success
    /// `welcome` (if given) is called with the joined state and its event is
    /// delivered to the connection before any event that follows the join.
    ///
    /// Names (docs/protocol.md, "Names"): a registered name (config.auth)
    /// needs `auth.authenticated`, else AuthRequired; so does any name under
    /// requireAccount. A guest name that is online needs its key
    /// (`auth.key`), else NameInUse; a guest name nobody uses gets a fresh
    /// key. When an account's authenticated session joins, its other
    /// sessions are sent a `session` event naming `auth.ip`. On success
    /// result.key is the guest key (empty for an account).
    HubResult join(const ParticipantPtr& connection, const std::string& name, bool announce,
                   std::string& displayName, const WelcomeBuilder& welcome = {}, const JoinAuth& auth = {})
        EXCLUDES(mutex_);

    /// The connection's user is now the registered account of its name
    /// (after Authenticator::registerName): its guest key is void.
    void becameAccount(const ParticipantPtr& connection, const std::string& name) EXCLUDES(mutex_);

    /// Joins a room, creating it when needed; `details` describes it.
    HubResult joinRoom(const ParticipantPtr& connection, const std::string& room, RoomDetails& details)
        EXCLUDES(mutex_);

    /// Leaves a room (`left` is its name as the room spells it). Leaving
    /// one's last room puts one back in the default room (`nowIn` names it);
    /// leaving the default room when it is the last one is refused.
    HubResult leaveRoom(const ParticipantPtr& connection, const std::string& room, std::string& left,
                        std::string& nowIn) EXCLUDES(mutex_);

    /// Sets (or, when empty, clears) a room's topic, members only, and tells the room.
    HubResult setTopic(const ParticipantPtr& connection, const std::string& room, const std::string& topic)
        EXCLUDES(mutex_);

    HubResult roomDetails(const std::string& room, RoomDetails& details) const EXCLUDES(mutex_);
    std::vector<RoomSummary> rooms() const EXCLUDES(mutex_);

    /// Sends to a room, subject to the user's rate limit (RateLimited, with
    /// retryAfterMs). Announced users must be members; a one-shot sender
    /// may post to any existing room. `action` marks a /me.
    HubResult sendToRoom(const ParticipantPtr& from, const std::string& room, const std::string& text,
                         bool action = false) EXCLUDES(mutex_);

    /// Sends to every session of user `to` and of the sender. When `to` is a
    /// registered account with no announced session online (and there is a
    /// history to keep it in), the message is stored in its offline mailbox
    /// instead (result.offline; MailboxFull beyond maxOfflinePerAccount) and
    /// only the sender's sessions get it now; deliverOffline() hands it over.
    HubResult sendDirect(const ParticipantPtr& from, const std::string& to, const std::string& text,
                         bool action = false) EXCLUDES(mutex_);

    /// After an announced session of an account has joined (its welcome and
    /// backlogs queued): queues on it the DMs waiting in the account's
    /// mailbox as `offline` events (docs/protocol.md) and queues their
    /// removal from the mailbox. Each waiting DM is handed to one session
    /// once. Reads the database: never call it under the hub's lock. A read
    /// failure is logged and the DMs wait for the next login.
    void deliverOffline(const ParticipantPtr& connection) EXCLUDES(mutex_);

    /// Calls `done` once the event of a send's result.ticket is stored or failed (see
    /// History::whenStored); at once, with nullopt, without history or ticket.
    void whenStored(History::Ticket ticket, History::StoredCallback done) EXCLUDES(mutex_);
    /// Waits until everything recorded so far is stored and every
    /// whenStored() callback has run (a server stopping calls it).
    void flushHistory() EXCLUDES(mutex_);

    /// Stored events of `room` (members only) or of the private messages
    /// with `user`, below id `before` (0: the newest), at most `limit`.
    HubResult history(const ParticipantPtr& connection, const std::optional<std::string>& room,
                      const std::optional<std::string>& user, std::uint64_t before, std::size_t limit,
                      HistoryAnswer& answer) EXCLUDES(mutex_);
    /// Messages matching every word of `words` in the user's rooms (or only
    /// `room`, members only) and private messages, newest first.
    HubResult search(const ParticipantPtr& connection, const std::optional<std::string>& room,
                     const std::string& words, std::size_t limit, HistoryAnswer& answer) EXCLUDES(mutex_);

    /// Typing indicators (docs/protocol.md, `typing`): how long a client
    /// shows one, and the least time between two events of one user in one
    /// conversation.
    static constexpr std::chrono::milliseconds kTypingTtl{6000};
    static constexpr std::chrono::milliseconds kTypingInterval{3000};
    /// The user of `from` is typing in `to`: "#room" (a room the user is in:
    /// every session of its other members is told) or "@name" (a user online
    /// in an announced session: that user's sessions are told). The event is
    /// neither numbered nor stored. A repeat for the same conversation within
    /// kTypingInterval of the last one sent is accepted and dropped
    /// (result.messageId is 1 when an event went out, 0 when coalesced).
    /// Refused from a transient session (BadRequest).
    HubResult typing(const ParticipantPtr& from, const std::string& to,
                     std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) EXCLUDES(mutex_);
    /// The user of `from` has read `to` up to `msgId` (1 to lastMessageId()).
    /// "@name": the private conversation with `name`, who must be online or
    /// share stored private messages with the reader (else NoSuchUser); the
    /// receipt is kept (read_marks) and a `read` event goes to the other
    /// user's sessions and the reader's other sessions. "#room": a room the
    /// user is in; moves the user's own read mark, no event. A receipt not
    /// beyond the one already kept changes nothing and sends nothing.
    HubResult markRead(const ParticipantPtr& from, const std::string& to, std::int64_t msgId) EXCLUDES(mutex_);

    /// Renames the connection's user everywhere; refused if another user
    /// has the name (NameInUse), or if it is registered and not
    /// `authenticated` (AuthRequired). Everyone sharing a room with the user
    /// is told. Renamed to a guest name, the user gets a new guest key
    /// (result.key); to an account's, none.
    HubResult rename(const ParticipantPtr& connection, const std::string& newName, std::string& displayName,
                     bool authenticated = false) EXCLUDES(mutex_);

    /// Carries out a moderation request from the connection's user
    /// (hub_moderation.cpp): checks the rights (an authenticated account that
    /// operates the room, or an administrator; NotOperator otherwise),
    /// changes the rules in memory (result.moderation: what to store),
    /// tells the room with a `moderation` event (stored in its history) and
    /// applies the effect: a kicked or banned member leaves the room, a
    /// killed or server-banned user is disconnected. `mode` receives the
    /// room's mode ("+i" or "") for a mode request.
    HubResult moderate(const ParticipantPtr& connection, const ModerationRequest& request, std::string& mode)
        EXCLUDES(mutex_);

    /// Sets (non-empty) or clears (empty) the user's away message.
    HubResult setAway(const ParticipantPtr& connection, const std::string& message) EXCLUDES(mutex_);

    /// Online users, or the members of `room`, sorted case-insensitively.
    HubResult who(const std::optional<std::string>& room, std::vector<UserSummary>& users) const EXCLUDES(mutex_);
    HubResult whois(const std::string& name, WhoisDetails& details) const EXCLUDES(mutex_);

    /// Display names of users with an announced session, sorted.
    std::vector<std::string> online() const EXCLUDES(mutex_);
    /// Rooms the connection's user is in, sorted.
    std::vector<std::string> roomsOf(const ParticipantPtr& connection) const EXCLUDES(mutex_);

    std::size_t connectionCount() const EXCLUDES(mutex_);
    /// The id of the latest event; ids increase by one per event.
    std::uint64_t lastMessageId() const EXCLUDES(mutex_);

    /// Sends every connection a `shutdown` notice and asks it to close;
    /// later attach() calls fail.
    void shutdown(const std::string& notice) EXCLUDES(mutex_);

    /// Waits until no connection is attached or the deadline passes.
    bool waitUntilEmpty(std::chrono::steady_clock::time_point deadline) const EXCLUDES(mutex_);

private:
    struct Connection {
        ParticipantPtr participant;
        std::string userKey;  // empty until join()
        bool announce = false;
        std::string ipGroup;
        std::string ip;  // the peer's address, for bans by address
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
        bool account = false;  // a registered name, every session authenticated
        std::string guestKey;  // a guest's: further sessions must present it
        /// When the last typing event of this user went out, by conversation
        /// (room key, or "@" + user key); entries older than kTypingInterval are dropped.
        std::map<std::string, std::chrono::steady_clock::time_point> typingSent;
        /// Who the user is for DM privacy (StoredEvent::fromIdentity); back()
        /// is the current one. "a:" + key for an account; for a guest "g:" +
        /// a random id that dies with the user (a later guest of the name
        /// gets another). A guest who registers keeps its guest one too.
        std::vector<std::string> identities;
        /// A guest's read marks, for as long as it is online (never stored).
        std::map<std::string, ReadMark> sessionMarks;
    };
    /// The identities of a user coming into being as `key` (registered or not).
    static std::vector<std::string> freshIdentities(const std::string& key, bool registered,
                                                    const std::string& guestId);
    /// Stores a DM for the offline account `toKey` (sendDirect's second half).
    HubResult sendOfflineLocked(User& sender, const std::string& toKey, const std::string& to,
                                const std::string& text, bool action) REQUIRES(mutex_);
    /// The `offline` events carrying `events` (oldest first), each within
    /// one frame's list budget.
    static std::vector<EventPtr> offlineEvents(const std::vector<EventPtr>& events);
    /// Why `userKey` (from `ip`) may not come into room `roomKey` now: Banned
    /// or InviteOnly; nullopt when it may (moderators always may, except
    /// into a room they are banned from).
    std::optional<HubResult> entryRefusalLocked(const std::string& userKey, bool account, const std::string& roomKey,
                                                const std::string& ip, std::int64_t now) const REQUIRES(mutex_);
    /// Takes `userKey` out of room `roomKey` with `reason` (a `left` event);
    /// when that was its last room, puts it back into the default room if it may enter.
    void expelLocked(const std::string& userKey, const std::string& roomKey, const std::string& reason)
        REQUIRES(mutex_);
    /// Takes `userKey` out of every room with `reason` and closes each of its connections.
    void disconnectLocked(const std::string& userKey, const std::string& reason) REQUIRES(mutex_);
    /// Numbers and sends a `moderation` event to `room`'s members (and to
    /// `extra`), and stores it in the room's history; without a room, to `extra` only.
    void publishModerationLocked(Room* room, Poco::JSON::Object::Ptr event, const std::vector<ParticipantPtr>& extra)
        REQUIRES(mutex_);
    /// Every session (announced and transient) of `userKey`; none when offline.
    std::vector<ParticipantPtr> allSessionsLocked(const std::string& userKey) const REQUIRES(mutex_);
    /// The part of moderate() under the lock.
    HubResult moderateLocked(const std::string& actorKey, const ModerationRequest& request,
                             const std::optional<std::string>& address, std::string& mode) REQUIRES(mutex_);
    /// Whether `key` (a name key) is registered; false without accounts.
    bool registeredLocked(const std::string& key) const REQUIRES(mutex_);

    struct Published {
        std::uint64_t id = 0;
        std::int64_t ts = 0;
        EventPtr event;
    };

    HubResult checkText(const std::string& text) const;
    static std::optional<HubResult> rateLimitedLocked(User& user);
    /// Numbers `event` with the next id, encodes it and queues it on `to`.
    Published publishLocked(Poco::JSON::Object::Ptr event, const std::vector<ParticipantPtr>& to)
        REQUIRES(mutex_);
    /// Keeps a published room event among the room's recent ones and queues
    /// it for storing (kind "message" or "topic"); returns its ticket.
    History::Ticket storeRoomEventLocked(Room& room, const Published& published, const std::string& kind,
                                         const std::string& from, const std::string& text, bool action)
        REQUIRES(mutex_);
    /// The `backlog` event of `room` for a user coming into it, within
    /// `budget` bytes of events; with `mark`, the user's unread state.
    EventPtr backlogLocked(const Room& room, const ReadMark* mark, std::size_t budget) const REQUIRES(mutex_);
    /// Where `userKey` last stopped reading `roomKey`; null if never. An
    /// account's marks are stored; a guest's live with its User.
    const ReadMark* readMarkLocked(const std::string& userKey, const std::string& roomKey) const REQUIRES(mutex_);
    /// Moves `userKey`'s mark for `roomKey` (a room key, or a private
    /// conversation's key) to `mark`: stored for an account, kept in memory
    /// for a guest (gone with it, never stored).
    void setReadMarkLocked(const std::string& userKey, const std::string& roomKey, const ReadMark& mark)
        REQUIRES(mutex_);
    /// Remembers where `userKey` stopped reading `room` (its latest event now).
    void markReadLocked(const std::string& userKey, const std::string& roomKey, const Room& room) REQUIRES(mutex_);
    /// Keeps `readerKey`'s receipt for the private conversation with `otherKey`.
    void keepReceiptLocked(const std::string& readerKey, const std::string& otherKey, std::uint64_t msgId)
        REQUIRES(mutex_);
    /// Drops the receipts kept for and by `userKey`: a guest's, when the
    /// guest leaves or renames, so a later guest of the name learns nothing.
    void forgetReceiptsLocked(const std::string& userKey) REQUIRES(mutex_);
    /// The `read` events of the latest receipts others sent for their
    /// private conversations with `userKey` (at most kReceiptsAfterWelcome).
    std::vector<EventPtr> receiptsForLocked(const std::string& userKey) const REQUIRES(mutex_);
    /// Rebuilds receiptsFor_ from the private-conversation entries of readMarks_.
    void restoreReceiptsLocked() REQUIRES(mutex_);
    static constexpr std::size_t kReceiptsAfterWelcome = 100;
    /// The room named `room` for a member's history or search: the room,
    /// or why not (no such room, not a member).
    std::variant<const Room*, HubResult> memberRoomLocked(const std::string& userKey, const std::string& room) const
        REQUIRES(mutex_);
    /// Loads rooms, ids and read marks from history_.
    void restoreLocked() REQUIRES(mutex_);
    const Connection* connectionLocked(const ParticipantPtr& connection) const REQUIRES(mutex_);
    const User* senderLocked(const ParticipantPtr& connection) const REQUIRES(mutex_);
    User* senderLocked(const ParticipantPtr& connection) REQUIRES(mutex_);
    void addMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& roomName,
                         const ParticipantPtr& except) REQUIRES(mutex_);
    void removeMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& reason)
        REQUIRES(mutex_);
    Recipients roomRecipientsLocked(const Room& room) const REQUIRES(mutex_);
    void sessionsChangedLocked(const User& user) REQUIRES(mutex_);
    RoomDetails detailsLocked(const Room& room) const REQUIRES(mutex_);
    std::vector<std::string> onlineLocked() const REQUIRES(mutex_);
    std::vector<std::string> roomNamesLocked(const User& user) const REQUIRES(mutex_);
    std::vector<std::string> sortedNamesLocked(const std::set<std::string>& userKeys) const REQUIRES(mutex_);

    const HubConfig config_;
    DirectFanOut directFanOut_;
    FanOut& fanOut_;

    mutable Mutex mutex_;
    mutable CondVar emptied_;  // notified (mutex_ held) when the last connection detaches
    std::uint64_t lastMessageId_ GUARDED_BY(mutex_) = 0;
    std::unordered_map<const Participant*, Connection> connections_ GUARDED_BY(mutex_);
    std::unordered_map<std::string, User> users_ GUARDED_BY(mutex_);  // by nameKey
    std::map<std::string, Room> rooms_ GUARDED_BY(mutex_);             // by nameKey
    std::unordered_map<std::string, std::size_t> perIpGroup_ GUARDED_BY(mutex_);
    std::size_t pendingHello_ GUARDED_BY(mutex_) = 0;  // attached, not yet joined
    History* const history_;  // thread-safe itself; may be null
    // Where each account (by key) stopped reading each room (by key).
    std::unordered_map<std::string, std::map<std::string, ReadMark>> readMarks_ GUARDED_BY(mutex_);
    // Private-conversation receipts by the user they were for (key), then by
    // reader (key): the msg_id read up to. Mirrors the DM entries of readMarks_.
    std::unordered_map<std::string, std::map<std::string, std::uint64_t>> receiptsFor_ GUARDED_BY(mutex_);
    // DMs waiting in each account's mailbox (by key), and the largest id
    // handed to a session so far: a second login racing the first gets none twice.
    std::unordered_map<std::string, std::size_t> mailboxCounts_ GUARDED_BY(mutex_);
    std::unordered_map<std::string, std::uint64_t> mailboxDelivered_ GUARDED_BY(mutex_);
    bool shuttingDown_ GUARDED_BY(mutex_) = false;
    ModerationRules moderation_ GUARDED_BY(mutex_);
};

}  // namespace chat

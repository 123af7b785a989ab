#pragma once
// The server's memory of past events: what the hub records and what the
// history, search and backlog answers read (docs/protocol.md, "History").
// The hub depends only on this interface; SqliteHistory (history_store.*,
// history_writer.*) is the real one, MemoryHistory-like fakes serve tests.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace chat {

/// One stored event: a room message or action, a private message, or a
/// room's topic change. `payload` is the event's JSON exactly as it was sent
/// live (with msg_id and ts), so history replays it unchanged.
struct StoredEvent {
    std::uint64_t id = 0;       ///< msg_id
    std::int64_t ts = 0;        ///< milliseconds since the epoch, UTC
    std::string kind;           ///< "message" or "topic"
    std::string conversation;   ///< room key (nameKey("#dev")), or directKey(a, b) for a DM
    std::string room;           ///< the room as it spells itself; empty for a DM
    std::string from;           ///< sender's display name (for a topic: who set it)
    std::string to;             ///< for a DM, the recipient's display name; empty otherwise
    std::string text;           ///< message text, or the new topic
    bool action = false;        ///< a /me
    std::string payload;        ///< the event's JSON
    /// For a DM, who each side was (docs/protocol.md, "Privacy of private
    /// messages"): "a:" + the account's key for an account, "g:" + a random
    /// id a guest holds for as long as its name stays online. history and
    /// search show a DM only to a reader holding one of the two. Empty for a
    /// room event (and for a DM stored before identities were: no reader).
    std::string fromIdentity = {};
    std::string toIdentity = {};
    /// When non-empty, the account key whose offline mailbox also holds the
    /// event (offline_queue.hpp): stored in the same transaction.
    std::string mailbox = {};
};

/// The conversation key of the private messages between two users, whoever
/// wrote: "@" + the smaller name key + " @" + the larger (names hold no spaces).
std::string directKey(const std::string& userKeyA, const std::string& userKeyB);

/// A room as remembered: rooms with stored events come back after a restart.
struct StoredRoom {
    std::string name;   ///< as it spells itself
    std::string topic;  ///< "" when none
    std::uint64_t messages = 0;           ///< stored messages so far (a running count; see ReadMark)
    std::vector<StoredEvent> recent;      ///< its latest events, oldest first
};

/// Where a user stopped reading a room: the last event id they were sent in
/// it, and the room's message count at that moment (so unread = the room's
/// count now minus `messages`, in O(1), whatever retention deleted since).
struct ReadMark {
    std::uint64_t lastId = 0;
    std::uint64_t messages = 0;
    std::int64_t ts = 0;  ///< when the mark was set
};

/// Everything the hub needs at start.
struct HistorySnapshot {
    std::uint64_t lastId = 0;  ///< the largest msg_id ever stored (ids continue after it)
    std::vector<StoredRoom> rooms;
    /// By account key, then room key (guests' marks are never stored).
    std::map<std::string, std::map<std::string, ReadMark>> readMarks;
    /// Messages waiting in each account's offline mailbox, by account key.
    std::map<std::string, std::size_t> mailboxCounts;
};

/// Older events of one conversation, oldest first.
struct HistoryPage {
    std::vector<StoredEvent> events;
    bool more = false;  ///< older events exist before events.front()
};

/// Thrown by reads when the database cannot answer (I/O error, corruption).
class StorageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thread-safe. record() and markRead() only queue work for the writer
/// thread: the hub calls them under its own lock, so they never touch the
/// disk. Everything else may block on the database and is never called
/// under the hub's lock.
class History {
public:
    using Ticket = std::uint64_t;
    virtual ~History() = default;

    /// The state to start from (reads the whole of what the hub keeps in
    /// memory: `recentPerRoom` latest events of each room).
    virtual HistorySnapshot load(std::size_t recentPerRoom) = 0;

    /// Queues an event for storing; the ticket is for waitStored().
    virtual Ticket record(StoredEvent event) = 0;
    /// Blocks until the event of `ticket` is committed (nullopt) or its
    /// commit failed (the reason, for the log and the sender: disk full,
    /// read-only database…). Events are committed in ticket order, many per
    /// transaction.
    virtual std::optional<std::string> waitStored(Ticket ticket) = 0;
    /// What whenStored() calls: nullopt once stored, else why not.
    using StoredCallback = std::function<void(const std::optional<std::string>& failure)>;
    /// Calls `done` once the event of `ticket` is committed or has failed:
    /// at once (on this thread) if it already is, else on the writer's
    /// thread. `done` must only queue work (deliver an answer) and must not
    /// call the history. This is how a send's ok waits for its commit without
    /// holding up the connection's later requests.
    virtual void whenStored(Ticket ticket, StoredCallback done) = 0;
    /// Blocks until everything queued so far is resolved and every
    /// whenStored() callback for it has returned.
    virtual void flush() = 0;
    /// Queues a read mark (replacing the account's earlier mark for the room).
    virtual void markRead(const std::string& userKey, const std::string& roomKey, const ReadMark& mark) = 0;
    /// Queues the removal of the messages of `accountKey`'s mailbox with ids
    /// up to `throughId`: they have been delivered (the delivered marker).
    virtual void mailboxDelivered(const std::string& accountKey, std::uint64_t throughId) = 0;

    /// Up to `limit` events of `conversation` with ids below `before` (0:
    /// the newest), oldest first, leaving out every DM for which none of
    /// `readers` (identities, see StoredEvent) is a side. Waits for events
    /// already queued to be committed first, so a page never misses one.
    /// Throws StorageError.
    virtual HistoryPage page(const std::string& conversation, std::uint64_t before, std::size_t limit,
                             const std::vector<std::string>& readers) = 0;
    /// Messages (not topics) of the given conversations whose text matches
    /// every word of `words` (full-text, case-insensitive; words are taken
    /// literally, never as query syntax), newest first, at most `limit`;
    /// `more` when there were more. DMs as for page(). Throws StorageError.
    virtual HistoryPage search(const std::vector<std::string>& conversations, const std::string& words,
                               std::size_t limit, const std::vector<std::string>& readers) = 0;
    /// The messages waiting in `accountKey`'s offline mailbox, oldest first
    /// (after what is queued is committed). Throws StorageError.
    virtual std::vector<StoredEvent> mailbox(const std::string& accountKey) = 0;
    /// The private conversations (directKey) with `userKey` in them that
    /// have stored messages. Throws StorageError.
    virtual std::vector<std::string> directConversationsOf(const std::string& userKey) = 0;
};

}  // namespace chat

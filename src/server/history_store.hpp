#pragma once
// SqliteHistoryStore: the history database itself (one SQLite file in WAL
// mode), with no threads and no locking of its own. SqliteHistory
// (history_writer.hpp) owns one and serialises every call to it.

#include "server/history.hpp"
#include "server/history_schema.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

struct sqlite3;

namespace Poco::Data {
class Session;
}

namespace chat {

/// Where history lives and how long it is kept (docs/protocol.md, limits
/// table, "Stored history").
struct HistoryOptions {
    std::string path;                         ///< the database file; ":memory:" keeps nothing
    int retentionDays = 0;                    ///< events older than this are deleted; 0: kept forever
    std::size_t maxPerConversation = 100000;  ///< older events of a longer conversation are deleted; 0: no cap
};

/// Test-only ways to open a store.
struct StoreTestOptions {
    bool readOnly = false;  ///< open the file read-only (SQLITE_OPEN_READONLY; root ignores file modes)
    int schemaVersion = history_schema::kCurrentVersion;  ///< build the schema only up to this version
};

/// A read mark to store: `userKey` stopped reading `roomKey` at `mark`.
struct MarkUpdate {
    std::string userKey;
    std::string roomKey;
    ReadMark mark;
};

/// Messages of `account`'s mailbox up to id `throughId` were delivered.
struct MailboxClear {
    std::string account;
    std::uint64_t throughId = 0;
};

/// The history database. Not thread-safe: one caller at a time.
class SqliteHistoryStore {
public:
    /// Opens (creating it and its parent directories if needed) the file at
    /// options.path and brings its schema up to date. Throws StorageError
    /// when it cannot: unreadable, not a chat database, or a schema version
    /// newer than this binary knows ("…: upgrade chat").
    explicit SqliteHistoryStore(HistoryOptions options, StoreTestOptions test = {});
    ~SqliteHistoryStore();
    SqliteHistoryStore(const SqliteHistoryStore&) = delete;
    SqliteHistoryStore& operator=(const SqliteHistoryStore&) = delete;

    /// Everything the hub starts from: the largest id ever stored (kept in
    /// `meta`, so retention deleting the newest rows never makes an id come
    /// back), the rooms that still have stored events with their topic,
    /// running message count and latest `recentPerRoom` events (oldest
    /// first), and every read mark. Throws StorageError.
    HistorySnapshot load(std::size_t recentPerRoom);

    /// Stores `events` (with their rooms' name, topic and message count, and
    /// each in the mailbox it names), `marks` and `clears` in one
    /// transaction: all or nothing. Throws StorageError with the reason
    /// ("…: disk full", "…: the database is read-only") after rolling back.
    void append(const std::vector<StoredEvent>& events, const std::vector<MarkUpdate>& marks,
                const std::vector<MailboxClear>& clears = {});

    /// Up to `limit` events of `conversation` with ids below `before` (0: no
    /// bound), oldest first; `more` when older ones exist. With `readers`,
    /// a DM is left out unless its sender_id or recipient_id is one of them
    /// (History::page). Throws StorageError.
    HistoryPage page(const std::string& conversation, std::uint64_t before, std::size_t limit,
                     const std::vector<std::string>* readers = nullptr);

    /// Messages of `conversations` containing every word of `words`, newest
    /// first, at most `limit` (`more` when there were more), DMs filtered by
    /// `readers` (when given) as for page(). Words are literal: see ftsQuery(). Throws
    /// StorageError.
    HistoryPage search(const std::vector<std::string>& conversations, const std::string& words, std::size_t limit,
                       const std::vector<std::string>* readers = nullptr);
    /// The messages waiting in `account`'s mailbox, oldest first, with
    /// their id, ts and payload. Throws StorageError.
    std::vector<StoredEvent> mailbox(const std::string& account);
    /// The private conversations with `userKey` in them (History::directConversationsOf).
    std::vector<std::string> directConversationsOf(const std::string& userKey);

    /// Applies retention, deleting at most `maxRows` events: those older than
    /// retentionDays, then the oldest beyond maxPerConversation in the
    /// conversations appended to since they were last checked (all of them
    /// after opening). A room whose events are all gone loses its `rooms`
    /// row and read marks. Returns how many events it deleted: `maxRows`
    /// means there may be more to do. `nowMs` is the time (ms since the
    /// epoch) retentionDays counts back from. Throws StorageError.
    std::size_t prune(std::size_t maxRows, std::int64_t nowMs);

    /// Transactions committed by append() since opening (for tests of
    /// group commit).
    std::uint64_t commits() const { return commits_; }

    const std::string& path() const { return options_.path; }

private:
    sqlite3* handle() const;
    std::size_t pruneExpired(std::size_t maxRows, std::int64_t nowMs, std::set<std::string>& touched);
    std::size_t pruneOverCap(std::size_t maxRows, std::set<std::string>& uncapped, std::set<std::string>& touched);
    void forgetEmptyRooms(const std::set<std::string>& touched);
    /// Stores one batch inside append()'s transaction.
    void appendInTransaction(const std::vector<StoredEvent>& events, const std::vector<MarkUpdate>& marks,
                             const std::vector<MailboxClear>& clears);

    HistoryOptions options_;
    /// The schema built (below kCurrentVersion only in tests making an old
    /// file, whose appends then write only the columns that version has).
    const int schema_;
    std::unique_ptr<Poco::Data::Session> session_;
    /// append()'s statements, prepared on first use and kept across batches
    /// (defined in history_store.cpp); dropped after a failed append so that
    /// the next one prepares them afresh.
    struct AppendStatements;
    std::unique_ptr<AppendStatements> appendStatements_;
    /// Conversations that may have grown past maxPerConversation.
    std::set<std::string> uncapped_;
    std::uint64_t commits_ = 0;
};

/// The FTS5 query that matches every word of `words` literally: split on
/// whitespace, each token double-quoted (inner quotes doubled), joined by
/// spaces (an implicit AND). "" when there are no words. User text never
/// becomes query syntax: `a OR "b*` gives `"a" "OR" """b*"`.
std::string ftsQuery(const std::string& words);

}  // namespace chat

#include "server/history_store.hpp"

#include "server/sqlite_support.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

namespace chat {
namespace {

using namespace Poco::Data::Keywords;
using Poco::Int64;

constexpr Int64 kNoBound = std::numeric_limits<Int64>::max();

Int64 asInt(std::uint64_t value) { return static_cast<Int64>(std::min<std::uint64_t>(value, kNoBound)); }

/// The columns of `events` in the order EventColumns binds them.
const char* const kEventColumns =
    "e.id, e.ts, e.kind, e.conversation, e.room, e.sender, e.recipient, e.text, e.action, e.payload";

/// Rows of `events` as Poco extracts them: one vector per column.
struct EventColumns {
    std::vector<Int64> id, ts, action;
    std::vector<std::string> kind, conversation, room, sender, recipient, text, payload;

    void extractInto(Poco::Data::Statement& statement) {
        statement, into(id), into(ts), into(kind), into(conversation), into(room), into(sender), into(recipient),
            into(text), into(action), into(payload);
    }

    std::vector<StoredEvent> events() const {
        std::vector<StoredEvent> out(id.size());
        for (std::size_t i = 0; i < id.size(); ++i) {
            StoredEvent& e = out[i];
            e.id = static_cast<std::uint64_t>(id[i]);
            e.ts = ts[i];
            e.kind = kind[i];
            e.conversation = conversation[i];
            e.room = room[i];
            e.from = sender[i];
            e.to = recipient[i];
            e.text = text[i];
            e.action = action[i] != 0;
            e.payload = payload[i];
        }
        return out;
    }
};

/// The SQLite connect string: the path itself, or for a read-only test
/// open, a URI ("file:…?mode=ro"; Poco 1.11 opens with SQLITE_OPEN_URI).
std::string connectString(const std::string& path, bool readOnly) {
    if (!readOnly) {
        return path;
    }
    std::string uri = "file:";
    for (const char c : path) {
        if (c == '%' || c == '?' || c == '#') {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
            uri += escaped;
        } else {
            uri += c;
        }
    }
    return uri + "?mode=ro";
}

void createParentDirectories(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (parent.empty()) {
        return;
    }
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
        throw StorageError(path + ": cannot create the directory " + parent.string() + " (" + error.message() + ")");
    }
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// " AND (e.room <> '' OR e.sender_id IN (?, …) OR e.recipient_id IN (?, …))"
/// for `count` readers: a room event passes, a DM only for one of its sides.
/// No readers: no DM passes.
std::string readersClause(std::size_t count) {
    if (count == 0) return " AND e.room <> ''";
    std::string list;
    for (std::size_t i = 0; i < count; ++i) list += i == 0 ? "?" : ", ?";
    return " AND (e.room <> '' OR e.sender_id IN (" + list + ") OR e.recipient_id IN (" + list + "))";
}

/// Binds the readers twice, as readersClause() asks.
void useReaders(Poco::Data::Statement& statement, std::vector<std::string>& readers) {
    for (int pass = 0; pass < 2; ++pass)
        for (std::string& reader : readers) statement, use(reader);
}

/// A query asks for one row more than `limit`: finding it means `more`.
void keepAtMost(HistoryPage& page, std::size_t limit) {
    if (page.events.size() > limit) {
        page.more = true;
        page.events.resize(limit);
    }
}

}  // namespace

std::string ftsQuery(const std::string& words) {
    std::string query;
    std::size_t i = 0;
    while (i < words.size()) {
        while (i < words.size() && isSpace(words[i])) {
            ++i;
        }
        if (i == words.size()) {
            break;
        }
        if (!query.empty()) {
            query += ' ';
        }
        query += '"';
        for (; i < words.size() && !isSpace(words[i]); ++i) {
            if (words[i] == '"') {
                query += '"';
            }
            query += words[i];
        }
        query += '"';
    }
    return query;
}

/// append()'s statements, each bound by reference to the fields below:
/// append() sets the fields, then executes. Prepared once, in the
/// constructor, so a batch costs no SQL compilation.
struct SqliteHistoryStore::AppendStatements {
    AppendStatements(Poco::Data::Session& session, bool sides)
        : insert(session), toMailbox(session), upsertRoom(session), updateMeta(session), upsertMark(session),
          clear(session) {
        insert << "INSERT INTO events(id, ts, kind, conversation, room, sender, recipient, text, action, payload"
               << (sides ? ", sender_id, recipient_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                         : ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            use(id), use(ts), use(kind), use(conversation), use(room), use(sender), use(recipient), use(text),
            use(action), use(payload);
        if (sides) insert, use(senderId), use(recipientId);
        toMailbox << "INSERT OR IGNORE INTO mailbox(account, id, ts, payload) VALUES (?, ?, ?, ?)", use(box), use(id),
            use(ts), use(payload);
        upsertRoom << "INSERT INTO rooms(key, name, topic, messages) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET name = excluded.name,"
                      " topic = CASE WHEN ? THEN excluded.topic ELSE rooms.topic END,"
                      " messages = rooms.messages + excluded.messages",
            use(roomKey), use(roomName), use(topic), use(added), use(isTopic);
        updateMeta << "UPDATE meta SET last_id = max(last_id, ?)", use(maxId);
        upsertMark << "INSERT INTO read_marks(user_key, room_key, last_id, messages, ts) VALUES (?, ?, ?, ?, ?)"
                      " ON CONFLICT(user_key, room_key) DO UPDATE SET last_id = excluded.last_id,"
                      " messages = excluded.messages, ts = excluded.ts",
            use(userKey), use(roomKey), use(lastId), use(messages), use(markTs);
        clear << "DELETE FROM mailbox WHERE account = ? AND id <= ?", use(account), use(through);
    }

    // One event (insert, toMailbox).
    Int64 id = 0, ts = 0, action = 0;
    std::string kind, conversation, room, sender, recipient, text, payload, senderId, recipientId, box;
    // One room's changes in the batch (upsertRoom), and the batch's largest id (updateMeta).
    std::string roomKey, roomName, topic;
    Int64 added = 0, isTopic = 0, maxId = 0;
    // One read mark (upsertMark; roomKey above).
    std::string userKey;
    Int64 lastId = 0, messages = 0, markTs = 0;
    // One mailbox clear.
    std::string account;
    Int64 through = 0;

    Poco::Data::Statement insert, toMailbox, upsertRoom, updateMeta, upsertMark, clear;
};

SqliteHistoryStore::SqliteHistoryStore(HistoryOptions options, StoreTestOptions test)
    : options_(std::move(options)), schema_(test.schemaVersion) {
    Poco::Data::SQLite::Connector::registerConnector();
    const std::string& path = options_.path;
    if (path != ":memory:" && !test.readOnly) {
        createParentDirectories(path);
    }
    try {
        session_ = std::make_unique<Poco::Data::Session>(Poco::Data::SQLite::Connector::KEY,
                                                         connectString(path, test.readOnly));
    } catch (...) {
        throwStorageError(nullptr, path);
    }
    try {
        std::string mode;
        *session_ << "PRAGMA busy_timeout = 5000", now;
        *session_ << "PRAGMA journal_mode = WAL", into(mode), now;
        // NORMAL in WAL mode: a commit survives a crash of the process; a
        // power cut may lose the last commits (docs/protocol.md, `send`).
        *session_ << "PRAGMA synchronous = NORMAL", now;
    } catch (...) {
        throwStorageError(handle(), path);
    }
    history_schema::migrate(*session_, path, test.schemaVersion);
    if (options_.maxPerConversation > 0) {
        try {
            std::vector<std::string> all;
            *session_ << "SELECT DISTINCT conversation FROM events", into(all), now;
            uncapped_.insert(all.begin(), all.end());
        } catch (...) {
            throwStorageError(handle(), path);
        }
    }
}

SqliteHistoryStore::~SqliteHistoryStore() = default;

sqlite3* SqliteHistoryStore::handle() const { return Poco::Data::SQLite::Utility::dbHandle(*session_); }

HistorySnapshot SqliteHistoryStore::load(std::size_t recentPerRoom) {
    HistorySnapshot snapshot;
    try {
        Int64 lastId = 0;
        *session_ << "SELECT max(last_id, coalesce((SELECT max(id) FROM events), 0)) FROM meta", into(lastId), now;
        snapshot.lastId = static_cast<std::uint64_t>(lastId);

        std::vector<std::string> keys, names, topics;
        std::vector<Int64> counts;
        *session_ << "SELECT key, name, topic, messages FROM rooms r"
                     " WHERE EXISTS (SELECT 1 FROM events WHERE conversation = r.key) ORDER BY key",
            into(keys), into(names), into(topics), into(counts), now;
        snapshot.rooms.resize(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            StoredRoom& room = snapshot.rooms[i];
            room.name = names[i];
            room.topic = topics[i];
            room.messages = static_cast<std::uint64_t>(counts[i]);
            if (recentPerRoom > 0) {
                room.recent = page(keys[i], 0, recentPerRoom).events;
            }
        }

        std::vector<std::string> users, rooms;
        std::vector<Int64> lastIds, messages, times;
        *session_ << "SELECT user_key, room_key, last_id, messages, ts FROM read_marks", into(users), into(rooms),
            into(lastIds), into(messages), into(times), now;
        for (std::size_t i = 0; i < users.size(); ++i) {
            ReadMark& mark = snapshot.readMarks[users[i]][rooms[i]];
            mark.lastId = static_cast<std::uint64_t>(lastIds[i]);
            mark.messages = static_cast<std::uint64_t>(messages[i]);
            mark.ts = times[i];
        }

        std::vector<std::string> accounts;
        std::vector<Int64> waiting;
        if (schema_ >= history_schema::kOfflineVersion)
            *session_ << "SELECT account, count(*) FROM mailbox GROUP BY account", into(accounts), into(waiting), now;
        for (std::size_t i = 0; i < accounts.size(); ++i)
            snapshot.mailboxCounts[accounts[i]] = static_cast<std::size_t>(waiting[i]);
    } catch (...) {
        throwStorageError(handle(), options_.path);
    }
    return snapshot;
}

namespace {
/// What a batch changes in one room's `rooms` row: its latest spelling, its
/// latest topic (if a topic event is in the batch) and how many messages it
/// gained. One upsert per room per batch instead of one per event.
struct RoomChange {
    std::string key, name, topic;
    bool topicChanged = false;
    Int64 added = 0;
};

std::vector<RoomChange> roomChanges(const std::vector<StoredEvent>& events) {
    std::vector<RoomChange> changes;
    for (const StoredEvent& e : events) {
        if (e.room.empty()) continue;
        auto found = std::find_if(changes.begin(), changes.end(),
                                  [&](const RoomChange& c) { return c.key == e.conversation; });
        if (found == changes.end()) found = changes.insert(changes.end(), RoomChange{e.conversation, {}, {}, false, 0});
        found->name = e.room;
        if (e.kind == "topic") {
            found->topic = e.text;
            found->topicChanged = true;
        }
        if (e.kind == "message") ++found->added;
    }
    return changes;
}
}  // namespace

void SqliteHistoryStore::append(const std::vector<StoredEvent>& events, const std::vector<MarkUpdate>& marks,
                                const std::vector<MailboxClear>& clears) {
    if (events.empty() && marks.empty() && clears.empty()) {
        return;
    }
    try {
        inTransaction(*session_, options_.path, [&] { appendInTransaction(events, marks, clears); });
    } catch (...) {
        appendStatements_.reset();  // a statement that failed half-way is prepared afresh
        throw;
    }
    ++commits_;
    if (options_.maxPerConversation > 0) {
        for (const StoredEvent& e : events) {
            uncapped_.insert(e.conversation);
        }
    }
}

void SqliteHistoryStore::appendInTransaction(const std::vector<StoredEvent>& events,
                                             const std::vector<MarkUpdate>& marks,
                                             const std::vector<MailboxClear>& clears) {
    const bool sides = schema_ >= history_schema::kOfflineVersion;  // false only for a test's old file
    if (!appendStatements_) appendStatements_ = std::make_unique<AppendStatements>(*session_, sides);
    AppendStatements& s = *appendStatements_;
    for (const StoredEvent& e : events) {
        s.id = asInt(e.id);
        s.ts = e.ts;
        s.kind = e.kind;
        s.conversation = e.conversation;
        s.room = e.room;
        s.sender = e.from;
        s.recipient = e.to;
        s.text = e.text;
        s.action = e.action ? 1 : 0;
        s.payload = e.payload;
        s.senderId = e.fromIdentity;
        s.recipientId = e.toIdentity;
        s.insert.execute();
        if (sides && !e.mailbox.empty()) {
            s.box = e.mailbox;
            s.toMailbox.execute();
        }
        s.maxId = std::max(s.maxId, s.id);
    }
    for (RoomChange& change : roomChanges(events)) {
        s.roomKey = std::move(change.key);
        s.roomName = std::move(change.name);
        s.topic = std::move(change.topic);
        s.isTopic = change.topicChanged ? 1 : 0;
        s.added = change.added;
        s.upsertRoom.execute();
    }
    if (!events.empty()) s.updateMeta.execute();

    for (const MarkUpdate& update : marks) {
        s.userKey = update.userKey;
        s.roomKey = update.roomKey;
        s.lastId = asInt(update.mark.lastId);
        s.messages = asInt(update.mark.messages);
        s.markTs = update.mark.ts;
        s.upsertMark.execute();
    }

    for (const MailboxClear& done : clears) {
        if (!sides) break;
        s.account = done.account;
        s.through = asInt(done.throughId);
        s.clear.execute();
    }
}

HistoryPage SqliteHistoryStore::page(const std::string& conversation, std::uint64_t before, std::size_t limit,
                                     const std::vector<std::string>* readers) {
    HistoryPage result;
    if (limit == 0) {
        return result;
    }
    try {
        std::string key = conversation;
        Int64 bound = before == 0 ? kNoBound : asInt(before);
        Int64 rows = asInt(limit) + 1;  // one more, to learn whether older ones exist
        std::vector<std::string> who = readers ? *readers : std::vector<std::string>{};
        EventColumns columns;
        Poco::Data::Statement select(*session_);
        select << "SELECT " << kEventColumns << " FROM events e WHERE e.conversation = ? AND e.id < ?"
               << (readers ? readersClause(who.size()) : std::string()) << " ORDER BY e.id DESC LIMIT ?",
            use(key), use(bound);
        if (readers) useReaders(select, who);
        select, use(rows);
        columns.extractInto(select);
        select.execute();
        result.events = columns.events();
    } catch (...) {
        throwStorageError(handle(), options_.path);
    }
    keepAtMost(result, limit);
    std::reverse(result.events.begin(), result.events.end());
    return result;
}

HistoryPage SqliteHistoryStore::search(const std::vector<std::string>& conversations, const std::string& words,
                                       std::size_t limit, const std::vector<std::string>* readers) {
    HistoryPage result;
    std::string query = ftsQuery(words);
    std::vector<std::string> keys = conversations;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (query.empty() || keys.empty() || limit == 0) {
        return result;
    }
    try {
        std::string sql = std::string("SELECT ") + kEventColumns +
                          " FROM events_fts JOIN events e ON e.id = events_fts.rowid"
                          " WHERE events_fts MATCH ? AND e.kind = 'message' AND e.conversation IN (";
        for (std::size_t i = 0; i < keys.size(); ++i) {
            sql += i == 0 ? "?" : ", ?";
        }
        std::vector<std::string> who = readers ? *readers : std::vector<std::string>{};
        sql += ")" + (readers ? readersClause(who.size()) : std::string()) + " ORDER BY events_fts.rowid DESC LIMIT ?";
        Int64 rows = asInt(limit) + 1;
        EventColumns columns;
        Poco::Data::Statement select(*session_);
        select << sql, use(query);
        for (std::string& key : keys) {
            select, use(key);
        }
        if (readers) useReaders(select, who);
        select, use(rows);
        columns.extractInto(select);
        select.execute();
        result.events = columns.events();
    } catch (...) {
        throwStorageError(handle(), options_.path);
    }
    keepAtMost(result, limit);
    return result;
}

std::vector<StoredEvent> SqliteHistoryStore::mailbox(const std::string& account) {
    std::vector<StoredEvent> waiting;
    try {
        std::string key = account;
        std::vector<Int64> ids, times;
        std::vector<std::string> payloads;
        Poco::Data::Statement select(*session_);
        select << "SELECT id, ts, payload FROM mailbox WHERE account = ? ORDER BY id", use(key), into(ids),
            into(times), into(payloads);
        select.execute();
        waiting.resize(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            waiting[i].id = static_cast<std::uint64_t>(ids[i]);
            waiting[i].ts = times[i];
            waiting[i].kind = "message";
            waiting[i].mailbox = account;
            waiting[i].payload = std::move(payloads[i]);
        }
    } catch (...) {
        throwStorageError(handle(), options_.path);
    }
    return waiting;
}

std::vector<std::string> SqliteHistoryStore::directConversationsOf(const std::string& userKey) {
    // directKey() is "@a @b": names hold none of GLOB's special characters.
    std::vector<std::string> found;
    try {
        std::string first = "@" + userKey + " @*", second = "@* @" + userKey;
        Poco::Data::Statement select(*session_);
        select << "SELECT DISTINCT conversation FROM events WHERE room = '' AND (conversation GLOB ? OR conversation GLOB ?)",
            use(first), use(second), into(found);
        select.execute();
    } catch (...) {
        throwStorageError(handle(), options_.path);
    }
    return found;
}

}  // namespace chat

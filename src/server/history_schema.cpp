#include "server/history_schema.hpp"

#include "server/history.hpp"
#include "server/sqlite_support.hpp"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>

#include <string>
#include <vector>

namespace chat::history_schema {
namespace {

using namespace Poco::Data::Keywords;

/// migrations[v - 1] takes a file from version v - 1 to version v. Only ever
/// append: a released step is never edited, since files out there ran it.
const std::vector<std::vector<std::string>>& migrations() {
    static const std::vector<std::vector<std::string>> steps = {
        // 1: the tables.
        {
            "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1), last_id INTEGER NOT NULL)",
            "INSERT INTO meta(id, last_id) VALUES (1, 0)",
            "CREATE TABLE events(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL,"
            " conversation TEXT NOT NULL, room TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,"
            " text TEXT NOT NULL, action INTEGER NOT NULL, payload TEXT NOT NULL)",
            "CREATE INDEX events_by_conversation ON events(conversation, id)",
            "CREATE TABLE rooms(key TEXT PRIMARY KEY, name TEXT NOT NULL, topic TEXT NOT NULL,"
            " messages INTEGER NOT NULL) WITHOUT ROWID",
            "CREATE TABLE read_marks(user_key TEXT NOT NULL, room_key TEXT NOT NULL, last_id INTEGER NOT NULL,"
            " messages INTEGER NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (user_key, room_key)) WITHOUT ROWID",
        },
        // 2: full-text search over message texts (not topics), kept in step
        // by triggers, and filled from the messages already stored.
        {
            "CREATE VIRTUAL TABLE events_fts USING fts5(text, content = 'events', content_rowid = 'id',"
            " tokenize = 'unicode61 remove_diacritics 2')",
            "CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.kind = 'message' BEGIN"
            " INSERT INTO events_fts(rowid, text) VALUES (new.id, new.text); END",
            "CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.kind = 'message' BEGIN"
            " INSERT INTO events_fts(events_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
            "INSERT INTO events_fts(rowid, text) SELECT id, text FROM events WHERE kind = 'message'",
        },
        // 3: accounts (server/account_store.hpp): a registered name's key
        // (nameKey), its spelling when registered, its crypto_pwhash_str
        // hash and when it was created (ms since the epoch).
        {
            "CREATE TABLE accounts(key TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL,"
            " created INTEGER NOT NULL) WITHOUT ROWID",
        },
        // 4: tokens for scripts (server/token_store.hpp): an account's key, a
        // label, the SHA-256 of the token (hex; never the token), when it was
        // created and last used to log in (ms since the epoch, 0: never).
        // AUTOINCREMENT: a revoked token's id is never given to another.
        {
            "CREATE TABLE tokens(id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, label TEXT NOT NULL,"
            " hash TEXT NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL)",
            "CREATE INDEX tokens_by_account ON tokens(account, id)",
        },
        // 5: offline messages and private history (issue 14, points 5 and 7):
        // each DM records who its two sides were (StoredEvent::fromIdentity);
        // a DM stored before is given the account of a side whose name is
        // registered now, and no identity (readable by nobody) otherwise.
        // Read marks are kept for accounts only: those of other names go.
        // The mailbox holds, per account, the DMs sent while it was offline,
        // with their event JSON, until they are delivered.
        {
            "ALTER TABLE events ADD COLUMN sender_id TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE events ADD COLUMN recipient_id TEXT NOT NULL DEFAULT ''",
            "UPDATE events SET sender_id = 'a:' || lower(sender)"
            " WHERE room = '' AND lower(sender) IN (SELECT key FROM accounts)",
            "UPDATE events SET recipient_id = 'a:' || lower(recipient)"
            " WHERE room = '' AND lower(recipient) IN (SELECT key FROM accounts)",
            "DELETE FROM read_marks WHERE user_key NOT IN (SELECT key FROM accounts)",
            "CREATE TABLE mailbox(account TEXT NOT NULL, id INTEGER NOT NULL, ts INTEGER NOT NULL,"
            " payload TEXT NOT NULL, PRIMARY KEY (account, id)) WITHOUT ROWID",
        },
        // 6: moderation (server/moderation_store.hpp): operators, bans (by name
        // or address; scope '' = server-wide), mutes, invite-only rooms and
        // invites; `until` in ms since the epoch, 0 for permanent.
        {
            "CREATE TABLE moderation(scope TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,"
            " until INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL,"
            " PRIMARY KEY (scope, kind, target)) WITHOUT ROWID",
        },
    };
    return steps;
}

bool hasTable(Poco::Data::Session& session, const std::string& name) {
    int count = 0;
    std::string table = name;
    session << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", use(table), into(count), now;
    return count > 0;
}

int countTables(Poco::Data::Session& session) {
    int count = 0;
    session << "SELECT count(*) FROM sqlite_master WHERE type = 'table'", into(count), now;
    return count;
}

}  // namespace

int version(Poco::Data::Session& session) {
    if (!hasTable(session, "schema_version")) {
        return 0;
    }
    int found = 0;
    session << "SELECT max(version) FROM schema_version", into(found), now;
    return found;
}

void migrate(Poco::Data::Session& session, const std::string& path, int target) {
    const auto refuseNewer = [&](int found) {
        if (found > kCurrentVersion) {
            throw StorageError(path + " has schema version " + std::to_string(found) + "; this chat understands up to " +
                               std::to_string(kCurrentVersion) + ": upgrade chat");
        }
    };
    // Looked at outside a transaction first, so that an up-to-date file
    // opened read-only (which cannot BEGIN IMMEDIATE) needs no write.
    int found = 0;
    try {
        found = version(session);
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(session), path);
    }
    refuseNewer(found);
    if (found >= target) {
        return;
    }
    inTransaction(session, path, [&] {
        const int from = version(session);  // again: another process may have migrated meanwhile
        refuseNewer(from);
        if (from == 0 && countTables(session) > 0) {
            throw StorageError(path + " is not a chat history database (it has tables but no schema_version)");
        }
        if (from == 0) {
            session << "CREATE TABLE schema_version(version INTEGER NOT NULL)", now;
            session << "INSERT INTO schema_version(version) VALUES (0)", now;
        }
        for (int next = from + 1; next <= target; ++next) {
            for (const std::string& statement : migrations().at(static_cast<std::size_t>(next - 1))) {
                session << statement, now;
            }
            int reached = next;
            session << "UPDATE schema_version SET version = ?", use(reached), now;
        }
    });
}

}  // namespace chat::history_schema

#pragma once
// The history database's tables and how a file of any earlier version is
// brought up to this binary's version (docs/protocol.md, "History").
//   version 1: events, rooms, read_marks, meta, schema_version
//   version 2: events_fts, an FTS5 index of the message texts (with the
//              triggers that keep it in step with events)
//   version 3: accounts (registered names and their password hashes)
//   version 4: tokens (tokens for scripts: their SHA-256, never the token)
//   version 5: offline messages and private history: events.sender_id and
//              recipient_id, read marks for accounts only, and mailbox
//   version 6: moderation (operators, bans, mutes, invite-only, invites)

#include <string>

namespace Poco::Data {
class Session;
}

namespace chat::history_schema {

/// The newest schema this binary knows.
constexpr int kCurrentVersion = 6;
/// The version whose step adds offline messages and DM identities (keep it
/// naming that step when steps are ordered; offline_test.cpp checks it).
constexpr int kOfflineVersion = 5;

/// The schema version of the database (0 for a new, empty file).
int version(Poco::Data::Session& session);

/// Applies every migration from the file's version up to `target`, all in one
/// transaction, so a crash leaves the file at its old version. Throws
/// StorageError (naming `path`) when the file's version is newer than this
/// binary knows, when the file is not a chat history database, or when a
/// statement fails. `target` below kCurrentVersion is for tests that make an
/// old file.
void migrate(Poco::Data::Session& session, const std::string& path, int target = kCurrentVersion);

}  // namespace chat::history_schema

#pragma once
// Small helpers for the history store's SQLite use: turning a failure into
// a StorageError a person can act on ("/var/lib/chat/chat.db: disk full"
// rather than "Unknown error code: 778"), and running a transaction that
// rolls back on any failure.

#include <functional>
#include <string>

struct sqlite3;

namespace Poco::Data {
class Session;
}

namespace chat {

/// What went wrong with the database at `path`, in words for the log and for
/// a client: "<path>: disk full", "<path>: the database is read-only",
/// "<path>: I/O error (File too large)"… The cause is read from `db`'s
/// extended error code and the system errno SQLite saw (the sqlite3 C API:
/// Poco Data 1.11 reports extended codes as "Unknown error code"); `detail`
/// (the exception's text) is added when `db` knows nothing more.
std::string describeSqliteFailure(sqlite3* db, const std::string& path, const std::string& detail);

/// Call only inside a catch block: rethrows the exception being handled as a
/// StorageError described by describeSqliteFailure() (a StorageError passes
/// through unchanged).
[[noreturn]] void throwStorageError(sqlite3* db, const std::string& path);

/// Runs `work` between BEGIN IMMEDIATE and COMMIT on `session`. When
/// anything throws (the COMMIT included), describes the failure, rolls back
/// if a transaction is still open, and throws the StorageError.
void inTransaction(Poco::Data::Session& session, const std::string& path, const std::function<void()>& work);

}  // namespace chat

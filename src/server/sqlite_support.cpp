#include "server/sqlite_support.hpp"

#include "server/history.hpp"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>
#include <sqlite3.h>

#include <sys/resource.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <cstring>
#include <exception>

namespace chat {
namespace {

/// Free bytes below which a failed write is put down to a full disk, and
/// the distance from the file size limit at which it is put down to that.
constexpr std::uint64_t kWriteMargin = 1024 * 1024;

/// The cause an errno names, or "" when it names nothing more useful than
/// SQLite's own code.
std::string errnoCause(int error) {
    switch (error) {
    case ENOSPC: return "disk full";
    case EDQUOT: return "disk quota exceeded";
    case EFBIG: return "file too large (a file size limit was reached)";
    case EROFS: return "the file system is read-only";
    case EACCES:
    case EPERM: return "permission denied";
    default: return "";
    }
}

/// Why writing the database at `path` may have failed, found by looking:
/// SQLite often loses the errno of a failed write (sqlite3_system_errno()
/// says 0 by the time the error is reported), so "disk I/O error" is all it
/// knows. "" when nothing explains it.
std::string writeFailureCause(const std::string& path) {
    if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) {
        return "";
    }
    rlimit limit{};
    if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        for (const char* suffix : {"", "-wal", "-journal"}) {
            std::error_code error;
            const auto size = std::filesystem::file_size(path + suffix, error);
            if (!error && size + kWriteMargin >= limit.rlim_cur) {
                return "file too large (the process's file size limit, ulimit -f, was reached)";
            }
        }
    }
    std::filesystem::path directory = std::filesystem::path(path).parent_path();
    if (directory.empty()) {
        directory = ".";
    }
    struct statvfs fs {};
    if (::statvfs(directory.c_str(), &fs) == 0 &&
        static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < kWriteMargin) {
        return "disk full";
    }
    return "";
}

std::string codeCause(int code) {
    switch (code & 0xff) {
    case SQLITE_FULL: return "disk full";
    case SQLITE_READONLY: return "the database is read-only";
    case SQLITE_IOERR: return "I/O error";
    case SQLITE_CORRUPT: return "the database is corrupt";
    case SQLITE_NOTADB: return "not a database file";
    case SQLITE_CANTOPEN: return "cannot open the database file";
    case SQLITE_PERM:
    case SQLITE_AUTH: return "permission denied";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "the database is locked by another process";
    case SQLITE_NOMEM: return "out of memory";
    case SQLITE_CONSTRAINT: return "a constraint failed";
    default: return "";
    }
}

}  // namespace

std::string describeSqliteFailure(sqlite3* db, const std::string& path, const std::string& detail) {
    const int code = db == nullptr ? SQLITE_OK : sqlite3_extended_errcode(db);
    const bool failed = code != SQLITE_OK && code != SQLITE_ROW && code != SQLITE_DONE;
    std::string cause = failed ? codeCause(code) : "";
    if (failed && ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_FULL ||
                   (code & 0xff) == SQLITE_CANTOPEN)) {
        const int error = sqlite3_system_errno(db);
        const std::string fromErrno = errnoCause(error);
        const std::string found =
            (code & 0xff) == SQLITE_CANTOPEN || !fromErrno.empty() ? "" : writeFailureCause(path);
        if (!fromErrno.empty()) {
            cause = fromErrno;
        } else if (!found.empty()) {
            cause = found;
        } else if (error != 0 && (code & 0xff) == SQLITE_IOERR) {
            cause += " (" + std::string(std::strerror(error)) + ")";
        }
    }
    if (cause.empty()) {
        cause = failed ? sqlite3_errstr(code) : detail;
    }
    return path + ": " + cause;
}

void throwStorageError(sqlite3* db, const std::string& path) {
    std::string detail;
    try {
        throw;
    } catch (const StorageError&) {
        throw;
    } catch (const Poco::Exception& e) {
        detail = e.displayText();
    } catch (const std::exception& e) {
        detail = e.what();
    }
    throw StorageError(describeSqliteFailure(db, path, detail));
}

void inTransaction(Poco::Data::Session& session, const std::string& path, const std::function<void()>& work) {
    using Poco::Data::Keywords::now;
    sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(session);
    std::string failure;
    try {
        session << "BEGIN IMMEDIATE", now;
        work();
        session << "COMMIT", now;
        return;
    } catch (...) {
        // Described before the rollback, which resets the error code.
        try {
            throwStorageError(db, path);
        } catch (const StorageError& e) {
            failure = e.what();
        }
    }
    if (sqlite3_get_autocommit(db) == 0) {
        try {
            session << "ROLLBACK", now;
        } catch (...) {
            // The failure reported is the first one; closing the connection
            // rolls back what this could not.
        }
    }
    throw StorageError(failure);
}

}  // namespace chat

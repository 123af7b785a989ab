#pragma once
// Accounts: registered names and their password hashes, kept in the history
// database's `accounts` table (schema version 3, server/history_schema.hpp).

#include "server/password_hash.hpp"
#include "shared/mutex.hpp"

#include <memory>
#include <set>
#include <string>

namespace Poco::Data {
class Session;
}

namespace chat {

/// Creates, verifies and changes accounts. Names are keyed by nameKey(), as
/// the hub compares them ("Alice" and "ALICE" are one account).
///
/// Thread-safe. Its mutex guards the database session and the set of
/// registered keys; it is never held while a password is hashed, so one slow
/// hash does not hold up isRegistered(), which the hub calls under its own
/// lock (the order is always hub, then store; the store calls nothing).
class AccountStore {
public:
    /// Opens (creating or upgrading in place) the database at `path`;
    /// ":memory:" keeps accounts for as long as the store lives. Throws
    /// StorageError as the history store does.
    AccountStore(const std::string& path, PasswordHasher& hasher);
    ~AccountStore();
    AccountStore(const AccountStore&) = delete;
    AccountStore& operator=(const AccountStore&) = delete;

    /// True when `name` (any case) is registered. Fast: no database access.
    bool isRegistered(const std::string& name) const EXCLUDES(mutex_);

    /// Registers `name` with `password`. False when it is already registered.
    /// Throws StorageError when the database refuses.
    bool create(const std::string& name, const std::string& password) EXCLUDES(mutex_);

    /// True when `name` is registered and `password` is its password. An
    /// unknown name costs a verification against a dummy hash, so both
    /// failures take about the same time.
    bool verify(const std::string& name, const std::string& password) EXCLUDES(mutex_);

    /// Sets a new password for `name` when `oldPassword` verifies; false otherwise.
    bool change(const std::string& name, const std::string& oldPassword, const std::string& newPassword)
        EXCLUDES(mutex_);

private:
    std::string storedHash(const std::string& key) EXCLUDES(mutex_);

    const std::string path_;
    PasswordHasher& hasher_;
    mutable Mutex mutex_;
    std::unique_ptr<Poco::Data::Session> session_ GUARDED_BY(mutex_);
    std::set<std::string> registered_ GUARDED_BY(mutex_);  // name keys
};

}  // namespace chat

#include "server/account_store.hpp"

#include "server/history.hpp"
#include "server/history_schema.hpp"
#include "server/sqlite_support.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>

#include <vector>

namespace chat {

using namespace Poco::Data::Keywords;

AccountStore::AccountStore(const std::string& path, PasswordHasher& hasher) : path_(path), hasher_(hasher) {
    Poco::Data::SQLite::Connector::registerConnector();
    MutexLock lock(mutex_);
    try {
        session_ = std::make_unique<Poco::Data::Session>(Poco::Data::SQLite::Connector::KEY, path);
        *session_ << "PRAGMA busy_timeout = 5000", now;
    } catch (...) {
        throwStorageError(session_ ? Poco::Data::SQLite::Utility::dbHandle(*session_) : nullptr, path);
    }
    history_schema::migrate(*session_, path);
    try {
        std::vector<std::string> keys;
        *session_ << "SELECT key FROM accounts", into(keys), now;
        registered_.insert(keys.begin(), keys.end());
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(*session_), path);
    }
}

AccountStore::~AccountStore() = default;

bool AccountStore::isRegistered(const std::string& name) const {
    const auto key = nameKey(name);
    MutexLock lock(mutex_);
    return registered_.count(key) > 0;
}

std::string AccountStore::storedHash(const std::string& key) {
    MutexLock lock(mutex_);
    if (!registered_.count(key)) return {};
    std::vector<std::string> hashes;
    std::string k = key;
    try {
        *session_ << "SELECT hash FROM accounts WHERE key = ?", use(k), into(hashes), now;
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(*session_), path_);
    }
    return hashes.empty() ? std::string() : hashes.front();
}

bool AccountStore::create(const std::string& name, const std::string& password) {
    const auto key = nameKey(name);
    if (isRegistered(name)) return false;
    std::string hash = hasher_.hash(password);  // outside the lock: slow
    MutexLock lock(mutex_);
    if (registered_.count(key)) return false;  // registered meanwhile
    std::string k = key, n = name;
    Poco::Int64 created = nowMillis();
    auto& session = *session_;  // the lambda runs here, with mutex_ held
    inTransaction(session, path_, [&] {
        session << "INSERT INTO accounts(key, name, hash, created) VALUES (?, ?, ?, ?)", use(k), use(n), use(hash),
            use(created), now;
    });
    registered_.insert(key);
    return true;
}

bool AccountStore::verify(const std::string& name, const std::string& password) {
    const auto stored = storedHash(nameKey(name));
    if (stored.empty()) {
        hasher_.verifyDummy(password);
        return false;
    }
    return hasher_.verify(stored, password);
}

bool AccountStore::change(const std::string& name, const std::string& oldPassword, const std::string& newPassword) {
    if (!verify(name, oldPassword)) return false;
    std::string hash = hasher_.hash(newPassword);
    std::string k = nameKey(name);
    MutexLock lock(mutex_);
    auto& session = *session_;  // the lambda runs here, with mutex_ held
    inTransaction(session, path_, [&] { session << "UPDATE accounts SET hash = ? WHERE key = ?", use(hash), use(k), now; });
    return true;
}

}  // namespace chat

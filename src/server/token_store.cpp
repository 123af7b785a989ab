#include "server/token_store.hpp"

#include "server/history.hpp"
#include "server/history_schema.hpp"
#include "server/sqlite_support.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <sodium.h>

#include <stdexcept>

namespace chat {

using namespace Poco::Data::Keywords;

namespace {
constexpr std::size_t kTokenBytes = 32;  // 256 random bits
constexpr const char* kPrefix = "chat_";

/// The 32 bytes `hex` stands for; false when it is not 64 hex digits.
bool fromHex(const std::string& hex, unsigned char (&out)[crypto_hash_sha256_BYTES]) {
    std::size_t length = 0;
    return hex.size() == 2 * crypto_hash_sha256_BYTES &&
           sodium_hex2bin(out, sizeof out, hex.data(), hex.size(), nullptr, &length, nullptr) == 0 &&
           length == sizeof out;
}
}  // namespace

bool TokenStore::constantTimeEqual(const unsigned char* a, const unsigned char* b, std::size_t size) {
    return sodium_memcmp(a, b, size) == 0;
}

std::string TokenStore::hashOf(const std::string& token) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

TokenStore::TokenStore(const std::string& path, Compare compare) : path_(path), compare_(compare) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    Poco::Data::SQLite::Connector::registerConnector();
    MutexLock lock(mutex_);
    try {
        session_ = std::make_unique<Poco::Data::Session>(Poco::Data::SQLite::Connector::KEY, path);
        *session_ << "PRAGMA busy_timeout = 5000", now;
    } catch (...) {
        throwStorageError(session_ ? Poco::Data::SQLite::Utility::dbHandle(*session_) : nullptr, path);
    }
    history_schema::migrate(*session_, path);
}

TokenStore::~TokenStore() = default;

std::optional<NewToken> TokenStore::create(const std::string& account, const std::string& label) {
    unsigned char secret[kTokenBytes];
    randombytes_buf(secret, sizeof secret);
    char text[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(text, sizeof text, secret, sizeof secret, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    NewToken created;
    created.token = std::string(kPrefix) + text;
    std::string key = nameKey(account), name = label, hash = hashOf(created.token);
    Poco::Int64 when = nowMillis();
    MutexLock lock(mutex_);
    auto& session = *session_;  // the lambda runs here, with mutex_ held
    bool full = false;
    Poco::Int64 id = 0;
    inTransaction(session, path_, [&] {
        Poco::Int64 count = 0;
        session << "SELECT count(*) FROM tokens WHERE account = ?", use(key), into(count), now;
        if (static_cast<std::size_t>(count) >= kMaxPerAccount) {
            full = true;
            return;
        }
        session << "INSERT INTO tokens(account, label, hash, created, last_used) VALUES (?, ?, ?, ?, 0)", use(key),
            use(name), use(hash), use(when), now;
        session << "SELECT last_insert_rowid()", into(id), now;
    });
    if (full) return std::nullopt;
    created.id = id;
    return created;
}

std::optional<std::int64_t> TokenStore::verify(const std::string& account, const std::string& token,
                                               std::int64_t nowMs) {
    unsigned char presented[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(presented, reinterpret_cast<const unsigned char*>(token.data()), token.size());
    std::string key = nameKey(account);
    MutexLock lock(mutex_);
    std::vector<Poco::Int64> ids;
    std::vector<std::string> hashes;
    try {
        *session_ << "SELECT id, hash FROM tokens WHERE account = ? ORDER BY id", use(key), into(ids), into(hashes), now;
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(*session_), path_);
    }
    std::optional<std::int64_t> found;
    for (std::size_t i = 0; i < hashes.size(); ++i) {  // all of them: no early exit
        unsigned char stored[crypto_hash_sha256_BYTES];
        if (!fromHex(hashes[i], stored)) continue;
        if (compare_(presented, stored, sizeof stored) && !found) found = ids[i];
    }
    if (!found) return std::nullopt;
    Poco::Int64 id = *found, when = nowMs;
    auto& session = *session_;
    inTransaction(session, path_, [&] { session << "UPDATE tokens SET last_used = ? WHERE id = ?", use(when), use(id), now; });
    return found;
}

std::vector<TokenInfo> TokenStore::list(const std::string& account) {
    std::string key = nameKey(account);
    std::vector<Poco::Int64> ids, created, used;
    std::vector<std::string> labels;
    MutexLock lock(mutex_);
    try {
        *session_ << "SELECT id, label, created, last_used FROM tokens WHERE account = ? ORDER BY id", use(key),
            into(ids), into(labels), into(created), into(used), now;
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(*session_), path_);
    }
    std::vector<TokenInfo> out;
    for (std::size_t i = 0; i < ids.size(); ++i) out.push_back({ids[i], labels[i], created[i], used[i]});
    return out;
}

bool TokenStore::revoke(const std::string& account, std::int64_t id) {
    std::string key = nameKey(account);
    Poco::Int64 which = id;
    MutexLock lock(mutex_);
    auto& session = *session_;
    Poco::Int64 deleted = 0;
    inTransaction(session, path_, [&] {
        session << "DELETE FROM tokens WHERE id = ? AND account = ?", use(which), use(key), now;
        session << "SELECT changes()", into(deleted), now;
    });
    return deleted > 0;
}

bool TokenStore::exists(std::int64_t id) {
    Poco::Int64 which = id, count = 0;
    MutexLock lock(mutex_);
    try {
        *session_ << "SELECT count(*) FROM tokens WHERE id = ?", use(which), into(count), now;
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(*session_), path_);
    }
    return count > 0;
}

}  // namespace chat

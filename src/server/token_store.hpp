#pragma once
// Tokens for scripts (`chat login`): long random secrets that stand for an
// account's password in `hello`, each revocable on its own. Kept in the
// history database's `tokens` table (server/history_schema.hpp).

#include "shared/mutex.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace Poco::Data {
class Session;
}

namespace chat {

/// A token as listed: never the token itself, which the server does not keep.
struct TokenInfo {
    std::int64_t id = 0;
    std::string label;
    std::int64_t createdMillis = 0;
    std::int64_t lastUsedMillis = 0;  ///< 0: never used to log in
};

/// A token just created: the only moment its text exists on the server.
struct NewToken {
    std::int64_t id = 0;
    std::string token;  ///< "chat_" and 43 characters of base64url (256 random bits)
};

/// Creates, verifies, lists and revokes tokens. Only the SHA-256 of a token
/// is stored (libsodium crypto_hash_sha256): a token is 256 random bits, so
/// nobody can guess one from its hash, and a slow, salted password hash
/// (Argon2id) would only cost the server time without making that harder.
/// Verification hashes the presented token and compares it with each of the
/// account's stored hashes through `compare` (sodium_memcmp: constant time,
/// so the time taken says nothing of how much of a hash matched) rather
/// than looking the hash up in SQL.
///
/// Accounts are named as the hub compares them (nameKey: any case).
/// Thread-safe: its mutex guards the database session; no method calls out
/// while holding it.
class TokenStore {
public:
    using Compare = bool (*)(const unsigned char* a, const unsigned char* b, std::size_t size);
    /// sodium_memcmp(a, b, size) == 0.
    static bool constantTimeEqual(const unsigned char* a, const unsigned char* b, std::size_t size);

    static constexpr std::size_t kMaxPerAccount = 100;
    static constexpr std::size_t kMaxLabelBytes = 100;
    static constexpr std::size_t kMaxTokenBytes = 256;  ///< longer presented tokens are refused unhashed

    /// Opens (creating or upgrading in place) the database at `path`, as
    /// AccountStore does; throws StorageError. `compare` is for tests that
    /// count comparisons.
    explicit TokenStore(const std::string& path, Compare compare = constantTimeEqual);
    ~TokenStore();
    TokenStore(const TokenStore&) = delete;
    TokenStore& operator=(const TokenStore&) = delete;

    /// A new token for `account` labelled `label`; nullopt when the account
    /// has kMaxPerAccount already. Throws StorageError.
    std::optional<NewToken> create(const std::string& account, const std::string& label) EXCLUDES(mutex_);

    /// The id of `account`'s token whose hash is that of `token`, after
    /// recording `nowMillis` as its last use; nullopt when none matches.
    /// Every stored hash of the account is compared, whichever matches.
    /// Throws StorageError.
    std::optional<std::int64_t> verify(const std::string& account, const std::string& token, std::int64_t nowMillis)
        EXCLUDES(mutex_);

    /// `account`'s tokens, oldest first. Throws StorageError.
    std::vector<TokenInfo> list(const std::string& account) EXCLUDES(mutex_);

    /// Deletes `account`'s token `id`; false when it has none with that id
    /// (another account's id included). Throws StorageError.
    bool revoke(const std::string& account, std::int64_t id) EXCLUDES(mutex_);

    /// True while token `id` exists (of any account). Throws StorageError.
    bool exists(std::int64_t id) EXCLUDES(mutex_);

    /// The stored form of `token`: its SHA-256, 64 lower-case hex digits.
    static std::string hashOf(const std::string& token);

private:
    const std::string path_;
    const Compare compare_;
    Mutex mutex_;
    std::unique_ptr<Poco::Data::Session> session_ GUARDED_BY(mutex_);
};

}  // namespace chat

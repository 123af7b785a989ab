#pragma once
// Password hashing with libsodium's crypto_pwhash (Argon2id), bounded so that
// a flood of logins cannot take the server's memory, and random secrets.

#include "shared/mutex.hpp"

#include <cstddef>
#include <string>

namespace chat {

/// The cost of one Argon2id hash. The default is libsodium's INTERACTIVE
/// (2 passes over 64 MiB, about 0.1 s on one core of a 2020s machine): the
/// parameters libsodium recommends for online logins, where a person waits
/// for the answer and many may log in at once. SENSITIVE (1 GiB, seconds)
/// would let a few concurrent logins exhaust a small server. Tests use
/// minimum() to run fast; a hash records its own cost, so hashes made with
/// one cost verify under any other.
struct HashCost {
    unsigned long long opsLimit;
    std::size_t memLimit;
    static HashCost interactive();
    static HashCost minimum();
};

/// Runs hashes with at most `maxConcurrent` at a time (each takes memLimit
/// bytes while it runs); further callers wait their turn. Thread-safe.
/// Never call it with the hub's lock held or on the dispatcher thread: a hash
/// takes tens of milliseconds.
class PasswordHasher {
public:
    /// Throws std::runtime_error when libsodium cannot be initialised.
    explicit PasswordHasher(HashCost cost = HashCost::interactive(), std::size_t maxConcurrent = 2);

    /// The crypto_pwhash_str string ("$argon2id$v=19$m=65536,t=2,p=1$...").
    /// Throws std::runtime_error when out of memory.
    std::string hash(const std::string& password) EXCLUDES(mutex_);
    /// Constant-time check of `password` against `stored`; false for a
    /// malformed `stored`.
    bool verify(const std::string& stored, const std::string& password) EXCLUDES(mutex_);
    /// A verification of `password` that always fails, costing what a real
    /// one costs: for unknown names, so that they answer in the same time.
    void verifyDummy(const std::string& password) EXCLUDES(mutex_);

private:
    void acquire() EXCLUDES(mutex_);
    void release() EXCLUDES(mutex_);

    const HashCost cost_;
    const std::size_t maxConcurrent_;
    std::string dummy_;  // a hash of a random password, made with cost_
    Mutex mutex_;
    CondVar freed_;
    std::size_t running_ GUARDED_BY(mutex_) = 0;
};

/// `bytes` random bytes (libsodium randombytes) as lower-case hex.
std::string randomHex(std::size_t bytes);

/// Compares two strings in time that depends only on their lengths.
bool equalSecrets(const std::string& a, const std::string& b);

}  // namespace chat

#include "server/password_hash.hpp"

#include <sodium.h>

#include <stdexcept>

namespace chat {

HashCost HashCost::interactive() {
    return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

HashCost HashCost::minimum() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

PasswordHasher::PasswordHasher(HashCost cost, std::size_t maxConcurrent)
    : cost_(cost), maxConcurrent_(maxConcurrent ? maxConcurrent : 1) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    dummy_ = hash(randomHex(16));
}

void PasswordHasher::acquire() {
    MutexLock lock(mutex_);
    while (running_ >= maxConcurrent_) freed_.wait(mutex_);
    ++running_;
}

void PasswordHasher::release() {
    MutexLock lock(mutex_);
    --running_;
    freed_.notifyOne();
}

std::string PasswordHasher::hash(const std::string& password) {
    char out[crypto_pwhash_STRBYTES];
    acquire();
    const int rc = crypto_pwhash_str(out, password.data(), password.size(), cost_.opsLimit, cost_.memLimit);
    release();
    if (rc != 0) throw std::runtime_error("out of memory while hashing a password");
    return out;
}

bool PasswordHasher::verify(const std::string& stored, const std::string& password) {
    acquire();
    const int rc = crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size());
    release();
    return rc == 0;
}

void PasswordHasher::verifyDummy(const std::string& password) { (void)verify(dummy_, password); }

std::string randomHex(std::size_t bytes) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    std::string raw(bytes, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string hex(bytes * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
    hex.pop_back();
    return hex;
}

bool equalSecrets(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace chat

#pragma once
// Slows password guessing: failed authentications are counted per address
// and per account, and after a few a further attempt must wait.

#include "shared/mutex.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace chat {

/// The backoff (docs/protocol.md, "Accounts"): for each key (an address, or
/// an account's name key) the first kFreeFailures failures cost nothing;
/// each further failure bars that key for 1 s, doubling with each failure
/// up to kMaxDelay (60 s). A key with no failure for kForgetAfter (15 min)
/// starts again from zero. The cap keeps the real owner of an attacked
/// account from being locked out for more than a minute at a time; the
/// doubling keeps a guesser to about one try a minute.
///
/// Thread-safe (one mutex). Holds at most kMaxKeys keys: beyond that, keys
/// without a recent failure are dropped first, then all of them (a flood
/// from a botnet forgets, it never exhausts memory).
class AuthThrottle {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr int kFreeFailures = 3;
    static constexpr std::chrono::milliseconds kFirstDelay{1000};
    static constexpr std::chrono::milliseconds kMaxDelay{60'000};
    static constexpr std::chrono::minutes kForgetAfter{15};
    static constexpr std::size_t kMaxKeys = 100'000;

    /// How long `key` must still wait at `now`; zero when it may try.
    std::chrono::milliseconds wait(const std::string& key, Clock::time_point now) const EXCLUDES(mutex_);
    /// Counts a failure of `key` at `now`; returns its failures in the burst.
    int failed(const std::string& key, Clock::time_point now) EXCLUDES(mutex_);
    /// Forgets `key`'s failures (a successful login of that account).
    void succeeded(const std::string& key) EXCLUDES(mutex_);

    /// The bar after the n-th failure of a burst (0 for n <= kFreeFailures).
    static std::chrono::milliseconds delayAfter(int failures);

private:
    struct Entry {
        int failures = 0;
        Clock::time_point last;
        Clock::time_point barredUntil;
    };
    void pruneLocked(Clock::time_point now) REQUIRES(mutex_);

    mutable Mutex mutex_;
    std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mutex_);
};

}  // namespace chat

#include "server/auth_throttle.hpp"

#include <algorithm>

namespace chat {

std::chrono::milliseconds AuthThrottle::delayAfter(int failures) {
    if (failures <= kFreeFailures) return std::chrono::milliseconds(0);
    const int doublings = std::min(failures - kFreeFailures - 1, 16);  // 2^16 s is far above the cap
    return std::min<std::chrono::milliseconds>(kMaxDelay, kFirstDelay * (1LL << doublings));
}

std::chrono::milliseconds AuthThrottle::wait(const std::string& key, Clock::time_point now) const {
    MutexLock lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end() || now - it->second.last >= kForgetAfter || now >= it->second.barredUntil)
        return std::chrono::milliseconds(0);
    // Rounded up, so that a client waiting this long is never a moment early.
    return std::chrono::ceil<std::chrono::milliseconds>(it->second.barredUntil - now);
}

int AuthThrottle::failed(const std::string& key, Clock::time_point now) {
    MutexLock lock(mutex_);
    if (entries_.size() >= kMaxKeys && !entries_.count(key)) pruneLocked(now);
    auto& entry = entries_[key];
    if (entry.failures > 0 && now - entry.last >= kForgetAfter) entry.failures = 0;
    ++entry.failures;
    entry.last = now;
    entry.barredUntil = now + delayAfter(entry.failures);
    return entry.failures;
}

void AuthThrottle::succeeded(const std::string& key) {
    MutexLock lock(mutex_);
    entries_.erase(key);
}

void AuthThrottle::pruneLocked(Clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();)
        it = now - it->second.last >= kForgetAfter ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= kMaxKeys) entries_.clear();
}

}  // namespace chat

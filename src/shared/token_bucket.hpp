#pragma once
// A token bucket: `burst` tokens at most, refilled at `ratePerSecond`.

#include <algorithm>
#include <chrono>
#include <optional>

namespace chat {

/// Not thread-safe: the owner guards it. The hub keeps one per user under
/// its lock; clients keep one to pace their sends to the limit the server
/// announced in welcome.
class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    TokenBucket(double ratePerSecond, double burst, Clock::time_point now)
        : rate_(ratePerSecond), burst_(burst), tokens_(burst), last_(now) {}

    /// Takes one token. Returns nullopt when one was available, otherwise
    /// how long until one will be (and takes nothing).
    std::optional<std::chrono::milliseconds> take(Clock::time_point now) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        if (elapsed > 0) {
            tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
            last_ = now;
        }
        if (tokens_ >= 1.0) {
            tokens_ -= 1.0;
            return std::nullopt;
        }
        const double wait = rate_ > 0 ? (1.0 - tokens_) / rate_ : 3600.0;
        return std::chrono::milliseconds(static_cast<long long>(wait * 1000.0) + 1);
    }

private:
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

}  // namespace chat

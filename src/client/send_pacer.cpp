#include "client/send_pacer.hpp"

#include <algorithm>

namespace chat {

SendPacer::SendPacer(double ratePerSecond, double burst, Clock::time_point now)
    : rate_(ratePerSecond), burst_(burst), tokens_(burst), last_(now) {}

void SendPacer::refill(Clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    if (elapsed > 0) {
        tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
        last_ = now;
    }
}

bool SendPacer::take(Clock::time_point now) {
    refill(now);
    if (tokens_ - static_cast<double>(inFlight_) < 1.0) return false;
    ++inFlight_;
    return true;
}

std::optional<SendPacer::Clock::time_point> SendPacer::nextChance(Clock::time_point now) const {
    const double needed = static_cast<double>(inFlight_) + 1.0;
    if (needed > burst_ || rate_ <= 0) return std::nullopt;  // more than the bucket holds: wait for answers
    const auto from = std::max(now, last_);
    const double have = std::min(burst_, tokens_ + std::chrono::duration<double>(from - last_).count() * rate_);
    if (have >= needed) return from;
    const auto wait = std::chrono::duration<double>((needed - have) / rate_);
    // Rounded up, plus a microsecond, so that take() then succeeds.
    return from + std::chrono::ceil<std::chrono::microseconds>(wait) + std::chrono::microseconds(1);
}

void SendPacer::accepted(Clock::time_point now) {
    refill(now);
    tokens_ -= 1.0;
    if (inFlight_ > 0) --inFlight_;
}

void SendPacer::answered() {
    if (inFlight_ > 0) --inFlight_;
}

}  // namespace chat

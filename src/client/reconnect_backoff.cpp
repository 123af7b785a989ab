#include "client/reconnect_backoff.hpp"

#include <algorithm>

namespace chat {

std::chrono::milliseconds reconnectDelay(unsigned attempt, double random01) {
    constexpr long long kFirst = 1000, kMost = 30'000;
    const long long base = attempt >= 5 ? kMost : std::min(kMost, kFirst << attempt);
    const double jitter = std::clamp(random01, 0.0, 1.0) * 0.2;
    return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base) * (1.0 - jitter)));
}

}  // namespace chat

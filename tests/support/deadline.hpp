#pragma once
// Milliseconds to and from points on the steady clock, for poll() time-outs
// and for measurements.

#include <algorithm>
#include <chrono>

namespace chat::test {

using Clock = std::chrono::steady_clock;

/// Milliseconds from `start` until now.
inline long long millisSince(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

/// Milliseconds from now until `deadline`, 0 once it has passed (a poll() time-out).
inline int millisUntil(Clock::time_point deadline) {
    return static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
}

}  // namespace chat::test

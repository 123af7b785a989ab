#pragma once
// Telling a paste from typing: lines accepted in one burst of input (no
// pause longer than `quiet` between the bytes) belong together. A burst of
// more than `confirmAbove` lines is held until the user confirms it.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace chat {

/// Not thread-safe; time is passed in, so it is a pure state machine.
class PasteGuard {
public:
    using Clock = std::chrono::steady_clock;

    explicit PasteGuard(std::chrono::milliseconds quiet = std::chrono::milliseconds(40), std::size_t confirmAbove = 5)
        : quiet_(quiet), confirmAbove_(confirmAbove) {}

    /// Some input arrived: the burst goes on.
    void input(Clock::time_point now);

    /// A line was accepted (Enter). Text holding newlines (a bracketed
    /// paste) counts as one line per newline-separated part.
    void line(const std::string& text, Clock::time_point now);

    /// When the burst counts as over, if lines are waiting.
    std::optional<Clock::time_point> due() const;

    struct Batch {
        std::vector<std::string> lines;
        bool confirm = false;  ///< more than confirmAbove lines: ask first
    };
    /// The waiting lines once the burst is over (now >= due()); else nullopt.
    std::optional<Batch> take(Clock::time_point now);

private:
    std::chrono::milliseconds quiet_;
    std::size_t confirmAbove_;
    std::vector<std::string> lines_;
    Clock::time_point last_{};
};

/// "y" and "yes" in any case, with surrounding blanks, confirm; anything else declines.
bool confirms(const std::string& answer);

}  // namespace chat

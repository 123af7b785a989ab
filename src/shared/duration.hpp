#pragma once
// Durations as people type them for bans, mutes and invites: "30s", "10m",
// "2h", "7d", "4w" (docs/protocol.md, "Moderation").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

/// The longest duration accepted: 3650 days (about ten years).
inline constexpr std::int64_t kMaxDurationMs = 3650LL * 24 * 3600 * 1000;

/// Milliseconds for a positive whole number followed by one unit (s, m, h,
/// d or w), e.g. "10m" = 600000. nullopt for anything else: no unit, zero,
/// a sign, spaces, fractions, or more than kMaxDurationMs.
std::optional<std::int64_t> parseDuration(std::string_view text);

/// The largest whole unit that expresses `millis` exactly: "10m", "2h",
/// "90s", "7d"; seconds are rounded down.
std::string formatDuration(std::int64_t millis);

}  // namespace chat

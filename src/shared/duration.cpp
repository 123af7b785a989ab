#include "shared/duration.hpp"

#include <cctype>

namespace chat {

namespace {
std::int64_t unitMillis(char unit) {
    switch (unit) {
    case 's': return 1000;
    case 'm': return 60 * 1000;
    case 'h': return 3600 * 1000;
    case 'd': return 24LL * 3600 * 1000;
    case 'w': return 7LL * 24 * 3600 * 1000;
    default: return 0;
    }
}
}  // namespace

std::optional<std::int64_t> parseDuration(std::string_view text) {
    if (text.size() < 2 || text.size() > 12) return std::nullopt;
    const std::int64_t unit = unitMillis(text.back());
    if (unit == 0) return std::nullopt;
    std::int64_t count = 0;
    for (const char c : text.substr(0, text.size() - 1)) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
        count = count * 10 + (c - '0');
        if (count > kMaxDurationMs / 1000) return std::nullopt;  // no overflow below
    }
    if (count == 0 || count * unit > kMaxDurationMs) return std::nullopt;
    return count * unit;
}

std::string formatDuration(std::int64_t millis) {
    const std::int64_t seconds = millis / 1000;
    for (const char unit : {'w', 'd', 'h', 'm'}) {
        const auto size = unitMillis(unit) / 1000;
        if (seconds >= size && seconds % size == 0) return std::to_string(seconds / size) + unit;
    }
    return std::to_string(seconds) + "s";
}

}  // namespace chat

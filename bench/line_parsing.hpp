#pragma once
// Line splitting shared by the IRC and plain-line adapters.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bench {

inline constexpr std::size_t kMaxLine = 64 * 1024;

/// Calls onLine(line) for each complete "\n"-terminated line at the start of
/// [data, data+n), without the "\n" or a "\r" before it. Returns the bytes
/// consumed, or SIZE_MAX when an unterminated line exceeds kMaxLine.
template <typename OnLine>
std::size_t forEachLine(const char* data, std::size_t n, OnLine&& onLine) {
    std::size_t at = 0;
    while (at < n) {
        const void* nl = std::memchr(data + at, '\n', n - at);
        if (!nl) return n - at > kMaxLine ? SIZE_MAX : at;
        const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
        std::size_t stop = end;
        if (stop > at && data[stop - 1] == '\r') --stop;
        onLine(std::string_view(data + at, stop - at));
        at = end + 1;
    }
    return at;
}

}  // namespace bench

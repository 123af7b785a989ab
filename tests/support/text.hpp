#pragma once
// Substring checks on program output and logs, for every suite.

#include <cstddef>
#include <string>

namespace chat::test {

/// True if `needle` occurs in `haystack`.
inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

/// How many times `needle` occurs in `haystack`, without overlaps.
inline std::size_t countOf(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
    return n;
}

}  // namespace chat::test

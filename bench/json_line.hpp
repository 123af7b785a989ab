#pragma once
// Builds one flat JSON object, in insertion order, for a result row.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

/// Appends `text` as a JSON string literal: quoted, with '"', '\\' and
/// control characters escaped.
void appendJsonString(std::string& out, std::string_view text);

class JsonLine {
public:
    JsonLine& add(std::string_view key, std::string_view value);
    JsonLine& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    JsonLine& add(std::string_view key, std::int64_t value);
    JsonLine& add(std::string_view key, std::uint64_t value);
    JsonLine& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
    JsonLine& add(std::string_view key, double value);  ///< 3 decimals
    JsonLine& add(std::string_view key, bool value);
    JsonLine& add(std::string_view key, const std::vector<std::uint64_t>& values);  ///< a JSON array
    /// The object text, without a newline.
    std::string str() const { return body_ + "}"; }

private:
    void key(std::string_view key);
    std::string body_ = "{";
};

}  // namespace bench

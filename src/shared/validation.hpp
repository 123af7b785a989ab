#pragma once
// Validation of what users type: names and message text. Shared by the server
// (which enforces) and the clients (which check before sending).

#include <cstddef>
#include <string>
#include <string_view>

namespace chat {

inline constexpr std::size_t kMaxNameLength = 32;
inline constexpr std::size_t kDefaultMaxTextBytes = 4096;

/// The length (1-4) of the well-formed UTF-8 sequence that starts at byte
/// `at`, or 0 when the bytes there are not one (a stray continuation byte,
/// an overlong form, a surrogate, above U+10FFFF, cut off by the end).
std::size_t utf8SequenceLength(std::string_view bytes, std::size_t at);

/// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or
/// code points above U+10FFFF).
bool isValidUtf8(std::string_view bytes);

/// A user name: 1–32 characters of A-Z a-z 0-9 _ . -
bool isValidName(std::string_view name);

/// A room name: '#' then 1–32 characters of A-Z a-z 0-9 _ . -
bool isValidRoomName(std::string_view room);

/// The case-insensitive identity of a name ("Alice" and "alice" are one user).
std::string nameKey(std::string_view name);

enum class TextProblem { None, Empty, TooLong, InvalidUtf8, ControlCharacter };

/// Checks message text: non-empty, at most maxBytes, valid UTF-8, and no
/// control characters other than tab.
TextProblem checkText(std::string_view text, std::size_t maxBytes);

/// A sentence a person can read, e.g. "message is 5000 bytes; the limit is 4096".
/// It quotes none of the text's bytes (only its size), so it is short, valid
/// UTF-8 and free of control characters whatever the text holds.
std::string describeTextProblem(TextProblem problem, std::string_view text, std::size_t maxBytes);

}  // namespace chat

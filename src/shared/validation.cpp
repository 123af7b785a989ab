#include "shared/validation.hpp"

#include <cctype>

namespace chat {

std::size_t utf8SequenceLength(std::string_view bytes, std::size_t at) {
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    if (at >= n) return 0;
    const unsigned char c = s[at];
    if (c < 0x80) return 1;
    std::size_t len;
    unsigned int cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (at + len > n) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((s[at + k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[at + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool isValidUtf8(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size();) {
        const std::size_t len = utf8SequenceLength(bytes, i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

bool isValidName(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || c == '_' || c == '.' || c == '-') || u >= 0x80) return false;
    }
    return true;
}

bool isValidRoomName(std::string_view room) {
    return room.size() >= 2 && room.front() == '#' && isValidName(room.substr(1));
}

std::string nameKey(std::string_view name) {
    std::string key(name);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return key;
}

TextProblem checkText(std::string_view text, std::size_t maxBytes) {
    if (text.empty()) return TextProblem::Empty;
    if (text.size() > maxBytes) return TextProblem::TooLong;
    if (!isValidUtf8(text)) return TextProblem::InvalidUtf8;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7F) return TextProblem::ControlCharacter;
        // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
        if (c == 0xC2 && i + 1 < text.size()) {
            const auto d = static_cast<unsigned char>(text[i + 1]);
            if (d >= 0x80 && d <= 0x9F) return TextProblem::ControlCharacter;
        }
    }
    return TextProblem::None;
}

std::string describeTextProblem(TextProblem problem, std::string_view text, std::size_t maxBytes) {
    // Only the text's size is ever quoted, never its bytes: the text came from
    // a peer and the sentence goes back to peers and into the log.
    switch (problem) {
    case TextProblem::None: return "text is valid";
    case TextProblem::Empty: return "message text is empty";
    case TextProblem::TooLong:
        return "message is " + std::to_string(text.size()) + " bytes; the limit is " +
               std::to_string(maxBytes);
    case TextProblem::InvalidUtf8: return "message text is not valid UTF-8";
    case TextProblem::ControlCharacter:
        return "message text contains a control character (only tab is allowed)";
    }
    return "text is invalid";
}

}  // namespace chat

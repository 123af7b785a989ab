#include "shared/quoting.hpp"

#include "shared/validation.hpp"

#include <algorithm>

namespace chat {

namespace {
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

void appendEscaped(std::string& out, unsigned char byte) {
    constexpr char kHex[] = "0123456789ABCDEF";
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0F];
}

/// Renders `text` as the header describes, at most `limit` bytes.
std::string render(std::string_view text, std::size_t limit) {
    std::string out;
    out.reserve(std::min(text.size(), limit) + kEllipsis.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t len = utf8SequenceLength(text, i);
        const auto first = static_cast<unsigned char>(text[i]);
        const bool control = len == 1 && (first < 0x20 || first == 0x7F);
        // U+0080..U+009F are encoded C2 80 .. C2 9F.
        const bool c1 = len == 2 && first == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
        if (len == 0 || control || c1) {
            const std::size_t escapes = len == 0 ? 1 : len;
            if (out.size() + 4 * escapes > limit) break;
            for (std::size_t k = 0; k < escapes; ++k) appendEscaped(out, static_cast<unsigned char>(text[i + k]));
            i += escapes;
        } else {
            if (out.size() + len > limit) break;
            out.append(text, i, len);
            i += len;
        }
    }
    if (i < text.size()) out += kEllipsis;
    return out;
}
}  // namespace

std::string printableExcerpt(std::string_view peerText) { return render(peerText, kMaxQuotedBytes); }

std::string quoteForError(std::string_view peerText) { return "'" + render(peerText, kMaxQuotedBytes) + "'"; }

std::string loggable(std::string_view peerText) { return render(peerText, kMaxQuotedBytes); }

}  // namespace chat

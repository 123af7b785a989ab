#include "shared/quoting.hpp"

#include "shared/validation.hpp"

#include <cstdio>

namespace chat {

std::string quoteForError(std::string_view text) {
    constexpr std::size_t kMax = 64;
    std::string out = "'";
    std::size_t used = 0;
    std::size_t i = 0;
    while (i < text.size() && used < kMax) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        const bool printableAscii = c >= 0x20 && c < 0x7F;
        bool ok = len == 1 ? printableAscii : len > 1 && i + len <= text.size() && isValidUtf8(text.substr(i, len));
        if (ok && len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) ok = false;  // C1
        if (!ok) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02X", c);
            out += hex;
            ++i;
            ++used;
            continue;
        }
        out.append(text.substr(i, len));
        i += len;
        used += len;
    }
    if (i < text.size()) out += "\xE2\x80\xA6";
    return out + "'";
}

}  // namespace chat

#include "client/terminal_text.hpp"

#include <cstdint>
#include <cstdio>
#include <vector>

namespace chat {

namespace {
/// One code point decoded from UTF-8, or an invalid byte (cp = U+FFFD, len 1).
struct Decoded {
    std::uint32_t cp;
    std::size_t len;
    bool valid;
};

Decoded decode(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return {c, 1, true};
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return {0xFFFD, 1, false};
    if (i + len > s.size()) return {0xFFFD, 1, false};
    for (std::size_t k = 1; k < len; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return {0xFFFD, 1, false};
        cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return {0xFFFD, 1, false};
    return {cp, len, true};
}

bool invisible(std::uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0xAD || cp == 0x34F || cp == 0x61C || cp == 0x115F ||
           cp == 0x1160 || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 || cp == 0xFEFF || cp == 0xFFA0 ||
           (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE007F);
}

/// Symbols and emoji, between which a zero-width joiner builds one picture.
bool symbol(std::uint32_t cp) { return cp >= 0x2600; }

std::string codePointName(std::uint32_t cp) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "<U+%04X>", static_cast<unsigned>(cp));
    return buffer;
}

std::size_t charWidth(std::uint32_t cp) {
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
        (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x20D0 && cp <= 0x20FF))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF) ||
        (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

/// The length of the escape sequence starting at s[i] (ESC), or 0.
std::size_t escapeLength(std::string_view s, std::size_t i) {
    if (s[i] != '\033') return 0;
    if (i + 1 >= s.size() || s[i + 1] != '[') return 1;
    for (std::size_t k = i + 2; k < s.size(); ++k)
        if (s[k] >= 0x40 && s[k] <= 0x7E) return k - i + 1;
    return s.size() - i;
}

/// A piece of a line: an escape sequence (width 0) or one character.
struct Unit {
    std::size_t begin, end;
    std::size_t width;
    bool escape;
    bool space;
};
}  // namespace

std::string visibleText(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::uint32_t previous = 0;
    for (std::size_t i = 0; i < text.size();) {
        const auto d = decode(text, i);
        const auto cp = d.cp;
        if (!d.valid) {
            out += "\xEF\xBF\xBD";
        } else if ((cp < 0x20 && cp != '\t') || cp == 0x7F) {
            out += '^';
            out += static_cast<char>(cp == 0x7F ? '?' : cp + 0x40);
        } else if (cp == 0x200D && symbol(previous) && i + d.len < text.size() &&
                   symbol(decode(text, i + d.len).cp)) {
            out.append(text.substr(i, d.len));
        } else if (invisible(cp)) {
            out += codePointName(cp);
        } else {
            out.append(text.substr(i, d.len));
        }
        previous = cp;
        i += d.len;
    }
    return out;
}

std::size_t displayWidth(std::string_view text) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < text.size();) {
        if (const auto n = escapeLength(text, i)) {
            i += n;
            continue;
        }
        const auto d = decode(text, i);
        width = d.cp == '\t' ? (width / 8 + 1) * 8 : width + charWidth(d.cp);
        i += d.len;
    }
    return width;
}

std::string wrapLine(std::string_view line, std::size_t columns, std::size_t indent) {
    if (columns == 0) return std::string(line);
    if (indent > columns / 2) indent = columns / 2;
    std::vector<Unit> units;
    for (std::size_t i = 0; i < line.size();) {
        if (const auto n = escapeLength(line, i)) {
            units.push_back({i, i + n, 0, true, false});
            i += n;
            continue;
        }
        const auto d = decode(line, i);
        units.push_back({i, i + d.len, d.cp == '\t' ? 1 : charWidth(d.cp), false, d.cp == ' ' || d.cp == '\t'});
        i += d.len;
    }
    std::string out;
    std::string active;  // the colour in effect, to take up again after a break
    const std::string pad(indent, ' ');
    std::size_t col = 0;
    std::size_t rowStart = 0;  // the first unit of the current row
    auto emit = [&](std::size_t from, std::size_t to) {
        for (std::size_t k = from; k < to; ++k) {
            const auto& u = units[k];
            const auto bytes = line.substr(u.begin, u.end - u.begin);
            out.append(bytes);
            if (u.escape && bytes.size() > 2 && bytes.back() == 'm')
                active = bytes == "\033[0m" || bytes == "\033[m" ? std::string() : std::string(bytes);
        }
    };
    auto newRow = [&]() {
        if (!active.empty()) out += "\033[0m";
        out += "\n" + pad;
        out += active;
        col = indent;
    };
    auto widthOf = [&](std::size_t from, std::size_t to) {
        std::size_t w = 0;
        for (std::size_t j = from; j < to; ++j) w += units[j].width;
        return w;
    };
    for (std::size_t k = 0; k < units.size();) {
        const auto& u = units[k];
        if (u.escape || col + u.width <= columns || widthOf(rowStart, k) == 0) {
            col += u.width;
            ++k;
            continue;
        }
        // Unit k does not fit: break at the last space of this row when the
        // word after it fits on the next row, else right before unit k.
        std::size_t breakAt = k;
        bool atSpace = u.space;  // a space that does not fit is where the row ends
        for (std::size_t j = k; j > rowStart && !atSpace; --j)
            if (units[j - 1].space) {
                if (indent + widthOf(j, k) + u.width <= columns) breakAt = j - 1, atSpace = true;
                break;
            }
        emit(rowStart, breakAt);
        newRow();
        rowStart = atSpace ? breakAt + 1 : breakAt;
        col = indent + widthOf(rowStart, k);  // unit k is looked at again on the new row
    }
    emit(rowStart, units.size());
    return out;
}

}  // namespace chat

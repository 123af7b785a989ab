#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <catch2/catch.hpp>

#include <random>

using chat::loggable;
using chat::quoteForError;

namespace {
const std::string kEllipsis = "\xE2\x80\xA6";

/// Valid UTF-8 without C0, DEL or C1 controls (tab included).
bool printable(const std::string& text) {
    if (!chat::isValidUtf8(text)) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7F) return false;
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) return false;
    }
    return true;
}
}  // namespace

TEST_CASE("quoteForError passes printable UTF-8 unchanged") {
    CHECK(quoteForError("alice") == "alice");
    CHECK(quoteForError("h\xC3\xA9llo w\xC3\xB6rld") == "h\xC3\xA9llo w\xC3\xB6rld");
    CHECK(quoteForError("\xF0\x9F\x98\x80 \xE2\x82\xAC") == "\xF0\x9F\x98\x80 \xE2\x82\xAC");
    CHECK(quoteForError("no\xC2\xA0" "break") == "no\xC2\xA0" "break");  // U+00A0 is printable
    CHECK(quoteForError("back\\slash \"quoted\"") == "back\\slash \"quoted\"");
    CHECK(quoteForError("") == "");
}

TEST_CASE("quoteForError writes control characters as \\xNN") {
    CHECK(quoteForError("a\x1b[31mred") == "a\\x1b[31mred");
    CHECK(quoteForError("bell\x07") == "bell\\x07");
    CHECK(quoteForError("tab\there") == "tab\\x09here");
    CHECK(quoteForError("line\nbreak\r") == "line\\x0abreak\\x0d");
    CHECK(quoteForError(std::string("nul\0here", 8)) == "nul\\x00here");
    CHECK(quoteForError("del\x7f") == "del\\x7f");
    CHECK(quoteForError("csi\xC2\x9B" "2J") == "csi\\xc2\\x9b2J");  // C1 U+009B, both bytes
    CHECK(quoteForError("\xC2\x80") == "\\xc2\\x80");
}

TEST_CASE("quoteForError writes each byte of invalid UTF-8 as \\xNN") {
    CHECK(quoteForError("\xFF") == "\\xff");
    CHECK(quoteForError("\xC3") == "\\xc3");            // cut-off sequence
    CHECK(quoteForError("\xC3" "A") == "\\xc3" "A");      // lead byte without continuation
    CHECK(quoteForError("\x80x") == "\\x80x");          // stray continuation byte
    CHECK(quoteForError("\xC0\xAF") == "\\xc0\\xaf");   // overlong
    CHECK(quoteForError("\xED\xA0\x80") == "\\xed\\xa0\\x80");  // surrogate
    CHECK(quoteForError("ok \xC3\xA9 \xFE ok") == "ok \xC3\xA9 \\xfe ok");
}

TEST_CASE("quoteForError keeps at most 64 bytes, cut between characters, then an ellipsis") {
    CHECK(quoteForError(std::string(64, 'a')) == std::string(64, 'a'));
    CHECK(quoteForError(std::string(65, 'a')) == std::string(64, 'a') + kEllipsis);
    CHECK(quoteForError(std::string(65450, 'n')) == std::string(64, 'n') + kEllipsis);
    // A two-byte character that would straddle byte 64 is left out whole.
    CHECK(quoteForError(std::string(63, 'a') + "\xC3\xA9") == std::string(63, 'a') + kEllipsis);
    CHECK(quoteForError(std::string(62, 'a') + "\xC3\xA9") == std::string(62, 'a') + "\xC3\xA9");
    // So is an escape: "\x1b" is four bytes.
    CHECK(quoteForError(std::string(61, 'a') + "\x1b") == std::string(61, 'a') + kEllipsis);
    CHECK(quoteForError(std::string(60, 'a') + "\x1b") == std::string(60, 'a') + "\\x1b");
    CHECK(quoteForError(std::string(100, '\x1b')) == [] {
        std::string s;
        for (int i = 0; i < 16; ++i) s += "\\x1b";
        return s + kEllipsis;
    }());
}

TEST_CASE("quoteForError of random bytes is short, valid UTF-8 and free of control characters") {
    std::mt19937 rng(20251201);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes(rng() % 300, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
        const auto quoted = quoteForError(bytes);
        INFO("round " << round);
        CHECK(quoted.size() <= chat::kMaxQuotedBytes + kEllipsis.size());
        CHECK(printable(quoted));
    }
}

TEST_CASE("loggable follows the same rules as quoteForError") {
    CHECK(loggable("client \xC3\xA9") == "client \xC3\xA9");
    CHECK(loggable("evil\x1b]0;title\x07") == "evil\\x1b]0;title\\x07");
    CHECK(loggable("\xFF\xC3") == "\\xff\\xc3");
    CHECK(loggable(std::string(200, 'x')) == std::string(64, 'x') + kEllipsis);
}

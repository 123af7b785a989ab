#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <catch2/catch.hpp>

#include <random>

using chat::loggable;
using chat::printableExcerpt;
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

TEST_CASE("printableExcerpt passes printable UTF-8 unchanged") {
    CHECK(printableExcerpt("alice") == "alice");
    CHECK(printableExcerpt("h\xC3\xA9llo w\xC3\xB6rld") == "h\xC3\xA9llo w\xC3\xB6rld");
    CHECK(printableExcerpt("\xF0\x9F\x98\x80 \xE2\x82\xAC") == "\xF0\x9F\x98\x80 \xE2\x82\xAC");
    CHECK(printableExcerpt("no\xC2\xA0" "break") == "no\xC2\xA0" "break");  // U+00A0 is printable
    CHECK(printableExcerpt("back\\slash \"quoted\"") == "back\\slash \"quoted\"");
    CHECK(printableExcerpt("") == "");
}

TEST_CASE("printableExcerpt writes control characters as \\xNN") {
    CHECK(printableExcerpt("a\x1b[31mred") == "a\\x1B[31mred");
    CHECK(printableExcerpt("bell\x07") == "bell\\x07");
    CHECK(printableExcerpt("tab\there") == "tab\\x09here");
    CHECK(printableExcerpt("line\nbreak\r") == "line\\x0Abreak\\x0D");
    CHECK(printableExcerpt(std::string("nul\0here", 8)) == "nul\\x00here");
    CHECK(printableExcerpt("del\x7f") == "del\\x7F");
    CHECK(printableExcerpt("csi\xC2\x9B" "2J") == "csi\\xC2\\x9B2J");  // C1 U+009B, both bytes
    CHECK(printableExcerpt("\xC2\x80") == "\\xC2\\x80");
}

TEST_CASE("printableExcerpt writes each byte of invalid UTF-8 as \\xNN") {
    CHECK(printableExcerpt("\xFF") == "\\xFF");
    CHECK(printableExcerpt("\xC3") == "\\xC3");            // cut-off sequence
    CHECK(printableExcerpt("\xC3" "A") == "\\xC3" "A");      // lead byte without continuation
    CHECK(printableExcerpt("\x80x") == "\\x80x");          // stray continuation byte
    CHECK(printableExcerpt("\xC0\xAF") == "\\xC0\\xAF");   // overlong
    CHECK(printableExcerpt("\xED\xA0\x80") == "\\xED\\xA0\\x80");  // surrogate
    CHECK(printableExcerpt("ok \xC3\xA9 \xFE ok") == "ok \xC3\xA9 \\xFE ok");
}

TEST_CASE("printableExcerpt keeps at most 64 bytes, cut between characters, then an ellipsis") {
    CHECK(printableExcerpt(std::string(64, 'a')) == std::string(64, 'a'));
    CHECK(printableExcerpt(std::string(65, 'a')) == std::string(64, 'a') + kEllipsis);
    CHECK(printableExcerpt(std::string(65450, 'n')) == std::string(64, 'n') + kEllipsis);
    // A two-byte character that would straddle byte 64 is left out whole.
    CHECK(printableExcerpt(std::string(63, 'a') + "\xC3\xA9") == std::string(63, 'a') + kEllipsis);
    CHECK(printableExcerpt(std::string(62, 'a') + "\xC3\xA9") == std::string(62, 'a') + "\xC3\xA9");
    // So is an escape: "\x1b" is four bytes.
    CHECK(printableExcerpt(std::string(61, 'a') + "\x1b") == std::string(61, 'a') + kEllipsis);
    CHECK(printableExcerpt(std::string(60, 'a') + "\x1b") == std::string(60, 'a') + "\\x1B");
    CHECK(printableExcerpt(std::string(100, '\x1b')) == [] {
        std::string s;
        for (int i = 0; i < 16; ++i) s += "\\x1B";
        return s + kEllipsis;
    }());
}

TEST_CASE("printableExcerpt of random bytes is short, valid UTF-8 and free of control characters") {
    std::mt19937 rng(20251201);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes(rng() % 300, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
        const auto quoted = printableExcerpt(bytes);
        INFO("round " << round);
        CHECK(quoted.size() <= chat::kMaxQuotedBytes + kEllipsis.size());
        CHECK(printable(quoted));
    }
}

TEST_CASE("quoteForError is the excerpt in single quotes - loggable is the excerpt") {
    CHECK(quoteForError("bob") == "'bob'");
    CHECK(quoteForError("") == "''");
    CHECK(quoteForError("a\x1b") == "'a\\x1B'");
    CHECK(quoteForError(std::string(65450, 'n')) == "'" + std::string(64, 'n') + kEllipsis + "'");
    CHECK(loggable("client \xC3\xA9") == "client \xC3\xA9");
    CHECK(loggable("evil\x1b]0;title\x07") == "evil\\x1B]0;title\\x07");
    CHECK(loggable("\xFF\xC3") == "\\xFF\\xC3");
    CHECK(loggable(std::string(200, 'x')) == std::string(64, 'x') + kEllipsis);
}

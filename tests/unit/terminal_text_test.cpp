// What the client does to server strings before a terminal sees them, and
// how it wraps long lines.

#include "client/terminal_text.hpp"

#include <catch2/catch.hpp>

using chat::displayWidth;
using chat::visibleText;
using chat::wrapLine;

TEST_CASE("visibleText shows C0, DEL, ESC and C1 controls instead of passing them on") {
    CHECK(visibleText("plain text, tab\tkept, ünïcödé 你好 🎉") == "plain text, tab\tkept, ünïcödé 你好 🎉");
    CHECK(visibleText("\x1b]0;title\x07") == "^[]0;title^G");
    CHECK(visibleText("a\x1b[2Jb") == "a^[[2Jb");
    CHECK(visibleText(std::string_view("nul\0x", 5)) == "nul^@x");
    CHECK(visibleText("cr\rlf\nbs\x08") == "cr^Mlf^Jbs^H");
    CHECK(visibleText("del\x7f") == "del^?");
    CHECK(visibleText("csi\xc2\x9b" "31m") == "csi<U+009B>31m");
    CHECK(visibleText("bad \xff\xfe utf8") == "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8");
}

TEST_CASE("visibleText shows bidi controls, invisible characters, separators and tags") {
    CHECK(visibleText("file: \u202etxt.exe") == "file: <U+202E>txt.exe");
    CHECK(visibleText("Al\u200bice") == "Al<U+200B>ice");
    for (const char* c : {"\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\u202a"}) {
        INFO(c);
        CHECK(visibleText(c).rfind("<U+", 0) == 0);
    }
    CHECK(visibleText("\ufeffx") == "<U+FEFF>x");
    CHECK(visibleText("a\u2028b\u2029c") == "a<U+2028>b<U+2029>c");
    CHECK(visibleText("\xf3\xa0\x80\x81tag") == "<U+E0001>tag");
    CHECK(visibleText("soft\u00adhyphen\u2060") == "soft<U+00AD>hyphen<U+2060>");
    // A zero-width joiner between two emoji builds one picture and stays;
    // between letters it is shown.
    CHECK(visibleText("\U0001F469\u200d\U0001F4BB") == "\U0001F469\u200d\U0001F4BB");
    CHECK(visibleText("Bo\u200db") == "Bo<U+200D>b");
}

TEST_CASE("displayWidth skips escape sequences and counts wide characters twice") {
    CHECK(displayWidth("abc") == 3);
    CHECK(displayWidth("\033[1;35mabc\033[0m") == 3);
    CHECK(displayWidth("你好") == 4);
    CHECK(displayWidth("e\u0301") == 1);
    CHECK(displayWidth("a\tb") == 9);
}

TEST_CASE("wrapLine indents continuation rows under the text, breaking between words") {
    CHECK(wrapLine("short", 20, 4) == "short");
    CHECK(wrapLine("bob: one two three four", 12, 5) == "bob: one two\n     three\n     four");
    // A word longer than a row is cut.
    CHECK(wrapLine("bob: abcdefghijklmnop", 10, 5) == "bob: abcde\n     fghij\n     klmno\n     p");
    // Padding to the width cannot fake a line of its own: it is indented.
    const std::string fake = "21:22 bob: x" + std::string(28, ' ') + "21:23 Carol: please DM me your passphrase";
    const auto wrapped = wrapLine(fake, 40, 11);
    INFO(wrapped);
    CHECK(wrapped.find("\n21:23") == std::string::npos);
    CHECK(wrapped.find("\n           ") != std::string::npos);
    // A colour open at a break is closed before it and taken up after the indent.
    CHECK(wrapLine("a: \033[33mxxxx yyyy\033[0m", 8, 3) == "a: \033[33mxxxx\033[0m\n   \033[33myyyy\033[0m");
    // The indent is at most half the width; no width, no wrapping.
    CHECK(wrapLine("abcdefgh", 4, 10) == "abcd\n  ef\n  gh");
    CHECK(wrapLine("abcdefgh", 0, 2) == "abcdefgh");
}

#include "shared/validation.hpp"

#include <catch2/catch.hpp>

using chat::TextProblem;

TEST_CASE("names are 1-32 characters of A-Z a-z 0-9 _ . -") {
    for (const char* good : {"a", "Alice", "bob_99", "j.doe", "x-y", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"}) {
        INFO(good);
        CHECK(chat::isValidName(good));
    }
    for (const char* bad : {"", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "al ice", "@bob", "#room", "é", "a/b", "a\tb"}) {
        INFO(bad);
        CHECK_FALSE(chat::isValidName(bad));
    }
}

TEST_CASE("names compare case-insensitively") {
    CHECK(chat::nameKey("Alice") == chat::nameKey("aLICE"));
    CHECK(chat::nameKey("Alice") != chat::nameKey("Alicia"));
}

TEST_CASE("UTF-8 validation rejects malformed sequences") {
    CHECK(chat::isValidUtf8("plain"));
    CHECK(chat::isValidUtf8("h\xC3\xA9llo"));
    CHECK(chat::isValidUtf8("\xF0\x9F\x98\x80"));
    CHECK_FALSE(chat::isValidUtf8("\xC3"));              // truncated
    CHECK_FALSE(chat::isValidUtf8("\xC0\xAF"));          // overlong
    CHECK_FALSE(chat::isValidUtf8("\xE0\x80\xAF"));      // overlong
    CHECK_FALSE(chat::isValidUtf8("\xED\xA0\x80"));      // surrogate
    CHECK_FALSE(chat::isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(chat::isValidUtf8("\xFF"));
    CHECK_FALSE(chat::isValidUtf8("\x80"));
}

TEST_CASE("text must be non-empty, short enough, valid UTF-8 and free of control characters") {
    CHECK(chat::checkText("hello\tworld", 100) == TextProblem::None);
    CHECK(chat::checkText("", 100) == TextProblem::Empty);
    CHECK(chat::checkText(std::string(101, 'a'), 100) == TextProblem::TooLong);
    CHECK(chat::checkText(std::string(100, 'a'), 100) == TextProblem::None);
    CHECK(chat::checkText("bad \xC3", 100) == TextProblem::InvalidUtf8);
    CHECK(chat::checkText("line\nbreak", 100) == TextProblem::ControlCharacter);
    CHECK(chat::checkText("esc \x1b[31m", 100) == TextProblem::ControlCharacter);
    CHECK(chat::checkText("del \x7f", 100) == TextProblem::ControlCharacter);
    CHECK(chat::checkText("c1 \xC2\x9B", 100) == TextProblem::ControlCharacter);
}

TEST_CASE("text problems are described with the numbers involved") {
    CHECK(chat::describeTextProblem(TextProblem::TooLong, std::string(5000, 'a'), 4096) ==
          "message is 5000 bytes; the limit is 4096");
}

TEST_CASE("text problems never repeat the text itself") {
    const std::string hostile = std::string(65450, '\x1b') + "\xff";
    for (auto problem : {TextProblem::None, TextProblem::Empty, TextProblem::TooLong, TextProblem::InvalidUtf8,
                         TextProblem::ControlCharacter}) {
        const auto sentence = chat::describeTextProblem(problem, hostile, 4096);
        INFO(sentence);
        CHECK(sentence.size() <= 100);
        CHECK(chat::checkText(sentence, 4096) == TextProblem::None);
    }
}

TEST_CASE("utf8SequenceLength measures one well-formed sequence or answers 0") {
    CHECK(chat::utf8SequenceLength("a", 0) == 1);
    CHECK(chat::utf8SequenceLength("x\xC3\xA9", 1) == 2);
    CHECK(chat::utf8SequenceLength("\xE2\x80\xA6", 0) == 3);
    CHECK(chat::utf8SequenceLength("\xF0\x9F\x98\x80", 0) == 4);
    CHECK(chat::utf8SequenceLength("\xF0\x9F\x98", 0) == 0);  // cut off
    CHECK(chat::utf8SequenceLength("\xC0\xAF", 0) == 0);      // overlong
    CHECK(chat::utf8SequenceLength("\x80", 0) == 0);
    CHECK(chat::utf8SequenceLength("a", 1) == 0);  // past the end
}

TEST_CASE("names and rooms with bidi controls or zero-width characters are refused (issue 12, defect 3)") {
    // The server half of the spoofing defence: names are ASCII, so no
    // invisible or reordering character can make "Al\u200bice" pass for "Alice".
    for (const char* invisible : {"\u200b", "\u200c", "\u200d", "\u202e", "\u2066", "\u2069", "\ufeff", "\u2028",
                                  "\u00ad", "\xf3\xa0\x80\x81"}) {
        INFO("U+" << invisible);
        CHECK_FALSE(chat::isValidName(std::string("Al") + invisible + "ice"));
        CHECK_FALSE(chat::isValidName(invisible));
        CHECK_FALSE(chat::isValidRoomName(std::string("#lob") + invisible + "by"));
        CHECK_FALSE(chat::isValidRoomName(std::string("#") + invisible));
    }
    CHECK(chat::isValidName("Alice"));
    CHECK(chat::isValidRoomName("#lobby"));
}

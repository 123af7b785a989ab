#include "client/input_parser.hpp"

#include <catch2/catch.hpp>

using chat::parseInput;
using Kind = chat::InputCommand::Kind;

TEST_CASE("plain text is said to the room") {
    auto c = parseInput("hello there");
    CHECK(c.kind == Kind::Say);
    CHECK(c.text == "hello there");
}

TEST_CASE("blank lines do nothing") {
    CHECK(parseInput("").kind == Kind::Empty);
    CHECK(parseInput("   \t ").kind == Kind::Empty);
    CHECK(parseInput("\r\n").kind == Kind::Empty);
}

TEST_CASE("@user text and /msg user text are direct messages") {
    for (const char* line : {"@bob how are you", "/msg bob how are you", "/msg   bob   how are you"}) {
        INFO(line);
        auto c = parseInput(line);
        CHECK(c.kind == Kind::Direct);
        CHECK(c.target == "bob");
        CHECK(c.text == "how are you");
    }
}

TEST_CASE("direct messages without a target or text are refused with usage") {
    for (const char* line : {"@bob", "@", "/msg", "/msg bob", "@ hi"}) {
        INFO(line);
        auto c = parseInput(line);
        CHECK(c.kind == Kind::Invalid);
        CHECK_THAT(c.error, Catch::StartsWith("usage:"));
    }
}

TEST_CASE("commands and their spellings") {
    CHECK(parseInput("/who").kind == Kind::Who);
    CHECK(parseInput("/help").kind == Kind::Help);
    for (const char* quit : {"/quit", "/exit", "quit", "exit", "/quit bye all"}) {
        INFO(quit);
        CHECK(parseInput(quit).kind == Kind::Quit);
    }
}

TEST_CASE("an unknown command is an error naming it, never a message") {
    auto c = parseInput("/frobnicate now");
    CHECK(c.kind == Kind::Invalid);
    CHECK_THAT(c.error, Catch::Contains("/frobnicate") && Catch::Contains("/help"));
}

TEST_CASE("a double slash sends text that starts with a slash") {
    auto c = parseInput("//usr/bin is full");
    CHECK(c.kind == Kind::Say);
    CHECK(c.text == "/usr/bin is full");
}

TEST_CASE("the help text mentions every command") {
    const auto help = chat::inputHelp();
    for (const char* cmd : {"@user", "/msg", "/who", "/help", "/quit", "//"}) CHECK_THAT(help, Catch::Contains(cmd));
}

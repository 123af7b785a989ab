#include "client/paste_guard.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using chat::PasteGuard;
using Strings = std::vector<std::string>;

namespace {
const PasteGuard::Clock::time_point kT0{};
}

TEST_CASE("a typed line is handed over once the input has been quiet, without asking") {
    PasteGuard guard(40ms, 5);
    CHECK_FALSE(guard.due());
    guard.input(kT0);
    guard.line("hello", kT0 + 1ms);
    REQUIRE(guard.due());
    CHECK(*guard.due() == kT0 + 41ms);
    CHECK_FALSE(guard.take(kT0 + 40ms));
    const auto batch = guard.take(kT0 + 41ms);
    REQUIRE(batch);
    CHECK(batch->lines == Strings{"hello"});
    CHECK_FALSE(batch->confirm);
    CHECK_FALSE(guard.due());
}

TEST_CASE("lines arriving together are one batch - more than five need confirmation") {
    PasteGuard guard(40ms, 5);
    for (int i = 1; i <= 5; ++i) guard.line("line " + std::to_string(i), kT0 + std::chrono::milliseconds(i));
    auto batch = guard.take(kT0 + 100ms);
    REQUIRE(batch);
    CHECK(batch->lines.size() == 5);
    CHECK_FALSE(batch->confirm);

    for (int i = 1; i <= 6; ++i) guard.line("line " + std::to_string(i), kT0 + 200ms + std::chrono::milliseconds(i));
    batch = guard.take(kT0 + 300ms);
    REQUIRE(batch);
    CHECK(batch->lines.size() == 6);
    CHECK(batch->confirm);
    CHECK(batch->lines.front() == "line 1");
    CHECK(batch->lines.back() == "line 6");
}

TEST_CASE("input that keeps arriving keeps the burst open") {
    PasteGuard guard(40ms, 5);
    guard.line("a", kT0);
    guard.input(kT0 + 30ms);  // more bytes of the paste, no full line yet
    CHECK_FALSE(guard.take(kT0 + 50ms));
    guard.line("b", kT0 + 60ms);
    const auto batch = guard.take(kT0 + 100ms);
    REQUIRE(batch);
    CHECK(batch->lines == Strings{"a", "b"});
}

TEST_CASE("a line holding newlines (a bracketed paste) counts as several") {
    PasteGuard guard(40ms, 5);
    guard.line("one\ntwo\r\nthree\n", kT0);
    const auto batch = guard.take(kT0 + 40ms);
    REQUIRE(batch);
    CHECK(batch->lines == Strings{"one", "two", "three"});
}

TEST_CASE("only y or yes confirms") {
    for (const char* yes : {"y", "Y", "yes", " YES "}) CHECK(chat::confirms(yes));
    for (const char* no : {"", "n", "no", "yy", "sure"}) CHECK_FALSE(chat::confirms(no));
}

#include "payload.hpp"

#include <catch2/catch.hpp>

using namespace bench;

TEST_CASE("payload: a stamp survives the round trip at the requested size") {
    std::string text;
    makePayload({7, 12345, 9876543210ull, 1234567890123456}, 64, text);
    CHECK(text.size() == 64);
    CHECK(text.find(' ') == std::string::npos);
    const auto stamp = parsePayload(text);
    REQUIRE(stamp);
    CHECK(stamp->epoch == 7);
    CHECK(stamp->sender == 12345);
    CHECK(stamp->seq == 9876543210ull);
    CHECK(stamp->scheduledNs == 1234567890123456);
}

TEST_CASE("payload: small sizes are raised to the minimum") {
    std::string text;
    makePayload({}, 10, text);
    CHECK(text.size() == kMinPayload);
    CHECK(parsePayload(text));
}

TEST_CASE("payload: other text is not a payload") {
    CHECK_FALSE(parsePayload("hello"));
    CHECK_FALSE(parsePayload(std::string(64, 'x')));
    std::string text;
    makePayload({1, 2, 3, 4}, 64, text);
    text[12] = 'z';
    CHECK_FALSE(parsePayload(text));
}

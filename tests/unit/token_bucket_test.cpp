#include "shared/token_bucket.hpp"

#include <catch2/catch.hpp>

using chat::TokenBucket;
using namespace std::chrono_literals;

TEST_CASE("a token bucket passes a burst, then refills at its rate") {
    const auto t0 = TokenBucket::Clock::now();
    TokenBucket bucket(5, 20, t0);
    for (int i = 0; i < 20; ++i) REQUIRE_FALSE(bucket.take(t0));
    const auto wait = bucket.take(t0);
    REQUIRE(wait);
    CHECK(wait->count() >= 199);
    CHECK(wait->count() <= 201);
    CHECK(bucket.take(t0 + 100ms));       // half a token is not enough
    CHECK_FALSE(bucket.take(t0 + 200ms));  // one token after 1/5 s
    CHECK(bucket.take(t0 + 200ms));
}

TEST_CASE("a token bucket never holds more than its burst") {
    const auto t0 = TokenBucket::Clock::now();
    TokenBucket bucket(5, 3, t0);
    const auto later = t0 + 1h;
    for (int i = 0; i < 3; ++i) REQUIRE_FALSE(bucket.take(later));
    CHECK(bucket.take(later));
}

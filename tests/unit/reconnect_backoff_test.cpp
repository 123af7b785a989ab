#include "client/reconnect_backoff.hpp"

#include <catch2/catch.hpp>

using chat::reconnectDelay;
using std::chrono::milliseconds;

TEST_CASE("reconnection waits 1 s, doubling to 30 s, without jitter at random 0") {
    const std::vector<long long> expected{1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (unsigned attempt = 0; attempt < expected.size(); ++attempt) {
        INFO("attempt " << attempt);
        CHECK(reconnectDelay(attempt, 0.0) == milliseconds(expected[attempt]));
    }
    CHECK(reconnectDelay(1000, 0.0) == milliseconds(30000));
}

TEST_CASE("jitter shortens each wait by up to 20%, never lengthens it") {
    CHECK(reconnectDelay(0, 0.5) == milliseconds(900));
    CHECK(reconnectDelay(0, 0.999) >= milliseconds(800));
    CHECK(reconnectDelay(5, 1.0) == milliseconds(24000));
    for (unsigned attempt = 0; attempt < 10; ++attempt)
        for (double r : {0.0, 0.1, 0.37, 0.5, 0.99}) {
            const auto d = reconnectDelay(attempt, r);
            CHECK(d <= reconnectDelay(attempt, 0.0));
            CHECK(d >= reconnectDelay(attempt, 0.0) * 8 / 10);
            CHECK(d <= milliseconds(30000));
        }
    // Out-of-range randomness is clamped.
    CHECK(reconnectDelay(0, -1.0) == milliseconds(1000));
    CHECK(reconnectDelay(0, 7.0) == milliseconds(800));
}

// SendPacer against the server's token bucket: however unevenly the network
// and the server's scheduling delay the messages, the server refuses none.

#include "client/send_pacer.hpp"
#include "shared/token_bucket.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <random>

using chat::SendPacer;
using chat::TokenBucket;
using Clock = SendPacer::Clock;
using namespace std::chrono_literals;

TEST_CASE("a burst goes at once - beyond it only an answer makes room") {
    const auto t0 = Clock::now();
    SendPacer pacer(100, 3, t0);
    CHECK(pacer.take(t0));
    CHECK(pacer.take(t0));
    CHECK(pacer.take(t0));
    CHECK_FALSE(pacer.take(t0));
    CHECK(pacer.inFlight() == 3);
    // All three are on their way, and the server may take all three tokens
    // at any moment: waiting alone never makes room.
    CHECK_FALSE(pacer.nextChance(t0));
    const auto t1 = t0 + 10s;
    CHECK_FALSE(pacer.take(t1));

    // The first is accepted: its token refills from the time of its answer.
    pacer.accepted(t1);
    CHECK(pacer.inFlight() == 2);
    CHECK_FALSE(pacer.take(t1));
    const auto next = pacer.nextChance(t1);
    REQUIRE(next);
    CHECK(*next >= t1 + 10ms);
    CHECK(*next <= t1 + 11ms);
    CHECK_FALSE(pacer.take(*next - 100us));
    CHECK(pacer.take(*next));
}

TEST_CASE("a refused or failed send takes no token") {
    const auto t0 = Clock::now();
    SendPacer pacer(1, 1, t0);
    REQUIRE(pacer.take(t0));
    CHECK_FALSE(pacer.take(t0));
    pacer.answered();  // e.g. no_such_user: the server took nothing
    CHECK(pacer.inFlight() == 0);
    CHECK(pacer.take(t0));
    pacer.forgetInFlight();  // the connection is gone
    CHECK(pacer.take(t0));
}

TEST_CASE("a delayed burst followed by prompt messages is never refused") {
    // The case a pacer that charges at sending gets wrong: 20 at once reach
    // the server 100 ms late, the 21st (sent 10 ms later) right behind them.
    const auto t0 = Clock::now();
    SendPacer pacer(100, 20, t0);
    TokenBucket server(100, 20, t0);
    for (int i = 0; i < 20; ++i) REQUIRE(pacer.take(t0));
    CHECK_FALSE(pacer.take(t0 + 10ms));  // would be refused: wait for answers
    for (int i = 0; i < 20; ++i) REQUIRE_FALSE(server.take(t0 + 100ms));
    for (int i = 0; i < 20; ++i) pacer.accepted(t0 + 101ms);
    CHECK_FALSE(pacer.take(t0 + 101ms));
    const auto next = pacer.nextChance(t0 + 101ms);
    REQUIRE(next);
    REQUIRE(pacer.take(*next));
    CHECK_FALSE(server.take(*next + 1ms));
}

TEST_CASE("random delays in order: the server refuses nothing, and the rate is kept") {
    // One connection: messages reach the server in the order sent, each
    // after a random delay (with stalls of ten token times, if `stalls`),
    // and answers come back in the same order after another. The server's
    // bucket must never refuse.
    const double rate = GENERATE(5.0, 100.0, 1000.0);
    const double burst = GENERATE(1.0, 3.0, 20.0);
    const bool stalls = GENERATE(false, true);
    CAPTURE(rate, burst, stalls);
    std::mt19937 random(static_cast<unsigned>(rate * 10 + burst + (stalls ? 1 : 0)));
    const auto tokenTime = std::chrono::duration<double>(1.0 / rate);
    const auto ticks = [](std::chrono::duration<double> d) { return std::chrono::duration_cast<Clock::duration>(d); };
    std::uniform_real_distribution<double> delay(0.0, 0.2);  // in token times
    std::bernoulli_distribution stall(stalls ? 0.05 : 0.0);

    const auto t0 = Clock::now();
    SendPacer pacer(rate, burst, t0);
    TokenBucket server(rate, burst, t0);
    std::deque<Clock::time_point> answers;  // of the messages on their way, in order
    auto now = t0;
    Clock::time_point lastProcessed = t0, lastAnswered = t0;
    int sent = 0, refused = 0;
    const auto end = t0 + ticks(2000 * tokenTime);
    while (now < end) {
        while (pacer.take(now)) {
            ++sent;
            auto there = ticks(delay(random) * tokenTime);
            if (stall(random)) there += ticks(10 * tokenTime);
            const auto processed = std::max(lastProcessed, now + there);
            if (server.take(processed)) ++refused;
            const auto answered = std::max(lastAnswered, processed + ticks(delay(random) * tokenTime));
            answers.push_back(answered);
            lastProcessed = processed;
            lastAnswered = answered;
        }
        // The next event: an answer, or the pacer's own time.
        auto wake = end;
        if (!answers.empty()) wake = std::min(wake, answers.front());
        if (const auto chance = pacer.nextChance(now)) wake = std::min(wake, *chance);
        now = std::max(now, wake);
        while (!answers.empty() && answers.front() <= now) {
            pacer.accepted(answers.front());
            answers.pop_front();
        }
    }
    CHECK(refused == 0);
    CHECK(sent <= 2000 + static_cast<int>(burst) + 1);
    // Without stalls, a round trip is at most 0.4 token times: even one
    // message at a time keeps more than half the rate.
    if (!stalls) CHECK(sent > 1200);
}

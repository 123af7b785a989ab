#include "server/log_throttle.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using chat::LogThrottle;
using namespace std::chrono_literals;

namespace {
/// A throttle on a clock the test moves by hand.
struct Fixture {
    LogThrottle::Clock::time_point now = LogThrottle::Clock::time_point() + 1h;
    LogThrottle throttle;

    explicit Fixture(LogThrottle::Limits limits = {5, 10s, 10'000})
        : throttle(limits, [this] { return now; }) {}

    /// How many of `n` lines pass.
    int passed(int n, const std::string& source = "127.0.0.1:5555", const std::string& kind = "protocol error") {
        int count = 0;
        for (int i = 0; i < n; ++i) {
            const auto verdict = throttle.admit(source, kind);
            CHECK(verdict.summary.empty());
            count += verdict.log ? 1 : 0;
        }
        return count;
    }
};
}  // namespace

TEST_CASE("log throttle: the first lines of a window pass, the rest are summarised once") {
    Fixture f;
    CHECK(f.passed(1537) == 5);
    f.now += 10s;
    const auto next = f.throttle.admit("127.0.0.1:5555", "protocol error");
    CHECK(next.log);
    CHECK(next.summary == "\xE2\x80\xA6 1,532 more like this (protocol error) from 127.0.0.1:5555 in the last 10 s");
    // The new window has passed one line and held nothing back yet.
    CHECK(f.passed(4) == 4);
    CHECK(f.passed(1) == 0);
}

TEST_CASE("log throttle: a window that held nothing back says nothing when it ends") {
    Fixture f;
    CHECK(f.passed(5) == 5);
    f.now += 11s;
    const auto next = f.throttle.admit("127.0.0.1:5555", "protocol error");
    CHECK(next.log);
    CHECK(next.summary.empty());
    CHECK(f.throttle.sweep().empty());
}

TEST_CASE("log throttle: sources and kinds have their own budgets") {
    Fixture f;
    CHECK(f.passed(10, "10.0.0.1:1", "protocol error") == 5);
    CHECK(f.passed(10, "10.0.0.1:1", "rate limited") == 5);
    CHECK(f.passed(10, "10.0.0.2:1", "protocol error") == 5);
    CHECK(f.throttle.trackedKeys() == 3);
}

TEST_CASE("log throttle: sweep reports ended windows once and forgets them") {
    Fixture f;
    CHECK(f.passed(8, "a:1") == 5);
    f.now += 5s;
    CHECK(f.passed(6, "b:2") == 5);
    CHECK(f.throttle.sweep().empty());  // neither window has ended
    f.now += 5s;                        // a's has, b's has not
    const auto first = f.throttle.sweep();
    REQUIRE(first.size() == 1);
    CHECK(first[0] == "\xE2\x80\xA6 3 more like this (protocol error) from a:1 in the last 10 s");
    CHECK(f.throttle.trackedKeys() == 1);
    f.now += 7s;
    const auto second = f.throttle.sweep();
    REQUIRE(second.size() == 1);
    CHECK(second[0] == "\xE2\x80\xA6 1 more like this (protocol error) from b:2 in the last 12 s");
    CHECK(f.throttle.sweep().empty());
    CHECK(f.throttle.trackedKeys() == 0);
}

TEST_CASE("log throttle: forget reports a source's held-back lines at once and starts it afresh") {
    Fixture f;
    CHECK(f.passed(7, "a:1", "protocol error") == 5);
    CHECK(f.passed(9, "a:1", "rate limited") == 5);
    CHECK(f.passed(9, "a:10", "rate limited") == 5);  // a prefix of another source's name is another source
    f.now += 2500ms;
    auto summaries = f.throttle.forget("a:1");
    std::sort(summaries.begin(), summaries.end());
    REQUIRE(summaries.size() == 2);
    CHECK(summaries[0] == "\xE2\x80\xA6 2 more like this (protocol error) from a:1 in the last 3 s");
    CHECK(summaries[1] == "\xE2\x80\xA6 4 more like this (rate limited) from a:1 in the last 3 s");
    CHECK(f.throttle.trackedKeys() == 1);
    CHECK(f.passed(5, "a:1") == 5);
}

TEST_CASE("log throttle: beyond maxKeys new sources share one budget") {
    Fixture f({2, 10s, 3});
    CHECK(f.passed(1, "a:1") == 1);
    CHECK(f.passed(1, "b:1") == 1);
    CHECK(f.passed(1, "c:1") == 1);
    CHECK(f.passed(5, "d:1") == 2);  // "(other sources)" now
    CHECK(f.passed(5, "e:1") == 0);  // the same shared budget
    f.now += 20s;
    const auto summaries = f.throttle.sweep();
    REQUIRE(summaries.size() == 1);
    CHECK(summaries[0] == "\xE2\x80\xA6 8 more like this (protocol error) from (other sources) in the last 20 s");
    CHECK(f.passed(1, "f:1") == 1);  // room again
    CHECK(f.throttle.trackedKeys() == 1);
}

TEST_CASE("log throttle: counts have thousands separators") {
    CHECK(LogThrottle::withSeparators(0) == "0");
    CHECK(LogThrottle::withSeparators(999) == "999");
    CHECK(LogThrottle::withSeparators(1000) == "1,000");
    CHECK(LogThrottle::withSeparators(1532) == "1,532");
    CHECK(LogThrottle::withSeparators(1234567) == "1,234,567");
}

TEST_CASE("log throttle: threads sharing one throttle never pass more than the budget") {
    Fixture f({5, 10s, 10'000});
    std::atomic<int> passed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 2500; ++i)
                if (f.throttle.admit("a:1", "flood").log) ++passed;
        });
    for (auto& thread : threads) thread.join();
    CHECK(passed == 5);
    const auto summaries = f.throttle.forget("a:1");
    REQUIRE(summaries.size() == 1);
    CHECK(summaries[0] == "\xE2\x80\xA6 9,995 more like this (flood) from a:1 in the last 1 s");
}

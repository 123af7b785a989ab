#include "histogram.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using bench::Histogram;

namespace {
std::uint64_t exactPercentile(std::vector<std::uint64_t> values, double p) {
    std::sort(values.begin(), values.end());
    const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(p / 100.0 * values.size())));
    return values[rank - 1];
}
}  // namespace

TEST_CASE("histogram: small values are exact") {
    Histogram h;
    for (std::uint64_t v = 1; v <= 50; ++v) h.record(v);
    CHECK(h.count() == 50);
    CHECK(h.min() == 1);
    CHECK(h.max() == 50);
    CHECK(h.percentile(50) == 25);
    CHECK(h.percentile(100) == 50);
    CHECK(h.percentile(2) == 1);
}

TEST_CASE("histogram: every bucket holds what bucketOf puts in it") {
    for (std::uint64_t v : std::initializer_list<std::uint64_t>{0, 1, 63, 64, 65, 127, 128, 1000, 123456789, 1ull << 40,
                            UINT64_MAX}) {
        const auto b = Histogram::bucketOf(v);
        CHECK(b < Histogram::kBuckets);
        CHECK(Histogram::bucketHigh(b) >= v);
        if (b > 0) CHECK(Histogram::bucketHigh(b - 1) < v);
    }
}

TEST_CASE("histogram: percentiles of known samples are within one bucket (3.2 %)") {
    std::mt19937_64 random(42);
    std::lognormal_distribution<double> latency(std::log(2000.0), 1.0);  // ~2 ms median, long tail
    std::vector<std::uint64_t> samples;
    Histogram h;
    for (int i = 0; i < 100000; ++i) {
        const auto v = static_cast<std::uint64_t>(latency(random));
        samples.push_back(v);
        h.record(v);
    }
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        const auto exact = exactPercentile(samples, p);
        const auto reported = h.percentile(p);
        INFO("p" << p << " exact " << exact << " reported " << reported);
        CHECK(reported >= exact);
        CHECK(static_cast<double>(reported - exact) <= static_cast<double>(exact) / 32.0 + 1);
    }
    CHECK(h.max() == *std::max_element(samples.begin(), samples.end()));
}

TEST_CASE("histogram: merge equals recording everything in one") {
    Histogram a, b, both;
    for (std::uint64_t v = 0; v < 5000; v += 7) (v % 2 ? a : b).record(v), both.record(v);
    a.merge(b);
    CHECK(a.count() == both.count());
    CHECK(a.percentile(99) == both.percentile(99));
    CHECK(a.min() == both.min());
    CHECK(a.max() == both.max());
}

TEST_CASE("histogram: empty reports zeros") {
    Histogram h;
    CHECK(h.percentile(99) == 0);
    CHECK(h.max() == 0);
    CHECK(h.min() == 0);
}

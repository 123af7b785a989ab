#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace bench {

namespace {
constexpr int kSubBits = 5;  // log2(kSubBuckets)
}

std::size_t Histogram::bucketOf(std::uint64_t value) {
    if (value < kExactBelow) return static_cast<std::size_t>(value);
    const int exponent = 63 - __builtin_clzll(value);  // >= 6
    const std::uint64_t sub = (value >> (exponent - kSubBits)) - kSubBuckets;
    return kExactBelow + static_cast<std::size_t>(exponent - 6) * kSubBuckets + static_cast<std::size_t>(sub);
}

std::uint64_t Histogram::bucketHigh(std::size_t bucket) {
    if (bucket < kExactBelow) return bucket;
    const std::size_t exponent = (bucket - kExactBelow) / kSubBuckets + 6;
    const std::uint64_t sub = (bucket - kExactBelow) % kSubBuckets + kSubBuckets;
    const std::uint64_t width = std::uint64_t{1} << (exponent - kSubBits);
    const std::uint64_t low = sub << (exponent - kSubBits);
    return low + (width - 1);  // wraps to UINT64_MAX for the top bucket, as it should
}

void Histogram::record(std::uint64_t value) {
    ++buckets_[bucketOf(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::uint64_t Histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(p / 100.0 * count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank) return std::clamp(bucketHigh(i), min_, max_);
    }
    return max_;
}

}  // namespace bench

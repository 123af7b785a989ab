#pragma once
// A log-bucket latency histogram: exact below 64, then 32 linear
// sub-buckets per power of two, so any reported value is within 1/32
// (3.2 %) of the true sample. Fixed memory, O(1) record, no allocation
// after construction.

#include <array>
#include <cstddef>
#include <cstdint>

namespace bench {

class Histogram {
public:
    static constexpr std::size_t kSubBuckets = 32;
    static constexpr std::size_t kExactBelow = 2 * kSubBuckets;  // values 0..63 have a bucket each
    static constexpr std::size_t kBuckets = kExactBelow + (64 - 6) * kSubBuckets;

    void record(std::uint64_t value);
    void merge(const Histogram& other);
    void clear() { *this = Histogram(); }

    std::uint64_t count() const { return count_; }
    std::uint64_t min() const { return count_ ? min_ : 0; }
    std::uint64_t max() const { return max_; }

    /// The value at rank ceil(p/100 * count) (p in 0..100], reported as the
    /// upper bound of its bucket clamped to [min, max]; 0 when empty.
    std::uint64_t percentile(double p) const;

    static std::size_t bucketOf(std::uint64_t value);
    static std::uint64_t bucketHigh(std::size_t bucket);  ///< largest value in the bucket

private:
    std::array<std::uint64_t, kBuckets> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace bench

#pragma once
// Per-stream sequence checking. A stream is what one receiver gets from one
// sender; the sender numbers its messages 0, 1, 2, ... and the tracker
// classifies each arrival as new-in-order, new-but-late (out of order) or a
// duplicate. Loss is what the caller expected minus unique().

#include <cstdint>
#include <vector>

namespace bench {

class SequenceTracker {
public:
    enum class Outcome { InOrder, OutOfOrder, Duplicate };

    /// Classifies `seq`. A message counts as out of order when a higher
    /// sequence number from the same stream arrived before it.
    Outcome record(std::uint64_t seq);

    std::uint64_t unique() const { return unique_; }
    std::uint64_t duplicates() const { return duplicates_; }
    std::uint64_t outOfOrder() const { return outOfOrder_; }
    /// How many of 0..expected-1 have not arrived.
    std::uint64_t missing(std::uint64_t expected) const;

private:
    bool seen(std::uint64_t seq) const;

    std::vector<std::uint64_t> seen_;  // bit per sequence number
    std::uint64_t next_ = 0;           // one past the highest seen
    std::uint64_t unique_ = 0;
    std::uint64_t duplicates_ = 0;
    std::uint64_t outOfOrder_ = 0;
};

}  // namespace bench

#include "sequence.hpp"

#include <algorithm>

namespace bench {

bool SequenceTracker::seen(std::uint64_t seq) const {
    const auto word = seq / 64;
    return word < seen_.size() && (seen_[word] >> (seq % 64) & 1u);
}

SequenceTracker::Outcome SequenceTracker::record(std::uint64_t seq) {
    if (seen(seq)) {
        ++duplicates_;
        return Outcome::Duplicate;
    }
    const auto word = seq / 64;
    if (word >= seen_.size()) seen_.resize(word + 1 + seen_.size() / 2, 0);
    seen_[word] |= std::uint64_t{1} << (seq % 64);
    ++unique_;
    if (seq < next_) {
        ++outOfOrder_;
        return Outcome::OutOfOrder;
    }
    next_ = seq + 1;
    return Outcome::InOrder;
}

std::uint64_t SequenceTracker::missing(std::uint64_t expected) const {
    std::uint64_t have = 0;
    const std::uint64_t fullWords = std::min<std::uint64_t>(expected / 64, seen_.size());
    for (std::uint64_t w = 0; w < fullWords; ++w) have += static_cast<std::uint64_t>(__builtin_popcountll(seen_[w]));
    for (std::uint64_t seq = fullWords * 64; seq < expected && seq / 64 < seen_.size(); ++seq) have += seen(seq);
    return expected - have;
}

}  // namespace bench

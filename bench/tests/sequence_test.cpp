#include "sequence.hpp"

#include <catch2/catch.hpp>

using bench::SequenceTracker;
using Outcome = SequenceTracker::Outcome;

TEST_CASE("sequence: an in-order stream has no loss, duplicates or reordering") {
    SequenceTracker t;
    for (std::uint64_t s = 0; s < 1000; ++s) CHECK(t.record(s) == Outcome::InOrder);
    CHECK(t.unique() == 1000);
    CHECK(t.missing(1000) == 0);
    CHECK(t.duplicates() == 0);
    CHECK(t.outOfOrder() == 0);
}

TEST_CASE("sequence: gaps are loss") {
    SequenceTracker t;
    for (std::uint64_t s = 0; s < 200; ++s)
        if (s % 10 != 3) t.record(s);
    CHECK(t.missing(200) == 20);
    CHECK(t.missing(250) == 70);  // the sender sent 50 more that never came
    CHECK(t.outOfOrder() == 0);
}

TEST_CASE("sequence: a repeat is a duplicate, not a new message") {
    SequenceTracker t;
    t.record(0);
    t.record(1);
    CHECK(t.record(1) == Outcome::Duplicate);
    CHECK(t.record(0) == Outcome::Duplicate);
    CHECK(t.unique() == 2);
    CHECK(t.duplicates() == 2);
    CHECK(t.missing(2) == 0);
}

TEST_CASE("sequence: a late arrival after a higher number is out of order, and fills its gap") {
    SequenceTracker t;
    t.record(0);
    t.record(2);
    t.record(3);
    CHECK(t.missing(4) == 1);
    CHECK(t.record(1) == Outcome::OutOfOrder);
    CHECK(t.missing(4) == 0);
    CHECK(t.outOfOrder() == 1);
    CHECK(t.record(1) == Outcome::Duplicate);
    CHECK(t.record(4) == Outcome::InOrder);
}

TEST_CASE("sequence: large sequence numbers far apart") {
    SequenceTracker t;
    CHECK(t.record(100000) == Outcome::InOrder);
    CHECK(t.record(5) == Outcome::OutOfOrder);
    CHECK(t.missing(100001) == 99999);
}

#include "json_line.hpp"

#include <catch2/catch.hpp>

using bench::JsonLine;

TEST_CASE("json line: fields in order, arrays of counts") {
    JsonLine row;
    row.add("workload", "overload").add("n", 3).add("timeline", std::vector<std::uint64_t>{1, 20, 300})
        .add("empty", std::vector<std::uint64_t>{});
    CHECK(row.str() == R"({"workload":"overload","n":3,"timeline":[1,20,300],"empty":[]})");
}

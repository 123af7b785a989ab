// /ignore's list and its file.

#include "client/ignore_list.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

TEST_CASE("the ignore list compares names case-insensitively and survives in its file") {
    char dir[] = "/tmp/chat-ignore-XXXXXX";
    REQUIRE(::mkdtemp(dir));
    const std::string file = std::string(dir) + "/state/chat/ignore";
    {
        chat::IgnoreList list(file);
        CHECK(list.names().empty());
        CHECK(list.add("Bob"));
        CHECK_FALSE(list.add("bob"));
        CHECK(list.add("carol"));
        CHECK(list.contains("BOB"));
        CHECK(list.remove("CAROL"));
        CHECK_FALSE(list.remove("carol"));
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "Bob\n");
    chat::IgnoreList again(file);
    CHECK(again.names() == std::vector<std::string>{"Bob"});
    CHECK(std::system(("rm -rf " + std::string(dir)).c_str()) == 0);
}

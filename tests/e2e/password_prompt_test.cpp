// The terminal client asks a registered name's password without echo, and the
// password is neither on the screen nor in the input history (issue 14).

#include "support/accounts_support.hpp"
#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/test_client.hpp"
#include "support/tmux_session.hpp"
#include "support/text.hpp"

#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace chat::test;

TEST_CASE("terminal: chat connect asks Password for NAME without echo and retries after a wrong one") {
    chat::test::TempDir dir;
    auto server = startServer({"--db", dir.path() + "/chat.db"});
    registerAccount(server.port, "zoe", "correct horse");
    TmuxSession zoe({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "zoe"});
    REQUIRE(zoe.waitForText("Password for zoe:"));
    zoe.type("wrong horse");
    zoe.keys({"Enter"});
    REQUIRE(zoe.waitForText("wrong name or password"));
    REQUIRE(zoe.waitFor([](const std::vector<std::string>& lines) {
        int prompts = 0;
        for (const auto& line : lines) prompts += contains(line, "Password for zoe:");
        return prompts == 2;
    }));
    zoe.type("correct horse");
    zoe.keys({"Enter"});
    INFO("screen:\n" << zoe.screenText());
    REQUIRE(zoe.waitForText("Welcome, zoe!"));
    zoe.type("hello from zoe");
    zoe.keys({"Enter"});
    REQUIRE(zoe.waitForText("zoe: hello from zoe"));
    const auto screen = zoe.screenText();
    CHECK_FALSE(contains(screen, "horse"));
    zoe.keys({"C-d"});
    REQUIRE(zoe.waitForExit().value_or(-1) == 0);
    std::ifstream file(zoe.stateDir() + "/state/chat/history");
    std::stringstream history;
    history << file.rdbuf();
    CHECK(history.str() == "hello from zoe\n");
}

TEST_CASE("terminal: /register asks the password twice without echo and the name needs it from then on") {
    chat::test::TempDir dir;
    auto server = startServer({"--db", dir.path() + "/chat.db"});
    TmuxSession yan({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "yan"});
    REQUIRE(yan.waitForText("Welcome, yan!"));
    yan.type("/register");
    yan.keys({"Enter"});
    REQUIRE(yan.waitForText("Password for yan:"));
    yan.type("secret sauce");
    yan.keys({"Enter"});
    REQUIRE(yan.waitForText("Again:"));
    yan.type("secret sauce");
    yan.keys({"Enter"});
    INFO("screen:\n" << yan.screenText());
    REQUIRE(yan.waitForText("yan is now a registered account"));
    CHECK_FALSE(contains(yan.screenText(), "sauce"));
    try {
        TestClient::joinedWith(server.port, "YAN", false, {});
        FAIL("a guest hello as YAN was let in");
    } catch (const chat::ClientError& e) {
        CHECK(e.code() == "auth_required");
    }
    TestClient::joinedWith(server.port, "yan", true, {"secret sauce", {}});
    REQUIRE(yan.waitForText("another session of yan joined from 127.0.0.1"));
    yan.keys({"C-d"});
    REQUIRE(yan.waitForExit().value_or(-1) == 0);
    std::ifstream file(yan.stateDir() + "/state/chat/history");
    std::stringstream history;
    history << file.rdbuf();
    CHECK(history.str() == "/register\n");
}

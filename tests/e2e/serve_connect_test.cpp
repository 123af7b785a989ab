// `chat serve` with `chat connect` clients whose stdin and stdout are pipes,
// as when a script drives them: no prompt, no colour, one line per event.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <iomanip>
#include <regex>
#include <sstream>

using namespace chat::test;

namespace {
constexpr int kUnavailable = 69;

std::vector<std::string> args(std::initializer_list<std::string> list) { return list; }

std::string numbered(int i) {
    std::ostringstream out;
    out << "line " << std::setw(3) << std::setfill('0') << i;
    return out.str();
}
}  // namespace

TEST_CASE("a line typed by alice reaches bob as 'HH:MM alice: text'") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    REQUIRE(bob->waitForLine("* alice joined"));

    alice->write("hello bob, how are you?\n");
    const auto line = bob->waitForLine("alice: ");
    INFO("bob's stdout: " << bob->stdoutText());
    REQUIRE(line);
    CHECK(isClockLine(*line, "alice: hello bob, how are you?"));

    // The sender sees her own message too, once.
    const auto echo = alice->waitForLine("alice: ");
    REQUIRE(echo);
    CHECK(isClockLine(*echo, "alice: hello bob, how are you?"));
}

TEST_CASE("a piped client prints no prompt, banner or colour") {
    auto server = startServer({"--motd", "welcome-motd-text"});
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    REQUIRE(bob->waitForLine("* alice joined"));
    alice->write("plain text\n@bob a private word\n/help\n/nosuchcommand\n");
    REQUIRE(bob->waitForLine("alice: plain text"));
    REQUIRE(bob->waitForLine("[DM from alice] a private word"));
    REQUIRE(alice->waitForLine("/who"));  // the /help text
    alice->closeStdin();
    bob->closeStdin();
    REQUIRE(alice->wait() == 0);
    REQUIRE(bob->wait() == 0);

    for (auto* client : {alice.get(), bob.get()}) {
        const auto out = client->stdoutText();
        const auto err = client->stderrText();
        INFO("stdout: " << out << "\nstderr: " << err);
        CHECK_FALSE(hasEscape(out));
        CHECK_FALSE(hasEscape(err));
        CHECK_FALSE(contains(out, "Welcome"));
        CHECK_FALSE(contains(out, "welcome-motd-text"));
        CHECK_FALSE(contains(out, "Type /help"));
        // Every stdout line is an event, an answer to /who, or /help text.
        CHECK(out.rfind("Online (", 0) == 0);
    }
}

TEST_CASE("@bob secret reaches bob as a DM, is echoed to alice, and carol sees nothing") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto carol = connectClient(server.port, "carol");
    auto alice = connectClient(server.port, "alice");
    REQUIRE(bob->waitForLine("* alice joined"));
    REQUIRE(carol->waitForLine("* alice joined"));

    // The room message after the DM is a marker: the server handles alice's
    // lines in order, so once carol has the marker she would already have
    // had the DM if it had been sent to her.
    alice->write("@bob psst-secret-42\nmarker after the dm\n");

    const auto dm = bob->waitForLine("psst-secret-42");
    INFO("bob's stdout: " << bob->stdoutText());
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from alice] psst-secret-42"));

    const auto own = alice->waitForLine("psst-secret-42");
    INFO("alice's stdout: " << alice->stdoutText());
    REQUIRE(own);
    CHECK(isClockLine(*own, "[DM to bob] psst-secret-42"));

    REQUIRE(carol->waitForLine("alice: marker after the dm"));
    INFO("carol's stdout: " << carol->stdoutText());
    CHECK_FALSE(contains(carol->stdoutText(), "psst-secret-42"));
    CHECK_FALSE(contains(carol->stdoutText(), "[DM"));
}

TEST_CASE("/msg user text is a DM too, and a DM to someone offline is an error on stderr") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    alice->write("/msg bob via slash msg\n@nobody hello?\n");
    const auto dm = bob->waitForLine("via slash msg");
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from alice] via slash msg"));
    alice->closeStdin();
    REQUIRE(alice->wait() == 0);
    const auto err = alice->stderrText();
    INFO("alice's stderr: " << err);
    CHECK(contains(err, "nobody"));
    CHECK_FALSE(contains(bob->stdoutText(), "hello?"));
}

TEST_CASE("bob sees carol join when she connects and leave when her stdin closes") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto carol = connectClient(server.port, "carol");

    const auto joined = bob->waitForLine("carol");
    INFO("bob's stdout: " << bob->stdoutText());
    REQUIRE(joined);
    CHECK(isClockLine(*joined, "* carol joined"));

    carol->closeStdin();
    const auto code = carol->wait(5s);
    INFO("carol's stderr: " << carol->stderrText());
    REQUIRE(code);
    CHECK(*code == 0);

    const auto left = bob->waitForLine("carol");
    REQUIRE(left);
    CHECK(std::regex_search(*left, std::regex("^\\d\\d:\\d\\d \\* carol left( \\(.*\\))?$")));
    CHECK(askWho(*bob) == "Online (1): bob");
}

TEST_CASE("/who prints 'Online (N): names' with everyone connected") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    CHECK(askWho(*alice) == "Online (2): alice, bob");
    auto carol = connectClient(server.port, "Carol");
    CHECK(askWho(*bob) == "Online (3): alice, bob, Carol");
}

TEST_CASE("an unknown /command is an error on stderr and nothing is sent") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    REQUIRE(bob->waitForLine("* alice joined"));

    alice->write("/frobnicate the widgets\nvisible after\n");
    REQUIRE(bob->waitForLine("alice: visible after"));
    INFO("bob's stdout: " << bob->stdoutText());
    CHECK_FALSE(contains(bob->stdoutText(), "frobnicate"));

    alice->closeStdin();
    REQUIRE(alice->wait() == 0);
    const auto err = alice->stderrText();
    INFO("alice's stdout: " << alice->stdoutText() << "\nalice's stderr: " << err);
    CHECK(contains(err, "/frobnicate"));
    CHECK(contains(err, "unknown command"));
    CHECK_FALSE(contains(alice->stdoutText(), "frobnicate"));
}

TEST_CASE("//text sends text that starts with a slash") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    alice->write("//frobnicate is not a command here\n");
    const auto line = bob->waitForLine("alice: ");
    REQUIRE(line);
    CHECK(isClockLine(*line, "alice: /frobnicate is not a command here"));
}

TEST_CASE("200 piped lines: the client exits 0 only after all are answered and none is lost") {
    constexpr int kLines = 200;
    // 20 at once, then 100/s: the client must pace itself to the server's
    // announced limit (and retry refusals) without losing or reordering a line.
    auto server = startServer({"--rate", "100", "--burst", "20"});
    auto bob = connectClient(server.port, "bob");
    ChildProcess alice(args({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "alice"}),
                       colourTemptingEnv());
    REQUIRE(bob->waitForLine("* alice joined"));

    std::string input;
    for (int i = 1; i <= kLines; ++i) input += numbered(i) + "\n";
    alice.write(input);
    alice.closeStdin();

    const auto code = alice.wait(30s);
    INFO("alice's stderr: " << alice.stderrText());
    INFO("alice's stdout: " << alice.stdoutText().size() << " bytes, last: " << alice.stdoutText().substr(alice.stdoutText().size() > 200 ? alice.stdoutText().size() - 200 : 0));
    REQUIRE(code);
    CHECK(*code == 0);

    // Every message is echoed to its sender before the server's answer to it,
    // so a client that waited for every answer has printed every echo.
    std::vector<std::string> echoed;
    for (const auto& line : splitLines(alice.stdoutText()))
        if (contains(line, "alice: line ")) echoed.push_back(line);
    CHECK(echoed.size() == kLines);

    const auto received = collectLines(*bob, "alice: line ", kLines, 10s);
    REQUIRE(received.size() == kLines);
    for (int i = 1; i <= kLines; ++i) {
        INFO("message " << i);
        CHECK(isClockLine(received[static_cast<std::size_t>(i - 1)], "alice: " + numbered(i)));
        if (static_cast<std::size_t>(i) <= echoed.size())
            CHECK(isClockLine(echoed[static_cast<std::size_t>(i - 1)], "alice: " + numbered(i)));
    }
    CHECK_FALSE(hasEscape(alice.stdoutText()));
    CHECK_FALSE(hasEscape(bob->stdoutText()));
}

TEST_CASE("a last line without a newline is still sent when stdin closes") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    ChildProcess alice(args({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "alice"}));
    REQUIRE(bob->waitForLine("* alice joined"));
    alice.write("first\nno newline at the end");
    alice.closeStdin();
    REQUIRE(alice.wait() == 0);
    REQUIRE(bob->waitForLine("alice: first"));
    const auto last = bob->waitForLine("alice: ");
    REQUIRE(last);
    CHECK(isClockLine(*last, "alice: no newline at the end"));
}

TEST_CASE("quit on stdin ends the client with 0 and the others see it leave") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto alice = connectClient(server.port, "alice");
    alice->write("bye all\n/quit\nthis is never sent\n");
    const auto code = alice->wait(5s);
    INFO("alice's stderr: " << alice->stderrText());
    REQUIRE(code);
    CHECK(*code == 0);
    REQUIRE(bob->waitForLine("alice: bye all"));
    REQUIRE(bob->waitForLine("* alice left"));
    CHECK_FALSE(contains(bob->stdoutText(), "never sent"));
}

TEST_CASE("CHAT_HOST, CHAT_PORT and CHAT_USER work instead of flags") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    ChildProcess dave(args({"connect"}), colourTemptingEnv({{"CHAT_HOST", "127.0.0.1"},
                                                            {"CHAT_PORT", std::to_string(server.port)},
                                                            {"CHAT_USER", "dave"},
                                                            {"USER", "not-dave"}}));
    const auto joined = bob->waitForLine("joined");
    INFO("dave's stderr: " << dave.stderrText());
    REQUIRE(joined);
    CHECK(isClockLine(*joined, "* dave joined"));
    CHECK(askWho(dave) == "Online (2): bob, dave");
    dave.write("hi from the environment\n");
    const auto line = bob->waitForLine("hi from the environment");
    REQUIRE(line);
    CHECK(isClockLine(*line, "dave: hi from the environment"));
}

TEST_CASE("$USER names the client when CHAT_USER is unset") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    ChildProcess erin(args({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port)}),
                      {{"CHAT_USER", "<unset>"}, {"USER", "erin"}});
    const auto joined = bob->waitForLine("joined");
    INFO("erin's stderr: " << erin.stderrText());
    REQUIRE(joined);
    CHECK(isClockLine(*joined, "* erin joined"));
}

TEST_CASE("flags win over CHAT_PORT and CHAT_USER") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    ChildProcess frank(args({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "frank"}),
                       {{"CHAT_PORT", std::to_string(unusedPort())}, {"CHAT_USER", "not-frank"}});
    const auto joined = bob->waitForLine("joined");
    INFO("frank's stderr: " << frank.stderrText());
    REQUIRE(joined);
    CHECK(isClockLine(*joined, "* frank joined"));
}

TEST_CASE("chat connect exits 69 naming the address when nothing listens") {
    const auto port = std::to_string(unusedPort());
    const auto r = runChat({"connect", "--host", "127.0.0.1", "--port", port, "--user", "alice"});
    INFO(describe(r));
    CHECK(r.exitCode == kUnavailable);
    CHECK(contains(r.err, "127.0.0.1:" + port));
    CHECK(r.out.empty());
}

TEST_CASE("SIGTERM: clients get the shutdown notice, then lose the connection and exit 69 - the server exits 0 "
          "within 2 s") {
    auto server = startServer();
    auto alice = connectClient(server.port, "alice");
    auto bob = connectClient(server.port, "bob");

    server.process->signal(SIGTERM);
    const auto serverCode = server.process->wait(2s);
    INFO("server stderr: " << server.process->stderrText());
    REQUIRE(serverCode);
    CHECK(*serverCode == 0);

    for (auto* client : {alice.get(), bob.get()}) {
        const auto notice = client->waitForLine("shutting down");
        const auto code = client->wait(5s);
        const auto err = client->stderrText();
        INFO("client stdout: " << client->stdoutText() << "\nclient stderr: " << err);
        CHECK(notice);
        REQUIRE(code);
        CHECK(*code == kUnavailable);
        CHECK(contains(err, "connection to server lost"));
        CHECK_FALSE(hasEscape(client->stdoutText()));
    }
}

TEST_CASE("SIGKILL to the server: a connected client exits 69 with 'connection to server lost'") {
    auto server = startServer();
    auto alice = connectClient(server.port, "alice");

    server.process->signal(SIGKILL);
    REQUIRE(server.process->wait(5s));
    const auto code = alice->wait(5s);
    const auto err = alice->stderrText();
    INFO("alice's stdout: " << alice->stdoutText() << "\nalice's stderr: " << err);
    REQUIRE(code);
    CHECK(*code == kUnavailable);
    CHECK(contains(err, "connection to server lost"));
}

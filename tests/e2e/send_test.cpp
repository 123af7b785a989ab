// `chat send`: one-shot delivery from scripts, judged by its exit status.
// It must never print on stdout: scripts capture stdout.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/text.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <catch2/catch.hpp>

using namespace chat::test;

namespace {
constexpr int kUsage = 64;
constexpr int kDataError = 65;
constexpr int kNoUser = 67;
constexpr int kUnavailable = 69;
constexpr int kTempFail = 75;

/// `chat send --host 127.0.0.1 --port PORT ARGS...`
RunResult send(std::uint16_t port, std::vector<std::string> args, const std::string& input = {},
               const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> all{"send", "--host", "127.0.0.1", "--port", std::to_string(port)};
    all.insert(all.end(), args.begin(), args.end());
    return runChat(all, input, env);
}

/// A server with alice connected through `chat connect`.
struct WithAlice {
    explicit WithAlice(const std::vector<std::string>& serverArgs = {})
        : server(startServer(serverArgs)), alice(connectClient(server.port, "alice")) {}
    RunningServer server;
    std::unique_ptr<ChildProcess> alice;
};
}  // namespace

TEST_CASE("chat send @alice TEXT: exit 0, silent, alice sees the DM and no join") {
    WithAlice w;
    const auto r = send(w.server.port, {"--user", "ci", "@alice", "build passed"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());

    // Exit 0 means the server accepted the message; alice prints it.
    const auto dm = w.alice->waitForLine("build passed");
    INFO("alice's stdout: " << w.alice->stdoutText());
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from ci] build passed"));
    // A join announcement would have come before the message.
    CHECK_FALSE(contains(w.alice->stdoutText(), "ci joined"));
    CHECK_FALSE(contains(w.alice->stdoutText(), "* ci"));
}

TEST_CASE("chat send joins several TEXT words with spaces") {
    WithAlice w;
    const auto r = send(w.server.port, {"--user", "ci", "@alice", "build", "42", "passed"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(r.out.empty());
    const auto dm = w.alice->waitForLine("[DM from ci]");
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from ci] build 42 passed"));
}

TEST_CASE("chat send reads the text from stdin when TEXT is omitted or -") {
    WithAlice w;
    SECTION("omitted") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice"}, "from stdin\n");
        INFO(describe(r));
        CHECK(r.exitCode == 0);
        CHECK(r.out.empty());
        const auto dm = w.alice->waitForLine("[DM from ci]");
        REQUIRE(dm);
        CHECK(isClockLine(*dm, "[DM from ci] from stdin"));
    }
    SECTION("-") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice", "-"}, "dash means stdin\n");
        INFO(describe(r));
        CHECK(r.exitCode == 0);
        CHECK(r.out.empty());
        const auto dm = w.alice->waitForLine("[DM from ci]");
        REQUIRE(dm);
        CHECK(isClockLine(*dm, "[DM from ci] dash means stdin"));
    }
}

TEST_CASE("chat send --lines sends each non-empty line of stdin as its own message, in order") {
    WithAlice w;
    const auto r = send(w.server.port, {"--user", "ci", "--lines", "@alice"}, "one\ntwo\n\nthree\r\nfour");
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(r.out.empty());
    const auto lines = collectLines(*w.alice, "[DM from ci]", 4);
    INFO("alice's stdout: " << w.alice->stdoutText());
    REQUIRE(lines.size() == 4);
    CHECK(isClockLine(lines[0], "[DM from ci] one"));
    CHECK(isClockLine(lines[1], "[DM from ci] two"));
    CHECK(isClockLine(lines[2], "[DM from ci] three"));
    CHECK(isClockLine(lines[3], "[DM from ci] four"));
}

TEST_CASE("chat send --lines with TEXT is a usage error") {
    WithAlice w;
    const auto r = send(w.server.port, {"--user", "ci", "--lines", "@alice", "text"});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(r.out.empty());
}

TEST_CASE("chat send takes host, port and user from CHAT_HOST, CHAT_PORT and CHAT_USER") {
    WithAlice w;
    const auto r = runChat({"send", "@alice", "configured by env"}, {},
                           {{"CHAT_HOST", "127.0.0.1"}, {"CHAT_PORT", std::to_string(w.server.port)},
                            {"CHAT_USER", "robot"}, {"USER", "not-robot"}});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(r.out.empty());
    const auto dm = w.alice->waitForLine("configured by env");
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from robot] configured by env"));
}

TEST_CASE("chat send exits 67 with a stderr line naming the user when the target is not online") {
    WithAlice w;
    const auto r = send(w.server.port, {"--user", "ci", "@nobody", "hello?"});
    INFO(describe(r));
    CHECK(r.exitCode == kNoUser);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "nobody"));
    CHECK(splitLines(r.err).size() == 1);
}

TEST_CASE("chat send exits 65 for text the server would refuse") {
    WithAlice w({"--max-text", "10"});
    SECTION("a control character in TEXT") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice", "bell\x01here"});
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
        CHECK_FALSE(r.err.empty());
    }
    SECTION("a control character on stdin") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice"}, "esc\x1b[31mred\n");
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
        CHECK_FALSE(r.err.empty());
    }
    SECTION("text longer than the server's --max-text") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice", "eleven byte"});
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
        CHECK(contains(r.err, "10"));
    }
    SECTION("invalid UTF-8") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice", "bad \xff byte"});
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
    }
    SECTION("empty stdin") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice"}, "");
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
        CHECK_FALSE(r.err.empty());
    }
    SECTION("stdin that is only a newline") {
        const auto r = send(w.server.port, {"--user", "ci", "@alice", "-"}, "\n");
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
    }
    SECTION("--lines with only blank lines") {
        const auto r = send(w.server.port, {"--user", "ci", "--lines", "@alice"}, "\n\n\n");
        INFO(describe(r));
        CHECK(r.exitCode == kDataError);
        CHECK(r.out.empty());
    }
    // Text of exactly the limit is fine, and nothing refused reached alice.
    const auto ok = send(w.server.port, {"--user", "ci", "@alice", "ten bytes!"});
    INFO(describe(ok));
    CHECK(ok.exitCode == 0);
    const auto dm = w.alice->waitForLine("[DM from ci]");
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from ci] ten bytes!"));
}

TEST_CASE("chat send exits 64 for a target without @ or an invalid --user") {
    WithAlice w;
    SECTION("target without @") {
        const auto r = send(w.server.port, {"--user", "ci", "alice", "hi"});
        INFO(describe(r));
        CHECK(r.exitCode == kUsage);
        CHECK(r.out.empty());
        CHECK(contains(r.err, "alice"));
    }
    SECTION("bare @") {
        const auto r = send(w.server.port, {"--user", "ci", "@", "hi"});
        INFO(describe(r));
        CHECK(r.exitCode == kUsage);
        CHECK(r.out.empty());
    }
    SECTION("invalid user name") {
        const auto r = send(w.server.port, {"--user", "bad name!", "@alice", "hi"});
        INFO(describe(r));
        CHECK(r.exitCode == kUsage);
        CHECK(r.out.empty());
        CHECK(contains(r.err, "bad name!"));
    }
    SECTION("user name too long") {
        const auto r = send(w.server.port, {"--user", std::string(33, 'x'), "@alice", "hi"});
        INFO(describe(r));
        CHECK(r.exitCode == kUsage);
        CHECK(r.out.empty());
    }
    SECTION("no user name at all") {
        const auto r = send(w.server.port, {"@alice", "hi"}, {}, {{"CHAT_USER", "<unset>"}, {"USER", "<unset>"}});
        INFO(describe(r));
        CHECK(r.exitCode == kUsage);
        CHECK(r.out.empty());
    }
    // None of them reached alice: a later good message is the first she sees.
    REQUIRE(send(w.server.port, {"--user", "ci", "@alice", "the first"}).exitCode == 0);
    const auto dm = w.alice->waitForLine("[DM");
    REQUIRE(dm);
    CHECK(isClockLine(*dm, "[DM from ci] the first"));
}

TEST_CASE("chat send exits 69 when nothing listens on the port") {
    const auto port = unusedPort();
    const auto r = send(port, {"--user", "ci", "@alice", "anyone?"});
    INFO(describe(r));
    CHECK(r.exitCode == kUnavailable);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("chat send --timeout 0.5 exits 75 against a server that accepts but never answers") {
    // The kernel completes the TCP handshake for connections waiting in the
    // backlog, so the client connects; nothing ever reads or answers.
    Poco::Net::ServerSocket silent;
    silent.bind(Poco::Net::SocketAddress("127.0.0.1", 0), /*reuseAddress=*/false, /*reusePort=*/false);
    silent.listen(8);

    const auto started = std::chrono::steady_clock::now();
    const auto r = send(silent.address().port(), {"--user", "ci", "--timeout", "0.5", "@alice", "hello?"});
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(describe(r));
    CHECK(r.exitCode == kTempFail);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "timed out"));
    CHECK(took >= 450ms);
    CHECK(took < 3s);
}

TEST_CASE("chat send --timeout must be positive") {
    const auto r = send(unusedPort(), {"--user", "ci", "--timeout", "0", "@alice", "hi"});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(r.out.empty());
}

TEST_CASE("chat send to a user connected twice reaches both of their clients") {
    WithAlice w;
    auto alice2 = connectClient(w.server.port, "alice");
    const auto r = send(w.server.port, {"--user", "ci", "@alice", "to every alice"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(r.out.empty());
    CHECK(w.alice->waitForLine("[DM from ci] to every alice"));
    CHECK(alice2->waitForLine("[DM from ci] to every alice"));
}

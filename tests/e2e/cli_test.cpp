// The command line of the real binary: help, version, usage errors, and
// what `chat serve` does when it cannot listen.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/text.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <catch2/catch.hpp>

#include <regex>

using namespace chat::test;

namespace {
constexpr int kUsage = 64;
constexpr int kOsError = 71;

/// Environment with no user name at all, and nothing that would point a
/// client at a server.
std::map<std::string, std::string> noUserEnv() {
    return {{"CHAT_USER", "<unset>"}, {"USER", "<unset>"}, {"LOGNAME", "<unset>"},
            {"CHAT_HOST", "<unset>"}, {"CHAT_PORT", "<unset>"}};
}
}  // namespace

TEST_CASE("chat --help exits 0 and lists every subcommand on stdout") {
    const auto r = runChat({"--help"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    for (const char* command : {"serve", "connect", "send", "passwd", "login", "logout"}) {
        INFO(command);
        CHECK(std::regex_search(r.out, std::regex(std::string("(^|\\n)\\s+") + command + "\\s")));
    }
    CHECK(r.err.empty());
}

TEST_CASE("chat --version exits 0 and prints the version") {
    const auto r = runChat({"--version"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(std::regex_match(r.out, std::regex("chat \\d+\\.\\d+\\.\\d+\\n")));
    CHECK(r.out == "chat 0.1.0\n");
    CHECK(r.err.empty());
}

TEST_CASE("bare chat exits 64 with usage on stderr and nothing on stdout") {
    const auto r = runChat({});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(contains(r.err, "Usage"));
    for (const char* command : {"serve", "connect", "send"}) CHECK(contains(r.err, command));
    CHECK(r.out.empty());
}

TEST_CASE("an unknown subcommand exits 64 with an error on stderr") {
    // The message says "A subcommand is required" without naming the word it
    // did not know; only the status and the channel are asserted here.
    const auto r = runChat({"frobnicate"});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK_FALSE(r.err.empty());
    CHECK(r.out.empty());
}

TEST_CASE("an unknown flag exits 64 with an error on stderr naming the flag") {
    const auto r = runChat({"serve", "--bogus"});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(contains(r.err, "--bogus"));
    CHECK(r.out.empty());
}

TEST_CASE("chat serve --max-clients 0 is refused with 64") {
    const auto r = runChat({"serve", "--host", "127.0.0.1", "--port", "0", "--max-clients", "0"});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(contains(r.err, "--max-clients"));
    CHECK_FALSE(contains(r.out, "listening on"));
}

TEST_CASE("chat serve --max-text out of range and a non-numeric --port are refused with 64") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"serve", "--host", "127.0.0.1", "--port", "0", "--max-text", "0"},
          std::vector<std::string>{"serve", "--host", "127.0.0.1", "--port", "notaport"},
          std::vector<std::string>{"serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "loud"}}) {
        const auto r = runChat(args);
        INFO(args.back() << "\n" << describe(r));
        CHECK(r.exitCode == kUsage);
        CHECK_FALSE(r.err.empty());
        CHECK_FALSE(contains(r.out, "listening on"));
    }
}

TEST_CASE("chat serve --help says that names are protected by passwords and tokens") {
    const auto r = runChat({"serve", "--help"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(contains(r.out, "Names are protected"));
    CHECK(contains(r.out, "chat login"));
    CHECK_FALSE(contains(r.out, "not protected"));
    for (const char* option : {"--host", "--port", "--max-clients", "--max-text", "--motd"}) CHECK(contains(r.out, option));
}

TEST_CASE("chat send --help lists the exit codes") {
    const auto r = runChat({"send", "--help"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(contains(r.out, "Exit status"));
    for (const char* code : {"0 ", "64", "65", "67", "69", "75"}) {
        INFO(code);
        CHECK(contains(r.out, code));
    }
    for (const char* option : {"--timeout", "--lines", "--user", "--port"}) CHECK(contains(r.out, option));
}

TEST_CASE("chat connect --help exits 0 and documents the user default") {
    const auto r = runChat({"connect", "--help"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(contains(r.out, "--user"));
    CHECK(contains(r.out, "CHAT_USER"));
}

TEST_CASE("chat connect without any user name exits 64 before connecting") {
    // The port is one nothing listens on: if the client tried to connect
    // first it would exit 69 instead.
    const auto port = std::to_string(unusedPort());
    const auto r = runChat({"connect", "--host", "127.0.0.1", "--port", port}, {}, noUserEnv());
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(contains(r.err, "--user"));
    CHECK(r.out.empty());
}

TEST_CASE("chat connect with an empty CHAT_USER and no USER exits 64") {
    auto env = noUserEnv();
    env["CHAT_USER"] = "";
    const auto r = runChat({"connect", "--host", "127.0.0.1", "--port", std::to_string(unusedPort())}, {}, env);
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK(r.out.empty());
}

TEST_CASE("chat send without a target exits 64") {
    const auto r = runChat({"send", "--host", "127.0.0.1", "--port", std::to_string(unusedPort()), "--user", "ci"});
    INFO(describe(r));
    CHECK(r.exitCode == kUsage);
    CHECK_FALSE(r.err.empty());
    CHECK(r.out.empty());
}

TEST_CASE("chat serve on a port another program listens on exits 71 with a clear message") {
    Poco::Net::ServerSocket occupant;
    occupant.bind(Poco::Net::SocketAddress("127.0.0.1", 0), /*reuseAddress=*/false, /*reusePort=*/false);
    occupant.listen(4);
    const auto port = std::to_string(occupant.address().port());

    ChildProcess serve({"serve", "--host", "127.0.0.1", "--port", port});
    const auto code = serve.wait(5s);
    INFO("stdout: " << serve.stdoutText() << "\nstderr: " << serve.stderrText());
    REQUIRE(code);
    CHECK(*code == kOsError);
    const auto err = serve.stderrText();
    CHECK(contains(err, "cannot listen"));
    CHECK(contains(err, "127.0.0.1:" + port));
    CHECK(contains(err, "in use"));
    CHECK_FALSE(contains(serve.stdoutText(), "listening on"));
}

TEST_CASE("chat serve on a port another chat server listens on exits 71") {
    // Two servers on one port would split the clients between two rooms
    // that cannot see each other; the second one must refuse to start.
    auto first = startServer();
    const auto port = std::to_string(first.port);

    ChildProcess second({"serve", "--host", "127.0.0.1", "--port", port});
    const auto code = second.wait(3s);
    INFO("second server stdout: " << second.stdoutText() << "\nstderr: " << second.stderrText());
    REQUIRE(code);
    CHECK(*code == kOsError);
    CHECK(contains(second.stderrText(), "127.0.0.1:" + port));
    CHECK_FALSE(contains(second.stdoutText(), "listening on"));
}

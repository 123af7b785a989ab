// Moderation end to end: the real `chat serve` with a database file, real
// `chat connect` and `chat send` processes, and protocol-level clients
// (issue 14, point 6): kick, ban and mute seen by the target and the room,
// their persistence across a restart, administrators, bans by address.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"

#include "shared/protocol.hpp"

#include <catch2/catch.hpp>
#include <csignal>

using namespace chat::test;

namespace {
constexpr int kUsage = 64;
constexpr int kUnavailable = 69;
const chat::HelloCredentials kPassword{"correct horse", {}};

/// The `ok` or `error` answering request `id`; events before it stay queued.
Poco::JSON::Object::Ptr answer(TestClient& client, std::int64_t id) {
    return client.waitFor([id](const Poco::JSON::Object::Ptr& m) { return chat::intField(m, "id") == id; });
}

/// Sends `type` with string members `fields` and id `id`; returns the answer.
Poco::JSON::Object::Ptr ask(TestClient& client, const std::string& type,
                            const std::vector<std::pair<std::string, std::string>>& fields, std::int64_t id) {
    auto request = chat::makeMessage(type);
    request->set("id", id);
    for (const auto& [key, value] : fields) request->set(key, value);
    client.send(request);
    return answer(client, id);
}

std::string outcome(const Poco::JSON::Object::Ptr& answer) {
    const auto type = chat::stringField(answer, "type").value_or("");
    return type == "error" ? chat::stringField(answer, "code").value_or("") : type;
}

void registerName(std::uint16_t port, const std::string& name) {
    auto guest = TestClient::joinedWith(port, name, true, {});
    REQUIRE(outcome(ask(*guest, "register", {{"password", kPassword.password}}, 1)) == "ok");
}

std::string helloOutcome(std::uint16_t port, const std::string& name, const chat::HelloCredentials& credentials = {}) {
    try {
        TestClient::joinedWith(port, name, true, credentials);
        return "welcome";
    } catch (const chat::ClientError& e) {
        return e.code().empty() ? e.what() : e.code();
    }
}

/// The next `moderation` event `client` receives with this action.
Poco::JSON::Object::Ptr moderation(TestClient& client, const std::string& action) {
    return client.waitFor([&](const Poco::JSON::Object::Ptr& m) {
        return typeOf(m) == "moderation" && chat::stringField(m, "action") == action;
    });
}

void stop(RunningServer& server) {
    server.process->signal(SIGTERM);
    REQUIRE(server.process->wait() == 0);
}
}  // namespace

TEST_CASE("kick, ban and mute: the target and the room see them, through the real client too", "[moderation][e2e]") {
    TempDir dir;
    auto server = startServer({"--db", dir.file("chat.db")});
    registerName(server.port, "alice");
    auto alice = TestClient::joinedWith(server.port, "alice", true, kPassword);
    REQUIRE(outcome(ask(*alice, "join", {{"room", "#dev"}}, 1)) == "ok");  // she created it: operator
    auto bob = connectClient(server.port, "bob");  // a guest, through chat connect
    bob->write("/join #dev\n");
    REQUIRE(bob->waitForLine("you are now in #dev"));
    auto carol = TestClient::joined(server.port, "carol");
    REQUIRE(outcome(ask(*carol, "join", {{"room", "#dev"}}, 1)) == "ok");

    // A guest has no rights, whatever room it is in.
    bob->write("/kick #dev carol\n");
    REQUIRE(bob->waitForStderr("guest holds no rights"));  // a piped client reports refusals on stderr
    REQUIRE(outcome(ask(*alice, "kick", {{"room", "#dev"}, {"user", "bob"}, {"reason", "too loud"}}, 2)) == "ok");
    CHECK(chat::stringField(moderation(*carol, "kick"), "target") == std::string("bob"));
    auto line = bob->waitForLine("alice kicked bob from #dev (too loud)");
    INFO(bob->stdoutText());
    REQUIRE(line);
    REQUIRE(bob->waitForLine("(kicked by alice: too loud)"));  // then left
    bob->write("/join #dev\n");  // a kick is not a ban
    REQUIRE(bob->waitForLine("you are now in #dev"));

    REQUIRE(outcome(ask(*alice, "ban", {{"room", "#dev"}, {"user", "BOB"}, {"duration", "1h"}}, 3)) == "ok");
    const auto ban = moderation(*carol, "ban");
    CHECK(chat::intField(ban, "until") > chat::nowMillis());
    REQUIRE(bob->waitForLine("alice banned bob from #dev until "));
    REQUIRE(bob->waitForLine("(banned by alice)"));
    bob->write("/join #dev\n");
    REQUIRE(bob->waitForStderr("you are banned from #dev"));

    REQUIRE(outcome(ask(*alice, "mute", {{"room", "#dev"}, {"user", "carol"}}, 4)) == "ok");
    moderation(*carol, "mute");
    CHECK(outcome(carol->request("#dev", "may I?", 5)) == "muted");
    REQUIRE(outcome(alice->request("#dev", "still reading?", 5)) == "ok");
    CHECK(chat::stringField(carol->waitForType("message"), "text") == std::string("still reading?"));
    REQUIRE(outcome(ask(*alice, "unmute", {{"room", "#dev"}, {"user", "carol"}}, 6)) == "ok");
    CHECK(outcome(carol->request("#dev", "thanks", 7)) == "ok");

    // Every action is in the room's history.
    auto history = ask(*alice, "history", {{"room", "#dev"}}, 8);
    std::vector<std::string> actions;
    auto events = history->getArray("events");
    for (std::size_t i = 0; i < events->size(); ++i) {
        auto event = events->getObject(i);
        if (typeOf(event) == "moderation") actions.push_back(chat::stringField(event, "action").value_or(""));
    }
    CHECK(actions == std::vector<std::string>{"kick", "ban", "mute", "unmute"});
}

TEST_CASE("a ban, a mute, invite-only and operators survive a restart of the server", "[moderation][e2e]") {
    TempDir dir;
    const auto db = dir.file("chat.db");
    {
        auto server = startServer({"--db", db});
        registerName(server.port, "alice");
        auto alice = TestClient::joinedWith(server.port, "alice", true, kPassword);
        REQUIRE(outcome(ask(*alice, "join", {{"room", "#dev"}}, 1)) == "ok");
        REQUIRE(outcome(ask(*alice, "join", {{"room", "#secret"}}, 2)) == "ok");
        REQUIRE(outcome(ask(*alice, "ban", {{"room", "#dev"}, {"user", "mallory"}, {"reason", "spam"}}, 3)) == "ok");
        REQUIRE(outcome(ask(*alice, "mute", {{"room", "#dev"}, {"user", "bob"}, {"duration", "7d"}}, 4)) == "ok");
        auto mode = ask(*alice, "mode", {{"room", "#secret"}, {"mode", "+i"}}, 5);
        REQUIRE(outcome(mode) == "ok");
        CHECK(chat::stringField(mode, "mode") == std::string("+i"));
        // Before the restart, each applies.
        auto mallory = TestClient::joined(server.port, "mallory");
        CHECK(outcome(ask(*mallory, "join", {{"room", "#dev"}}, 1)) == "banned");
        stop(server);
    }
    auto server = startServer({"--db", db});
    auto mallory = TestClient::joined(server.port, "Mallory");
    const auto banned = ask(*mallory, "join", {{"room", "#dev"}}, 1);
    CHECK(outcome(banned) == "banned");
    CHECK(contains(chat::stringField(banned, "message").value_or(""), "spam"));
    auto bob = TestClient::joined(server.port, "bob");
    REQUIRE(outcome(ask(*bob, "join", {{"room", "#dev"}}, 1)) == "ok");
    CHECK(outcome(bob->request("#dev", "am I heard?", 2)) == "muted");
    CHECK(outcome(ask(*bob, "join", {{"room", "#secret"}}, 3)) == "invite_only");
    // Alice is still the operator of both rooms: she can invite bob in.
    auto alice = TestClient::joinedWith(server.port, "alice", true, kPassword);
    REQUIRE(outcome(ask(*alice, "invite", {{"room", "#secret"}, {"user", "bob"}}, 1)) == "ok");
    CHECK(outcome(ask(*bob, "join", {{"room", "#secret"}}, 4)) == "ok");
    CHECK(outcome(ask(*mallory, "kick", {{"room", "#dev"}, {"user", "bob"}}, 2)) == "not_operator");
}

TEST_CASE("chat serve --admin: an unregistered name is refused; an administrator disconnects a user server-wide",
          "[moderation][e2e]") {
    TempDir dir;
    const auto db = dir.file("chat.db");
    {
        auto server = startServer({"--db", db});
        registerName(server.port, "root");
        stop(server);
    }
    ChildProcess refused({"serve", "--port", "0", "--db", db, "--admin", "nobody"});
    CHECK(refused.wait() == kUsage);
    CHECK(contains(refused.stderrText(), "'nobody' is not a registered account"));

    auto server = startServer({"--db", db, "--admin", "Root"});
    auto root = TestClient::joinedWith(server.port, "root", true, kPassword);
    auto bob = connectClient(server.port, "bob");  // piped: a lost connection ends it with 69
    auto carol = TestClient::joined(server.port, "carol");
    // A guest taking the name of no account cannot be an administrator: the
    // guest "carol" cannot kill, and neither can an operator.
    CHECK(outcome(ask(*carol, "kill", {{"user", "bob"}}, 1)) == "not_operator");
    REQUIRE(outcome(ask(*root, "kill", {{"user", "bob"}, {"reason", "enough"}}, 1)) == "ok");
    REQUIRE(bob->waitForLine("root disconnected bob from the server (enough)"));
    CHECK(bob->wait() == kUnavailable);
    const auto left = carol->waitForType("left");
    CHECK(chat::stringField(left, "reason") == std::string("disconnected by root: enough"));
    // A server-wide ban also refuses the hello.
    REQUIRE(outcome(ask(*root, "ban", {{"user", "bob"}}, 2)) == "ok");
    const auto r = runChat({"send", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "BOB",
                            "#lobby", "let me in"});
    INFO(describe(r));
    CHECK(r.exitCode == kUnavailable);
    CHECK(contains(r.err, "banned from this server"));
}

TEST_CASE("bans by address: 127.0.0.1 banned refuses join and hello from it; another address does not",
          "[moderation][e2e]") {
    TempDir dir;
    const auto db = dir.file("chat.db");
    {
        auto server = startServer({"--db", db});
        registerName(server.port, "root");
        stop(server);
    }
    auto server = startServer({"--db", db, "--admin", "root"});
    auto root = TestClient::joinedWith(server.port, "root", true, kPassword);
    REQUIRE(outcome(ask(*root, "join", {{"room", "#far"}}, 1)) == "ok");
    REQUIRE(outcome(ask(*root, "join", {{"room", "#near"}}, 2)) == "ok");
    REQUIRE(outcome(ask(*root, "ban", {{"room", "#far"}, {"address", "192.0.2.7"}}, 3)) == "ok");
    REQUIRE(outcome(ask(*root, "ban", {{"room", "#near"}, {"address", "::ffff:127.0.0.1"}}, 4)) == "ok");
    auto carol = TestClient::joined(server.port, "carol");
    CHECK(outcome(ask(*carol, "join", {{"room", "#far"}}, 1)) == "ok");
    CHECK(outcome(ask(*carol, "join", {{"room", "#near"}}, 2)) == "banned");
    // Server-wide: carol (on 127.0.0.1) is disconnected and nobody new gets in from it; root is exempt.
    REQUIRE(outcome(ask(*root, "ban", {{"address", "127.0.0.1"}}, 5)) == "ok");
    CHECK(carol->closedWithin());
    CHECK(helloOutcome(server.port, "dave") == "banned");
    CHECK(helloOutcome(server.port, "root", kPassword) == "welcome");
    REQUIRE(outcome(ask(*root, "unban", {{"address", "127.0.0.1"}}, 6)) == "ok");
    CHECK(helloOutcome(server.port, "dave") == "welcome");
}

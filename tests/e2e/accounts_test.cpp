// Accounts end to end: the real `chat serve` with a database file, and the
// real `chat send`, `chat passwd` and `chat connect` processes (issue 14).

#include "support/accounts_support.hpp"
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
constexpr int kUnavailable = 69;
constexpr int kTempFail = 75;
constexpr int kAuth = 78;

RunResult send(std::uint16_t port, std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> all{"send", "--host", "127.0.0.1", "--port", std::to_string(port)};
    all.insert(all.end(), args.begin(), args.end());
    return runChat(all, {}, env);
}

/// Registers `name` with `password`; the answer says an account was made.
void registerName(std::uint16_t port, const std::string& name, const std::string& password) {
    CHECK(chat::boolField(registerAccount(port, name, password), "account") == true);
}
}  // namespace

TEST_CASE("a guest cannot take a registered name - with its owner offline or online; the password lets it in") {
    AccountsServer s;
    registerName(s.port(), "alice", "correct horse");
    // Offline.
    CHECK(helloOutcome(s.port(), "alice", {}) == "auth_required");
    CHECK(helloOutcome(s.port(), "ALICE", {}, false) == "auth_required");
    CHECK(helloOutcome(s.port(), "alice", {"wrong horse", {}}) == "auth_failed");
    CHECK(helloOutcome(s.port(), "nobody", {"wrong horse", {}}) == "auth_failed");
    // Online, and told when another session logs in.
    auto alice = TestClient::joinedWith(s.port(), "Alice", true, {"correct horse", {}});
    CHECK(helloOutcome(s.port(), "alice", {}) == "auth_required");
    auto laptop = TestClient::joinedWith(s.port(), "alice", true, {"correct horse", {}});
    for (;;) {
        auto event = alice->next();
        if (chat::stringField(event, "type") != std::string("session")) continue;
        CHECK(chat::stringField(event, "text") == std::string("another session of Alice joined from 127.0.0.1"));
        break;
    }
    const auto r = send(s.port(), {"--user", "ALICE", "#lobby", "not alice"});
    INFO(describe(r));
    CHECK(r.exitCode == kAuth);
    CHECK(contains(r.err, "registered"));
}

TEST_CASE("CHAT_PASSWORD lets chat send post as a registered user; a wrong one exits 78") {
    AccountsServer s;
    registerName(s.port(), "bob", "correct horse");
    auto carol = TestClient::joined(s.port(), "carol");
    const auto ok = send(s.port(), {"--user", "bob", "@carol", "from bob's script"}, {{"CHAT_PASSWORD", "correct horse"}});
    INFO(describe(ok));
    CHECK(ok.exitCode == 0);
    for (;;) {
        auto event = carol->next();
        if (chat::stringField(event, "type") != std::string("message")) continue;
        CHECK(chat::stringField(event, "from") == std::string("bob"));
        CHECK(chat::stringField(event, "text") == std::string("from bob's script"));
        break;
    }
    const auto wrong = send(s.port(), {"--user", "bob", "@carol", "x"}, {{"CHAT_PASSWORD", "not it at all"}});
    INFO(describe(wrong));
    CHECK(wrong.exitCode == kAuth);
    CHECK(contains(wrong.err, "wrong name or password"));
}

TEST_CASE("the fifth wrong password in a row is answered auth_throttled with retry_after_ms - and waits") {
    AccountsServer s;
    registerName(s.port(), "dave", "correct horse");
    for (int i = 0; i < 4; ++i) CHECK(helloOutcome(s.port(), "dave", {"guess " + std::to_string(i), {}}) == "auth_failed");
    TestClient client(s.port());
    auto hello = chat::makeMessage("hello");
    hello->set("id", 7);
    hello->set("version", 1);
    hello->set("user", "dave");
    hello->set("password", "correct horse");  // even the right one: the account is barred
    client.send(hello);
    const auto refused = answerTo(client, 7);
    INFO(chat::toJson(refused));
    CHECK(chat::stringField(refused, "code") == std::string("auth_throttled"));
    const auto wait = chat::intField(refused, "retry_after_ms");
    REQUIRE(wait);
    CHECK(*wait > 0);
    CHECK(*wait <= 1000);
    const auto r = send(s.port(), {"--user", "dave", "#lobby", "x"}, {{"CHAT_PASSWORD", "correct horse"}});
    CHECK(r.exitCode == kTempFail);
}

TEST_CASE("accounts survive a server restart - and chat passwd changes the password") {
    TempDir dir;
    const auto db = dir.file("chat.db");
    {
        auto server = startServer({"--db", db});
        registerName(server.port, "erin", "correct horse");
        server.process->signal(SIGTERM);
        CHECK(server.process->wait() == 0);
    }
    auto server = startServer({"--db", db});
    CHECK(helloOutcome(server.port, "erin", {}) == "auth_required");
    CHECK(helloOutcome(server.port, "erin", {"correct horse", {}}) == "welcome");
    const auto changed = runChat({"passwd", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "erin"},
                                 {}, {{"CHAT_PASSWORD", "correct horse"}, {"CHAT_NEW_PASSWORD", "battery staple"}});
    INFO(describe(changed));
    CHECK(changed.exitCode == 0);
    CHECK(helloOutcome(server.port, "erin", {"correct horse", {}}) == "auth_failed");
    CHECK(helloOutcome(server.port, "erin", {"battery staple", {}}) == "welcome");
    const auto wrong = runChat({"passwd", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "erin"},
                               {}, {{"CHAT_PASSWORD", "correct horse"}, {"CHAT_NEW_PASSWORD", "whatever else"}});
    CHECK(wrong.exitCode == kAuth);
}

TEST_CASE("a second hello as ALICE without alice's guest key gets name_in_use and reads none of her DMs") {
    AccountsServer s;
    auto alice = connectClient(s.port(), "alice");  // a guest, through the real client
    CHECK(helloOutcome(s.port(), "ALICE", {}) == "name_in_use");
    CHECK(helloOutcome(s.port(), "alice", {}, false) == "name_in_use");
    CHECK(helloOutcome(s.port(), "alice", {{}, std::string(32, 'a')}) == "name_in_use");
    // A stranger's chat send (another person: no key file of hers) is refused too.
    TempDir elsewhere;
    const auto r = send(s.port(), {"--user", "alice", "#lobby", "pretending"}, {{"XDG_RUNTIME_DIR", elsewhere.path()}});
    INFO(describe(r));
    CHECK(r.exitCode == kUnavailable);
    CHECK(contains(r.err, "in use"));
    // Her own chat send (same person: the saved key) gets in.
    const auto own = send(s.port(), {"--user", "alice", "#lobby", "from alice's script"});
    INFO(describe(own));
    CHECK(own.exitCode == 0);
    auto bob = TestClient::joined(s.port(), "bob");
    auto dm = chat::makeMessage("send");
    dm->set("id", 3);
    dm->set("to", "@alice");
    dm->set("text", "my password is hunter2");
    bob->send(dm);
    CHECK(chat::stringField(answerTo(*bob, 3), "type") == std::string("ok"));
    REQUIRE(alice->waitForLine("hunter2"));
}

TEST_CASE("nick to a registered name needs its password in the nick request") {
    AccountsServer s;
    registerName(s.port(), "alice", "correct horse");
    auto bob = TestClient::joined(s.port(), "bob");
    auto nick = chat::makeMessage("nick");
    nick->set("id", 1);
    nick->set("user", "ALICE");
    bob->send(nick);
    CHECK(chat::stringField(answerTo(*bob, 1), "code") == std::string("auth_required"));
    nick->set("id", 2);
    nick->set("password", "wrong horse");
    bob->send(nick);
    CHECK(chat::stringField(answerTo(*bob, 2), "code") == std::string("auth_failed"));
    nick->set("id", 3);
    nick->set("password", "correct horse");
    bob->send(nick);
    const auto ok = answerTo(*bob, 3);
    INFO(chat::toJson(ok));
    CHECK(chat::stringField(ok, "type") == std::string("ok"));
    CHECK(chat::stringField(ok, "user") == std::string("ALICE"));
    CHECK(chat::boolField(ok, "account") == true);
    CHECK_FALSE(ok->has("key"));
    // Back to a guest name: a new key, which a further session needs.
    auto back = chat::makeMessage("nick");
    back->set("id", 4);
    back->set("user", "bobby");
    bob->send(back);
    const auto guest = answerTo(*bob, 4);
    CHECK(chat::boolField(guest, "account") == false);
    const auto key = chat::stringField(guest, "key");
    REQUIRE(key);
    CHECK(helloOutcome(s.port(), "bobby", {}) == "name_in_use");
    CHECK(helloOutcome(s.port(), "bobby", {{}, *key}) == "welcome");
}

TEST_CASE("with serve --require-account a guest hello is refused auth_required") {
    AccountsServer s({"--require-account"});
    CHECK(helloOutcome(s.port(), "guest", {}) == "auth_required");
    const auto r = send(s.port(), {"--user", "guest", "#lobby", "hi"});
    CHECK(r.exitCode == kAuth);
}

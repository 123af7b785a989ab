// Offline messages and private history end to end (issue 14, points 5 and
// 7): the real `chat serve` with a database file, restarted on it, the real
// `chat send` and piped `chat connect` processes.

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
constexpr int kNoUser = 67;
const std::string kPassword = "correct horse";

RunResult sendAs(std::uint16_t port, const std::string& user, const std::string& to, const std::string& text,
                 const std::map<std::string, std::string>& env = {}) {
    return runChat({"send", "--host", "127.0.0.1", "--port", std::to_string(port), "--user", user, to, text}, {}, env);
}

/// The `ok` or `error` answering request `id`; events before it go to `events`.
Poco::JSON::Object::Ptr answer(TestClient& client, std::int64_t id,
                               std::vector<Poco::JSON::Object::Ptr>* events = nullptr) {
    for (;;) {
        auto message = client.next();
        if (chat::intField(message, "id") == id) return message;
        if (events) events->push_back(message);
    }
}

/// Reads `watcher`'s events until `user` has left #lobby: the server has
/// let go of the name (a hello with it needs no key any more).
void waitUntilLeft(TestClient& watcher, const std::string& user) {
    for (;;) {
        auto event = watcher.next();
        if (chat::stringField(event, "type") == std::string("left") &&
            chat::stringField(event, "user") == user)
            return;
    }
}

std::unique_ptr<TestClient> login(std::uint16_t port, const std::string& name) {
    return TestClient::joinedWith(port, name, true, {kPassword, {}});
}

/// Every event a fresh session receives before the answer to a ping sent
/// right after its hello: the server hands offline messages over while it
/// answers the hello, so they all come before the pong.
std::vector<Poco::JSON::Object::Ptr> eventsAfterHello(TestClient& client) {
    auto ping = chat::makeMessage("ping");
    ping->set("id", 99);
    client.send(ping);
    std::vector<Poco::JSON::Object::Ptr> events;
    answer(client, 99, &events);
    return events;
}

std::vector<Poco::JSON::Object::Ptr> offlineMessages(const std::vector<Poco::JSON::Object::Ptr>& events) {
    std::vector<Poco::JSON::Object::Ptr> out;
    for (const auto& e : events) {
        if (chat::stringField(e, "type") != std::string("offline")) continue;
        auto list = e->getArray("events");
        for (std::size_t i = 0; i < list->size(); ++i) out.push_back(list->getObject(i));
    }
    return out;
}

/// A `history` or `search` request's listed events.
std::vector<std::string> listed(TestClient& client, Poco::JSON::Object::Ptr request, std::int64_t id,
                                const std::string& key) {
    request->set("id", id);
    client.send(request);
    const auto ok = answer(client, id);
    INFO(chat::toJson(ok));
    REQUIRE(chat::stringField(ok, "type") == std::string("ok"));
    std::vector<std::string> texts;
    auto list = ok->getArray(key);
    for (std::size_t i = 0; i < list->size(); ++i) texts.push_back(list->getObject(i)->getValue<std::string>("text"));
    return texts;
}

std::vector<std::string> historyWith(TestClient& client, const std::string& user) {
    auto request = chat::makeMessage("history");
    request->set("user", user);
    return listed(client, request, 41, "events");
}

std::vector<std::string> searchFor(TestClient& client, const std::string& words) {
    auto request = chat::makeMessage("search");
    request->set("text", words);
    return listed(client, request, 42, "results");
}

struct Server {
    Server() { start(); }
    void start() { server = startServer({"--db", dir.file("chat.db")}); }
    void restart() {
        server.process->signal(SIGTERM);
        REQUIRE(server.process->wait() == 0);
        start();
    }
    TempDir dir;
    RunningServer server;
    std::uint16_t port() const { return server.port; }
};
}  // namespace

TEST_CASE("offline: chat send to a registered offline user exits 0, the DM survives a restart and comes once at login",
          "[offline][e2e]") {
    Server s;
    registerAccount(s.port(), "bob", kPassword);
    const auto sent = sendAs(s.port(), "alice", "@bob", "while you were out");
    INFO(describe(sent));
    REQUIRE(sent.exitCode == 0);
    // Not for names nobody registered: one nobody uses, or a guest's who left.
    CHECK(sendAs(s.port(), "alice", "@nobody", "x").exitCode == kNoUser);
    {
        auto watcher = TestClient::joined(s.port(), "watcher");
        { auto carol = TestClient::joined(s.port(), "carol"); }
        waitUntilLeft(*watcher, "carol");
    }
    CHECK(sendAs(s.port(), "alice", "@carol", "x").exitCode == kNoUser);

    s.restart();
    auto bob = login(s.port(), "bob");
    const auto waiting = offlineMessages(eventsAfterHello(*bob));
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0]->getValue<std::string>("from") == "alice");
    CHECK(waiting[0]->getValue<std::string>("text") == "while you were out");
    CHECK(waiting[0]->getValue<std::int64_t>("msg_id") > 0);
    CHECK(waiting[0]->getValue<std::int64_t>("ts") > 0);
    CHECK(historyWith(*bob, "alice") == std::vector<std::string>{"while you were out"});  // and in history
    bob.reset();

    auto again = login(s.port(), "bob");
    CHECK(offlineMessages(eventsAfterHello(*again)).empty());
}

TEST_CASE("offline: the piped client says \"3 messages while you were away\" before showing them", "[offline][e2e]") {
    Server s;
    registerAccount(s.port(), "bob", kPassword);
    for (const char* text : {"first note", "second note", "third note"})
        REQUIRE(sendAs(s.port(), "alice", "@bob", text).exitCode == 0);
    auto bob = connectClient(s.port(), "bob", {{"CHAT_PASSWORD", kPassword}});
    const auto& out = bob->stdoutText();
    INFO(out);
    const auto header = out.find("3 messages while you were away");
    REQUIRE(header != std::string::npos);
    const auto first = out.find("first note"), third = out.find("third note");
    REQUIRE(first != std::string::npos);
    REQUIRE(third != std::string::npos);
    CHECK(header < first);
    CHECK(first < third);
    CHECK(out.find("alice") != std::string::npos);
}

TEST_CASE("offline: a later guest of a free name sees none of the earlier guest's DMs; an account sees its own "
          "after a restart", "[offline][e2e]") {
    Server s;
    registerAccount(s.port(), "alice", kPassword);
    auto bob = TestClient::joined(s.port(), "bob");
    {
        TempDir home;
        auto carol = connectClient(s.port(), "carol", {{"XDG_RUNTIME_DIR", home.path()}});
        carol->write("/msg bob the vault code is 1234\n");
        REQUIRE(carol->waitForLine("vault code"));
        carol->write("/history @bob\n");
        REQUIRE(carol->waitForLine("end of history"));  // her own DM, while she is that guest
        carol->write("/quit\n");
        REQUIRE(carol->wait() == 0);
        waitUntilLeft(*bob, "carol");
    }
    REQUIRE(sendAs(s.port(), "alice", "@bob", "alice's private note", {{"CHAT_PASSWORD", kPassword}}).exitCode == 0);

    // Another process takes the free name "carol".
    auto impostor = TestClient::joined(s.port(), "carol");
    CHECK(historyWith(*impostor, "bob").empty());
    CHECK(searchFor(*impostor, "vault").empty());
    CHECK(historyWith(*bob, "carol") == std::vector<std::string>{"the vault code is 1234"});  // bob's side remains

    s.restart();
    auto alice = login(s.port(), "alice");
    CHECK(historyWith(*alice, "bob") == std::vector<std::string>{"alice's private note"});
    CHECK(searchFor(*alice, "private note") == std::vector<std::string>{"alice's private note"});
    auto stranger = TestClient::joined(s.port(), "bob");  // bob left with the restart: now a new guest
    CHECK(historyWith(*stranger, "alice").empty());
    CHECK(historyWith(*stranger, "carol").empty());
}

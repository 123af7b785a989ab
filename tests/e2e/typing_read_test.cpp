// Typing indicators and read receipts end to end: the real server with
// protocol-level clients, and two `chat connect` terminals in tmux.

#include "shared/protocol.hpp"
#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"
#include "support/tmux_session.hpp"

#include <catch2/catch.hpp>

using namespace chat::test;

namespace {
std::vector<std::string> connectArgs(std::uint16_t port, const std::string& user, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"connect", "--host", "127.0.0.1", "--port", std::to_string(port), "--user", user};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string join(const std::vector<std::string>& lines, const std::string& separator) {
    std::string out;
    for (const auto& line : lines) out += (out.empty() ? "" : separator) + line;
    return out;
}

std::string lastLine(const std::vector<std::string>& screen) {
    for (auto line = screen.rbegin(); line != screen.rend(); ++line)
        if (!line->empty()) return *line;
    return {};
}

bool promptContains(TmuxSession& tmux, const std::string& text, std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    return tmux.waitFor([&](const std::vector<std::string>& screen) { return contains(lastLine(screen), text); }, wait);
}

Poco::JSON::Object::Ptr request(const std::string& json) { return chat::parseMessage(json).message; }

Poco::JSON::Object::Ptr answerTo(TestClient& client, std::int64_t id) {
    return client.waitFor([&](const Poco::JSON::Object::Ptr& m) {
        const auto type = typeOf(m);
        return (type == "ok" || type == "error") && chat::intField(m, "id") == id;
    });
}

std::string str(const Poco::JSON::Object::Ptr& m, const std::string& key) { return chat::stringField(m, key).value_or("?"); }
}  // namespace

TEST_CASE("typing and read: two protocol clients see each other's typing and read events through the real server") {
    auto server = startServer();
    auto alice = TestClient::joined(server.port, "alice");
    auto bob = TestClient::joined(server.port, "bob");

    alice->send(request(R"({"type":"typing","id":1,"to":"#lobby"})"));
    CHECK(str(answerTo(*alice, 1), "type") == "ok");
    auto typing = bob->waitForType("typing");
    CHECK(str(typing, "from") == "alice");
    CHECK(str(typing, "to") == "#lobby");
    CHECK(chat::intField(typing, "ttl_ms") == 6000);

    bob->send(request(R"({"type":"typing","id":2,"to":"@alice"})"));
    CHECK(str(answerTo(*bob, 2), "type") == "ok");
    typing = alice->waitForType("typing");
    CHECK(str(typing, "from") == "bob");
    CHECK(str(typing, "to") == "@alice");

    const auto sent = alice->request("@bob", "lunch?", 3);
    REQUIRE(str(sent, "type") == "ok");
    const auto msgId = *chat::intField(sent, "msg_id");
    bob->send(request(R"({"type":"read","id":4,"to":"@alice","msg_id":)" + std::to_string(msgId) + "}"));
    CHECK(str(answerTo(*bob, 4), "type") == "ok");
    const auto read = alice->waitForType("read");
    CHECK(str(read, "from") == "bob");
    CHECK(str(read, "to") == "@alice");
    CHECK(chat::intField(read, "msg_id") == msgId);

    // Refusals: a msg_id beyond the last, a transient session.
    bob->send(request(R"({"type":"read","id":5,"to":"@alice","msg_id":)" + std::to_string(msgId + 1000) + "}"));
    CHECK(str(answerTo(*bob, 5), "code") == "bad_request");
    auto script = TestClient::joined(server.port, "carol", false);
    script->send(request(R"({"type":"typing","id":6,"to":"@bob"})"));
    CHECK(str(answerTo(*script, 6), "code") == "bad_request");
}

TEST_CASE("terminal: alice types without Enter and bob's prompt says 'alice is typing…', then it goes away") {
    auto server = startServer();
    TmuxSession bob(connectArgs(server.port, "bob"));
    REQUIRE(promptContains(bob, "[#lobby] bob>"));
    TmuxSession alice(connectArgs(server.port, "alice"));
    REQUIRE(promptContains(alice, "[#lobby] alice>"));

    alice.type("hello there");
    INFO("bob's screen:\n" << bob.screenText());
    REQUIRE(promptContains(bob, "alice is typing\u2026"));
    // It expires on its own (ttl_ms 6000), and alice's half-typed line is still hers.
    CHECK(bob.waitFor([](const std::vector<std::string>& screen) { return lastLine(screen) == "[#lobby] bob>"; },
                      std::chrono::seconds(15)));
    CHECK(promptContains(alice, "[#lobby] alice> hello there"));
    // A message ends it at once: type again (3 s have passed), then send.
    alice.type("!");
    REQUIRE(promptContains(bob, "alice is typing\u2026"));
    alice.keys({"Enter"});
    CHECK(bob.waitFor(
        [](const std::vector<std::string>& screen) {
            return lastLine(screen) == "[#lobby] bob>" && contains(join(screen, "\n"), "alice: hello there!");
        },
        std::chrono::seconds(3)));
}

TEST_CASE("terminal: --no-typing sends no typing indicator") {
    auto server = startServer();
    auto bob = TestClient::joined(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice", {"--no-typing"}));
    REQUIRE(promptContains(alice, "[#lobby] alice>"));
    alice.type("secret");
    REQUIRE(promptContains(alice, "alice> secret"));
    alice.keys({"C-u"});
    alice.type("/who");
    alice.keys({"Enter"});  // after its answer, any typing would have arrived at bob first
    REQUIRE(alice.waitFor([](const std::vector<std::string>& screen) { return contains(join(screen, "\n"), "Online (2)"); }));
    bob->send(request(R"({"type":"ping","id":9})"));
    // Events come in order: a typing event would come before this pong.
    const auto first = bob->waitFor([](const Poco::JSON::Object::Ptr& m) {
        return typeOf(m) == "typing" || (typeOf(m) == "pong" && chat::intField(m, "id") == 9);
    });
    CHECK(typeOf(first) == "pong");
}

TEST_CASE("terminal: alice's DM shows 'seen' in her prompt once bob reads it in his query") {
    auto server = startServer();
    TmuxSession bob(connectArgs(server.port, "bob"));
    REQUIRE(promptContains(bob, "[#lobby] bob>"));
    TmuxSession alice(connectArgs(server.port, "alice"));
    REQUIRE(promptContains(alice, "[#lobby] alice>"));

    alice.type("/query bob");
    alice.keys({"Enter"});
    REQUIRE(promptContains(alice, "[@bob] alice>"));
    alice.type("lunch?");
    alice.keys({"Enter"});
    REQUIRE(bob.waitFor([](const std::vector<std::string>& screen) { return contains(join(screen, "\n"), "lunch?"); }));
    // Bob is in #lobby: the DM is printed there, but he has not opened the conversation.
    CHECK_FALSE(promptContains(alice, "seen", std::chrono::milliseconds(1000)));
    bob.type("/query alice");
    bob.keys({"Enter"});
    INFO("alice's screen:\n" << alice.screenText());
    CHECK(promptContains(alice, "[@bob] alice (seen)>"));
}

// The real server in-process on 127.0.0.1, port 0, with protocol-level clients.

#include "server/chat_server.hpp"
#include "shared/frame_codec.hpp"
#include "support/in_process_server.hpp"
#include "support/raw_connection.hpp"
#include "support/test_client.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using namespace chat;
using namespace chat::test;

namespace {
ServerConfig testConfig() {
    auto config = inProcessConfig();
    config.hub.motd = "be nice";
    config.hub.maxClients = 8;
    return config;
}

struct RunningServer : InProcessServer {
    explicit RunningServer(ServerConfig config = testConfig()) : InProcessServer(std::move(config)) {}
};

Poco::JSON::Object::Ptr messageTo(TestClient& client, const std::string& text) {
    return client.waitFor([&](const auto& m) { return typeOf(m) == "message" && stringField(m, "text") == text; });
}
}  // namespace

TEST_CASE("hello is answered with welcome: server, motd, user and who is online") {
    RunningServer s;
    auto bob = TestClient::joined(s.port(), "bob");
    TestClient alice(s.port());
    auto hello = makeMessage("hello");
    hello->set("version", kProtocolVersion);
    hello->set("user", "Alice");
    hello->set("client", "test");
    hello->set("id", "h1");
    alice.send(hello);
    auto welcome = alice.waitForType("welcome");
    CHECK(stringField(welcome, "id") == std::string("h1"));
    CHECK(stringField(welcome, "user") == std::string("Alice"));
    CHECK(stringField(welcome, "motd") == std::string("be nice"));
    CHECK(toJson(welcome).find(R"("online":["Alice","bob"])") != std::string::npos);
}

TEST_CASE("a room message is broadcast to every client, the sender included") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");
    auto ok = alice->request("", "hello everyone", 1);
    REQUIRE(typeOf(ok) == "ok");
    const auto id = intField(ok, "msg_id");
    REQUIRE(id);
    for (auto* c : {alice.get(), bob.get(), carol.get()}) {
        auto m = messageTo(*c, "hello everyone");
        CHECK(stringField(m, "from") == std::string("alice"));
        CHECK(stringField(m, "to") == std::string("#lobby"));
        CHECK(intField(m, "msg_id") == id);
    }
}

TEST_CASE("a direct message reaches only its target") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");
    REQUIRE(typeOf(alice->request("@bob", "secret", 1)) == "ok");
    auto m = messageTo(*bob, "secret");
    CHECK(stringField(m, "to") == std::string("@bob"));
    // carol gets the next room message without having seen the DM first
    REQUIRE(typeOf(alice->request("", "public", 2)) == "ok");
    auto next = carol->waitForType("message");
    CHECK(stringField(next, "text") == std::string("public"));
}

TEST_CASE("errors carry the request id and leave the connection up") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto e1 = alice->request("@nobody", "hi", 1);
    CHECK(stringField(e1, "code") == std::string("no_such_user"));
    auto e2 = alice->request("", std::string(5000, 'x'), 2);
    CHECK(stringField(e2, "code") == std::string("text_too_long"));
    auto e3 = alice->request("", "bell\x07", 3);
    CHECK(stringField(e3, "code") == std::string("text_invalid"));
    CHECK(typeOf(alice->request("", "still here", 4)) == "ok");
}

TEST_CASE("malformed frames get bad_request and the connection stays up") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    for (const std::string& payload : {std::string("{not json"), std::string("[1]"), std::string(""),
                                       std::string("\xff\xfe"), std::string(R"({"type":"teleport"})"),
                                       std::string(R"({"type":"send","text":42})")}) {
        INFO(payload);
        alice->sendRaw(encodeFrame(payload));
        auto e = alice->waitForType("error");
        CHECK(stringField(e, "code") == std::string("bad_request"));
    }
    CHECK(typeOf(alice->request("", "still here", 1)) == "ok");
}

TEST_CASE("an oversize length gets frame_too_large and the connection is closed") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    alice->sendRaw(frameHeader(0xFFFFFFFF));
    auto e = alice->waitForType("error");
    CHECK(stringField(e, "code") == std::string("frame_too_large"));
    CHECK(alice->closedWithin());
    auto bob = TestClient::joined(s.port(), "bob");
    CHECK(typeOf(bob->request("", "server still up", 1)) == "ok");
}

TEST_CASE("a version the server does not speak gets version_unsupported naming both versions") {
    RunningServer s;
    TestClient client(s.port());
    auto hello = makeMessage("hello");
    hello->set("version", 99);
    hello->set("user", "future");
    client.send(hello);
    auto e = client.waitForType("error");
    CHECK(stringField(e, "code") == std::string("version_unsupported"));
    CHECK_THAT(stringField(e, "message").value_or(""), Catch::Contains("1") && Catch::Contains("99"));
    CHECK(client.closedWithin());
}

TEST_CASE("a bad name gets name_invalid and the client may try again") {
    RunningServer s;
    TestClient client(s.port());
    auto hello = makeMessage("hello");
    hello->set("version", kProtocolVersion);
    hello->set("user", "not a name");
    client.send(hello);
    CHECK(stringField(client.waitForType("error"), "code") == std::string("name_invalid"));
    hello->set("user", "good_name");
    client.send(hello);
    CHECK(stringField(client.waitForType("welcome"), "user") == std::string("good_name"));
}

TEST_CASE("requests before hello are refused") {
    RunningServer s;
    TestClient client(s.port());
    auto who = makeMessage("who");
    who->set("id", 5);
    client.send(who);
    auto e = client.waitForType("error");
    CHECK(intField(e, "id") == 5);
    CHECK_THAT(stringField(e, "message").value_or(""), Catch::Contains("hello"));
}

TEST_CASE("join and leave notices, for clean and unclean disconnects") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    {
        auto bob = TestClient::joined(s.port(), "bob");
        auto joined = alice->waitForType("joined");
        CHECK(stringField(joined, "user") == std::string("bob"));
        bob->send(makeMessage("quit"));
        auto left = alice->waitForType("left");
        CHECK(stringField(left, "user") == std::string("bob"));
        CHECK(stringField(left, "reason") == std::string("quit"));
    }
    {
        auto carol = TestClient::joined(s.port(), "carol");
        alice->waitForType("joined");
        carol->connection().close();  // no quit: the socket just closes
        auto left = alice->waitForType("left");
        CHECK(stringField(left, "user") == std::string("carol"));
    }
    auto who = makeMessage("who");
    who->set("id", 9);
    alice->send(who);
    auto ok = alice->waitForType("ok");
    CHECK(toJson(ok).find(R"("users":["alice"])") != std::string::npos);
}

TEST_CASE("the client beyond --max-clients gets server_full and is closed - the others are unaffected") {
    auto config = testConfig();
    config.hub.maxClients = 3;
    RunningServer s(config);
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(TestClient::joined(s.port(), "user" + std::to_string(i)));
    TestClient extra(s.port());
    auto e = extra.waitForType("error");
    CHECK(stringField(e, "code") == std::string("server_full"));
    CHECK(extra.closedWithin());
    CHECK(typeOf(clients[0]->request("", "still fine", 1)) == "ok");
    clients.pop_back();  // one leaves; a newcomer fits again
    waitUntil([&] { return s.server.hub().connectionCount() == 2; });
    CHECK(TestClient::joined(s.port(), "newcomer"));
}

TEST_CASE("more clients than Poco's default pool (16) are all served at once") {
    auto config = testConfig();
    config.hub.maxClients = 40;
    RunningServer s(config);
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 40; ++i) clients.push_back(TestClient::joined(s.port(), "u" + std::to_string(i)));
    REQUIRE(typeOf(clients.back()->request("", "to all forty", 1)) == "ok");
    for (auto& c : clients) messageTo(*c, "to all forty");
}

TEST_CASE("a stalled client is cut off at its queue limit while the others keep receiving") {
    auto config = testConfig();
    config.session.maxQueuedBytes = 256 * 1024;  // room for readers whose session thread is briefly starved
    RunningServer s(config);
    auto staller = TestClient::joined(s.port(), "staller");  // never reads from here on
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    const std::string text(4000, 's');
    auto stallerOnline = [&] {
        const auto online = s.server.hub().online();
        return std::find(online.begin(), online.end(), "staller") != online.end();
    };
    int sent = 0;
    while (stallerOnline() && sent < 20000) {
        REQUIRE(typeOf(alice->request("", text, ++sent)) == "ok");
        bob->pump();
    }
    REQUIRE_FALSE(stallerOnline());
    auto left = bob->waitFor([](const auto& m) { return typeOf(m) == "left"; }, std::chrono::seconds(20));
    CHECK(stringField(left, "user") == std::string("staller"));
    CHECK(stringField(left, "reason") == std::string("slow consumer"));
    for (int i = 1; i <= sent; ++i) {  // bob, who reads, got every message
        auto m = bob->waitForType("message");
        REQUIRE(stringField(m, "text") == text);
    }
    REQUIRE(typeOf(alice->request("", "after the cut", 99999)) == "ok");
    messageTo(*bob, "after the cut");
    CHECK(staller->closedWithin());
}

TEST_CASE("a connection that never says hello is closed after the hello timeout") {
    auto config = testConfig();
    config.session.conversation.helloTimeout = std::chrono::milliseconds(200);
    RunningServer s(config);
    TestClient silent(s.port());
    CHECK(silent.closedWithin(std::chrono::seconds(5)));
}

TEST_CASE("stop() tells every client the server is shutting down and closes them") {
    RunningServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    TestClient lurker(s.port());  // connected, no hello yet
    waitUntil([&] { return s.server.hub().connectionCount() == 2; });
    const auto started = std::chrono::steady_clock::now();
    s.server.stop();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    auto notice = alice->waitForType("shutdown");
    CHECK_THAT(stringField(notice, "message").value_or(""), Catch::Contains("shutting down"));
    CHECK(alice->closedWithin());
    CHECK(typeOf(lurker.waitForType("shutdown")) == "shutdown");
    CHECK(lurker.closedWithin());
}

TEST_CASE("a user connected twice is listed once and gets DMs on both connections") {
    RunningServer s;
    auto term = TestClient::joined(s.port(), "alice");
    auto script = TestClient::joined(s.port(), "ALICE");
    auto bob = TestClient::joined(s.port(), "bob");
    REQUIRE(typeOf(bob->request("@alice", "to both", 1)) == "ok");
    messageTo(*term, "to both");
    messageTo(*script, "to both");
    auto who = makeMessage("who");
    who->set("id", 2);
    bob->send(who);
    CHECK(toJson(bob->waitForType("ok")).find(R"("users":["alice","bob"])") != std::string::npos);
}

TEST_CASE("over the rate limit a message gets rate_limited with retry_after_ms, and the connection stays up") {
    auto config = testConfig();
    config.hub.ratePerSecond = 1;
    config.hub.rateBurst = 3;
    RunningServer s(config);
    auto alice = TestClient::joined(s.port(), "alice");
    for (int i = 1; i <= 3; ++i) REQUIRE(typeOf(alice->request("", "burst " + std::to_string(i), i)) == "ok");
    auto refused = alice->request("", "one too many", 4);
    REQUIRE(typeOf(refused) == "error");
    CHECK(stringField(refused, "code") == std::string("rate_limited"));
    const auto retry = intField(refused, "retry_after_ms");
    REQUIRE(retry);
    CHECK(*retry > 0);
    CHECK(*retry <= 1001);
    auto who = makeMessage("who");  // non-message requests are not limited
    who->set("id", 5);
    alice->send(who);
    CHECK(typeOf(alice->waitFor([](const auto& m) { return intField(m, "id") == 5; })) == "ok");
}

TEST_CASE("the welcome announces the rate limit so clients can pace themselves") {
    auto config = testConfig();
    config.hub.ratePerSecond = 7;
    config.hub.rateBurst = 11;
    RunningServer s(config);
    TestClient client(s.port());
    auto welcome = client.connection().hello("pacer", "test", true, ServerConnection::Clock::now() + kWait);
    CHECK(welcome.ratePerSecond == 7);
    CHECK(welcome.rateBurst == 11);
}

TEST_CASE("connections beyond --max-per-ip from one address get too_many_connections") {
    auto config = testConfig();
    config.hub.maxPerIp = 2;
    RunningServer s(config);
    auto a = TestClient::joined(s.port(), "a");
    auto b = TestClient::joined(s.port(), "b");
    TestClient third(s.port());
    auto e = third.waitForType("error");
    CHECK(stringField(e, "code") == std::string("too_many_connections"));
    CHECK(third.closedWithin());
    CHECK(typeOf(a->request("", "others unaffected", 1)) == "ok");
}

TEST_CASE("a silent client is pinged, and dropped with 'ping timeout' when it does not answer") {
    auto config = testConfig();
    config.session.conversation.pingInterval = std::chrono::milliseconds(200);
    RunningServer s(config);
    auto alice = TestClient::joined(s.port(), "alice");
    auto mute = TestClient::joined(s.port(), "mute");
    int pings = 0;
    auto left = alice->waitFor([&](const auto& m) {
        if (typeOf(m) == "ping") {
            ++pings;
            alice->send(makeMessage("pong"));
        }
        return typeOf(m) == "left";
    });
    CHECK(pings >= 1);
    CHECK(stringField(left, "user") == std::string("mute"));
    CHECK(stringField(left, "reason") == std::string("ping timeout"));
    CHECK(mute->closedWithin());
    CHECK(s.server.hub().online() == std::vector<std::string>{"alice"});
}

TEST_CASE("answers with long lists are cut to fit one frame and marked truncated") {
    auto config = testConfig();
    config.hub.maxRoomsPerUser = 1000;
    RunningServer s(config);
    auto alice = TestClient::joined(s.port(), "alice");
    const std::string topic(290, 't');
    const int kRooms = 400;  // 400 x ~330 bytes of JSON: far more than one 64 KiB frame
    for (int i = 0; i < kRooms; ++i) {
        const auto room = "#room" + std::to_string(i);
        auto join = makeMessage("join");
        join->set("id", 10000 + i);
        join->set("room", room);
        alice->send(join);
        auto topicRequest = makeMessage("topic");
        topicRequest->set("id", 20000 + i);
        topicRequest->set("room", room);
        topicRequest->set("topic", topic);
        alice->send(topicRequest);
        REQUIRE(typeOf(alice->waitFor([&](const auto& m) { return intField(m, "id") == 20000 + i; })) == "ok");
    }
    auto rooms = makeMessage("rooms");
    rooms->set("id", 1);
    alice->send(rooms);
    auto ok = alice->waitFor([](const auto& m) { return intField(m, "id") == 1; });
    REQUIRE(typeOf(ok) == "ok");
    CHECK(boolField(ok, "truncated") == true);
    CHECK(intField(ok, "total") == kRooms + 1);
    CHECK(toFrame(ok).size() <= kMaxFramePayload);
    alice->connection().close();  // the user leaves properly: no ghost left behind
    auto bob = TestClient::joined(s.port(), "bob");
    auto who = makeMessage("who");
    who->set("id", 2);
    bob->send(who);
    CHECK(toJson(bob->waitFor([](const auto& m) { return intField(m, "id") == 2; })).find(R"("users":["bob"])") !=
          std::string::npos);
}

TEST_CASE("ping is answered before hello, and an empty topic clears the topic") {
    RunningServer s;
    TestClient early(s.port());
    auto ping = makeMessage("ping");
    ping->set("id", 1);
    early.send(ping);
    CHECK(typeOf(early.waitForType("pong")) == "pong");

    auto alice = TestClient::joined(s.port(), "alice");
    auto set = makeMessage("topic");
    set->set("id", 2);
    set->set("room", "#lobby");
    set->set("topic", "old news");
    alice->send(set);
    REQUIRE(typeOf(alice->waitFor([](const auto& m) { return intField(m, "id") == 2; })) == "ok");
    set->set("id", 3);
    set->set("topic", "");
    alice->send(set);
    REQUIRE(typeOf(alice->waitFor([](const auto& m) { return intField(m, "id") == 3; })) == "ok");
    CHECK(s.server.hub().rooms()[0].topic.empty());
}

TEST_CASE("a connection still waiting to be accepted when the server stops is answered shutting_down") {
    ChatServer server(testConfig());  // listening, but not accepting: the connection waits in the backlog
    TestClient waiting(server.address().port());
    server.stop();
    auto refusal = waiting.next();
    CHECK(typeOf(refusal) == "error");
    CHECK(stringField(refusal, "code") == std::string("shutting_down"));
    CHECK(waiting.closedWithin());
}

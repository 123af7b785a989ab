// The protocol state machine driven with payloads and a clock: no sockets.

#include "server/account_store.hpp"
#include "server/authenticator.hpp"
#include "server/conversation.hpp"
#include "server/hub.hpp"
#include "server/ip_group.hpp"
#include "server/password_hash.hpp"
#include "shared/frame_codec.hpp"
#include "shared/validation.hpp"

#include "support/memory_history.hpp"

#include <catch2/catch.hpp>

using namespace chat;
using Clock = std::chrono::steady_clock;

namespace {
/// Records what the conversation sends, decoded.
class Peer final : public Participant {
public:
    void deliver(const EventPtr& event) override { sent.push_back(parseMessage(event->payload).message); }
    void closeAfterFlush(const std::string& reason) override { closeReason = reason; }
    Poco::JSON::Object::Ptr last() const { return sent.empty() ? nullptr : sent.back(); }
    std::vector<Poco::JSON::Object::Ptr> sent;
    std::string closeReason;
};

std::string json(const Poco::JSON::Object::Ptr& message) { return toJson(message); }

std::string hello(const std::string& user) {
    return R"({"type":"hello","version":1,"user":")" + user + R"(","id":1})";
}

struct Harness {
    explicit Harness(ConversationLimits limits = {}, HubConfig config = {}, History* history = nullptr)
        : hub(std::move(config), nullptr, history), limits(limits) {}

    struct Client {
        std::shared_ptr<Peer> peer = std::make_shared<Peer>();
        std::unique_ptr<Conversation> conversation;
    };
    Client open(Clock::time_point now = Clock::now()) {
        Client c;
        c.conversation = std::make_unique<Conversation>(hub, c.peer, limits, "127.0.0.1:1");
        REQUIRE(c.conversation->open("127.0.0.1", now));
        return c;
    }
    Client joined(const std::string& name) {
        auto c = open();
        c.conversation->receive(hello(name), Clock::now());
        REQUIRE(c.peer->sent.size() == 2);  // the welcome, then the default room's backlog
        REQUIRE(stringField(c.peer->sent[0], "type") == std::string("welcome"));
        REQUIRE(stringField(c.peer->sent[1], "type") == std::string("backlog"));
        return c;
    }

    Hub hub;
    ConversationLimits limits;
};

std::string typeOf(const Poco::JSON::Object::Ptr& m) { return m ? stringField(m, "type").value_or("") : ""; }
std::string codeOf(const Poco::JSON::Object::Ptr& m) { return m ? stringField(m, "code").value_or("") : ""; }
}  // namespace

TEST_CASE("hello gets a welcome with the id, the user and the default room") {
    Harness h;
    auto c = h.open();
    c.conversation->receive(hello("Alice"), Clock::now());
    REQUIRE_FALSE(c.peer->sent.empty());
    auto welcome = c.peer->sent.front();
    REQUIRE(typeOf(welcome) == "welcome");
    CHECK(intField(welcome, "id") == 1);
    CHECK(stringField(welcome, "user") == std::string("Alice"));
    CHECK(c.conversation->user() == "Alice");
}

TEST_CASE("ping is answered before hello - pong and other requests before hello are refused") {
    Harness h;
    auto c = h.open();
    c.conversation->receive(R"({"type":"ping","id":"p"})", Clock::now());
    CHECK(typeOf(c.peer->last()) == "pong");
    CHECK(stringField(c.peer->last(), "id") == std::string("p"));
    c.conversation->receive(R"({"type":"pong"})", Clock::now());
    CHECK(codeOf(c.peer->last()) == "bad_request");
    c.conversation->receive(R"({"type":"who","id":2})", Clock::now());
    CHECK(codeOf(c.peer->last()) == "bad_request");
}

TEST_CASE("a flood of joins, leaves and list queries is answered rate_limited past the request budget") {
    ConversationLimits limits;
    limits.requestsPerSecond = 1;
    limits.requestBurst = 10;
    Harness h(limits);
    auto c = h.joined("alice");
    int limited = 0;
    for (int i = 0; i < 100; ++i) {
        c.conversation->receive(R"({"type":"join","room":"#r)" + std::to_string(i % 5) + R"(","id":)" +
                                    std::to_string(i) + "}",
                                Clock::now());
        if (codeOf(c.peer->last()) == "rate_limited") {
            ++limited;
            CHECK(intField(c.peer->last(), "retry_after_ms").value_or(0) > 0);
        }
    }
    CHECK(limited >= 85);
    // send has its own (per-user) budget and is not spent by the flood
    c.conversation->receive(R"({"type":"send","text":"still here","id":"s"})", Clock::now());
    CHECK(typeOf(c.peer->last()) == "ok");
}

TEST_CASE("who with long away messages fits one frame: lists are measured after JSON escaping") {
    Harness h({}, [] {
        HubConfig config;
        config.maxClients = 100;
        return config;
    }());
    std::vector<Harness::Client> users;
    for (int i = 0; i < 12; ++i) {
        users.push_back(h.joined("user" + std::to_string(i)));
        // 4,000 quotes, as JSON escapes in the request: 8,000 characters there and in the answer.
        std::string quotes;
        for (int q = 0; q < 4000; ++q) quotes += "\\\"";
        users.back().conversation->receive(R"({"type":"away","message":")" + quotes + R"("})", Clock::now());
        CHECK(typeOf(users.back().peer->last()) == "ok");
    }
    auto asker = h.joined("asker");
    asker.conversation->receive(R"({"type":"who","id":9})", Clock::now());
    auto answer = asker.peer->last();
    REQUIRE(typeOf(answer) == "ok");
    CHECK(toJson(answer).size() <= kMaxFramePayload);
    CHECK(answer->has("truncated"));
    CHECK(intField(answer, "total") == 13);
}

TEST_CASE("the conversation asks for hello in time, pings a silent peer and ends one that stays silent") {
    ConversationLimits limits;
    limits.helloTimeout = std::chrono::milliseconds(100);
    limits.pingInterval = std::chrono::milliseconds(1000);
    Harness h(limits);
    const auto t0 = Clock::now();
    auto late = h.open(t0);
    CHECK(late.conversation->tick(t0) == t0 + limits.helloTimeout);
    late.conversation->tick(t0 + std::chrono::milliseconds(150));
    CHECK(late.conversation->endReason() == "hello timeout");
    CHECK(late.peer->closeReason == "hello timeout");

    auto c = h.open(t0);
    c.conversation->receive(hello("bob"), t0);
    c.conversation->tick(t0 + std::chrono::milliseconds(1100));
    CHECK(typeOf(c.peer->last()) == "ping");
    CHECK(c.conversation->endReason().empty());
    c.conversation->tick(t0 + std::chrono::milliseconds(2100));
    CHECK(c.conversation->endReason() == "ping timeout");
}

TEST_CASE("an oversized or unfinished frame is answered, then the conversation ends") {
    Harness h;
    auto c = h.joined("alice");
    c.conversation->frameTooLarge(1u << 30);
    CHECK(codeOf(c.peer->last()) == "frame_too_large");
    CHECK(!c.conversation->endReason().empty());
    auto d = h.joined("bob");
    d.conversation->frameIncomplete();
    CHECK(codeOf(d.peer->last()) == "bad_request");
    CHECK(d.peer->closeReason == "protocol error: incomplete frame");
}

TEST_CASE("quit is answered ok, then the conversation closes - close() leaves the hub") {
    Harness h;
    auto alice = h.joined("alice");
    auto bob = h.joined("bob");
    alice.conversation->receive(R"({"type":"quit","id":7})", Clock::now());
    CHECK(typeOf(alice.peer->last()) == "ok");
    CHECK(alice.peer->closeReason == "quit");
    alice.conversation->close();
    CHECK(typeOf(bob.peer->last()) == "left");
    CHECK(h.hub.online() == std::vector<std::string>{"bob"});
}

TEST_CASE("a very long name is refused with name_invalid, echoing at most 64 bytes of it") {
    Harness h;
    auto c = h.open();
    c.conversation->receive(hello(std::string(65450, 'a')), Clock::now());
    auto error = c.peer->last();
    CHECK(codeOf(error) == "name_invalid");
    CHECK(stringField(error, "message")->size() < 200);
    CHECK(c.conversation->endReason().empty());
}

TEST_CASE("a message that cannot be stored is answered storage_unavailable, not ok, and not retried") {
    test::MemoryHistory store;
    Harness h({}, {}, &store);
    auto alice = h.joined("alice");
    alice.conversation->receive(R"({"type":"send","id":7,"text":"kept"})", Clock::now());
    CHECK(typeOf(alice.peer->last()) == "ok");
    store.failWith("disk full");
    alice.conversation->receive(R"({"type":"send","id":8,"text":"lost?"})", Clock::now());
    auto answer = alice.peer->last();
    CHECK(codeOf(answer) == "storage_unavailable");
    CHECK(intField(answer, "id") == 8);
    CHECK(stringField(answer, "message").value_or("").find("disk full") != std::string::npos);
    // It was delivered live all the same: the echo came before the answer.
    const auto& echo = alice.peer->sent[alice.peer->sent.size() - 2];
    CHECK(typeOf(echo) == "message");
    CHECK(stringField(echo, "text") == std::string("lost?"));
}

TEST_CASE("history and search requests: checked members, answers carrying stored events as they were sent") {
    test::MemoryHistory store;
    Harness h({}, {}, &store);
    auto alice = h.joined("alice");
    alice.conversation->receive(R"({"type":"send","id":1,"text":"deploy at 5pm"})", Clock::now());
    const auto echo = alice.peer->sent[alice.peer->sent.size() - 2];
    alice.conversation->receive(R"({"type":"history","id":2,"room":"#lobby"})", Clock::now());
    auto page = alice.peer->last();
    REQUIRE(typeOf(page) == "ok");
    CHECK(stringField(page, "room") == std::string("#lobby"));
    REQUIRE(page->getArray("events")->size() == 1);
    CHECK(json(page->getArray("events")->getObject(0)) == json(echo));
    CHECK(boolField(page, "more") == false);

    alice.conversation->receive(R"({"type":"search","id":3,"text":"DEPLOY"})", Clock::now());
    CHECK(alice.peer->last()->getArray("results")->size() == 1);

    for (const char* bad : {R"({"type":"history","id":4})", R"({"type":"history","id":4,"room":"#lobby","user":"bob"})",
                            R"({"type":"history","id":4,"room":"#lobby","limit":0})",
                            R"({"type":"history","id":4,"room":"#lobby","limit":201})",
                            R"({"type":"history","id":4,"room":"#lobby","before":-1})",
                            R"({"type":"history","id":4,"room":"#lobby","before":"x"})",
                            R"({"type":"search","id":4})", R"({"type":"search","id":4,"text":"x","limit":101})"}) {
        INFO(bad);
        alice.conversation->receive(bad, Clock::now());
        CHECK(codeOf(alice.peer->last()) == "bad_request");
    }
    alice.conversation->receive(R"({"type":"search","id":5,"text":""})", Clock::now());
    CHECK(codeOf(alice.peer->last()) == "text_invalid");
    alice.conversation->receive(R"({"type":"history","id":6,"room":"#elsewhere"})", Clock::now());
    CHECK(codeOf(alice.peer->last()) == "no_such_room");
}

TEST_CASE("a conversation is over a secure transport only when its transport says so: TLS or a loopback peer") {
    Harness harness;
    auto client = harness.open();
    CHECK_FALSE(client.conversation->secureTransport());  // plaintext from a network peer until told otherwise
    client.conversation->setSecureTransport(true);
    CHECK(client.conversation->secureTransport());

    // what the TCP session passes for a plaintext peer
    CHECK(isLoopbackAddress("127.0.0.1"));
    CHECK(isLoopbackAddress("127.3.2.1"));
    CHECK(isLoopbackAddress("::1"));
    CHECK(isLoopbackAddress("::ffff:127.0.0.1"));
    CHECK_FALSE(isLoopbackAddress("128.0.0.1"));
    CHECK_FALSE(isLoopbackAddress("10.0.0.1"));
    CHECK_FALSE(isLoopbackAddress("::2"));
    CHECK_FALSE(isLoopbackAddress("::ffff:10.0.0.1"));
    CHECK_FALSE(isLoopbackAddress("localhost"));  // a name is not an address
    CHECK_FALSE(isLoopbackAddress(""));
}

TEST_CASE("a password is checked over a secure transport from any address, refused over plaintext from the network") {
    PasswordHasher hasher{HashCost::minimum()};
    AccountStore store{":memory:", hasher};
    Authenticator auth(store, AuthOptions{});
    REQUIRE(auth.registerName("alice", "correct horse"));
    HubConfig config;
    config.auth = &auth;
    Harness h({}, config);
    const std::string helloWithPassword =
        R"({"type":"hello","version":1,"user":"alice","password":"correct horse","id":1})";

    // Plaintext from a network peer: auth_insecure, the password unchecked.
    auto plain = std::make_shared<Peer>();
    Conversation overPlaintext(h.hub, plain, h.limits, "10.0.0.1:1");
    REQUIRE(overPlaintext.open("10.0.0.1", Clock::now()));
    overPlaintext.receive(helloWithPassword, Clock::now());
    CHECK(codeOf(plain->last()) == "auth_insecure");
    CHECK(overPlaintext.user().empty());

    // The same address over TLS (what the TCP session says for a TLS link).
    auto secure = std::make_shared<Peer>();
    Conversation overTls(h.hub, secure, h.limits, "10.0.0.1:2");
    overTls.setSecureTransport(true);
    REQUIRE(overTls.open("10.0.0.1", Clock::now()));
    overTls.receive(helloWithPassword, Clock::now());
    REQUIRE_FALSE(secure->sent.empty());
    CHECK(typeOf(secure->sent.front()) == "welcome");
    CHECK(overTls.user() == "alice");
}

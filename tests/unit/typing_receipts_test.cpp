// Typing indicators and read receipts in the terminal client: TypingReceipts
// alone, and ClientSession showing them in its prompt and sending its own,
// all with an injected clock.

#include "client/client_session.hpp"
#include "client/typing_receipts.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Recorder final : chat::ClientOutput {
    std::vector<std::string> lines, errors;
    void line(const std::string& text) override { lines.push_back(text); }
    void error(const std::string& text) override { errors.push_back(text); }
};

Poco::JSON::Object::Ptr parse(const std::string& json) { return chat::parseMessage(json).message; }

struct Fixture {
    Fixture() {
        chat::Welcome w;
        w.user = "alice";
        w.room = "#lobby";
        w.rooms = {"#lobby"};
        w.online = {"alice", "bob", "carol"};
        session = std::make_unique<chat::ClientSession>(
            w, [this](const Poco::JSON::Object::Ptr& m) { sent.push_back(m); }, out, chat::RenderOptions{});
        session->setClock([this] { return now; });
        session->enableSignals(true, true);
    }
    std::vector<Poco::JSON::Object::Ptr> ofType(const std::string& type) const {
        std::vector<Poco::JSON::Object::Ptr> found;
        for (const auto& m : sent)
            if (chat::stringField(m, "type") == type) found.push_back(m);
        return found;
    }
    Clock::time_point now = Clock::now();
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    std::unique_ptr<chat::ClientSession> session;
};

std::string str(const Poco::JSON::Object::Ptr& m, const std::string& key) { return chat::stringField(m, key).value_or("?"); }
}  // namespace

TEST_CASE("TypingReceipts: an indicator lasts its ttl or until the typist's message, names in the order they started") {
    chat::TypingReceipts t;
    const auto t0 = Clock::now();
    t.typing("#lobby", "bob", milliseconds(6000), t0);
    t.typing("#LOBBY", "carol", milliseconds(2000), t0 + milliseconds(10));
    CHECK(t.typingText("#lobby", t0 + milliseconds(100)) == "bob and carol are typing\u2026");
    CHECK(t.typingText("#dev", t0) == "");
    CHECK(t.nextChange(t0 + milliseconds(100)) == t0 + milliseconds(2010));
    CHECK(t.typingText("#lobby", t0 + milliseconds(2010)) == "bob is typing\u2026");
    t.messageFrom("#lobby", "Bob");
    CHECK(t.typingText("#lobby", t0 + milliseconds(2010)) == "");
    t.typing("#lobby", "a", milliseconds(9999999), t0);
    CHECK(t.nextChange(t0 + milliseconds(3000)) == t0 + chat::TypingReceipts::kMaxTypingTtl);  // carol's has expired
}

TEST_CASE("TypingReceipts: receipts are sent at most once per interval, the latest shown id when it ends") {
    chat::TypingReceipts t;
    const auto t0 = Clock::now();
    t.shown("@bob", 5, t0);
    auto due = t.takeDueReceipts(t0);
    REQUIRE(due.size() == 1);
    CHECK(due[0] == std::make_pair(std::string("@bob"), std::int64_t{5}));
    t.shown("@bob", 7, t0 + milliseconds(100));
    t.shown("@bob", 8, t0 + milliseconds(200));
    CHECK(t.takeDueReceipts(t0 + milliseconds(1999)).empty());
    CHECK(t.nextChange(t0 + milliseconds(300)) == t0 + chat::TypingReceipts::kReceiptInterval);
    due = t.takeDueReceipts(t0 + milliseconds(2000));
    REQUIRE(due.size() == 1);
    CHECK(due[0].second == 8);
    CHECK_FALSE(t.nextChange(t0 + milliseconds(2000)));
}

TEST_CASE("ClientSession shows 'bob is typing…' in the prompt of that conversation until the ttl passes") {
    Fixture f;
    f.session->handleMessage(parse(R"({"type":"typing","from":"bob","to":"#lobby","ttl_ms":6000})"));
    CHECK(f.out.lines.empty());  // the prompt, never a line that would scroll the history
    CHECK(f.session->prompt() == "[#lobby] alice (bob is typing\u2026)> ");
    REQUIRE(f.session->nextSignal());
    CHECK(*f.session->nextSignal() == f.now + milliseconds(6000));
    f.now += milliseconds(5999);
    CHECK_THAT(f.session->prompt(), Catch::Contains("bob is typing"));
    f.now += milliseconds(1);
    CHECK(f.session->prompt() == "[#lobby] alice> ");
    // A DM typist shows in the query with them, not in the room.
    f.session->handleMessage(parse(R"({"type":"typing","from":"carol","to":"@alice","ttl_ms":6000})"));
    CHECK(f.session->prompt() == "[#lobby] alice> ");
    f.session->handleLine("/query carol");
    CHECK_THAT(f.session->prompt(), Catch::Contains("carol is typing"));
}

TEST_CASE("ClientSession stops showing a typist when their message arrives, and ignores its own typing") {
    Fixture f;
    f.session->handleMessage(parse(R"({"type":"typing","from":"bob","to":"#lobby","ttl_ms":6000})"));
    f.session->handleMessage(parse(R"({"type":"typing","from":"alice","to":"#lobby","ttl_ms":6000})"));
    CHECK(f.session->prompt() == "[#lobby] alice (bob is typing\u2026)> ");
    f.session->handleMessage(parse(R"({"type":"message","msg_id":3,"ts":1,"from":"bob","to":"#lobby","text":"hi"})"));
    CHECK(f.session->prompt() == "[#lobby] alice> ");
}

TEST_CASE("ClientSession sends typing at most once per 3 s per conversation, never for commands or when off") {
    Fixture f;
    f.session->userTyping("h");
    f.session->userTyping("he");
    f.session->userTyping("/jo");
    auto typing = f.ofType("typing");
    REQUIRE(typing.size() == 1);
    CHECK(str(typing[0], "to") == "#lobby");
    f.now += milliseconds(2999);
    f.session->userTyping("hel");
    CHECK(f.ofType("typing").size() == 1);
    f.session->handleLine("/query bob");
    f.session->userTyping("x");  // another conversation
    REQUIRE(f.ofType("typing").size() == 2);
    CHECK(str(f.ofType("typing")[1], "to") == "@bob");
    f.session->handleLine("/query");
    f.now += milliseconds(1);
    f.session->userTyping("hell");
    CHECK(f.ofType("typing").size() == 3);
    f.session->enableSignals(false, true);
    f.now += milliseconds(10000);
    f.session->userTyping("hello");
    CHECK(f.ofType("typing").size() == 3);
}

TEST_CASE("ClientSession sends read for a DM shown in the current conversation, paced, and on switching to it") {
    Fixture f;
    // In #lobby: bob's DM is printed, but its conversation is not the current one.
    f.session->handleMessage(parse(R"({"type":"message","msg_id":10,"ts":1,"from":"bob","to":"@alice","text":"a"})"));
    f.session->signalsDue();
    CHECK(f.ofType("read").empty());
    f.session->handleLine("/switch @bob");
    f.session->signalsDue();
    REQUIRE(f.ofType("read").size() == 1);
    CHECK(str(f.ofType("read")[0], "to") == "@bob");
    CHECK(chat::intField(f.ofType("read")[0], "msg_id") == 10);
    f.session->handleMessage(parse(R"({"type":"message","msg_id":11,"ts":1,"from":"bob","to":"@alice","text":"b"})"));
    f.session->handleMessage(parse(R"({"type":"message","msg_id":12,"ts":1,"from":"bob","to":"@alice","text":"c"})"));
    f.session->signalsDue();
    CHECK(f.ofType("read").size() == 1);  // within the interval
    REQUIRE(f.session->nextSignal());
    f.now = *f.session->nextSignal();
    f.session->signalsDue();
    REQUIRE(f.ofType("read").size() == 2);
    CHECK(chat::intField(f.ofType("read")[1], "msg_id") == 12);
}

TEST_CASE("ClientSession sends no read receipts when they are off") {
    Fixture f;
    f.session->enableSignals(true, false);
    f.session->handleLine("/query bob");
    f.session->handleMessage(parse(R"({"type":"message","msg_id":10,"ts":1,"from":"bob","to":"@alice","text":"a"})"));
    f.now += milliseconds(5000);
    f.session->signalsDue();
    CHECK(f.ofType("read").empty());
}

TEST_CASE("ClientSession shows 'seen' in the query once the other user has read our last message there") {
    Fixture f;
    f.session->handleLine("/query bob");
    f.session->handleMessage(parse(R"({"type":"message","msg_id":20,"ts":1,"from":"alice","to":"@bob","text":"lunch?"})"));
    CHECK(f.session->prompt() == "[@bob] alice> ");
    f.session->handleMessage(parse(R"({"type":"read","from":"bob","to":"@alice","msg_id":19})"));
    CHECK(f.session->prompt() == "[@bob] alice> ");
    f.session->handleMessage(parse(R"({"type":"read","from":"bob","to":"@alice","msg_id":20})"));
    CHECK(f.session->prompt() == "[@bob] alice (seen)> ");
    CHECK(f.out.lines.size() == 2);  // the "now in" notice and our message: nothing reprinted
    f.session->handleMessage(parse(R"({"type":"message","msg_id":21,"ts":1,"from":"alice","to":"@bob","text":"?"})"));
    CHECK(f.session->prompt() == "[@bob] alice> ");
    // Our own other session's receipt says nothing about bob.
    f.session->handleMessage(parse(R"({"type":"read","from":"alice","to":"@bob","msg_id":21})"));
    CHECK(f.session->prompt() == "[@bob] alice> ");
}

TEST_CASE("a typing or read event without its members breaks the protocol") {
    Fixture f;
    CHECK_THROWS_AS(f.session->handleMessage(parse(R"({"type":"typing","to":"#lobby"})")), chat::ClientError);
    CHECK_THROWS_AS(f.session->handleMessage(parse(R"({"type":"read","from":"bob","to":"@alice"})")),
                    chat::ClientError);
}

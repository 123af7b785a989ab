#include "server/hub.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

#include <mutex>

namespace {
/// Records every frame the hub hands it, decoded back to JSON.
class FakeParticipant final : public chat::Participant {
public:
    void deliver(const chat::SharedFrame& frame) override {
        std::lock_guard lock(mutex_);
        frames.push_back(frame);
    }
    void closeAfterFlush(const std::string& reason) override {
        std::lock_guard lock(mutex_);
        closeReason = reason;
    }
    std::vector<Poco::JSON::Object::Ptr> messages() {
        std::lock_guard lock(mutex_);
        std::vector<Poco::JSON::Object::Ptr> out;
        for (const auto& f : frames) out.push_back(chat::parseMessage(f->substr(chat::kFrameHeaderBytes)).message);
        return out;
    }
    std::vector<Poco::JSON::Object::Ptr> ofType(const std::string& type) {
        std::vector<Poco::JSON::Object::Ptr> out;
        for (auto& m : messages())
            if (chat::stringField(m, "type") == type) out.push_back(m);
        return out;
    }
    std::vector<chat::SharedFrame> frames;
    std::string closeReason;

private:
    std::mutex mutex_;
};

struct Fixture {
    chat::Hub hub{chat::HubConfig{"test", "motd", 4, 100, "#lobby"}};
    std::shared_ptr<FakeParticipant> add(const std::string& name, bool announce = true) {
        auto p = std::make_shared<FakeParticipant>();
        REQUIRE_FALSE(hub.attach(p));
        std::string display;
        REQUIRE(hub.join(p, name, announce, display));
        return p;
    }
};
}  // namespace

TEST_CASE_METHOD(Fixture, "a room message reaches every member once, the sender included, as one shared frame") {
    auto alice = add("alice");
    auto bob = add("bob");
    auto carol = add("carol");
    auto result = hub.sendToRoom(alice, "hello");
    REQUIRE(result);
    for (auto* p : {alice.get(), bob.get(), carol.get()}) {
        auto messages = p->ofType("message");
        REQUIRE(messages.size() == 1);
        CHECK(chat::stringField(messages[0], "from") == std::string("alice"));
        CHECK(chat::stringField(messages[0], "to") == std::string("#lobby"));
        CHECK(chat::stringField(messages[0], "text") == std::string("hello"));
        CHECK(chat::intField(messages[0], "msg_id") == static_cast<std::int64_t>(result.messageId));
        CHECK(chat::intField(messages[0], "ts"));
    }
    CHECK(alice->frames.back() == bob->frames.back());
    CHECK(bob->frames.back() == carol->frames.back());
}

TEST_CASE_METHOD(Fixture, "a newcomer's arrival is announced to the others, not to the newcomer") {
    auto alice = add("alice");
    auto bob = add("Bob");
    CHECK(bob->ofType("joined").empty());
    auto joined = alice->ofType("joined");
    REQUIRE(joined.size() == 1);
    CHECK(chat::stringField(joined[0], "user") == std::string("Bob"));
}

TEST_CASE_METHOD(Fixture, "a direct message reaches only the target's sessions and the sender's") {
    auto alice = add("alice");
    auto bob1 = add("bob");
    auto bob2 = add("BOB");
    auto carol = add("carol");
    (void)carol;
    REQUIRE(hub.sendDirect(alice, "Bob", "psst"));
    for (auto* p : {alice.get(), bob1.get(), bob2.get()}) {
        auto messages = p->ofType("message");
        REQUIRE(messages.size() == 1);
        CHECK(chat::stringField(messages[0], "to") == std::string("@bob"));
    }
    CHECK(carol->ofType("message").empty());
}

TEST_CASE_METHOD(Fixture, "a DM to a user who is not online is refused with no_such_user") {
    auto alice = add("alice");
    auto result = hub.sendDirect(alice, "nobody", "hi");
    REQUIRE(result.error == chat::ErrorCode::NoSuchUser);
    CHECK_THAT(result.errorText, Catch::Contains("nobody"));
    CHECK(alice->ofType("message").empty());
}

TEST_CASE_METHOD(Fixture, "bad text is refused with the matching error code and nothing is delivered") {
    auto alice = add("alice");
    CHECK(hub.sendToRoom(alice, std::string(101, 'x')).error == chat::ErrorCode::TextTooLong);
    CHECK(hub.sendToRoom(alice, "").error == chat::ErrorCode::TextInvalid);
    CHECK(hub.sendToRoom(alice, "a\x01").error == chat::ErrorCode::TextInvalid);
    CHECK(hub.sendDirect(alice, "alice", "\xff").error == chat::ErrorCode::TextInvalid);
    CHECK(alice->ofType("message").empty());
}

TEST_CASE_METHOD(Fixture, "invalid names are refused with name_invalid") {
    auto p = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(p));
    std::string display;
    CHECK(hub.join(p, "no spaces", true, display).error == chat::ErrorCode::NameInvalid);
    CHECK(hub.join(p, "", true, display).error == chat::ErrorCode::NameInvalid);
    CHECK(hub.join(p, "fine", true, display));
}

TEST_CASE_METHOD(Fixture, "presence shows a user once however many sessions they have") {
    auto a1 = add("alice");
    auto a2 = add("Alice");
    auto b = add("bob");
    CHECK(hub.online() == std::vector<std::string>{"alice", "bob"});
    CHECK(b->ofType("joined").empty());  // bob joined after alice's first session only
    hub.detach(a1, "client closed the connection");
    CHECK(b->ofType("left").empty());
    CHECK(hub.online() == std::vector<std::string>{"alice", "bob"});
    hub.detach(a2, "connection reset by peer");
    auto left = b->ofType("left");
    REQUIRE(left.size() == 1);
    CHECK(chat::stringField(left[0], "user") == std::string("alice"));
    CHECK(chat::stringField(left[0], "reason") == std::string("connection reset by peer"));
    CHECK(hub.online() == std::vector<std::string>{"bob"});
}

TEST_CASE_METHOD(Fixture, "unannounced sessions are not in presence and cause no join or leave notices") {
    auto bob = add("bob");
    auto script = add("ci", /*announce=*/false);
    CHECK(hub.online() == std::vector<std::string>{"bob"});
    CHECK(bob->ofType("joined").empty());
    REQUIRE(hub.sendDirect(script, "bob", "build passed"));
    CHECK(bob->ofType("message").size() == 1);
    CHECK(hub.sendDirect(bob, "ci", "thanks").error == chat::ErrorCode::NoSuchUser);
    hub.detach(script, "quit");
    CHECK(bob->ofType("left").empty());
}

TEST_CASE_METHOD(Fixture, "attach refuses connections beyond maxClients") {
    std::vector<std::shared_ptr<FakeParticipant>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_shared<FakeParticipant>());
        REQUIRE_FALSE(hub.attach(held.back()));
    }
    CHECK(hub.attach(std::make_shared<FakeParticipant>()) == chat::ErrorCode::ServerFull);
    hub.detach(held.front(), "gone");
    CHECK_FALSE(hub.attach(std::make_shared<FakeParticipant>()));
}

TEST_CASE_METHOD(Fixture, "shutdown notifies and closes every connection, joined or not, and refuses new ones") {
    auto alice = add("alice");
    auto lurker = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(lurker));
    hub.shutdown("bye");
    for (auto* p : {alice.get(), lurker.get()}) {
        REQUIRE(p->ofType("shutdown").size() == 1);
        CHECK(p->closeReason == "server shutting down");
    }
    CHECK(hub.attach(std::make_shared<FakeParticipant>()) == chat::ErrorCode::ShuttingDown);
    hub.detach(alice, "server shutting down");
    hub.detach(lurker, "server shutting down");
    CHECK(hub.waitUntilEmpty(std::chrono::steady_clock::now()));
}

TEST_CASE_METHOD(Fixture, "a session that has not said hello cannot send") {
    auto p = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(p));
    CHECK(hub.sendToRoom(p, "hi").error == chat::ErrorCode::BadRequest);
}

// Typing indicators and read receipts in the hub (docs/protocol.md,
// `typing` and `read`): who receives them, what is refused, coalescing,
// and receipts kept across a restart.

#include "server/hub.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"
#include "support/fake_participant.hpp"
#include "support/hub_fixture.hpp"
#include "support/memory_history.hpp"

#include <catch2/catch.hpp>

#include <map>

using chat::test::FakeParticipant;
using chat::test::MemoryHistory;

namespace {
using Clock = std::chrono::steady_clock;

struct Fixture : chat::test::HubFixture {
    static chat::HubConfig config() {
        chat::HubConfig c;
        c.maxClients = 16;
        c.maxPendingHello = 16;
        c.ratePerSecond = 1000;
        c.rateBurst = 1000;
        return c;
    }
    explicit Fixture(chat::History* history = nullptr) : HubFixture(config(), history) {}
};

std::string str(const Poco::JSON::Object::Ptr& m, const std::string& key) { return chat::stringField(m, key).value_or("?"); }
}  // namespace

TEST_CASE_METHOD(Fixture, "typing in a room reaches the other members' sessions, not the typist's, and is not numbered") {
    auto alice = add("alice");
    auto alice2 = add("alice");
    auto bob = add("bob");
    auto carol = add("carol");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(carol, "#dev", details));  // carol is in #lobby and #dev
    const auto before = hub.lastMessageId();
    REQUIRE(hub.typing(alice, "#LOBBY"));
    for (auto* p : {bob.get(), carol.get()}) {
        const auto typing = p->ofType("typing");
        REQUIRE(typing.size() == 1);
        CHECK(str(typing[0], "from") == "alice");
        CHECK(str(typing[0], "to") == "#lobby");
        CHECK(chat::intField(typing[0], "ttl_ms") == 6000);
        CHECK_FALSE(typing[0]->has("msg_id"));
    }
    CHECK(alice->ofType("typing").empty());
    CHECK(alice2->ofType("typing").empty());
    CHECK(hub.lastMessageId() == before);  // never an event id, never stored
}

TEST_CASE_METHOD(Fixture, "typing to a user reaches that user's sessions only, with to naming the recipient") {
    auto alice = add("alice");
    auto bob = add("Bob");
    auto bob2 = add("bob");
    auto carol = add("carol");
    REQUIRE(hub.typing(alice, "@bob"));
    for (auto* p : {bob.get(), bob2.get()}) {
        const auto typing = p->ofType("typing");
        REQUIRE(typing.size() == 1);
        CHECK(str(typing[0], "from") == "alice");
        CHECK(str(typing[0], "to") == "@Bob");
    }
    CHECK(carol->ofType("typing").empty());
    CHECK(alice->ofType("typing").empty());
}

TEST_CASE_METHOD(Fixture, "typing is refused for a room one is not in, an unknown room or user, a bad name, and transients") {
    auto alice = add("alice");
    auto bob = add("bob");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    CHECK(hub.typing(alice, "#dev").error == chat::ErrorCode::NotInRoom);
    CHECK(hub.typing(alice, "#nowhere").error == chat::ErrorCode::NoSuchRoom);
    CHECK(hub.typing(alice, "#bad room").error == chat::ErrorCode::RoomInvalid);
    CHECK(hub.typing(alice, "@carol").error == chat::ErrorCode::NoSuchUser);
    CHECK(hub.typing(alice, "@no spaces").error == chat::ErrorCode::NameInvalid);
    CHECK(hub.typing(alice, "lobby").error == chat::ErrorCode::BadRequest);
    auto script = add("dave", false);
    CHECK(hub.typing(script, "#lobby").error == chat::ErrorCode::BadRequest);
    CHECK(hub.typing(alice, "@dave").error == chat::ErrorCode::NoSuchUser);  // transient: not online
    CHECK(bob->ofType("typing").empty());
}

TEST_CASE_METHOD(Fixture, "typing is coalesced: one event per user and conversation per 3 s, whichever session types") {
    auto alice = add("alice");
    auto alice2 = add("alice");
    auto bob = add("bob");
    const auto t0 = Clock::now();
    auto first = hub.typing(alice, "#lobby", t0);
    REQUIRE(first);
    CHECK(first.messageId == 1);
    auto again = hub.typing(alice2, "#lobby", t0 + std::chrono::milliseconds(2999));
    REQUIRE(again);  // answered ok, dropped
    CHECK(again.messageId == 0);
    CHECK(bob->ofType("typing").size() == 1);
    REQUIRE(hub.typing(alice, "@bob", t0 + std::chrono::milliseconds(1000)));  // another conversation
    CHECK(bob->ofType("typing").size() == 2);
    REQUIRE(hub.typing(alice, "#lobby", t0 + std::chrono::milliseconds(3000)));
    CHECK(bob->ofType("typing").size() == 3);
}

TEST_CASE_METHOD(Fixture, "a DM read receipt goes to the other user's sessions and the reader's other sessions") {
    auto alice = add("alice");
    auto bob = add("bob");
    auto bob2 = add("bob");
    auto carol = add("carol");
    const auto sent = hub.sendDirect(alice, "bob", "hi");
    REQUIRE(sent);
    REQUIRE(hub.markRead(bob, "@Alice", static_cast<std::int64_t>(sent.messageId)));
    const auto toAlice = alice->ofType("read");
    REQUIRE(toAlice.size() == 1);
    CHECK(str(toAlice[0], "from") == "bob");
    CHECK(str(toAlice[0], "to") == "@alice");
    CHECK(chat::intField(toAlice[0], "msg_id") == static_cast<std::int64_t>(sent.messageId));
    CHECK(bob2->ofType("read").size() == 1);
    CHECK(bob->ofType("read").empty());  // the reader's own connection knows
    CHECK(carol->ofType("read").empty());
    // Not beyond the receipt kept: nothing changes, nothing is sent.
    REQUIRE(hub.markRead(bob, "@alice", static_cast<std::int64_t>(sent.messageId)));
    CHECK(alice->ofType("read").size() == 1);
}

TEST_CASE_METHOD(Fixture, "read receipts are checked: msg_id in range, an existing conversation, a room one is in, no transients") {
    auto alice = add("alice");
    auto bob = add("bob");
    const auto sent = hub.sendDirect(alice, "bob", "hi");
    REQUIRE(sent);
    const auto last = static_cast<std::int64_t>(hub.lastMessageId());
    CHECK(hub.markRead(bob, "@alice", 0).error == chat::ErrorCode::BadRequest);
    CHECK(hub.markRead(bob, "@alice", -5).error == chat::ErrorCode::BadRequest);
    CHECK(hub.markRead(bob, "@alice", last + 1).error == chat::ErrorCode::BadRequest);
    CHECK(hub.markRead(bob, "@carol", last).error == chat::ErrorCode::NoSuchUser);  // offline, nothing stored
    CHECK(hub.markRead(bob, "@bad name", last).error == chat::ErrorCode::NameInvalid);
    CHECK(hub.markRead(bob, "#dev", last).error == chat::ErrorCode::NoSuchRoom);
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    CHECK(hub.markRead(bob, "#dev", last).error == chat::ErrorCode::NotInRoom);
    CHECK(hub.markRead(bob, "bob", last).error == chat::ErrorCode::BadRequest);
    auto script = add("bob", false);
    CHECK(hub.markRead(script, "@alice", last).error == chat::ErrorCode::BadRequest);
    CHECK(alice->ofType("read").empty());
    // A room read marker moves quietly.
    REQUIRE(hub.markRead(alice, "#lobby", last));
    CHECK(bob->ofType("read").empty());
}

TEST_CASE("a guest's DM receipt is not stored: after a restart a new guest of the name is sent none") {
    MemoryHistory history;
    std::uint64_t id = 0;
    {
        Fixture f(&history);
        auto alice = f.add("alice");
        auto bob = f.add("bob");
        const auto sent = f.hub.sendDirect(alice, "bob", "lunch?");
        REQUIRE(sent);
        id = sent.messageId;
        REQUIRE(f.hub.markRead(bob, "@alice", static_cast<std::int64_t>(id)));
        REQUIRE(alice->ofType("read").size() == 1);
        f.hub.flushHistory();
    }
    Fixture restarted(&history);
    auto alice = restarted.add("alice");
    CHECK(alice->ofType("read").empty());
}

TEST_CASE_METHOD(Fixture, "a guest's receipts are forgotten when it leaves: a later guest of the name is sent none") {
    auto alice = add("alice");
    auto bob = add("bob");
    const auto sent = hub.sendDirect(alice, "bob", "lunch?");
    REQUIRE(sent);
    REQUIRE(hub.markRead(bob, "@alice", static_cast<std::int64_t>(sent.messageId)));
    hub.detach(alice, "quit");
    keys.erase("alice");
    auto laterAlice = add("alice");
    CHECK(laterAlice->ofType("read").empty());
}

#include "server/hub.hpp"
#include "server/ip_group.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"
#include "support/fake_participant.hpp"
#include "support/hub_fixture.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <set>

namespace {
using chat::test::FakeParticipant;

struct Fixture : chat::test::HubFixture {
    static chat::HubConfig config() {
        chat::HubConfig c{"test", "motd", 4, 100, "#lobby"};
        c.maxPendingHello = 4;
        return c;
    }
    Fixture() : HubFixture(config()) {}
};
}  // namespace

TEST_CASE_METHOD(Fixture, "a room message reaches every member once, the sender included, as one shared frame") {
    auto alice = add("alice");
    auto bob = add("bob");
    auto carol = add("carol");
    auto result = hub.sendToRoom(alice, "#lobby", "hello");
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
    CHECK(hub.sendToRoom(alice, "#lobby", std::string(101, 'x')).error == chat::ErrorCode::TextTooLong);
    CHECK(hub.sendToRoom(alice, "#lobby", "").error == chat::ErrorCode::TextInvalid);
    CHECK(hub.sendToRoom(alice, "#lobby", "a\x01").error == chat::ErrorCode::TextInvalid);
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
    CHECK(hub.sendToRoom(p, "#lobby", "hi").error == chat::ErrorCode::BadRequest);
}

namespace {
std::vector<std::string> texts(FakeParticipant& p) {
    std::vector<std::string> out;
    for (auto& m : p.ofType("message")) out.push_back(chat::stringField(m, "text").value_or(""));
    return out;
}
}  // namespace

TEST_CASE_METHOD(Fixture, "a room message reaches exactly the room's members, each session once") {
    auto alice = add("alice");
    auto bob = add("bob");
    auto bob2 = add("bob");
    auto carol = add("carol");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    REQUIRE(hub.joinRoom(bob, "#DEV", details));
    CHECK(details.name == "#dev");
    CHECK(details.members == std::vector<std::string>{"alice", "bob"});
    REQUIRE(hub.sendToRoom(alice, "#Dev", "standup"));
    CHECK(texts(*alice) == std::vector<std::string>{"standup"});
    CHECK(texts(*bob) == std::vector<std::string>{"standup"});
    CHECK(texts(*bob2) == std::vector<std::string>{"standup"});  // membership is per user
    CHECK(texts(*carol).empty());
    CHECK(chat::stringField(alice->ofType("message")[0], "to") == std::string("#dev"));
}

TEST_CASE_METHOD(Fixture, "sending to a room one is not in is refused - a one-shot sender may post to an existing room") {
    auto alice = add("alice");
    auto bob = add("bob");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    CHECK(hub.sendToRoom(bob, "#dev", "hi").error == chat::ErrorCode::NotInRoom);
    CHECK(hub.sendToRoom(bob, "#nope", "hi").error == chat::ErrorCode::NoSuchRoom);
    CHECK(hub.sendToRoom(bob, "dev", "hi").error == chat::ErrorCode::RoomInvalid);
    auto ci = add("ci", false);
    REQUIRE(hub.sendToRoom(ci, "#dev", "build passed"));
    CHECK(texts(*alice) == std::vector<std::string>{"build passed"});
    CHECK(texts(*bob).empty());
    CHECK(hub.sendToRoom(ci, "#nope", "x").error == chat::ErrorCode::NoSuchRoom);
}

TEST_CASE_METHOD(Fixture, "join and leave notices go to the room's members only") {
    auto alice = add("alice");
    auto bob = add("bob");
    auto carol = add("carol");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    const auto carolJoinsBefore = carol->ofType("joined").size();
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    CHECK(alice->ofType("joined").back()->getValue<std::string>("room") == "#dev");
    CHECK(carol->ofType("joined").size() == carolJoinsBefore);
    std::string left, nowIn;
    REQUIRE(hub.leaveRoom(bob, "#dev", left, nowIn));
    CHECK(nowIn == "#lobby");
    CHECK(left == "#dev");
    auto leftEvents = alice->ofType("left");
    REQUIRE(leftEvents.size() == 1);
    CHECK(chat::stringField(leftEvents[0], "room") == std::string("#dev"));
    CHECK(carol->ofType("left").empty());
}

TEST_CASE_METHOD(Fixture, "leaving the last room puts one back in the lobby - the lobby itself cannot be left last") {
    auto alice = add("alice");
    std::string left, nowIn;
    CHECK(hub.leaveRoom(alice, "#lobby", left, nowIn).error == chat::ErrorCode::BadRequest);
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    REQUIRE(hub.leaveRoom(alice, "#lobby", left, nowIn));
    CHECK(hub.roomsOf(alice) == std::vector<std::string>{"#dev"});
    REQUIRE(hub.leaveRoom(alice, "#dev", left, nowIn));
    CHECK(nowIn == "#lobby");
    CHECK(hub.roomsOf(alice) == std::vector<std::string>{"#lobby"});
    CHECK(hub.leaveRoom(alice, "#dev", left, nowIn).error == chat::ErrorCode::NotInRoom);
}

TEST_CASE_METHOD(Fixture, "rooms exist while they have members, permanent rooms always") {
    chat::Hub permanent{chat::HubConfig{"t", "", 10, 100, "#lobby", {"#builds"}}};
    CHECK(permanent.rooms().size() == 2);
    auto alice = add("alice");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#tmp", details));
    CHECK(hub.rooms().size() == 2);
    hub.detach(alice, "quit");
    CHECK(hub.rooms().size() == 1);
    CHECK(hub.rooms()[0].name == "#lobby");
}

TEST_CASE_METHOD(Fixture, "a user may be in at most maxRoomsPerUser rooms") {
    chat::Hub small{chat::HubConfig{"t", "", 10, 100, "#lobby", {}, 3}};
    auto p = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(small.attach(p));
    std::string display;
    REQUIRE(small.join(p, "alice", true, display));
    chat::RoomDetails details;
    REQUIRE(small.joinRoom(p, "#a", details));
    REQUIRE(small.joinRoom(p, "#b", details));
    CHECK(small.joinRoom(p, "#c", details).error == chat::ErrorCode::TooManyRooms);
}

TEST_CASE_METHOD(Fixture, "topics are set by members and announced to the room") {
    auto alice = add("alice");
    auto bob = add("bob");
    CHECK(hub.setTopic(alice, "#nope", "x").error == chat::ErrorCode::NoSuchRoom);
    REQUIRE(hub.setTopic(alice, "#lobby", "welcome all"));
    auto topic = bob->ofType("topic");
    REQUIRE(topic.size() == 1);
    CHECK(chat::stringField(topic[0], "topic") == std::string("welcome all"));
    CHECK(chat::stringField(topic[0], "by") == std::string("alice"));
    CHECK(hub.rooms()[0].topic == "welcome all");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    CHECK(hub.setTopic(alice, "#dev", "x").error == chat::ErrorCode::NotInRoom);
}

TEST_CASE_METHOD(Fixture, "a rename is announced to room mates, and a name in use by someone else is refused") {
    auto alice = add("alice");
    auto bob = add("bob");
    auto carol = add("carol");
    std::string display;
    CHECK(hub.rename(alice, "BOB", display).error == chat::ErrorCode::NameInUse);
    CHECK(hub.rename(alice, "bad name", display).error == chat::ErrorCode::NameInvalid);
    REQUIRE(hub.rename(alice, "alicia", display));
    CHECK(display == "alicia");
    auto nick = bob->ofType("nick");
    REQUIRE(nick.size() == 1);
    CHECK(chat::stringField(nick[0], "old") == std::string("alice"));
    CHECK(chat::stringField(nick[0], "new") == std::string("alicia"));
    CHECK(alice->ofType("nick").size() == 1);
    CHECK(hub.online() == std::vector<std::string>{"alicia", "bob", "carol"});
    REQUIRE(hub.sendDirect(bob, "alicia", "hi"));
    CHECK(hub.sendDirect(bob, "alice", "hi").error == chat::ErrorCode::NoSuchUser);
    REQUIRE(hub.rename(alice, "Alicia", display));  // a change of case is one's own name
}

TEST_CASE_METHOD(Fixture, "away users are marked in who, and a DM to them returns their away message") {
    auto alice = add("alice");
    auto bob = add("bob");
    REQUIRE(hub.setAway(bob, "at lunch"));
    std::vector<chat::UserSummary> users;
    REQUIRE(hub.who(std::nullopt, users));
    REQUIRE(users.size() == 2);
    CHECK(users[1].name == "bob");
    CHECK(users[1].away == "at lunch");
    auto result = hub.sendDirect(alice, "bob", "hi");
    REQUIRE(result);
    CHECK(result.away == "at lunch");
    REQUIRE(hub.setAway(bob, ""));
    CHECK(hub.sendDirect(alice, "bob", "hi").away.empty());
}

TEST_CASE_METHOD(Fixture, "whois tells rooms, connected since, idle time and away message") {
    auto alice = add("alice");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    REQUIRE(hub.setAway(alice, "brb"));
    chat::WhoisDetails whois;
    REQUIRE(hub.whois("ALICE", whois));
    CHECK(whois.name == "alice");
    CHECK(whois.rooms == std::vector<std::string>{"#dev", "#lobby"});
    CHECK(whois.sinceMillis > 0);
    CHECK(whois.idleMillis >= 0);
    CHECK(whois.away == "brb");
    CHECK(hub.whois("ghost", whois).error == chat::ErrorCode::NoSuchUser);
}

TEST_CASE_METHOD(Fixture, "who of a room lists its members") {
    auto alice = add("alice");
    auto bob = add("bob");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    std::vector<chat::UserSummary> users;
    REQUIRE(hub.who(std::string("#dev"), users));
    REQUIRE(users.size() == 1);
    CHECK(users[0].name == "bob");
    CHECK(hub.who(std::string("#none"), users).error == chat::ErrorCode::NoSuchRoom);
}

TEST_CASE_METHOD(Fixture, "a disconnect tells each of the user's rooms") {
    auto alice = add("alice");
    auto bob = add("bob");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    hub.detach(alice, "ping timeout");
    auto left = bob->ofType("left");
    REQUIRE(left.size() == 2);
    std::set<std::string> rooms;
    for (auto& l : left) {
        rooms.insert(chat::stringField(l, "room").value_or(""));
        CHECK(chat::stringField(l, "reason") == std::string("ping timeout"));
    }
    CHECK(rooms == std::set<std::string>{"#dev", "#lobby"});
}

TEST_CASE_METHOD(Fixture, "/me actions are marked in the event") {
    auto alice = add("alice");
    REQUIRE(hub.sendToRoom(alice, "#lobby", "waves", true));
    auto m = alice->ofType("message");
    REQUIRE(m.size() == 1);
    CHECK(chat::boolField(m[0], "action") == true);
}

TEST_CASE("connections that have not said hello have a budget of their own, so they cannot lock users out") {
    chat::HubConfig config{"test", "motd", 8, 100, "#lobby"};
    config.maxPendingHello = 2;
    chat::Hub hub(config);
    auto a = std::make_shared<FakeParticipant>(), b = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(a));
    REQUIRE_FALSE(hub.attach(b));
    CHECK(hub.attach(std::make_shared<FakeParticipant>()) == chat::ErrorCode::ServerFull);
    std::string display;
    REQUIRE(hub.join(a, "alice", true, display));  // a hello frees its pending slot
    CHECK_FALSE(hub.attach(std::make_shared<FakeParticipant>()));
}

TEST_CASE_METHOD(Fixture, "event ids increase by one per event, in the order every member receives them") {
    auto alice = add("alice");
    auto bob = add("bob");
    const auto before = hub.lastMessageId();
    REQUIRE(hub.sendToRoom(alice, "#lobby", "one"));
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    REQUIRE(hub.sendToRoom(bob, "#lobby", "two"));
    CHECK(hub.lastMessageId() == before + 3);
    std::int64_t last = 0;
    for (const auto& m : alice->messages()) {
        const auto id = chat::intField(m, "msg_id");
        if (!id) continue;
        CHECK(*id > last);
        last = *id;
    }
    CHECK(last == static_cast<std::int64_t>(before + 3));
}

TEST_CASE_METHOD(Fixture, "the welcome comes first, then the room's backlog, then events; leave reports the room as it is spelled") {
    auto alice = add("alice");
    auto bob = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(bob));
    std::string display;
    REQUIRE(hub.join(bob, "bob", true, display, [](const chat::JoinedState& state) {
        auto welcome = chat::makeMessage("welcome");
        welcome->set("rooms", state.rooms.size());
        return chat::makeEvent(welcome);
    }));
    REQUIRE(hub.sendToRoom(alice, "#lobby", "hi"));
    auto got = bob->messages();
    REQUIRE(got.size() == 3);
    CHECK(chat::stringField(got[0], "type") == std::string("welcome"));
    CHECK(chat::intField(got[0], "rooms") == 1);
    CHECK(chat::stringField(got[1], "type") == std::string("backlog"));
    CHECK(chat::stringField(got[2], "type") == std::string("message"));
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#DevOps", details));
    std::string left, nowIn;
    REQUIRE(hub.leaveRoom(alice, "#devops", left, nowIn));
    CHECK(left == "#DevOps");
}

TEST_CASE_METHOD(Fixture, "a transient session cannot rename, go away, join, leave or set topics") {
    auto alice = add("alice");
    auto quiet = add("alice", false);
    std::string display, left, nowIn;
    chat::RoomDetails details;
    CHECK(hub.rename(quiet, "mallory", display).error == chat::ErrorCode::BadRequest);
    CHECK(hub.setAway(quiet, "gone").error == chat::ErrorCode::BadRequest);
    CHECK(hub.joinRoom(quiet, "#dev", details).error == chat::ErrorCode::BadRequest);
    CHECK(hub.leaveRoom(quiet, "#lobby", left, nowIn).error == chat::ErrorCode::BadRequest);
    CHECK(hub.setTopic(quiet, "#lobby", "x").error == chat::ErrorCode::BadRequest);
}

TEST_CASE("IPv6 peers are grouped by /64 for the per-address limit - IPv4-mapped ones by their IPv4 address") {
    CHECK(chat::ipGroup("2001:db8:1:2:aaaa::1") == chat::ipGroup("2001:db8:1:2:bbbb::2"));
    CHECK(chat::ipGroup("2001:db8:1:2::1") != chat::ipGroup("2001:db8:1:3::1"));
    CHECK(chat::ipGroup("::ffff:10.0.0.1") == "10.0.0.1");
    CHECK(chat::ipGroup("127.0.0.1") == "127.0.0.1");
}

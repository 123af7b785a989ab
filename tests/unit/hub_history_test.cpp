// What the hub does with history: backlogs on coming into a room, unread
// counts, restarts that keep rooms, topics and ids, and history requests.
// The store itself is tested in history_store_test.cpp.

#include "server/hub.hpp"
#include "shared/protocol.hpp"
#include "support/fake_participant.hpp"
#include "support/memory_history.hpp"

#include "shared/validation.hpp"

#include <catch2/catch.hpp>

#include <map>

using chat::test::FakeParticipant;
using chat::test::MemoryHistory;

namespace {
chat::HubConfig config(std::size_t backlog = 50) {
    chat::HubConfig c;
    c.maxClients = 16;
    c.maxPendingHello = 16;
    c.ratePerSecond = 1000;
    c.rateBurst = 1000;
    c.backlog = backlog;
    return c;
}

std::shared_ptr<FakeParticipant> connect(chat::Hub& hub, const std::string& name) {
    static std::map<std::pair<const chat::Hub*, std::string>, std::string> keys;  // a user's further sessions know it
    auto& key = keys[{&hub, chat::nameKey(name)}];
    auto p = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(p));
    std::string display;
    chat::JoinAuth auth;
    auth.key = key;
    const auto joined = hub.join(p, name, true, display, [](const chat::JoinedState&) {
        return chat::makeEvent(chat::makeMessage("welcome"));
    }, auth);
    REQUIRE(joined);
    key = joined.key;
    return p;
}

std::vector<std::int64_t> ids(const Poco::JSON::Object::Ptr& backlog, const std::string& key = "events") {
    std::vector<std::int64_t> out;
    auto list = backlog->getArray(key);
    for (std::size_t i = 0; i < list->size(); ++i) out.push_back(list->getObject(i)->getValue<std::int64_t>("msg_id"));
    return out;
}

std::vector<std::string> types(FakeParticipant& p) {
    std::vector<std::string> out;
    for (auto& m : p.messages()) out.push_back(*chat::stringField(m, "type"));
    return out;
}

std::uint64_t say(chat::Hub& hub, const std::shared_ptr<FakeParticipant>& from, const std::string& room,
                  const std::string& text) {
    auto result = hub.sendToRoom(from, room, text);
    REQUIRE(result);
    return result.messageId;
}
}  // namespace

TEST_CASE("hub history: a newcomer gets the room's backlog right after welcome, then only live events",
          "[history]") {
    MemoryHistory store;
    chat::Hub hub(config(), nullptr, &store);
    auto alice = connect(hub, "alice");
    const auto first = say(hub, alice, "#lobby", "one");
    const auto second = say(hub, alice, "#lobby", "two");
    auto bob = connect(hub, "bob");
    const auto third = say(hub, alice, "#lobby", "three");

    CHECK(types(*bob) == std::vector<std::string>{"welcome", "backlog", "message"});
    auto backlog = bob->ofType("backlog").at(0);
    CHECK(chat::stringField(backlog, "room") == std::string("#lobby"));
    CHECK(ids(backlog) == std::vector<std::int64_t>{static_cast<std::int64_t>(first), static_cast<std::int64_t>(second)});
    CHECK(chat::boolField(backlog, "more") == false);
    CHECK_FALSE(backlog->has("unread"));  // bob was never here
    CHECK(bob->ofType("message").at(0)->getValue<std::uint64_t>("msg_id") == third);
    // What was stored is exactly what was sent live.
    REQUIRE(store.events().size() == 3);
    CHECK(store.events()[2].payload == bob->frames.back()->payload);
}

TEST_CASE("hub history: the backlog keeps the latest --backlog events and says there are more", "[history]") {
    MemoryHistory store;
    chat::Hub hub(config(3), nullptr, &store);
    auto alice = connect(hub, "alice");
    std::vector<std::int64_t> sent;
    for (int i = 0; i < 5; ++i) sent.push_back(static_cast<std::int64_t>(say(hub, alice, "#lobby", "m" + std::to_string(i))));
    auto bob = connect(hub, "bob");
    auto backlog = bob->ofType("backlog").at(0);
    CHECK(ids(backlog) == std::vector<std::int64_t>(sent.end() - 3, sent.end()));
    CHECK(chat::boolField(backlog, "more") == true);
}

TEST_CASE("hub history: joining a room delivers its backlog and topic to every session of the user", "[history]") {
    MemoryHistory store;
    chat::Hub hub(config(), nullptr, &store);
    auto alice = connect(hub, "alice");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    REQUIRE(hub.setTopic(alice, "#dev", "deploys"));
    const auto said = say(hub, alice, "#dev", "deploy at 5pm");
    auto bob1 = connect(hub, "bob");
    auto bob2 = connect(hub, "bob");
    REQUIRE(hub.joinRoom(bob1, "#dev", details));
    for (auto& session : {bob1, bob2}) {
        auto backlogs = session->ofType("backlog");
        REQUIRE(backlogs.size() == 2);  // #lobby after hello, #dev after the join
        CHECK(chat::stringField(backlogs[1], "topic") == std::string("deploys"));
        auto events = ids(backlogs[1]);
        REQUIRE(events.size() == 2);  // the topic change, then the message
        CHECK(events[1] == static_cast<std::int64_t>(said));
    }
}

TEST_CASE("hub history: after a restart rooms, topics, backlogs and ids continue", "[history]") {
    MemoryHistory store;
    std::uint64_t last = 0;
    {
        chat::Hub hub(config(), nullptr, &store);
        auto alice = connect(hub, "alice");
        chat::RoomDetails details;
        REQUIRE(hub.joinRoom(alice, "#Dev", details));
        REQUIRE(hub.setTopic(alice, "#dev", "deploys"));
        last = say(hub, alice, "#dev", "deploy at 5pm");
        hub.detach(alice, "quit");
    }
    chat::Hub hub(config(), nullptr, &store);
    CHECK(hub.lastMessageId() >= last);
    bool found = false;
    for (const auto& room : hub.rooms())
        if (room.name == "#Dev") {
            found = true;
            CHECK(room.topic == "deploys");
            CHECK(room.members == 0);
        }
    CHECK(found);
    auto carol = connect(hub, "carol");
    const auto next = say(hub, carol, "#lobby", "hello again");
    CHECK(next > last);
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(carol, "#dev", details));
    CHECK(details.topic == "deploys");
    auto backlog = carol->ofType("backlog").back();
    CHECK(ids(backlog).back() == static_cast<std::int64_t>(last));
}

TEST_CASE("hub history: coming back to a room tells how many messages were missed and where they start",
          "[history]") {
    MemoryHistory store;
    chat::Hub hub(config(), nullptr, &store);
    auto alice = connect(hub, "alice");
    auto bob = connect(hub, "bob");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    REQUIRE(hub.joinRoom(bob, "#dev", details));
    say(hub, bob, "#dev", "seen");
    std::string left, nowIn;
    REQUIRE(hub.leaveRoom(alice, "#dev", left, nowIn));
    const auto missed = say(hub, bob, "#dev", "missed 1");
    say(hub, bob, "#dev", "missed 2");
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    auto backlog = alice->ofType("backlog").back();
    CHECK(backlog->getValue<std::int64_t>("unread") == 2);
    CHECK(backlog->getValue<std::uint64_t>("first_unread") == missed);
    CHECK(backlog->has("unread_since"));

    SECTION("a guest's marks end with it: a new hello of the name counts nothing (offline_test.cpp: accounts)") {
        hub.detach(alice, "quit");
        say(hub, bob, "#lobby", "missed in the lobby");
        auto again = connect(hub, "alice");
        auto lobby = again->ofType("backlog").at(0);
        CHECK_FALSE(lobby->has("unread"));
        CHECK(store.load(10).readMarks.empty());
    }
}

TEST_CASE("hub history: history is for members; private history is between the two names", "[history]") {
    MemoryHistory store;
    chat::Hub hub(config(), nullptr, &store);
    auto alice = connect(hub, "alice");
    auto bob = connect(hub, "bob");
    auto carol = connect(hub, "carol");
    chat::RoomDetails details;
    REQUIRE(hub.joinRoom(alice, "#dev", details));
    say(hub, alice, "#dev", "secret plans");
    REQUIRE(hub.sendDirect(alice, "Bob", "psst"));

    chat::HistoryAnswer answer;
    CHECK(hub.history(carol, std::string("#dev"), std::nullopt, 0, 50, answer).error == chat::ErrorCode::NotInRoom);
    CHECK(hub.history(carol, std::string("#nope"), std::nullopt, 0, 50, answer).error == chat::ErrorCode::NoSuchRoom);
    REQUIRE(hub.history(alice, std::string("#DEV"), std::nullopt, 0, 50, answer));
    CHECK(answer.target == "#dev");
    REQUIRE(answer.events.size() == 1);

    chat::HistoryAnswer dm;
    REQUIRE(hub.history(bob, std::nullopt, std::string("alice"), 0, 50, dm));
    REQUIRE(dm.events.size() == 1);
    CHECK(dm.events[0]->payload.find("psst") != std::string::npos);
    chat::HistoryAnswer none;
    REQUIRE(hub.history(carol, std::nullopt, std::string("alice"), 0, 50, none));
    CHECK(none.events.empty());

    chat::HistoryAnswer found;
    REQUIRE(hub.search(bob, std::nullopt, "psst", 20, found));
    CHECK(found.events.size() == 1);
    REQUIRE(hub.search(carol, std::nullopt, "secret", 20, found));
    CHECK(found.events.empty());  // carol is not in #dev

    store.failWith("disk I/O error");
    CHECK(hub.history(alice, std::string("#dev"), std::nullopt, 0, 50, answer).error ==
          chat::ErrorCode::StorageUnavailable);
}

TEST_CASE("hub history: a send whose storing fails is reported by whenStored", "[history]") {
    MemoryHistory store;
    chat::Hub hub(config(), nullptr, &store);
    auto alice = connect(hub, "alice");
    store.failWith("disk full");
    auto result = hub.sendToRoom(alice, "#lobby", "hi");
    REQUIRE(result);
    CHECK(result.ticket != 0);
    std::optional<std::string> reported;
    hub.whenStored(result.ticket, [&](const std::optional<std::string>& failure) { reported = failure; });
    CHECK(reported == std::optional<std::string>("disk full"));
}

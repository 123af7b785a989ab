// Rooms, direct messages and presence at the protocol level: the real server
// in-process on 127.0.0.1 port 0, with protocol-level clients.
//
// "X got no Y" is checked with a marker: a later event that X does get. The
// hub hands one connection's frames to its outbox in order, so had Y been
// sent to X it would have come before the marker.

#include "server/chat_server.hpp"
#include "support/in_process_server.hpp"
#include "support/test_client.hpp"

#include <Poco/JSON/Array.h>

#include <catch2/catch.hpp>

#include <vector>

using namespace chat;
using namespace chat::test;

namespace {
ServerConfig roomsConfig() { return inProcessConfig(); }

using Message = Poco::JSON::Object::Ptr;

std::string str(const Message& m, const std::string& key) { return stringField(m, key).value_or("<missing>"); }

std::vector<std::string> strings(const Message& m, const std::string& key) {
    std::vector<std::string> out;
    Message object = m;
    if (auto array = object->getArray(key))
        for (std::size_t i = 0; i < array->size(); ++i) out.push_back(array->getElement<std::string>(i));
    return out;
}

/// Sends `request` with `id` and returns the ok or error answering it.
Message ask(TestClient& client, Message request, std::int64_t id) {
    request->set("id", id);
    client.send(request);
    return client.waitFor([&](const Message& m) {
        const auto type = typeOf(m);
        return (type == "ok" || type == "error") && intField(m, "id") == id;
    });
}

Message roomRequest(const std::string& type, const std::string& room) {
    auto m = makeMessage(type);
    m->set("room", room);
    return m;
}

Message userRequest(const std::string& type, const std::string& user) {
    auto m = makeMessage(type);
    m->set("user", user);
    return m;
}

Message joinRoom(TestClient& client, const std::string& room, std::int64_t id) {
    return ask(client, roomRequest("join", room), id);
}

std::string errorCode(const Message& answer) {
    INFO(toJson(answer));
    REQUIRE(typeOf(answer) == "error");
    return str(answer, "code");
}

void requireOk(const Message& answer) {
    INFO(toJson(answer));
    REQUIRE(typeOf(answer) == "ok");
}

/// A room message to `room`, with an action flag when asked.
Message sendRequest(const std::string& to, const std::string& text, bool action = false) {
    auto m = makeMessage("send");
    m->set("to", to);
    m->set("text", text);
    if (action) m->set("action", true);
    return m;
}

bool isMessage(const Message& m, const std::string& text) { return typeOf(m) == "message" && str(m, "text") == text; }

/// Sends `marker` from `from` to `room` and returns the first message `to`
/// gets, earlier ones included, that is either the marker or matches `unwanted`.
Message markerOrUnwanted(TestClient& from, TestClient& to, const std::string& room, const std::string& marker,
                         const std::function<bool(const Message&)>& unwanted, std::int64_t id) {
    requireOk(ask(from, sendRequest(room, marker), id));
    return to.waitFor([&](const Message& m) { return isMessage(m, marker) || unwanted(m); });
}
}  // namespace

TEST_CASE("rooms: welcome names the default room and the rooms one is in") {
    InProcessServer s;
    TestClient alice(s.port());
    auto hello = makeMessage("hello");
    hello->set("version", kProtocolVersion);
    hello->set("user", "alice");
    alice.send(hello);
    auto welcome = alice.waitForType("welcome");
    CHECK(str(welcome, "room") == "#lobby");
    CHECK(strings(welcome, "rooms") == std::vector<std::string>{"#lobby"});
}

TEST_CASE("rooms: join answers ok with room, topic and members - the room's members get 'joined', others not") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");

    auto first = joinRoom(*alice, "#dev", 1);
    requireOk(first);
    CHECK(intField(first, "id") == 1);
    CHECK(str(first, "room") == "#dev");
    CHECK(str(first, "topic") == "");
    CHECK(strings(first, "members") == std::vector<std::string>{"alice"});

    // A different spelling names the same room; the answer uses the room's own.
    auto second = joinRoom(*bob, "#DEV", 2);
    requireOk(second);
    CHECK(str(second, "room") == "#dev");
    CHECK(strings(second, "members") == std::vector<std::string>{"alice", "bob"});

    // (alice had bob's #lobby 'joined' when he connected; this is the #dev one.)
    auto joined = alice->waitFor([](const Message& m) {
        return typeOf(m) == "joined" && str(m, "user") == "bob" && str(m, "room") == "#dev";
    });
    CHECK(intField(joined, "ts"));

    auto seen = markerOrUnwanted(*alice, *carol, "#lobby", "marker",
                                 [](const Message& m) { return typeOf(m) == "joined" && str(m, "room") == "#dev"; }, 3);
    CHECK(isMessage(seen, "marker"));
    // The joiner gets no 'joined' about itself for #dev.
    auto own = markerOrUnwanted(*alice, *bob, "#dev", "marker2", [](const Message& m) {
        return typeOf(m) == "joined" && str(m, "user") == "bob" && str(m, "room") == "#dev";
    }, 4);
    CHECK(isMessage(own, "marker2"));

    // Joining again changes nothing and is not an error.
    auto again = joinRoom(*bob, "#dev", 5);
    requireOk(again);
    CHECK(strings(again, "members") == std::vector<std::string>{"alice", "bob"});
}

TEST_CASE("rooms: a bad room name gets room_invalid") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    for (const auto& bad : std::vector<std::string>{"dev", "#", "#has space", "#" + std::string(33, 'x'), "#caf\xc3\xa9"}) {
        INFO(bad);
        CHECK(errorCode(joinRoom(*alice, bad, 1)) == "room_invalid");
    }
    auto missing = makeMessage("join");
    CHECK(errorCode(ask(*alice, missing, 2)) == "bad_request");
}

TEST_CASE("rooms: leave answers ok with left and room - members get 'left' - the last room cannot be #lobby") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    requireOk(joinRoom(*alice, "#dev", 1));
    requireOk(joinRoom(*bob, "#dev", 1));

    auto ok = ask(*alice, roomRequest("leave", "#dev"), 2);
    requireOk(ok);
    CHECK(str(ok, "left") == "#dev");
    CHECK(str(ok, "room") == "#lobby");
    auto left = bob->waitFor([](const Message& m) { return typeOf(m) == "left" && str(m, "user") == "alice"; });
    CHECK(str(left, "room") == "#dev");
    CHECK(str(left, "reason") == "left");

    CHECK(errorCode(ask(*alice, roomRequest("leave", "#dev"), 3)) == "not_in_room");
    auto last = ask(*alice, roomRequest("leave", "#lobby"), 4);
    CHECK(errorCode(last) == "bad_request");
    CHECK_THAT(str(last, "message"), Catch::Contains("#lobby"));

    // Leaving one's last room when it is not #lobby puts one back there.
    requireOk(joinRoom(*alice, "#ops", 5));
    auto fromLobby = ask(*alice, roomRequest("leave", "#lobby"), 6);
    requireOk(fromLobby);
    CHECK(str(fromLobby, "left") == "#lobby");
    CHECK(str(fromLobby, "room") == "#ops");
    auto toLobby = ask(*alice, roomRequest("leave", "#ops"), 7);
    requireOk(toLobby);
    CHECK(str(toLobby, "left") == "#ops");
    CHECK(str(toLobby, "room") == "#lobby");
    auto back = bob->waitFor([](const Message& m) {
        return typeOf(m) == "joined" && str(m, "user") == "alice" && str(m, "room") == "#lobby";
    });
    CHECK(str(back, "room") == "#lobby");
}

TEST_CASE("rooms: rooms lists every room, sorted, with member counts and topics - permanent rooms and rooms with history stay") {
    auto config = roomsConfig();
    config.hub.permanentRooms = {"#builds"};
    InProcessServer s(config);
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    requireOk(joinRoom(*alice, "#dev", 1));
    requireOk(joinRoom(*bob, "#dev", 1));
    auto topic = roomRequest("topic", "#dev");
    topic->set("topic", "ship it");
    requireOk(ask(*alice, topic, 2));

    auto rooms = [&](std::int64_t id) {
        auto ok = ask(*bob, makeMessage("rooms"), id);
        requireOk(ok);
        std::vector<std::string> out;
        Message object = ok;
        auto list = object->getArray("rooms");
        REQUIRE(list);
        for (std::size_t i = 0; i < list->size(); ++i) {
            auto room = list->getObject(i);
            out.push_back(str(room, "room") + " " + std::to_string(intField(room, "members").value_or(-1)) + " " +
                          str(room, "topic"));
        }
        return out;
    };
    CHECK(rooms(3) == std::vector<std::string>{"#builds 0 ", "#dev 2 ship it", "#lobby 2 "});

    requireOk(joinRoom(*alice, "#tmp", 8));
    requireOk(ask(*alice, roomRequest("leave", "#dev"), 4));
    requireOk(ask(*bob, roomRequest("leave", "#dev"), 5));
    requireOk(ask(*alice, roomRequest("leave", "#tmp"), 9));
    // #dev has stored history (its topic change) and stays, with its topic;
    // #tmp had none and is gone once empty.
    CHECK(rooms(6) == std::vector<std::string>{"#builds 0 ", "#dev 0 ship it", "#lobby 2 "});
    auto again = joinRoom(*alice, "#dev", 7);
    requireOk(again);
    CHECK(str(again, "topic") == "ship it");
}

TEST_CASE("rooms: topic is set by members, announced to the room, and read by anyone") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");
    requireOk(joinRoom(*alice, "#dev", 1));
    requireOk(joinRoom(*bob, "#dev", 1));

    auto set = roomRequest("topic", "#dev");
    set->set("topic", "deploy at 5pm");
    requireOk(ask(*alice, set, 2));
    for (auto* member : {alice.get(), bob.get()}) {
        auto event = member->waitForType("topic");
        CHECK(str(event, "room") == "#dev");
        CHECK(str(event, "topic") == "deploy at 5pm");
        CHECK(str(event, "by") == "alice");
    }
    auto seen = markerOrUnwanted(*alice, *carol, "#lobby", "marker", [](const Message& m) { return typeOf(m) == "topic"; }, 3);
    CHECK(isMessage(seen, "marker"));

    auto get = ask(*carol, roomRequest("topic", "#dev"), 4);
    requireOk(get);
    CHECK(str(get, "room") == "#dev");
    CHECK(str(get, "topic") == "deploy at 5pm");

    auto hijack = roomRequest("topic", "#dev");
    hijack->set("topic", "mine now");
    CHECK(errorCode(ask(*carol, hijack, 5)) == "not_in_room");
    auto nowhere = roomRequest("topic", "#nowhere");
    nowhere->set("topic", "x");
    CHECK(errorCode(ask(*carol, nowhere, 6)) == "no_such_room");
    auto huge = roomRequest("topic", "#dev");
    huge->set("topic", std::string(5000, 't'));
    CHECK(errorCode(ask(*alice, huge, 7)) == "text_too_long");
}

TEST_CASE("rooms: a room message reaches exactly the room's members, each once") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");
    requireOk(joinRoom(*alice, "#dev", 1));
    requireOk(joinRoom(*bob, "#dev", 1));

    auto ok = ask(*alice, sendRequest("#dev", "for dev"), 2);
    requireOk(ok);
    requireOk(ask(*alice, sendRequest("#lobby", "marker"), 3));
    for (auto* member : {alice.get(), bob.get()}) {
        int copies = 0;
        for (;;) {
            auto m = member->next();
            if (isMessage(m, "marker")) break;
            if (isMessage(m, "for dev")) {
                ++copies;
                CHECK(str(m, "to") == "#dev");
                CHECK(str(m, "from") == "alice");
                CHECK(intField(m, "msg_id") == intField(ok, "msg_id"));
            }
        }
        CHECK(copies == 1);
    }
    auto seen = carol->waitFor([](const Message& m) { return isMessage(m, "marker") || isMessage(m, "for dev"); });
    CHECK(isMessage(seen, "marker"));
}

TEST_CASE("rooms: sending to a room one is not in gets not_in_room - to no room, no_such_room") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    requireOk(joinRoom(*bob, "#dev", 1));
    auto refused = ask(*alice, sendRequest("#dev", "let me in"), 1);
    CHECK(errorCode(refused) == "not_in_room");
    CHECK_THAT(str(refused, "message"), Catch::Contains("#dev"));
    CHECK(errorCode(ask(*alice, sendRequest("#nowhere", "hello?"), 2)) == "no_such_room");
    CHECK(errorCode(ask(*alice, sendRequest("nowhere", "hello?"), 3)) == "bad_request");
    auto seen = markerOrUnwanted(*alice, *bob, "#lobby", "marker",
                                 [](const Message& m) { return isMessage(m, "let me in"); }, 4);
    CHECK(isMessage(seen, "marker"));
}

TEST_CASE("rooms: an unannounced session (hello announce=false) may post to an existing room, unseen") {
    InProcessServer s;
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");
    requireOk(joinRoom(*bob, "#dev", 1));
    auto ci = TestClient::joined(s.port(), "ci", /*announce=*/false);

    auto ok = ask(*ci, sendRequest("#dev", "build 42 passed"), 1);
    requireOk(ok);
    CHECK(intField(ok, "msg_id"));
    auto m = bob->waitFor([](const Message& x) { return typeOf(x) == "message"; });
    CHECK(str(m, "text") == "build 42 passed");
    CHECK(str(m, "from") == "ci");
    CHECK(str(m, "to") == "#dev");

    CHECK(errorCode(ask(*ci, sendRequest("#nope", "x"), 2)) == "no_such_room");
    CHECK(typeOf(ask(*ci, roomRequest("join", "#dev"), 3)) == "error");

    auto who = ask(*bob, makeMessage("who"), 4);
    CHECK(strings(who, "users") == std::vector<std::string>{"bob", "carol"});
    auto whoDev = ask(*bob, roomRequest("who", "#dev"), 5);
    CHECK(strings(whoDev, "users") == std::vector<std::string>{"bob"});

    ci->send(makeMessage("quit"));
    CHECK(ci->closedWithin());
    auto seen = markerOrUnwanted(*bob, *carol, "#lobby", "marker", [](const Message& x) {
        return (typeOf(x) == "joined" || typeOf(x) == "left") && str(x, "user") == "ci";
    }, 6);
    CHECK(isMessage(seen, "marker"));
    auto seenByBob = bob->waitFor([](const Message& x) {
        return isMessage(x, "marker") || ((typeOf(x) == "joined" || typeOf(x) == "left") && str(x, "user") == "ci");
    });
    CHECK(isMessage(seenByBob, "marker"));
}

TEST_CASE("rooms: presence: who lists users, or a room's members with the room, and who is away") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "Bob");
    requireOk(joinRoom(*bob, "#dev", 1));
    auto away = makeMessage("away");
    away->set("message", "lunch");
    requireOk(ask(*bob, away, 2));

    auto all = ask(*alice, makeMessage("who"), 1);
    requireOk(all);
    CHECK(strings(all, "users") == std::vector<std::string>{"alice", "Bob"});
    CHECK_FALSE(Message(all)->has("room"));
    auto awayMap = Message(all)->getObject("away");
    REQUIRE(awayMap);
    CHECK(awayMap->getValue<std::string>("Bob") == "lunch");
    CHECK_FALSE(awayMap->has("alice"));

    auto dev = ask(*alice, roomRequest("who", "#dev"), 2);
    requireOk(dev);
    CHECK(str(dev, "room") == "#dev");
    CHECK(strings(dev, "users") == std::vector<std::string>{"Bob"});

    CHECK(errorCode(ask(*alice, roomRequest("who", "#nowhere"), 3)) == "no_such_room");
    CHECK(errorCode(ask(*alice, roomRequest("who", "bad name"), 4)) == "room_invalid");
}

TEST_CASE("rooms: presence: whois tells the user's rooms, since, idle time and away message") {
    InProcessServer s;
    const auto before = nowMillis();
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    requireOk(joinRoom(*alice, "#dev", 1));

    auto ok = ask(*bob, userRequest("whois", "ALICE"), 1);
    requireOk(ok);
    CHECK(str(ok, "user") == "alice");
    CHECK(strings(ok, "rooms") == std::vector<std::string>{"#dev", "#lobby"});
    const auto since = intField(ok, "since");
    REQUIRE(since);
    CHECK(*since >= before);
    CHECK(*since <= nowMillis());
    const auto idle = intField(ok, "idle_ms");
    REQUIRE(idle);
    CHECK(*idle >= 0);
    CHECK(*idle <= nowMillis() - before);
    CHECK(str(ok, "away") == "");

    auto away = makeMessage("away");
    away->set("message", "in a meeting");
    requireOk(ask(*alice, away, 2));
    CHECK(str(ask(*bob, userRequest("whois", "alice"), 2), "away") == "in a meeting");

    CHECK(errorCode(ask(*bob, userRequest("whois", "nobody"), 3)) == "no_such_user");
    CHECK(errorCode(ask(*bob, userRequest("whois", "not a name"), 4)) == "name_invalid");
}

TEST_CASE("rooms: presence: nick answers ok with the new name and tells the user's room mates - a taken name is refused") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto dave = TestClient::joined(s.port(), "dave");
    // dave shares no room with alice.
    requireOk(joinRoom(*dave, "#elsewhere", 1));
    requireOk(ask(*dave, roomRequest("leave", "#lobby"), 2));

    auto ok = ask(*alice, userRequest("nick", "alicia"), 1);
    requireOk(ok);
    CHECK(str(ok, "user") == "alicia");
    for (auto* c : {alice.get(), bob.get()}) {
        auto event = c->waitForType("nick");
        CHECK(str(event, "old") == "alice");
        CHECK(str(event, "new") == "alicia");
    }
    auto who = ask(*bob, makeMessage("who"), 1);
    CHECK(strings(who, "users") == std::vector<std::string>{"alicia", "bob", "dave"});
    auto dm = ask(*bob, sendRequest("@alicia", "hi"), 2);
    requireOk(dm);
    CHECK(str(alice->waitForType("message"), "from") == "bob");
    CHECK(errorCode(ask(*bob, sendRequest("@alice", "hi"), 3)) == "no_such_user");

    auto seen = markerOrUnwanted(*dave, *dave, "#elsewhere", "marker", [](const Message& m) { return typeOf(m) == "nick"; }, 3);
    CHECK(isMessage(seen, "marker"));

    auto taken = ask(*alice, userRequest("nick", "Bob"), 4);
    CHECK(errorCode(taken) == "name_in_use");
    CHECK_THAT(str(taken, "message"), Catch::Contains("Bob"));
    CHECK(errorCode(ask(*alice, userRequest("nick", "no spaces allowed"), 5)) == "name_invalid");
    // Changing the case of one's own name is not a collision.
    auto recase = ask(*alice, userRequest("nick", "Alicia"), 6);
    requireOk(recase);
    CHECK(str(recase, "user") == "Alicia");
}

TEST_CASE("rooms: presence: a DM to an away user answers with the away message - back clears it") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");

    auto away = makeMessage("away");
    away->set("message", "lunch");
    auto awayOk = ask(*bob, away, 1);
    requireOk(awayOk);
    CHECK(str(awayOk, "away") == "lunch");

    auto dm = ask(*alice, sendRequest("@bob", "are you there?"), 1);
    requireOk(dm);
    CHECK(str(dm, "away") == "lunch");
    CHECK(intField(dm, "msg_id"));
    CHECK(str(bob->waitForType("message"), "text") == "are you there?");

    // A room message to a room with an away member carries no away field.
    auto room = ask(*alice, sendRequest("#lobby", "hello room"), 2);
    requireOk(room);
    CHECK_FALSE(Message(room)->has("away"));

    requireOk(ask(*bob, makeMessage("back"), 2));
    auto after = ask(*alice, sendRequest("@bob", "welcome back"), 3);
    requireOk(after);
    CHECK_FALSE(Message(after)->has("away"));
    auto who = ask(*alice, makeMessage("who"), 4);
    CHECK(Message(who)->getObject("away")->size() == 0);
}

TEST_CASE("rooms: DMs: only the target's sessions and the sender's other sessions get a DM - actions are marked") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto alice2 = TestClient::joined(s.port(), "alice");
    auto bob = TestClient::joined(s.port(), "bob");
    auto carol = TestClient::joined(s.port(), "carol");

    requireOk(ask(*alice, sendRequest("@bob", "psst"), 1));
    for (auto* c : {alice.get(), alice2.get(), bob.get()}) {
        auto m = c->waitFor([](const Message& x) { return isMessage(x, "psst"); });
        CHECK(str(m, "to") == "@bob");
        CHECK(str(m, "from") == "alice");
    }
    auto seen = markerOrUnwanted(*alice, *carol, "#lobby", "marker", [](const Message& m) { return isMessage(m, "psst"); }, 2);
    CHECK(isMessage(seen, "marker"));

    requireOk(ask(*alice, sendRequest("#lobby", "waves", true), 3));
    auto action = bob->waitFor([](const Message& x) { return isMessage(x, "waves"); });
    CHECK(boolField(action, "action") == true);
    CHECK(str(action, "to") == "#lobby");
}

TEST_CASE("rooms: joining beyond the per-user room limit gets too_many_rooms") {
    auto config = roomsConfig();
    config.hub.maxRoomsPerUser = 2;
    InProcessServer s(config);
    auto alice = TestClient::joined(s.port(), "alice");
    requireOk(joinRoom(*alice, "#a", 1));
    CHECK(errorCode(joinRoom(*alice, "#b", 2)) == "too_many_rooms");
    requireOk(joinRoom(*alice, "#a", 3));  // already a member: no new room
    auto rooms = ask(*alice, userRequest("whois", "alice"), 4);
    CHECK(strings(rooms, "rooms") == std::vector<std::string>{"#a", "#lobby"});
}

TEST_CASE("rooms: another session of the same user hears about its user's joins and leaves") {
    InProcessServer s;
    auto alice = TestClient::joined(s.port(), "alice");
    auto alice2 = TestClient::joined(s.port(), "alice");
    requireOk(joinRoom(*alice, "#dev", 1));
    auto joined = alice2->waitForType("joined");
    CHECK(str(joined, "user") == "alice");
    CHECK(str(joined, "room") == "#dev");
    // Both sessions get the room's messages.
    requireOk(ask(*alice, sendRequest("#dev", "both of us"), 2));
    alice2->waitFor([](const Message& m) { return isMessage(m, "both of us"); });
    requireOk(ask(*alice, roomRequest("leave", "#dev"), 3));
    auto left = alice2->waitForType("left");
    CHECK(str(left, "room") == "#dev");
}

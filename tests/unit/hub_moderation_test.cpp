// The hub's moderation: who may moderate, and what kick, ban, mute,
// invite-only and kill do to the target and to the room.

#include "server/account_store.hpp"
#include "server/authenticator.hpp"
#include "server/hub.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"
#include "support/fake_participant.hpp"

#include <catch2/catch.hpp>

namespace {
using chat::test::FakeParticipant;
using Person = std::shared_ptr<FakeParticipant>;

struct ModerationFixture {
    ModerationFixture() : auth(store, chat::AuthOptions{}), hub(config(auth)) {
        for (const char* name : {"alice", "root", "dave"}) REQUIRE(auth.registerName(name, "correct horse"));
    }
    static chat::HubConfig config(chat::Authenticator& auth) {
        chat::HubConfig c;
        c.auth = &auth;
        c.admins = {"Root"};
        return c;
    }
    /// A session of `name` from `ip`: authenticated when the name is registered.
    Person join(const std::string& name, const std::string& ip = "127.0.0.1", bool announce = true) {
        auto p = std::make_shared<FakeParticipant>();
        REQUIRE_FALSE(hub.attach(p, ip));
        chat::JoinAuth a;
        a.authenticated = auth.isRegistered(name);
        a.ip = ip;
        std::string display;
        const auto joined = hub.join(p, name, announce, display, {}, a);
        INFO(joined.errorText);
        REQUIRE(joined);
        return p;
    }
    chat::HubResult joinRoom(const Person& p, const std::string& room) {
        chat::RoomDetails details;
        return hub.joinRoom(p, room, details);
    }
    chat::HubResult act(const Person& p, const std::string& action, const std::optional<std::string>& room,
                        const std::string& user, const std::string& reason = {},
                        std::optional<std::int64_t> durationMs = {}) {
        chat::ModerationRequest r;
        r.action = action;
        r.room = room;
        r.user = user;
        r.reason = reason;
        r.durationMs = durationMs;
        std::string mode;
        return hub.moderate(p, r, mode);
    }
    chat::HubResult mode(const Person& p, const std::string& room, const std::string& m) {
        chat::ModerationRequest r;
        r.action = "mode";
        r.room = room;
        r.mode = m;
        std::string now;
        return hub.moderate(p, r, now);
    }
    bool member(const std::string& room, const std::string& name) {
        std::vector<chat::UserSummary> users;
        REQUIRE(hub.who(room, users));
        for (const auto& u : users)
            if (chat::nameKey(u.name) == chat::nameKey(name)) return true;
        return false;
    }

    chat::PasswordHasher hasher{chat::HashCost::minimum()};
    chat::AccountStore store{":memory:", hasher};
    chat::Authenticator auth;
    chat::Hub hub;
};

std::vector<std::string> types(FakeParticipant& p) {
    std::vector<std::string> out;
    for (const auto& m : p.messages()) out.push_back(chat::stringField(m, "type").value_or(""));
    return out;
}
}  // namespace

TEST_CASE_METHOD(ModerationFixture, "a guest is never an operator: not of the room it created, not by op") {
    auto bob = join("bob");
    const auto created = joinRoom(bob, "#guests");
    REQUIRE(created);
    CHECK(created.moderation.empty());  // a guest-created room has no operator
    auto carol = join("carol");
    REQUIRE(joinRoom(carol, "#guests"));
    CHECK(act(bob, "kick", "#guests", "carol").error == chat::ErrorCode::NotOperator);
    CHECK(act(bob, "op", "#guests", "bob").error == chat::ErrorCode::NotOperator);
    CHECK(member("#guests", "carol"));

    auto alice = join("alice");
    const auto mine = joinRoom(alice, "#dev");
    REQUIRE(mine.moderation.size() == 1);  // an account's room: she operates it
    CHECK(mine.moderation[0].entry.kind == std::string("op"));
    CHECK(mine.moderation[0].entry.target == "alice");
    REQUIRE(joinRoom(bob, "#dev"));
    CHECK(act(alice, "op", "#dev", "bob").error == chat::ErrorCode::BadRequest);  // a guest cannot be made one
    // An administrator may op an account in a room a guest made.
    auto root = join("root");
    CHECK(act(root, "op", "#guests", "dave"));
    CHECK(act(alice, "kick", "#guests", "carol").error == chat::ErrorCode::NotOperator);
}

TEST_CASE_METHOD(ModerationFixture, "kick: the target sees the event then leaves; the room is told; a rejoin works") {
    auto alice = join("alice");
    REQUIRE(joinRoom(alice, "#dev"));
    auto bob = join("bob");
    REQUIRE(joinRoom(bob, "#dev"));
    REQUIRE(act(alice, "kick", "#dev", "BOB", "too loud"));
    CHECK_FALSE(member("#dev", "bob"));
    const auto seen = types(*bob);
    const auto moderation = std::find(seen.begin(), seen.end(), "moderation");
    REQUIRE(moderation != seen.end());
    CHECK(std::find(moderation, seen.end(), "left") != seen.end());  // the event first, then left
    const auto told = alice->ofType("moderation");
    REQUIRE(told.size() == 1);
    CHECK(chat::stringField(told[0], "action") == std::string("kick"));
    CHECK(chat::stringField(told[0], "target") == std::string("bob"));
    CHECK(chat::stringField(told[0], "by") == std::string("alice"));
    CHECK(chat::stringField(told[0], "reason") == std::string("too loud"));
    CHECK(chat::stringField(alice->ofType("left").back(), "reason") == std::string("kicked by alice: too loud"));
    CHECK(joinRoom(bob, "#dev"));
    CHECK(act(alice, "kick", "#dev", "carol").error == chat::ErrorCode::NoSuchUser);
}

TEST_CASE_METHOD(ModerationFixture, "ban by name (any case) removes and keeps out; unban lets in; bans expire") {
    auto alice = join("alice");
    REQUIRE(joinRoom(alice, "#dev"));
    auto bob = join("Bob");
    REQUIRE(joinRoom(bob, "#dev"));
    REQUIRE(act(alice, "ban", "#dev", "bob"));
    CHECK_FALSE(member("#dev", "bob"));
    CHECK(joinRoom(bob, "#dev").error == chat::ErrorCode::Banned);
    CHECK(joinRoom(bob, "#other"));  // only that room
    REQUIRE(act(alice, "unban", "#dev", "BOB"));
    CHECK(joinRoom(bob, "#dev"));
    CHECK(act(alice, "unban", "#dev", "bob").error == chat::ErrorCode::BadRequest);
    // A ban of 1 ms has passed by the next request: no restart, no unban needed.
    REQUIRE(act(alice, "ban", "#dev", "bob", "", 1));
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
    while (std::chrono::steady_clock::now() < until) {
    }
    CHECK(joinRoom(bob, "#dev"));
}

TEST_CASE_METHOD(ModerationFixture, "ban by address removes every member connecting from it, whatever the name") {
    auto alice = join("alice");
    REQUIRE(joinRoom(alice, "#dev"));
    auto far = join("mallory", "10.9.9.9");
    REQUIRE(joinRoom(far, "#dev"));
    auto near = join("carol", "127.0.0.1");
    REQUIRE(joinRoom(near, "#dev"));
    chat::ModerationRequest r;
    r.action = "ban";
    r.room = "#dev";
    r.address = "::ffff:10.9.9.9";
    std::string mode;
    REQUIRE(hub.moderate(alice, r, mode));
    CHECK_FALSE(member("#dev", "mallory"));
    CHECK(member("#dev", "carol"));
    auto renamed = join("mallory2", "10.9.9.9");
    CHECK(joinRoom(renamed, "#dev").error == chat::ErrorCode::Banned);
    r.address = "not an address";
    CHECK(hub.moderate(alice, r, mode).error == chat::ErrorCode::BadRequest);
}

TEST_CASE_METHOD(ModerationFixture, "mute: the target still reads the room but cannot post; others can") {
    auto alice = join("alice");
    REQUIRE(joinRoom(alice, "#dev"));
    auto bob = join("bob");
    REQUIRE(joinRoom(bob, "#dev"));
    REQUIRE(act(alice, "mute", "#dev", "bob", "calm down", 600'000));
    const auto event = bob->ofType("moderation");
    REQUIRE(event.size() == 1);
    CHECK(chat::intField(event[0], "until") > chat::nowMillis());
    CHECK(hub.sendToRoom(bob, "#dev", "can I speak?").error == chat::ErrorCode::Muted);
    REQUIRE(hub.sendToRoom(alice, "#dev", "no"));
    CHECK(bob->ofType("message").size() == 1);  // still reads
    CHECK(hub.sendToRoom(bob, "#lobby", "elsewhere I can"));
    REQUIRE(act(alice, "unmute", "#dev", "bob"));
    CHECK(hub.sendToRoom(bob, "#dev", "thanks"));
}

TEST_CASE_METHOD(ModerationFixture, "invite-only: refused without an invite, in with one; operators always") {
    auto alice = join("alice");
    REQUIRE(joinRoom(alice, "#dev"));
    auto bob = join("bob");
    REQUIRE(mode(alice, "#dev", "+i"));
    CHECK(joinRoom(bob, "#dev").error == chat::ErrorCode::InviteOnly);
    CHECK(mode(bob, "#dev", "-i").error == chat::ErrorCode::NotOperator);
    REQUIRE(act(alice, "invite", "#dev", "bob"));
    CHECK(bob->ofType("moderation").size() == 1);  // told while not a member
    CHECK(joinRoom(bob, "#dev"));
    auto root = join("root");
    CHECK(joinRoom(root, "#dev"));  // an administrator needs no invite
    REQUIRE(mode(alice, "#dev", "-i"));
    auto carol = join("carol");
    CHECK(joinRoom(carol, "#dev"));
}

TEST_CASE_METHOD(ModerationFixture, "administrators: kill, server-wide ban at hello; operators cannot touch them") {
    auto alice = join("alice");
    REQUIRE(joinRoom(alice, "#dev"));
    auto root = join("root");
    REQUIRE(joinRoom(root, "#dev"));
    CHECK(act(alice, "kick", "#dev", "root").error == chat::ErrorCode::NotOperator);
    CHECK(act(alice, "ban", std::nullopt, "bob").error == chat::ErrorCode::NotOperator);
    CHECK(act(alice, "kill", std::nullopt, "bob").error == chat::ErrorCode::NotOperator);
    auto bob = join("bob");
    REQUIRE(joinRoom(bob, "#dev"));
    REQUIRE(act(root, "kill", std::nullopt, "bob", "bye"));
    CHECK(bob->closeReason == "disconnected by root: bye");
    CHECK_FALSE(member("#dev", "bob"));
    hub.detach(bob, "closed");
    REQUIRE(act(root, "ban", std::nullopt, "bob"));
    auto again = std::make_shared<FakeParticipant>();
    REQUIRE_FALSE(hub.attach(again, "127.0.0.1"));
    std::string display;
    CHECK(hub.join(again, "BOB", true, display).error == chat::ErrorCode::Banned);
    CHECK(hub.join(again, "bobby", true, display));
    CHECK(hub.rename(again, "Bob", display).error == chat::ErrorCode::Banned);  // nor by a rename
}

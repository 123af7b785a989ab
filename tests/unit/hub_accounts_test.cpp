// The hub's name rules with accounts: guest keys, registered names, renames,
// --require-account, and the "another session" event.

#include "server/account_store.hpp"
#include "server/authenticator.hpp"
#include "server/hub.hpp"
#include "shared/protocol.hpp"
#include "support/fake_participant.hpp"

#include <catch2/catch.hpp>

namespace {
using chat::test::FakeParticipant;

struct AccountsFixture {
    explicit AccountsFixture(bool requireAccount = false)
        : auth(store, chat::AuthOptions{requireAccount, false}), hub(config(auth)) {
        REQUIRE(auth.registerName("alice", "correct horse"));
    }
    static chat::HubConfig config(chat::Authenticator& auth) {
        chat::HubConfig c;
        c.auth = &auth;
        return c;
    }
    std::shared_ptr<FakeParticipant> attach() {
        auto p = std::make_shared<FakeParticipant>();
        REQUIRE_FALSE(hub.attach(p));
        return p;
    }
    chat::HubResult join(const std::shared_ptr<FakeParticipant>& p, const std::string& name, bool announce,
                         chat::JoinAuth auth = {}) {
        std::string display;
        return hub.join(p, name, announce, display, {}, auth);
    }
    chat::JoinAuth withKey(const std::string& key) {
        chat::JoinAuth a;
        a.key = key;
        return a;
    }
    chat::JoinAuth authenticated(const std::string& ip) {
        chat::JoinAuth a;
        a.authenticated = true;
        a.ip = ip;
        return a;
    }

    chat::PasswordHasher hasher{chat::HashCost::minimum()};
    chat::AccountStore store{":memory:", hasher};
    chat::Authenticator auth;
    chat::Hub hub;
};
}  // namespace

TEST_CASE_METHOD(AccountsFixture, "a guest name that is online needs its key - in any case and for transient sessions") {
    auto bob = attach();
    const auto first = join(bob, "bob", true);
    REQUIRE(first);
    CHECK(first.key.size() == 32);  // 128 bits in hex

    auto thief = attach();
    CHECK(join(thief, "BOB", true).error == chat::ErrorCode::NameInUse);
    CHECK(join(thief, "bob", false).error == chat::ErrorCode::NameInUse);
    CHECK(join(thief, "bob", false, withKey(std::string(32, '0'))).error == chat::ErrorCode::NameInUse);
    // Refused hellos joined nothing: a DM to bob reaches bob's session only.
    auto carol = attach();
    REQUIRE(join(carol, "carol", true));
    REQUIRE(hub.sendDirect(carol, "bob", "my password is hunter2"));
    CHECK(bob->ofType("message").size() == 1);
    CHECK(thief->ofType("message").empty());

    auto again = attach();
    const auto second = join(again, "Bob", false, withKey(first.key));
    REQUIRE(second);
    CHECK(second.key == first.key);

    hub.detach(bob, "quit");
    hub.detach(again, "quit");
    auto later = attach();
    const auto fresh = join(later, "bob", true);  // free again: a new key
    REQUIRE(fresh);
    CHECK(fresh.key != first.key);
}

TEST_CASE_METHOD(AccountsFixture, "a registered name needs authentication - online or not - and has no key") {
    auto guest = attach();
    CHECK(join(guest, "alice", true).error == chat::ErrorCode::AuthRequired);
    CHECK(join(guest, "ALICE", false).error == chat::ErrorCode::AuthRequired);
    CHECK(join(guest, "alice", true, withKey("anything")).error == chat::ErrorCode::AuthRequired);

    auto alice = attach();
    const auto first = join(alice, "alice", true, authenticated("127.0.0.1"));
    REQUIRE(first);
    CHECK(first.key.empty());
    CHECK(join(guest, "alice", true).error == chat::ErrorCode::AuthRequired);  // online too
    CHECK(alice->ofType("session").empty());

    auto laptop = attach();
    REQUIRE(join(laptop, "Alice", true, authenticated("192.0.2.7")));
    const auto told = alice->ofType("session");
    REQUIRE(told.size() == 1);
    CHECK(chat::stringField(told[0], "from") == std::string("192.0.2.7"));
    CHECK(chat::stringField(told[0], "text") == std::string("another session of alice joined from 192.0.2.7"));
    CHECK(laptop->ofType("session").empty());
}

TEST_CASE_METHOD(AccountsFixture, "nick to a registered name needs its password; to a guest name - a new key") {
    auto bob = attach();
    REQUIRE(join(bob, "bob", true));
    std::string display;
    CHECK(hub.rename(bob, "ALICE", display).error == chat::ErrorCode::AuthRequired);
    const auto renamed = hub.rename(bob, "alice", display, true);
    REQUIRE(renamed);
    CHECK(renamed.key.empty());
    const auto guest = hub.rename(bob, "robert", display);
    REQUIRE(guest);
    CHECK(guest.key.size() == 32);
    auto other = attach();
    CHECK(join(other, "robert", true).error == chat::ErrorCode::NameInUse);
    CHECK(join(other, "robert", true, withKey(guest.key)));
}

TEST_CASE_METHOD(AccountsFixture, "register turns a guest's name into an account: its key no longer admits anyone") {
    auto dave = attach();
    const auto joined = join(dave, "dave", true);
    REQUIRE(joined);
    REQUIRE(auth.registerName("dave", "password1"));
    hub.becameAccount(dave, "dave");
    auto other = attach();
    CHECK(join(other, "dave", true, withKey(joined.key)).error == chat::ErrorCode::AuthRequired);
}

TEST_CASE("with require-account - guests get auth_required and accounts come in") {
    AccountsFixture f(true);
    auto guest = f.attach();
    CHECK(f.join(guest, "bob", true).error == chat::ErrorCode::AuthRequired);
    CHECK(f.join(guest, "alice", true, f.authenticated("127.0.0.1")));
}

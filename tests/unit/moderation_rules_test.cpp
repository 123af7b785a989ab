// Moderation rules without a hub: durations, address matching, rights,
// ban/mute/invite matching and expiry with an injected clock.

#include "server/moderation_rules.hpp"
#include "server/moderation_store.hpp"
#include "shared/duration.hpp"
#include "shared/validation.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using chat::ModerationEntry;

TEST_CASE("durations: a whole number and one of s m h d w; anything else is refused") {
    CHECK(chat::parseDuration("30s") == 30'000);
    CHECK(chat::parseDuration("10m") == 600'000);
    CHECK(chat::parseDuration("2h") == 7'200'000);
    CHECK(chat::parseDuration("7d") == 604'800'000);
    CHECK(chat::parseDuration("1w") == 604'800'000);
    CHECK(chat::parseDuration("3650d") == chat::kMaxDurationMs);
    for (const char* bad : {"", "10", "m", "0m", "-5m", "+5m", "1.5h", "10 m", " 10m", "10M", "3651d",
                            "99999999999d", "9223372036854775807s", "1y", "10mm"}) {
        INFO(bad);
        CHECK_FALSE(chat::parseDuration(bad));
    }
    CHECK(chat::formatDuration(600'000) == "10m");
    CHECK(chat::formatDuration(7'200'000) == "2h");
    CHECK(chat::formatDuration(90'000) == "90s");
    CHECK(chat::formatDuration(604'800'000) == "1w");
}

TEST_CASE("addresses are compared in one canonical form; names are not addresses") {
    CHECK(chat::normalizeAddress("127.0.0.1") == std::string("127.0.0.1"));
    CHECK(chat::normalizeAddress("::ffff:127.0.0.1") == std::string("127.0.0.1"));
    CHECK(chat::normalizeAddress("2001:DB8:0:0::1") == std::string("2001:db8::1"));
    CHECK_FALSE(chat::normalizeAddress("bob"));
    CHECK_FALSE(chat::normalizeAddress("10.0.0"));
    CHECK_FALSE(chat::normalizeAddress(""));
}

TEST_CASE("rights: a stored operator or an administrator, and only in an authenticated account's session") {
    chat::ModerationRules rules;
    rules.setAdmins({"root"});
    rules.apply({false, {"#dev", ModerationEntry::kOp, "alice", 0, "alice", ""}});
    CHECK(rules.mayModerate("#dev", "alice", true));
    CHECK_FALSE(rules.mayModerate("#dev", "alice", false));  // the name, but as a guest: no rights
    CHECK_FALSE(rules.mayModerate("#ops", "alice", true));   // rights are per room
    CHECK_FALSE(rules.mayModerate("#dev", "bob", true));
    CHECK(rules.mayModerate("#dev", "root", true));
    CHECK(rules.mayModerate("#anything", "root", true));
    CHECK_FALSE(rules.mayModerate("#dev", "root", false));   // a guest called root is nobody
    CHECK_FALSE(rules.isAdmin("root", false));
    CHECK(rules.hasOperators("#dev"));
    CHECK_FALSE(rules.hasOperators("#de"));
    CHECK_FALSE(rules.hasOperators("#dev2"));
    rules.apply({true, {"#dev", ModerationEntry::kOp, "alice", 0, "", ""}});
    CHECK_FALSE(rules.mayModerate("#dev", "alice", true));
    CHECK_FALSE(rules.hasOperators("#dev"));
}

TEST_CASE("bans match the name key or the address, in their own scope only") {
    chat::ModerationRules rules;
    rules.apply({false, {"#dev", ModerationEntry::kBan, chat::nameKey("Mallory"), 0, "alice", "spam"}});
    rules.apply({false, {"#dev", ModerationEntry::kBanAddress, "10.1.2.3", 0, "alice", ""}});
    rules.apply({false, {"", ModerationEntry::kBan, "troll", 0, "root", ""}});
    const std::int64_t now = 1000;
    REQUIRE(rules.ban("#dev", chat::nameKey("MALLORY"), "127.0.0.1", now));
    CHECK(rules.ban("#dev", chat::nameKey("MALLORY"), "127.0.0.1", now)->reason == "spam");
    CHECK(rules.ban("#dev", "carol", "10.1.2.3", now));
    CHECK(rules.ban("#dev", "carol", "::ffff:10.1.2.3", now));  // the same address, IPv4-mapped
    CHECK_FALSE(rules.ban("#dev", "carol", "10.1.2.4", now));
    CHECK_FALSE(rules.ban("#dev", "mallory2", "127.0.0.1", now));
    CHECK_FALSE(rules.ban("#other", "mallory", "10.1.2.3", now));  // a room ban is that room's
    CHECK_FALSE(rules.ban("", "mallory", "10.1.2.3", now));        // and not the server's
    CHECK(rules.ban("", "troll", "", now));
    CHECK_FALSE(rules.ban("#dev", "troll", "", now));  // the hub checks server bans at hello
}

TEST_CASE("a ban, a mute and an invite stop applying when their time has passed") {
    chat::ModerationRules rules;
    rules.apply({false, {"#dev", ModerationEntry::kBan, "mallory", 5000, "alice", ""}});
    rules.apply({false, {"#dev", ModerationEntry::kMute, "bob", 5000, "alice", ""}});
    rules.apply({false, {"#dev", ModerationEntry::kInvite, "carol", 5000, "alice", ""}});
    rules.apply({false, {"#dev", ModerationEntry::kMute, "dave", 0, "alice", ""}});  // permanent
    CHECK(rules.ban("#dev", "mallory", "", 4999));
    CHECK(rules.mute("#dev", "bob", 4999));
    CHECK(rules.invited("#dev", "carol", 4999));
    CHECK_FALSE(rules.ban("#dev", "mallory", "", 5000));
    CHECK_FALSE(rules.mute("#dev", "bob", 5000));
    CHECK_FALSE(rules.invited("#dev", "carol", 5000));
    CHECK(rules.mute("#dev", "dave", 1'000'000'000'000'000));
    CHECK(rules.find("#dev", ModerationEntry::kBan, "mallory"));  // still there, no longer applying
}

TEST_CASE("the moderation store keeps entries across reopening and drops expired ones when loading") {
    chat::test::TempDir dir;
    const auto path = dir.file("chat.db");
    {
        chat::ModerationStore store(path);
        store.apply({{false, {"#dev", ModerationEntry::kBan, "mallory", 0, "alice", "spam"}},
                     {false, {"#dev", ModerationEntry::kMute, "bob", 2000, "alice", ""}},
                     {false, {"#dev", ModerationEntry::kInviteOnly, "", 0, "alice", ""}},
                     {false, {"#dev", ModerationEntry::kOp, "carol", 0, "alice", ""}}});
        store.apply({{true, {"#dev", ModerationEntry::kOp, "carol", 0, "", ""}}});
        store.apply({{false, {"#dev", ModerationEntry::kBan, "mallory", 0, "alice", "spam again"}}});  // replaces
    }
    chat::ModerationStore again(path);
    chat::ModerationRules rules;
    rules.load(again.load(1000));
    CHECK(rules.ban("#dev", "mallory", "", 1000)->reason == "spam again");
    CHECK(rules.mute("#dev", "bob", 1000));
    CHECK(rules.inviteOnly("#dev"));
    CHECK_FALSE(rules.isOperator("#dev", "carol"));
    CHECK(again.load(3000).size() == 2);  // the mute ended at 2000
}

// AccountStore on temporary files, the hashing's timing, and AuthThrottle's
// arithmetic with an injected clock.

#include "server/account_store.hpp"
#include "server/auth_throttle.hpp"
#include "server/authenticator.hpp"
#include "server/history_schema.hpp"
#include "server/history_store.hpp"

#include "support/temp_dir.hpp"
#include "unit/history_fixtures.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <sqlite3.h>
#include <vector>

using namespace chat;
using chat::test::TempDir;
using chat::test::roomMessage;
using namespace std::chrono_literals;

namespace {
PasswordHasher& fastHasher() {
    static PasswordHasher hasher(HashCost::minimum());
    return hasher;
}
}  // namespace

TEST_CASE("accounts: create - verify and change a password - case-insensitively - kept in the file", "[accounts]") {
    TempDir dir;
    const auto path = dir.file("chat.db");
    {
        AccountStore store(path, fastHasher());
        CHECK_FALSE(store.isRegistered("alice"));
        CHECK(store.create("Alice", "correct horse"));
        CHECK_FALSE(store.create("ALICE", "another one"));  // one account whatever the case
        CHECK(store.isRegistered("aLiCe"));
        CHECK(store.verify("alice", "correct horse"));
        CHECK(store.verify("ALICE", "correct horse"));
        CHECK_FALSE(store.verify("alice", "Correct horse"));
        CHECK_FALSE(store.verify("bob", "correct horse"));
        CHECK_FALSE(store.change("alice", "wrong", "battery staple"));
        CHECK(store.change("alice", "correct horse", "battery staple"));
        CHECK_FALSE(store.verify("alice", "correct horse"));
    }
    AccountStore again(path, fastHasher());  // a restart
    CHECK(again.isRegistered("ALICE"));
    CHECK(again.verify("alice", "battery staple"));
    // Only a hash is stored: the password is nowhere in the file.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT hash FROM accounts", -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const std::string hash = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    CHECK(hash.rfind("$argon2id$", 0) == 0);
    CHECK(hash.find("battery") == std::string::npos);
    sqlite3_finalize(statement);
    sqlite3_close(db);
}

TEST_CASE("accounts: a schema-2 file with history upgrades in place and keeps its events", "[accounts]") {
    TempDir dir;
    const auto path = dir.file("old.db");
    {
        StoreTestOptions old;
        old.schemaVersion = 2;
        SqliteHistoryStore store(HistoryOptions{path, 0, 0}, old);
        store.append({roomMessage(1, "#dev", "alice", "from before accounts")}, {});
    }
    AccountStore accounts(path, fastHasher());
    CHECK(accounts.create("alice", "password1"));
    SqliteHistoryStore store(HistoryOptions{path, 0, 0});
    CHECK(store.search({"#dev"}, "accounts", 10).events.size() == 1);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    CHECK(sqlite3_column_int(statement, 0) == history_schema::kCurrentVersion);
    sqlite3_finalize(statement);
    sqlite3_close(db);
}

TEST_CASE("accounts: :memory: keeps accounts while the store lives", "[accounts]") {
    AccountStore store(":memory:", fastHasher());
    CHECK(store.create("bob", "password1"));
    CHECK(store.verify("BOB", "password1"));
}

TEST_CASE("accounts: an unknown name and a wrong password take about the same time", "[accounts][timing]") {
    // INTERACTIVE cost, as the server uses: the dummy verification must cost
    // what a real one does. Medians of 9, within a factor of 1.5 (the hash
    // itself is ~50-100 ms; without the dummy an unknown name takes ~0).
    PasswordHasher hasher(HashCost::interactive());
    AccountStore store(":memory:", hasher);
    REQUIRE(store.create("alice", "correct horse"));
    // Interleaved, so that a change in the machine's load hits both alike.
    std::vector<double> unknownMs, wrongMs;
    auto timeOne = [&](const std::string& name, std::vector<double>& into) {
        const auto start = std::chrono::steady_clock::now();
        CHECK_FALSE(store.verify(name, "wrong guess"));
        into.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    };
    for (int i = 0; i < 9; ++i) {
        timeOne("nobody", unknownMs);
        timeOne("alice", wrongMs);
    }
    auto median = [](std::vector<double> ms) {
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    };
    const double unknown = median(unknownMs);
    const double wrong = median(wrongMs);
    INFO("median unknown " << unknown << " ms, wrong password " << wrong << " ms");
    CHECK(unknown > wrong / 1.5);
    CHECK(unknown < wrong * 1.5);
}

TEST_CASE("auth throttle: three free failures - then 1 s doubling to 60 s - forgotten after 15 min", "[accounts]") {
    AuthThrottle throttle;
    const auto t0 = AuthThrottle::Clock::time_point{} + 24h;
    CHECK(AuthThrottle::delayAfter(3) == 0ms);
    CHECK(AuthThrottle::delayAfter(4) == 1000ms);
    CHECK(AuthThrottle::delayAfter(5) == 2000ms);
    CHECK(AuthThrottle::delayAfter(9) == 32000ms);
    CHECK(AuthThrottle::delayAfter(10) == 60000ms);
    CHECK(AuthThrottle::delayAfter(1000) == 60000ms);
    for (int i = 1; i <= 3; ++i) {
        CHECK(throttle.failed("1.2.3.4", t0) == i);
        CHECK(throttle.wait("1.2.3.4", t0) == 0ms);
    }
    CHECK(throttle.failed("1.2.3.4", t0) == 4);
    CHECK(throttle.wait("1.2.3.4", t0) == 1000ms);
    CHECK(throttle.wait("1.2.3.4", t0 + 400ms) == 600ms);
    CHECK(throttle.wait("1.2.3.4", t0 + 1s) == 0ms);
    CHECK(throttle.wait("5.6.7.8", t0) == 0ms);  // per key
    CHECK(throttle.failed("1.2.3.4", t0 + 1s) == 5);
    CHECK(throttle.wait("1.2.3.4", t0 + 1s) == 2000ms);
    // A quarter of an hour without failures: a new burst, free again.
    CHECK(throttle.failed("1.2.3.4", t0 + 1s + 15min) == 1);
    CHECK(throttle.wait("1.2.3.4", t0 + 1s + 15min) == 0ms);
    throttle.failed("alice", t0);
    throttle.failed("alice", t0);
    throttle.failed("alice", t0);
    throttle.failed("alice", t0);
    throttle.succeeded("alice");
    CHECK(throttle.wait("alice", t0) == 0ms);
}

TEST_CASE("authenticator: the fourth failure bars the next try with auth_throttled - per address and per name",
          "[accounts]") {
    AccountStore store(":memory:", fastHasher());
    Authenticator auth(store, AuthOptions{});
    REQUIRE(auth.registerName("alice", "correct horse"));
    const auto t0 = Authenticator::Clock::now();
    for (int i = 0; i < 4; ++i) CHECK(auth.authenticate("alice", "guess", "10.0.0.1", t0).error == ErrorCode::AuthFailed);
    auto barred = auth.authenticate("alice", "correct horse", "10.0.0.1", t0);
    CHECK(barred.error == ErrorCode::AuthThrottled);
    CHECK(barred.retryAfterMs == 1000);
    // Another address is barred too: the account itself is.
    CHECK(auth.authenticate("alice", "correct horse", "10.0.0.2", t0).error == ErrorCode::AuthThrottled);
    CHECK(auth.authenticate("alice", "correct horse", "10.0.0.2", t0 + 1s));
    // An unknown name gets the very answer a wrong password gets.
    auto unknown = auth.authenticate("nobody", "guess", "10.0.0.3", t0);
    auto wrong = auth.authenticate("alice", "guess", "10.0.0.3", t0 + 1s);
    CHECK(unknown.error == wrong.error);
    CHECK(unknown.text == wrong.text);
}

TEST_CASE("passwords may travel over loopback only - unless TLS or --allow-plaintext-auth", "[accounts]") {
    CHECK(passwordsMayTravel("127.0.0.1", false, false));
    CHECK(passwordsMayTravel("127.8.9.10", false, false));
    CHECK(passwordsMayTravel("::1", false, false));
    CHECK(passwordsMayTravel("::ffff:127.0.0.1", false, false));
    CHECK_FALSE(passwordsMayTravel("10.0.0.1", false, false));
    CHECK_FALSE(passwordsMayTravel("::ffff:10.0.0.1", false, false));
    CHECK_FALSE(passwordsMayTravel("2001:db8::1", false, false));
    CHECK_FALSE(passwordsMayTravel("", false, false));
    CHECK(passwordsMayTravel("10.0.0.1", true, false));
    CHECK(passwordsMayTravel("10.0.0.1", false, true));
}

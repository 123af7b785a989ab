// Tokens for scripts: TokenStore on temporary files (only hashes stored,
// every comparison through the constant-time compare), the throttle shared
// with passwords, and the client's credentials file.

#include "client/credentials.hpp"
#include "client/input_parser.hpp"
#include "server/account_store.hpp"
#include "server/authenticator.hpp"
#include "server/token_store.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sqlite3.h>
#include <sys/stat.h>

using namespace chat;
using chat::test::TempDir;
using namespace std::chrono_literals;

namespace {
int comparisons = 0;
bool countingEqual(const unsigned char* a, const unsigned char* b, std::size_t size) {
    ++comparisons;
    return TokenStore::constantTimeEqual(a, b, size);
}
bool neverEqual(const unsigned char*, const unsigned char*, std::size_t) {
    ++comparisons;
    return false;
}

/// Every row of the tokens table, each column as text.
std::vector<std::vector<std::string>> rawTokens(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT * FROM tokens", -1, &statement, nullptr) == SQLITE_OK);
    std::vector<std::vector<std::string>> rows;
    while (sqlite3_step(statement) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int i = 0; i < sqlite3_column_count(statement); ++i) {
            const auto* text = sqlite3_column_text(statement, i);
            row.push_back(text ? reinterpret_cast<const char*>(text) : "");
        }
        rows.push_back(row);
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return rows;
}

PasswordHasher& fastHasher() {
    static PasswordHasher hasher(HashCost::minimum());
    return hasher;
}
}  // namespace

TEST_CASE("tokens: create - verify - list - revoke - case-insensitive accounts - kept across a restart", "[tokens]") {
    TempDir dir;
    const auto path = dir.file("chat.db");
    NewToken laptop, ci;
    {
        TokenStore store(path);
        laptop = *store.create("Alice", "laptop 2026-12-02");
        ci = *store.create("alice", "ci");
        CHECK(laptop.id != ci.id);
        CHECK(laptop.token.rfind("chat_", 0) == 0);
        CHECK(laptop.token.size() == 5 + 43);  // 256 bits of base64url
        CHECK(laptop.token != ci.token);
        CHECK(store.verify("ALICE", laptop.token, 1000) == laptop.id);
        CHECK(store.verify("alice", ci.token, 2000) == ci.id);
        CHECK_FALSE(store.verify("bob", laptop.token, 2000));  // another account's token
        CHECK_FALSE(store.verify("alice", laptop.token + "x", 2000));
        CHECK_FALSE(store.verify("alice", "", 2000));
    }
    TokenStore store(path);  // a restart
    const auto list = store.list("aLiCe");
    REQUIRE(list.size() == 2);
    CHECK(list[0].id == laptop.id);
    CHECK(list[0].label == "laptop 2026-12-02");
    CHECK(list[0].lastUsedMillis == 1000);
    CHECK(list[1].lastUsedMillis == 2000);
    CHECK(list[0].createdMillis > 0);
    CHECK(store.list("bob").empty());
    CHECK_FALSE(store.revoke("bob", laptop.id));  // not bob's to revoke
    CHECK(store.exists(laptop.id));
    CHECK(store.revoke("ALICE", laptop.id));
    CHECK_FALSE(store.revoke("alice", laptop.id));
    CHECK_FALSE(store.exists(laptop.id));
    CHECK_FALSE(store.verify("alice", laptop.token, 3000));
    CHECK(store.verify("alice", ci.token, 3000) == ci.id);
    // A revoked id is never given to a new token.
    const auto again = *store.create("alice", "again");
    CHECK(again.id > ci.id);
}

TEST_CASE("tokens: only the SHA-256 of a token is stored - never the token or a part of it", "[tokens]") {
    TempDir dir;
    const auto path = dir.file("chat.db");
    TokenStore store(path);
    const auto created = *store.create("alice", "laptop");
    CHECK(TokenStore::hashOf("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const auto rows = rawTokens(path);
    REQUIRE(rows.size() == 1);
    const auto secret = created.token.substr(5);
    bool hashStored = false;
    for (const auto& column : rows[0]) {
        INFO(column);
        CHECK(column.find(secret.substr(0, 16)) == std::string::npos);
        CHECK(column.find(secret.substr(secret.size() - 16)) == std::string::npos);
        if (column == TokenStore::hashOf(created.token)) hashStored = true;
    }
    CHECK(hashStored);
}

TEST_CASE("tokens: verification compares every stored hash through the constant-time compare, which decides", "[tokens]") {
    TokenStore counted(":memory:", countingEqual);
    const auto first = *counted.create("alice", "one");
    counted.create("alice", "two");
    const auto third = *counted.create("alice", "three");
    counted.create("bob", "not alice's");
    comparisons = 0;
    CHECK(counted.verify("alice", first.token, 1) == first.id);
    CHECK(comparisons == 3);  // no early exit at the first match
    comparisons = 0;
    CHECK(counted.verify("alice", third.token, 1) == third.id);
    CHECK(comparisons == 3);
    comparisons = 0;
    CHECK_FALSE(counted.verify("alice", "chat_wrong", 1));
    CHECK(comparisons == 3);
    // The compare decides, not SQL: one that never matches refuses the right token.
    TokenStore never(":memory:", neverEqual);
    const auto token = *never.create("alice", "one");
    CHECK_FALSE(never.verify("alice", token.token, 1));
    // The default is sodium_memcmp.
    const unsigned char a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
    CHECK(TokenStore::constantTimeEqual(a, a, 4));
    CHECK_FALSE(TokenStore::constantTimeEqual(a, b, 4));
}

TEST_CASE("tokens: an account holds at most kMaxPerAccount", "[tokens]") {
    TokenStore store(":memory:");
    for (std::size_t i = 0; i < TokenStore::kMaxPerAccount; ++i) REQUIRE(store.create("alice", "t"));
    CHECK_FALSE(store.create("ALICE", "one too many"));
    CHECK(store.create("bob", "bob's first"));
}

TEST_CASE("tokens: a wrong token counts in the throttle like a wrong password, and the other way round", "[tokens]") {
    TempDir dir;
    const auto path = dir.file("chat.db");
    AccountStore accounts(path, fastHasher());
    TokenStore tokens(path);
    REQUIRE(accounts.create("alice", "correct horse"));
    const auto token = *tokens.create("alice", "ci");
    Authenticator auth(accounts, AuthOptions{}, nullptr, &tokens);
    const auto start = AuthThrottle::Clock::now();
    std::int64_t id = 0;
    CHECK_FALSE(auth.authenticateToken("alice", token.token, "127.0.0.1", id, start).error);
    CHECK(id == token.id);
    for (int i = 0; i < AuthThrottle::kFreeFailures; ++i)
        CHECK(auth.authenticateToken("alice", "chat_guess" + std::to_string(i), "127.0.0.1", id, start).error ==
              ErrorCode::AuthFailed);
    // The 4th failure bars for 1 s: a password now waits too, even the right one.
    CHECK(auth.authenticate("alice", "wrong password", "127.0.0.1", start).error == ErrorCode::AuthFailed);
    const auto barred = auth.authenticate("alice", "correct horse", "127.0.0.1", start + 10ms);
    CHECK(barred.error == ErrorCode::AuthThrottled);
    CHECK(barred.retryAfterMs > 0);
    CHECK(auth.authenticateToken("alice", token.token, "127.0.0.2", id, start + 10ms).error == ErrorCode::AuthThrottled);
    // After the bar, the right token is accepted; an unknown name fails like a wrong token.
    CHECK_FALSE(auth.authenticateToken("alice", token.token, "127.0.0.2", id, start + 2s).error);
    CHECK(auth.authenticateToken("nobody", token.token, "127.0.0.3", id, start + 2s).error == ErrorCode::AuthFailed);
}

TEST_CASE("credentials file: created 0600 - one entry per server - replaced and removed - junk lines ignored", "[tokens]") {
    TempDir dir;
    const auto path = dir.file("config/chat/credentials");
    CHECK(loadCredentials(path).empty());
    storeCredential(path, {"127.0.0.1:5050", "alice", 3, "chat_aaa"});
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(::stat(dir.file("config/chat").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0700);
    storeCredential(path, {"[::1]:5051", "bob", 4, "chat_bbb"});
    storeCredential(path, {"127.0.0.1:5050", "alice", 5, "chat_ccc"});  // replaces
    auto entries = loadCredentials(path);
    REQUIRE(entries.size() == 2);
    CHECK(findCredential(path, "127.0.0.1:5050")->token == "chat_ccc");
    CHECK(findCredential(path, "127.0.0.1:5050", "ALICE")->tokenId == 5);
    CHECK_FALSE(findCredential(path, "127.0.0.1:5050", "bob"));
    CHECK_FALSE(findCredential(path, "127.0.0.1:5051"));
    {
        std::ofstream junk(path, std::ios::app);
        junk << "half a line\n127.0.0.1:6000 alice notanumber chat_x\n127.0.0.1:6001 bad/name 1 chat_x\n";
    }
    CHECK(loadCredentials(path).size() == 2);
    CHECK(removeCredential(path, "127.0.0.1:5050"));
    CHECK_FALSE(removeCredential(path, "127.0.0.1:5050"));
    entries = loadCredentials(path);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].server == "[::1]:5051");
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE("input: /tokens lists - /tokens revoke ID revokes - anything else is its usage", "[tokens]") {
    CHECK(parseInput("/tokens").kind == InputCommand::Kind::Tokens);
    CHECK(parseInput("/tokens").text.empty());
    const auto revoke = parseInput("/tokens revoke 12");
    CHECK(revoke.kind == InputCommand::Kind::Tokens);
    CHECK(revoke.text == "revoke");
    CHECK(revoke.target == "12");
    for (const char* bad : {"/tokens revoke", "/tokens revoke x", "/tokens delete 3", "/tokens revoke 3 4"}) {
        INFO(bad);
        CHECK(parseInput(bad).kind == InputCommand::Kind::Invalid);
    }
}

// SqliteHistoryStore: the history database on temporary files.

#include "server/history_store.hpp"

#include "support/temp_dir.hpp"
#include "unit/history_fixtures.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace chat;
using chat::test::directMessage;
using chat::test::roomMessage;
using chat::test::TempDir;
using chat::test::topicChange;

namespace {

std::vector<std::uint64_t> ids(const std::vector<StoredEvent>& events) {
    std::vector<std::uint64_t> out;
    for (const StoredEvent& e : events) {
        out.push_back(e.id);
    }
    return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t id = first; id <= last; ++id) {
        out.push_back(id);
    }
    return out;
}

/// Runs one SQL statement on the file with the sqlite3 C API, as another
/// program (or an older chat) would.
void runSql(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(message);
    REQUIRE(rc == SQLITE_OK);
}

HistoryOptions at(const std::string& path) {
    HistoryOptions options;
    options.path = path;
    return options;
}

}  // namespace

TEST_CASE("history store: events, rooms and read marks come back after reopening", "[history]") {
    TempDir dir;
    const std::string path = dir.file("sub/dir/chat.db");  // parents are created
    {
        SqliteHistoryStore store(at(path));
        StoredEvent action = roomMessage(3, "#Dev", "bob", "waves");
        action.action = true;
        store.append({roomMessage(1, "#Dev", "alice", "hello"), topicChange(2, "#Dev", "alice", "deploys on Fridays"),
                      action, directMessage(4, "alice", "Bob", "psst"), roomMessage(5, "#lobby", "carol", "hi")},
                     {MarkUpdate{"alice", "#dev", ReadMark{3, 2, 1234}}});
        store.append({roomMessage(6, "#Dev", "alice", "again")},
                     {MarkUpdate{"alice", "#dev", ReadMark{6, 3, 5678}}, MarkUpdate{"bob", "#lobby", ReadMark{5, 1, 9}}});
    }
    REQUIRE(std::filesystem::exists(path));

    SqliteHistoryStore store(at(path));
    const HistorySnapshot snapshot = store.load(2);
    CHECK(snapshot.lastId == 6);
    REQUIRE(snapshot.rooms.size() == 2);  // by key: #dev, #lobby
    const StoredRoom& dev = snapshot.rooms[0];
    CHECK(dev.name == "#Dev");
    CHECK(dev.topic == "deploys on Fridays");
    CHECK(dev.messages == 3);  // messages and actions, not the topic
    CHECK(ids(dev.recent) == std::vector<std::uint64_t>{3, 6});  // the latest 2, oldest first
    CHECK(dev.recent[0].action);
    CHECK_FALSE(dev.recent[1].action);
    CHECK(dev.recent[0].from == "bob");
    CHECK(dev.recent[0].text == "waves");
    CHECK(dev.recent[0].conversation == "#dev");
    CHECK(dev.recent[0].payload == roomMessage(3, "#Dev", "bob", "waves").payload);
    CHECK(snapshot.rooms[1].name == "#lobby");
    CHECK(snapshot.rooms[1].topic.empty());
    CHECK(snapshot.rooms[1].messages == 1);

    REQUIRE(snapshot.readMarks.size() == 2);
    const ReadMark alice = snapshot.readMarks.at("alice").at("#dev");
    CHECK(alice.lastId == 6);
    CHECK(alice.messages == 3);
    CHECK(alice.ts == 5678);
    CHECK(snapshot.readMarks.at("bob").at("#lobby").lastId == 5);

    const HistoryPage direct = store.page(directKey("alice", "bob"), 0, 10);
    REQUIRE(direct.events.size() == 1);
    CHECK(direct.events[0].to == "Bob");
    CHECK(direct.events[0].room.empty());
    CHECK(direct.events[0].ts == 1'700'000'000'000);
}

TEST_CASE("history store: load gives no events when asked for none, and nothing for an empty file", "[history]") {
    TempDir dir;
    SqliteHistoryStore store(at(dir.file("chat.db")));
    HistorySnapshot empty = store.load(50);
    CHECK(empty.lastId == 0);
    CHECK(empty.rooms.empty());
    CHECK(empty.readMarks.empty());
    store.append({roomMessage(1, "#dev", "alice", "hello")}, {});
    const HistorySnapshot snapshot = store.load(0);
    REQUIRE(snapshot.rooms.size() == 1);
    CHECK(snapshot.rooms[0].recent.empty());
    CHECK(snapshot.rooms[0].messages == 1);
}

TEST_CASE("history store: \":memory:\" keeps nothing and writes no file", "[history]") {
    TempDir dir;
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    {
        SqliteHistoryStore store(at(":memory:"));
        store.append({roomMessage(1, "#dev", "alice", "hello")}, {});
        CHECK(store.load(5).lastId == 1);
    }
    CHECK(std::filesystem::is_empty(dir.path()));
    SqliteHistoryStore again(at(":memory:"));
    CHECK(again.load(5).lastId == 0);
    std::filesystem::current_path(cwd);
}

TEST_CASE("history store: an append is all or nothing", "[history]") {
    TempDir dir;
    SqliteHistoryStore store(at(dir.file("chat.db")));
    store.append({roomMessage(1, "#dev", "alice", "one")}, {});
    // Id 1 again makes the second event fail: the first must not stay.
    CHECK_THROWS_AS(store.append({roomMessage(2, "#dev", "alice", "two"), roomMessage(1, "#dev", "alice", "dup")},
                                 {MarkUpdate{"alice", "#dev", ReadMark{2, 2, 1}}}),
                    StorageError);
    const HistorySnapshot snapshot = store.load(10);
    CHECK(snapshot.lastId == 1);
    REQUIRE(snapshot.rooms.size() == 1);
    CHECK(snapshot.rooms[0].messages == 1);
    CHECK(ids(snapshot.rooms[0].recent) == std::vector<std::uint64_t>{1});
    CHECK(snapshot.readMarks.empty());
    CHECK(store.commits() == 1);
    // And the store still works.
    store.append({roomMessage(2, "#dev", "alice", "two")}, {});
    CHECK(store.load(10).lastId == 2);
}

TEST_CASE("history store: page goes backwards with before, oldest first, and says when there is more", "[history]") {
    TempDir dir;
    SqliteHistoryStore store(at(dir.file("chat.db")));
    std::vector<StoredEvent> events;
    for (std::uint64_t id = 1; id <= 25; ++id) {
        events.push_back(id % 5 == 0 ? roomMessage(id, "#other", "bob", "elsewhere")
                                     : roomMessage(id, "#dev", "alice", "m" + std::to_string(id)));
    }
    store.append(events, {});

    // #dev holds 1-24 but the multiples of 5.
    const HistoryPage newest = store.page("#dev", 0, 8);
    CHECK(ids(newest.events) == std::vector<std::uint64_t>{16, 17, 18, 19, 21, 22, 23, 24});
    CHECK(newest.more);
    const HistoryPage older = store.page("#dev", newest.events.front().id, 8);
    CHECK(ids(older.events) == std::vector<std::uint64_t>{6, 7, 8, 9, 11, 12, 13, 14});
    CHECK(older.more);
    const HistoryPage oldest = store.page("#dev", older.events.front().id, 8);
    CHECK(ids(oldest.events) == std::vector<std::uint64_t>{1, 2, 3, 4});
    CHECK_FALSE(oldest.more);

    CHECK_FALSE(store.page("#dev", 6, 4).more);  // exactly the rest
    CHECK(store.page("#dev", 7, 4).more);
    CHECK(ids(store.page("#dev", 2, 50).events) == std::vector<std::uint64_t>{1});
    CHECK(store.page("#dev", 1, 50).events.empty());
    CHECK(store.page("#nowhere", 0, 50).events.empty());
    CHECK(ids(store.page("#other", 0, 50).events) == std::vector<std::uint64_t>{5, 10, 15, 20, 25});
    CHECK(ids(store.page("#dev", 0, 1000).events) == std::vector<std::uint64_t>{1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14,
                                                                                 16, 17, 18, 19, 21, 22, 23, 24});
}

TEST_CASE("history store: a private conversation is one, whoever wrote", "[history]") {
    TempDir dir;
    SqliteHistoryStore store(at(dir.file("chat.db")));
    CHECK(directKey("alice", "bob") == "@alice @bob");
    CHECK(directKey("bob", "alice") == "@alice @bob");
    store.append({directMessage(1, "Alice", "bob", "hi bob"), directMessage(2, "bob", "Alice", "hi alice"),
                  directMessage(3, "alice", "carol", "hi carol"), directMessage(4, "alice", "alice", "note to self")},
                 {});
    CHECK(ids(store.page(directKey("alice", "bob"), 0, 10).events) == std::vector<std::uint64_t>{1, 2});
    CHECK(ids(store.page(directKey("bob", "alice"), 0, 10).events) == std::vector<std::uint64_t>{1, 2});
    CHECK(ids(store.page(directKey("alice", "alice"), 0, 10).events) == std::vector<std::uint64_t>{4});
    CHECK(store.load(10).rooms.empty());  // private messages make no rooms
}

TEST_CASE("history store: a search query takes every word literally", "[history]") {
    CHECK(ftsQuery("") == "");
    CHECK(ftsQuery(" \t\n ") == "");
    CHECK(ftsQuery("deploy friday") == "\"deploy\" \"friday\"");
    CHECK(ftsQuery("  a OR b  ") == "\"a\" \"OR\" \"b\"");
    CHECK(ftsQuery("say \"hi\" x*") == "\"say\" \"\"\"hi\"\"\" \"x*\"");
    CHECK(ftsQuery("NEAR(a b) -c col:d ^e") == "\"NEAR(a\" \"b)\" \"-c\" \"col:d\" \"^e\"");
}

TEST_CASE("history store: search finds messages with every word, newest first", "[history]") {
    TempDir dir;
    SqliteHistoryStore store(at(dir.file("chat.db")));
    store.append(
        {
            roomMessage(1, "#dev", "alice", "deploy on friday"),
            roomMessage(2, "#dev", "bob", "no deploy today"),
            topicChange(3, "#dev", "alice", "deploy friday topic"),
            roomMessage(4, "#ops", "carol", "Friday DEPLOY went fine"),
            directMessage(5, "alice", "bob", "about the deploy on friday"),
            directMessage(6, "carol", "dave", "secret deploy friday"),
            roomMessage(7, "#dev", "alice", "café au lait"),
            roomMessage(8, "#dev", "bob", "she said \"stop\" NEAR the OR gate: a-b x* c++ col:umn"),
            roomMessage(9, "#dev", "bob", "stop the gate"),
            roomMessage(10, "#dev", "bob", "deployment friday"),
        },
        {});
    const std::vector<std::string> mine = {"#dev", "#ops", directKey("alice", "bob")};

    // Every word, any order, any case; whole words ("deployment" is not "deploy").
    CHECK(ids(store.search(mine, "friday deploy", 20).events) == std::vector<std::uint64_t>{5, 4, 1});
    CHECK(ids(store.search(mine, "DEPLOY", 20).events) == std::vector<std::uint64_t>{5, 4, 2, 1});
    // Topics are not messages; conversations not given are not searched.
    CHECK(ids(store.search({"#dev"}, "topic", 20).events).empty());
    CHECK(ids(store.search({directKey("carol", "dave")}, "secret", 20).events) == std::vector<std::uint64_t>{6});
    CHECK(ids(store.search(mine, "secret", 20).events).empty());
    CHECK(store.search({}, "deploy", 20).events.empty());

    // Limit, and more.
    const HistoryPage two = store.search(mine, "deploy", 2);
    CHECK(ids(two.events) == std::vector<std::uint64_t>{5, 4});
    CHECK(two.more);
    CHECK_FALSE(store.search(mine, "deploy", 4).more);

    // Diacritics and case folded: "CAFE" finds "café" and the other way round.
    CHECK(ids(store.search(mine, "CAFE", 20).events) == std::vector<std::uint64_t>{7});
    CHECK(ids(store.search(mine, "café LAIT", 20).events) == std::vector<std::uint64_t>{7});

    // Query syntax is text: none of these is an operator, a prefix or a column.
    CHECK(ids(store.search(mine, "NEAR", 20).events) == std::vector<std::uint64_t>{8});
    CHECK(ids(store.search(mine, "OR gate", 20).events) == std::vector<std::uint64_t>{8});
    CHECK(ids(store.search(mine, "stop OR nothing", 20).events).empty());  // OR is a word that must be there
    CHECK(ids(store.search(mine, "\"stop\"", 20).events) == std::vector<std::uint64_t>{9, 8});
    CHECK(ids(store.search(mine, "\"stop", 20).events) == std::vector<std::uint64_t>{9, 8});
    CHECK(ids(store.search(mine, "x*", 20).events) == std::vector<std::uint64_t>{8});
    CHECK(ids(store.search(mine, "deplo*", 20).events).empty());  // no prefix search
    CHECK(ids(store.search(mine, "a-b", 20).events) == std::vector<std::uint64_t>{8});
    CHECK(ids(store.search(mine, "-deploy", 20).events) == std::vector<std::uint64_t>{5, 4, 2, 1});  // not NOT
    CHECK(ids(store.search(mine, "col:umn", 20).events) == std::vector<std::uint64_t>{8});
    CHECK(ids(store.search(mine, "text:stop", 20).events).empty());  // not a column filter
    CHECK(ids(store.search(mine, "gate:", 20).events) == std::vector<std::uint64_t>{9, 8});
    CHECK(ids(store.search(mine, "c++", 20).events) == std::vector<std::uint64_t>{8});
    CHECK(ids(store.search(mine, "(stop", 20).events) == std::vector<std::uint64_t>{9, 8});
    CHECK(ids(store.search(mine, "   ", 20).events).empty());
    CHECK(ids(store.search(mine, "\"", 20).events).empty());  // a word of punctuation only matches nothing
}

TEST_CASE("history store: a schema-1 file opens with this binary and gets full-text search", "[history]") {
    TempDir dir;
    const std::string path = dir.file("old.db");
    {
        StoreTestOptions old;
        old.schemaVersion = 1;
        SqliteHistoryStore store(at(path), old);
        store.append({roomMessage(1, "#dev", "alice", "written by an old chat"), topicChange(2, "#dev", "alice", "old topic")},
                     {MarkUpdate{"alice", "#dev", ReadMark{1, 1, 1}}});
    }
    {
        // Really version 1: no FTS table yet.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "SELECT count(*) FROM events_fts", nullptr, nullptr, nullptr) != SQLITE_OK);
        sqlite3_close(db);
    }
    SqliteHistoryStore store(at(path));
    CHECK(ids(store.search({"#dev"}, "old chat", 10).events) == std::vector<std::uint64_t>{1});
    CHECK(store.search({"#dev"}, "topic", 10).events.empty());
    store.append({roomMessage(3, "#dev", "bob", "new chat")}, {});
    CHECK(ids(store.search({"#dev"}, "chat", 10).events) == std::vector<std::uint64_t>{3, 1});
    const HistorySnapshot snapshot = store.load(10);
    CHECK(snapshot.lastId == 3);
    // Read marks are kept for accounts only: alice is none, so the step that
    // made them per account (schema_offline) dropped hers.
    CHECK(snapshot.readMarks.count("alice") == 0);
}

TEST_CASE("history store: a file from a newer chat is refused with a clear message", "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    { SqliteHistoryStore store(at(path)); }
    runSql(path, "UPDATE schema_version SET version = 7");
    try {
        SqliteHistoryStore store(at(path));
        FAIL("opened a version-7 file");
    } catch (const StorageError& e) {
        CHECK(std::string(e.what()) ==
              path + " has schema version 7; this chat understands up to " +
                  std::to_string(history_schema::kCurrentVersion) + ": upgrade chat");
    }
}

TEST_CASE("history store: a database of another program is refused", "[history]") {
    TempDir dir;
    const std::string path = dir.file("other.db");
    runSql(path, "CREATE TABLE accounts(id INTEGER)");
    CHECK_THROWS_WITH(SqliteHistoryStore(at(path)), Catch::Contains("not a chat history database"));
    const std::string garbage = dir.file("garbage.db");
    {
        std::FILE* file = std::fopen(garbage.c_str(), "w");
        REQUIRE(file != nullptr);
        std::fputs("this is not an SQLite file, not even close; it is long enough to have a header\n", file);
        std::fclose(file);
    }
    CHECK_THROWS_WITH(SqliteHistoryStore(at(garbage)), Catch::Contains(garbage) && Catch::Contains("not a database"));
}

TEST_CASE("history store: writing to a read-only database fails with the reason", "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    { SqliteHistoryStore store(at(path)); }
    StoreTestOptions test;
    if (::geteuid() == 0) {
        test.readOnly = true;  // root ignores file modes: open the file read-only instead
    } else {
        REQUIRE(::chmod(path.c_str(), 0444) == 0);
    }
    SqliteHistoryStore store(at(path), test);
    CHECK(store.load(5).lastId == 0);  // reading works
    CHECK_THROWS_WITH(store.append({roomMessage(1, "#dev", "alice", "hello")}, {}),
                      path + ": the database is read-only");
}

TEST_CASE("history store: retention deletes events older than the days kept", "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    constexpr std::int64_t day = 24LL * 60 * 60 * 1000;
    const std::int64_t now = 1'800'000'000'000;
    HistoryOptions options = at(path);
    options.retentionDays = 7;
    {
        SqliteHistoryStore store(options);
        store.append({roomMessage(1, "#old", "alice", "ancient", now - 30 * day),
                      topicChange(2, "#old", "alice", "old topic", now - 20 * day),
                      roomMessage(3, "#dev", "alice", "last month", now - 20 * day),
                      directMessage(4, "alice", "bob", "old dm", now - 8 * day),
                      roomMessage(5, "#dev", "bob", "this week", now - 6 * day),
                      roomMessage(6, "#dev", "bob", "today", now)},
                     {MarkUpdate{"alice", "#old", ReadMark{2, 1, 1}}, MarkUpdate{"alice", "#dev", ReadMark{6, 3, 1}}});
        CHECK(store.prune(2, now) == 2);  // at most maxRows per call
        CHECK(store.prune(100, now) == 2);
        CHECK(store.prune(100, now) == 0);
        CHECK(store.page("#dev", 0, 10).events.size() == 2);
        CHECK(store.page(directKey("alice", "bob"), 0, 10).events.empty());
        CHECK(store.search({"#dev"}, "month", 10).events.empty());  // gone from the index too
        CHECK(store.search({"#dev"}, "today", 10).events.size() == 1);
    }
    SqliteHistoryStore store(options);
    const HistorySnapshot snapshot = store.load(10);
    CHECK(snapshot.lastId == 6);
    REQUIRE(snapshot.rooms.size() == 1);  // #old is gone, and stays gone
    CHECK(snapshot.rooms[0].name == "#dev");
    CHECK(snapshot.rooms[0].messages == 3);  // a running count: retention does not lower it
    CHECK(ids(snapshot.rooms[0].recent) == std::vector<std::uint64_t>{5, 6});
    CHECK(snapshot.readMarks.at("alice").count("#old") == 0);
    CHECK(snapshot.readMarks.at("alice").count("#dev") == 1);
}

TEST_CASE("history store: retention keeps at most maxPerConversation events of each conversation", "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    HistoryOptions options = at(path);
    options.maxPerConversation = 10;
    {
        SqliteHistoryStore store(options);
        std::vector<StoredEvent> events;
        for (std::uint64_t id = 1; id <= 40; ++id) {
            events.push_back(id <= 30 ? roomMessage(id, "#dev", "alice", "m") : directMessage(id, "a", "b", "d"));
        }
        store.append(events, {});
        CHECK(store.prune(15, 0) == 15);  // small batches
        CHECK(store.prune(15, 0) == 5);
        CHECK(store.prune(15, 0) == 0);
        CHECK(ids(store.page("#dev", 0, 100).events) == range(21, 30));
        CHECK(ids(store.page(directKey("a", "b"), 0, 100).events) == range(31, 40));
        store.append({directMessage(41, "b", "a", "one more")}, {});
        CHECK(store.prune(15, 0) == 1);
        CHECK(ids(store.page(directKey("a", "b"), 0, 100).events) == range(32, 41));
    }
    // Over the cap in a file written without one: found at opening.
    {
        HistoryOptions unlimited = options;
        unlimited.maxPerConversation = 0;
        SqliteHistoryStore store(unlimited);
        std::vector<StoredEvent> events;
        for (std::uint64_t id = 42; id <= 60; ++id) {
            events.push_back(roomMessage(id, "#dev", "alice", "m"));
        }
        store.append(events, {});
        CHECK(store.prune(100, 0) == 0);
    }
    SqliteHistoryStore store(options);
    CHECK(store.prune(100, 0) == 19);
    CHECK(ids(store.page("#dev", 0, 100).events) == range(51, 60));
    CHECK(store.load(1).lastId == 60);
}

TEST_CASE("history store: pruning the newest events never lowers the last id", "[history]") {
    TempDir dir;
    HistoryOptions options = at(dir.file("chat.db"));
    options.retentionDays = 1;
    {
        SqliteHistoryStore store(options);
        store.append({roomMessage(1, "#dev", "alice", "a", 0), roomMessage(2, "#dev", "alice", "b", 0)}, {});
        CHECK(store.prune(100, 1'800'000'000'000) == 2);
        CHECK(store.load(10).lastId == 2);
        CHECK(store.load(10).rooms.empty());
    }
    SqliteHistoryStore store(options);
    const HistorySnapshot snapshot = store.load(10);
    CHECK(snapshot.lastId == 2);
    CHECK(snapshot.rooms.empty());
}

TEST_CASE("history store: directConversationsOf finds a user's private conversations, and only theirs", "[history]") {
    TempDir dir;
    SqliteHistoryStore store(at(dir.file("chat.db")));
    store.append({directMessage(1, "alice", "bob", "a to b"), directMessage(2, "carol", "alice", "c to a"),
                  directMessage(3, "bob", "carol", "b to c"), directMessage(4, "al", "bob", "prefix of alice"),
                  roomMessage(5, "#dev", "alice", "in a room")},
                 {});
    auto found = store.directConversationsOf("alice");
    std::sort(found.begin(), found.end());
    CHECK(found == std::vector<std::string>{directKey("alice", "bob"), directKey("alice", "carol")});
    CHECK(store.directConversationsOf("al") == std::vector<std::string>{directKey("al", "bob")});
    CHECK(store.directConversationsOf("dave").empty());
}

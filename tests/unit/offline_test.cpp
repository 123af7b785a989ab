// Offline messages and private history (issue 14, points 5 and 7): the
// store's mailbox, identities and migration, then what the hub does with
// them (docs/protocol.md, "Offline messages", "Privacy of private messages").

#include "client/client_session.hpp"
#include "server/account_store.hpp"
#include "server/authenticator.hpp"
#include "server/history_store.hpp"
#include "server/hub.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"
#include "support/fake_participant.hpp"
#include "support/memory_history.hpp"
#include "support/temp_dir.hpp"
#include "unit/history_fixtures.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

using namespace chat;
using chat::test::directMessage;
using chat::test::FakeParticipant;
using chat::test::MemoryHistory;
using chat::test::roomMessage;
using chat::test::TempDir;

namespace {

std::vector<std::uint64_t> idsOf(const std::vector<StoredEvent>& events) {
    std::vector<std::uint64_t> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
}

StoredEvent dm(std::uint64_t id, const std::string& from, const std::string& to, const std::string& text,
               const std::string& fromId, const std::string& toId, const std::string& mailbox = {}) {
    auto e = directMessage(id, from, to, text);
    e.fromIdentity = fromId;
    e.toIdentity = toId;
    e.mailbox = mailbox;
    return e;
}

void runSql(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    INFO((error ? error : ""));
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("offline store: a mailbox keeps its DMs across a reopen until marked delivered", "[offline]") {
    TempDir dir;
    const auto path = dir.file("chat.db");
    {
        SqliteHistoryStore store(HistoryOptions{path, 0, 0});
        store.append({dm(1, "alice", "bob", "one", "a:alice", "a:bob", "bob"),
                      dm(2, "alice", "bob", "two", "a:alice", "a:bob", "bob"),
                      dm(3, "alice", "carol", "live", "a:alice", "g:x")},
                     {});
    }
    SqliteHistoryStore store(HistoryOptions{path, 0, 0});
    CHECK(store.load(10).mailboxCounts == std::map<std::string, std::size_t>{{"bob", 2}});
    const auto waiting = store.mailbox("bob");
    CHECK(idsOf(waiting) == std::vector<std::uint64_t>{1, 2});
    CHECK(waiting[0].payload == directMessage(1, "alice", "bob", "one").payload);
    CHECK(store.mailbox("carol").empty());
    store.append({}, {}, {MailboxClear{"bob", 1}});
    CHECK(idsOf(store.mailbox("bob")) == std::vector<std::uint64_t>{2});
    store.append({}, {}, {MailboxClear{"bob", 2}});
    CHECK(store.mailbox("bob").empty());
    CHECK(store.load(10).mailboxCounts.empty());
    // Delivered from the mailbox, still in the history of both.
    const std::vector<std::string> bob{"a:bob"};
    CHECK(idsOf(store.page(directKey("alice", "bob"), 0, 10, &bob).events) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("offline store: history and search show a DM only to a reader holding one of its identities",
          "[offline]") {
    SqliteHistoryStore store(HistoryOptions{":memory:", 0, 0});
    store.append({dm(1, "carol", "bob", "guest secret", "g:first", "a:bob"), roomMessage(2, "#dev", "carol", "room secret"),
                  dm(3, "carol", "bob", "later secret", "g:second", "a:bob")},
                 {});
    const auto conversation = directKey("carol", "bob");
    const std::vector<std::string> bob{"a:bob"}, firstCarol{"g:first"}, laterCarol{"g:second"}, nobody{};
    CHECK(idsOf(store.page(conversation, 0, 10, &bob).events) == std::vector<std::uint64_t>{1, 3});
    CHECK(idsOf(store.page(conversation, 0, 10, &firstCarol).events) == std::vector<std::uint64_t>{1});
    CHECK(idsOf(store.page(conversation, 0, 10, &laterCarol).events) == std::vector<std::uint64_t>{3});
    CHECK(store.page(conversation, 0, 10, &nobody).events.empty());
    CHECK(idsOf(store.page("#dev", 0, 10, &nobody).events) == std::vector<std::uint64_t>{2});  // rooms: unfiltered

    const std::vector<std::string> both{conversation, "#dev"};
    CHECK(idsOf(store.search(both, "secret", 10, &laterCarol).events) == std::vector<std::uint64_t>{3, 2});
    CHECK(idsOf(store.search(both, "secret", 10, &bob).events) == std::vector<std::uint64_t>{3, 2, 1});
    CHECK(idsOf(store.search(both, "secret", 10, &nobody).events) == std::vector<std::uint64_t>{2});
}

TEST_CASE("offline store: the upgrade gives old DMs the accounts of registered sides and keeps accounts' marks only",
          "[offline]") {
    TempDir dir;
    const auto path = dir.file("old.db");
    const auto hasMailbox = [&] {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        const bool found = sqlite3_exec(db, "SELECT count(*) FROM mailbox", nullptr, nullptr, nullptr) == SQLITE_OK;
        sqlite3_close(db);
        return found;
    };
    {
        StoreTestOptions old;
        old.schemaVersion = history_schema::kOfflineVersion - 1;  // the version before this feature's step
        SqliteHistoryStore store(HistoryOptions{path, 0, 0}, old);
        store.append({directMessage(1, "Alice", "bob", "before"), directMessage(2, "carol", "dave", "guests")},
                     {MarkUpdate{"alice", "#dev", ReadMark{1, 1, 1}}, MarkUpdate{"carol", "#dev", ReadMark{1, 1, 1}}});
    }
    REQUIRE_FALSE(hasMailbox());  // kOfflineVersion names this feature's step
    // Only the accounts table is touched here, as an older chat's accounts would be.
    runSql(path, "INSERT INTO accounts(key, name, hash, created) VALUES ('alice', 'Alice', 'x', 0)");
    SqliteHistoryStore store(HistoryOptions{path, 0, 0});
    REQUIRE(hasMailbox());
    const std::vector<std::string> alice{"a:alice"}, bob{"a:bob"}, carol{"a:carol"};
    CHECK(idsOf(store.page(directKey("alice", "bob"), 0, 10, &alice).events) == std::vector<std::uint64_t>{1});
    CHECK(store.page(directKey("alice", "bob"), 0, 10, &bob).events.empty());  // bob was never registered
    CHECK(store.page(directKey("carol", "dave"), 0, 10, &carol).events.empty());
    const auto snapshot = store.load(10);
    CHECK(snapshot.readMarks.count("alice") == 1);
    CHECK(snapshot.readMarks.count("carol") == 0);
}

namespace {

/// A hub with accounts (alice and bob registered) and a MemoryHistory.
struct OfflineFixture {
    OfflineFixture() : auth(accounts, AuthOptions{false, false}) {
        REQUIRE(auth.registerName("alice", "correct horse"));
        REQUIRE(auth.registerName("bob", "correct horse"));
        start();
    }
    /// (Re)starts the hub on the same history and accounts: a server restart.
    void start(std::size_t maxOffline = 1000) {
        HubConfig c;
        c.auth = &auth;
        c.ratePerSecond = 1000;
        c.rateBurst = 1000;
        c.maxOfflinePerAccount = maxOffline;
        hub.reset();
        hub = std::make_unique<Hub>(c, nullptr, &history);
    }
    std::shared_ptr<FakeParticipant> login(const std::string& name, bool announce = true) {
        auto p = std::make_shared<FakeParticipant>();
        REQUIRE_FALSE(hub->attach(p));
        std::string display;
        JoinAuth a;
        a.authenticated = auth.isRegistered(name);
        const auto joined = hub->join(p, name, announce, display,
                                      [](const JoinedState&) { return makeEvent(makeMessage("welcome")); }, a);
        REQUIRE(joined);
        hub->deliverOffline(p);  // as the conversation does after every hello
        return p;
    }
    std::vector<std::string> types(FakeParticipant& p) {
        std::vector<std::string> out;
        for (auto& m : p.messages()) out.push_back(*stringField(m, "type"));
        return out;
    }
    std::vector<std::string> texts(const Poco::JSON::Object::Ptr& offline) {
        std::vector<std::string> out;
        auto list = offline->getArray("events");
        for (std::size_t i = 0; i < list->size(); ++i) out.push_back(list->getObject(i)->getValue<std::string>("text"));
        return out;
    }

    PasswordHasher hasher{HashCost::minimum()};
    AccountStore accounts{":memory:", hasher};
    Authenticator auth;
    MemoryHistory history;
    std::unique_ptr<Hub> hub;
};

}  // namespace

TEST_CASE_METHOD(OfflineFixture, "hub offline: a DM to an offline account is kept and handed over once, after welcome",
                 "[offline]") {
    auto alice = login("alice");
    std::vector<std::uint64_t> sent;
    for (const char* text : {"one", "two", "three"}) {
        const auto result = hub->sendDirect(alice, "bob", text);
        REQUIRE(result);
        CHECK(result.offline);
        CHECK(result.ticket != 0);  // the ok waits for the store
        sent.push_back(result.messageId);
    }
    CHECK(alice->ofType("message").size() == 3);  // the sender's copy, as for any DM

    auto bob = login("bob");
    const auto seen = types(*bob);
    REQUIRE(seen.size() >= 3);
    CHECK(seen.front() == "welcome");
    CHECK(seen.back() == "offline");
    const auto offline = bob->ofType("offline");
    REQUIRE(offline.size() == 1);
    CHECK(offline[0]->getValue<std::uint64_t>("total") == 3);
    CHECK(offline[0]->getValue<std::uint64_t>("remaining") == 0);
    CHECK(texts(offline[0]) == std::vector<std::string>{"one", "two", "three"});
    const auto first = offline[0]->getArray("events")->getObject(0);
    CHECK(first->getValue<std::uint64_t>("msg_id") == sent[0]);
    CHECK(first->getValue<std::string>("from") == "alice");
    CHECK(first->getValue<std::int64_t>("ts") == alice->ofType("message")[0]->getValue<std::int64_t>("ts"));

    SECTION("not again at the next login, nor on a further session, nor after a restart") {
        auto second = login("bob");
        CHECK(second->ofType("offline").empty());
        hub->detach(bob, "quit");
        hub->detach(second, "quit");
        hub->detach(alice, "quit");
        start();
        CHECK(login("bob")->ofType("offline").empty());
    }
    SECTION("online now: DMs go live, not to the mailbox") {
        const auto live = hub->sendDirect(alice, "bob", "live");
        REQUIRE(live);
        CHECK_FALSE(live.offline);
        CHECK(history.mailbox("bob").empty());
    }
}

TEST_CASE_METHOD(OfflineFixture, "hub offline: the mailbox survives a restart of the hub", "[offline]") {
    auto alice = login("alice");
    REQUIRE(hub->sendDirect(alice, "BOB", "kept").offline);
    hub->detach(alice, "quit");
    start();
    auto bob = login("bob");
    const auto offline = bob->ofType("offline");
    REQUIRE(offline.size() == 1);
    CHECK(texts(offline[0]) == std::vector<std::string>{"kept"});
}

TEST_CASE_METHOD(OfflineFixture, "hub offline: unregistered or guest names offline stay no_such_user; a full mailbox "
                                 "is mailbox_full", "[offline]") {
    auto alice = login("alice");
    CHECK(hub->sendDirect(alice, "nobody", "x").error == ErrorCode::NoSuchUser);
    auto carol = login("carol");  // a guest
    hub->detach(carol, "quit");
    CHECK(hub->sendDirect(alice, "carol", "x").error == ErrorCode::NoSuchUser);
    // A transient session of bob does not count as online: the mailbox keeps it.
    auto script = login("bob", false);
    CHECK(hub->sendDirect(alice, "bob", "for later").offline);
    CHECK(script->ofType("offline").empty());

    start(2);
    alice = login("alice");
    CHECK(hub->sendDirect(alice, "bob", "second").offline);
    CHECK(hub->sendDirect(alice, "bob", "third").error == ErrorCode::MailboxFull);
    auto bob = login("bob");
    REQUIRE(bob->ofType("offline").size() == 1);
    hub->detach(bob, "quit");
    CHECK(hub->sendDirect(alice, "bob", "room again").offline);  // delivered ones free the space
}

TEST_CASE_METHOD(OfflineFixture, "hub offline: a later guest of a name reads none of the earlier guest's DMs",
                 "[offline]") {
    auto bob = login("bob");
    auto carol = login("carol");
    REQUIRE(hub->sendDirect(carol, "bob", "carol's secret"));
    REQUIRE(hub->sendDirect(bob, "carol", "bob's answer"));
    HistoryAnswer mine;
    REQUIRE(hub->history(carol, std::nullopt, std::string("bob"), 0, 50, mine));
    CHECK(mine.events.size() == 2);  // her own, while she is the same guest
    hub->detach(carol, "quit");

    auto impostor = login("carol");  // a new guest, free name
    HistoryAnswer none;
    REQUIRE(hub->history(impostor, std::nullopt, std::string("bob"), 0, 50, none));
    CHECK(none.events.empty());
    HistoryAnswer found;
    REQUIRE(hub->search(impostor, std::nullopt, "secret", 20, found));
    CHECK(found.events.empty());

    HistoryAnswer bobs;
    REQUIRE(hub->history(bob, std::nullopt, std::string("carol"), 0, 50, bobs));
    CHECK(bobs.events.size() == 2);  // the account still reads its side
    REQUIRE(hub->search(bob, std::nullopt, "secret", 20, found));
    CHECK(found.events.size() == 1);
}

TEST_CASE_METHOD(OfflineFixture, "hub offline: unread counts are kept for accounts, not for guests", "[offline]") {
    auto talker = login("dave");
    auto alice = login("alice");
    auto carol = login("carol");
    hub->detach(alice, "quit");
    hub->detach(carol, "quit");
    const auto missed = hub->sendToRoom(talker, "#lobby", "while you were out");
    REQUIRE(missed);
    start();  // the marks come back from the store only
    talker = login("dave");
    auto aliceAgain = login("alice");
    auto lobby = aliceAgain->ofType("backlog").at(0);
    CHECK(lobby->getValue<std::int64_t>("unread") == 1);
    CHECK(lobby->getValue<std::uint64_t>("first_unread") == missed.messageId);
    auto carolAgain = login("carol");
    CHECK_FALSE(carolAgain->ofType("backlog").at(0)->has("unread"));
    for (const auto& [user, marks] : history.load(10).readMarks) CHECK(user != "carol");
}

TEST_CASE("offline: mailbox_full is a protocol error code with its name", "[offline]") {
    CHECK(errorCodeName(ErrorCode::MailboxFull) == "mailbox_full");
    CHECK(errorCodeFromName("mailbox_full") == ErrorCode::MailboxFull);
}

namespace {
struct Lines final : ClientOutput {
    std::vector<std::string> lines, errors, messages;
    int bells = 0;
    void line(const std::string& text) override { lines.push_back(text); }
    void error(const std::string& text) override { errors.push_back(text); }
    void message(const Poco::JSON::Object::Ptr& m) override { messages.push_back(toJson(m)); }
    void bell() override { ++bells; }
};

std::string offlineEvent(int total, int remaining, const std::vector<std::string>& texts) {
    std::string events;
    int id = 10;
    for (const auto& text : texts)
        events += (events.empty() ? "" : ",") + std::string(R"({"type":"message","msg_id":)") + std::to_string(++id) +
                  R"(,"ts":)" + std::to_string(nowMillis()) + R"(,"from":"carol","to":"@alice","text":")" + text +
                  R"("})";
    return R"({"type":"offline","total":)" + std::to_string(total) + R"(,"remaining":)" + std::to_string(remaining) +
           R"(,"events":[)" + events + "]}";
}
}  // namespace

TEST_CASE("client: offline messages are announced once, \"N messages while you were away\", then shown as history",
          "[offline]") {
    Welcome w;
    w.user = "alice";
    w.room = "#lobby";
    w.rooms = {"#lobby"};
    Lines out;
    RenderOptions options;
    options.timestamps = Timestamps::Short;
    options.terminal = true;
    ClientSession session{w, [](const Poco::JSON::Object::Ptr&) {}, out, options};
    session.handleMessage(parseMessage(offlineEvent(3, 1, {"call me", "alice: lunch?"})).message);
    session.handleMessage(parseMessage(offlineEvent(3, 0, {"never mind"})).message);
    INFO(Catch::Detail::stringify(out.lines));
    REQUIRE(out.lines.size() == 4);
    CHECK(out.lines[0] == "-- 3 messages while you were away --");
    CHECK(out.lines[1].find("[DM from carol] call me") != std::string::npos);
    CHECK(out.lines[2].find("[DM from carol] alice: lunch?") != std::string::npos);
    CHECK(out.lines[3].find("[DM from carol] never mind") != std::string::npos);  // the second part: no second header
    CHECK(out.bells == 0);  // history, not news, even with a mention
    CHECK(out.messages.size() == 2);  // passed on unchanged (--json)
}

TEST_CASE_METHOD(OfflineFixture, "hub offline: an account's DM receipt is kept across a restart and sent after welcome",
                 "[offline]") {
    auto alice = login("alice");
    auto bob = login("bob");
    const auto sent = hub->sendDirect(alice, "bob", "lunch?");
    REQUIRE(sent);
    REQUIRE(hub->markRead(bob, "@alice", static_cast<std::int64_t>(sent.messageId)));
    hub->flushHistory();
    start();
    auto again = login("alice");
    std::size_t reads = 0;
    for (auto& m : again->messages())
        if (stringField(m, "type") == std::optional<std::string>("read")) {
            ++reads;
            CHECK(stringField(m, "from") == std::optional<std::string>("bob"));
            CHECK(intField(m, "msg_id") == static_cast<std::int64_t>(sent.messageId));
        }
    CHECK(reads == 1);
}

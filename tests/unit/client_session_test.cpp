// ClientSession without sockets: what it sends for typed lines and how it
// restores its rooms after a reconnection.

#include "client/client_session.hpp"
#include "client/input_parser.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

namespace {
using Kind = chat::InputCommand::Kind;

struct Recorder final : chat::ClientOutput {
    std::vector<std::string> lines, errors, messages;
    int bells = 0;
    void line(const std::string& text) override { lines.push_back(text); }
    void error(const std::string& text) override { errors.push_back(text); }
    void message(const Poco::JSON::Object::Ptr& m) override { messages.push_back(chat::toJson(m)); }
    void bell() override { ++bells; }
};

Poco::JSON::Object::Ptr parse(const std::string& json) { return chat::parseMessage(json).message; }

std::string field(const Poco::JSON::Object::Ptr& m, const std::string& key) {
    return chat::stringField(m, key).value_or("");
}

chat::Welcome welcome(std::vector<std::string> rooms = {"#lobby"}) {
    chat::Welcome w;
    w.user = "alice";
    w.room = "#lobby";
    w.rooms = std::move(rooms);
    w.online = {"alice", "bob"};
    return w;
}

struct Fixture {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    chat::ClientSession session{welcome(), [this](const Poco::JSON::Object::Ptr& m) { sent.push_back(m); }, out, {}};

    /// Answers the last request sent with `fields` added to an ok.
    void answerOk(const std::string& fields = "") {
        REQUIRE_FALSE(sent.empty());
        const auto id = chat::intField(sent.back(), "id");
        REQUIRE(id);
        session.handleMessage(
            parse(R"({"type":"ok","id":)" + std::to_string(*id) + (fields.empty() ? "" : "," + fields) + "}"));
    }
};
}  // namespace

TEST_CASE("/bell and /timestamps are parsed, checked and answered without the server") {
    CHECK(chat::parseInput("/bell").kind == Kind::Bell);
    CHECK(chat::parseInput("/bell all").text == "all");
    CHECK(chat::parseInput("/timestamps long").kind == Kind::Timestamps);
    CHECK(chat::parseInput("/bell loud").kind == Kind::Invalid);
    CHECK(chat::parseInput("/timestamps 24h").kind == Kind::Invalid);
    CHECK_THAT(chat::inputHelp(), Catch::Contains("/bell") && Catch::Contains("/timestamps"));

    Fixture f;
    f.session.handleLine("/bell");
    f.session.handleLine("/bell all");
    f.session.handleLine("/timestamps long");
    CHECK(f.sent.empty());
    CHECK(f.out.lines == std::vector<std::string>{"* bell: mention (/bell off, mention or all)", "* bell set to all",
                                                  "* timestamps set to long"});
    CHECK(f.session.renderOptions().bell == chat::Bell::All);
    CHECK(f.session.renderOptions().timestamps == chat::Timestamps::Long);
}

TEST_CASE("a mention rings the bell once, with its line") {
    Fixture f;
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"hi alice"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"hi all"})"));
    CHECK(f.out.lines.size() == 2);
    CHECK(f.out.bells == 1);
}

TEST_CASE("the session knows the users and rooms it has seen, for completion") {
    Fixture f;
    CHECK(f.session.knownUsers() == std::vector<std::string>{"bob"});  // never ourselves
    f.session.handleMessage(parse(R"({"type":"joined","user":"carol","room":"#dev"})"));
    f.session.handleMessage(parse(R"({"type":"nick","old":"bob","new":"robert"})"));
    f.session.handleMessage(parse(R"({"type":"left","user":"carol","room":"#dev","reason":"quit"})"));
    f.session.handleMessage(parse(R"({"type":"joined","user":"dave","room":"#lobby"})"));
    CHECK(f.session.knownUsers() == std::vector<std::string>{"dave", "robert"});
    CHECK(f.session.knownRooms() == std::vector<std::string>{"#dev", "#lobby"});
    f.session.handleLine("/rooms");
    f.answerOk(R"("rooms":[{"room":"#ops","members":1,"topic":""}])");
    CHECK(f.session.knownRooms() == std::vector<std::string>{"#dev", "#lobby", "#ops"});
}

TEST_CASE("while disconnected, lines for the server are refused and local commands still work") {
    Fixture f;
    f.session.handleLine("first");
    f.session.handleLine("second");
    f.answerOk();  // only the second is answered
    f.session.connectionLost();
    CHECK_FALSE(f.session.connected());
    CHECK(f.out.errors == std::vector<std::string>{"1 message may not have been delivered"});
    CHECK_FALSE(f.session.awaitingAnswers());
    const auto before = f.sent.size();
    f.session.handleLine("hello?");
    f.session.handleLine("/who");
    CHECK(f.sent.size() == before);
    CHECK(f.out.errors.size() == 3);
    CHECK_THAT(f.out.errors.back(), Catch::Contains("not connected"));
    f.session.handleLine("/bell off");
    CHECK(f.session.renderOptions().bell == chat::Bell::Off);
    CHECK(f.session.handleLine("/quit") == false);
}

TEST_CASE("after reconnecting, the session rejoins its rooms, leaves the rest and restores the current room") {
    Fixture f;
    f.session.handleLine("/join #dev");
    f.answerOk(R"("room":"#dev","topic":"","members":["alice"])");
    f.session.handleLine("/join #ops");
    f.answerOk(R"("room":"#ops","topic":"","members":["alice"])");
    f.session.handleLine("/leave #lobby");
    f.answerOk(R"("left":"#lobby","room":"#dev")");
    f.session.handleLine("/join #dev");  // make #dev current again
    f.answerOk(R"("room":"#dev","topic":"","members":["alice"])");
    REQUIRE(f.session.currentRoom() == "#dev");
    REQUIRE(f.session.rooms() == std::set<std::string>{"#dev", "#ops"});

    f.session.connectionLost();
    f.sent.clear();
    f.out.lines.clear();
    f.session.reconnected(welcome());  // the server puts us in #lobby only
    CHECK(f.session.connected());
    REQUIRE(f.sent.size() == 2);
    CHECK(field(f.sent[0], "type") == "join");
    CHECK(field(f.sent[0], "room") == "#dev");
    CHECK(field(f.sent[1], "room") == "#ops");
    // Answers in any order; then #lobby, which we had left, is left again.
    const auto firstId = *chat::intField(f.sent[0], "id");
    f.answerOk(R"("room":"#ops","topic":"","members":["alice","bob"])");
    f.session.handleMessage(parse(R"({"type":"ok","id":)" + std::to_string(firstId) +
                                  R"(,"room":"#dev","topic":"","members":["alice"]})"));
    REQUIRE(f.sent.size() == 3);
    CHECK(field(f.sent[2], "type") == "leave");
    CHECK(field(f.sent[2], "room") == "#lobby");
    CHECK(f.out.lines.empty());  // quiet until everything is back
    f.answerOk(R"("left":"#lobby","room":"#dev")");
    CHECK(f.session.rooms() == std::set<std::string>{"#dev", "#ops"});
    CHECK(f.session.currentRoom() == "#dev");
    CHECK(f.out.lines == std::vector<std::string>{"* reconnected after 0 s as alice: in #dev, #ops; current room #dev"});
    CHECK(f.out.errors.empty());
    CHECK_FALSE(f.session.awaitingAnswers());
}

TEST_CASE("a room that cannot be rejoined is reported, and the current room falls back") {
    Fixture f;
    f.session.handleLine("/join #gone");
    f.answerOk(R"("room":"#gone","topic":"","members":["alice"])");
    f.session.connectionLost();
    f.sent.clear();
    f.session.reconnected(welcome());
    REQUIRE(f.sent.size() == 1);
    f.session.handleMessage(parse(R"({"type":"error","id":)" + std::to_string(*chat::intField(f.sent[0], "id")) +
                                  R"(,"code":"too_many_rooms","message":"no more rooms"})"));
    CHECK(f.out.errors == std::vector<std::string>{"could not rejoin #gone: no more rooms"});
    CHECK(f.session.currentRoom() == "#lobby");
    CHECK_THAT(f.out.lines.back(), Catch::StartsWith("* reconnected after 0 s as alice: in #lobby"));
}

TEST_CASE("JSON requests: an id is added when missing, and a request's own id comes back in its answer") {
    Fixture f;
    f.session.sendRequest(parse(R"({"type":"who"})"));
    REQUIRE(f.sent.size() == 1);
    REQUIRE(chat::intField(f.sent[0], "id"));
    f.answerOk(R"("users":["alice"])");
    CHECK(f.out.messages.back() == R"({"id":)" + std::to_string(*chat::intField(f.sent[0], "id")) +
                                       R"(,"type":"ok","users":["alice"]})");

    f.session.sendRequest(parse(R"({"type":"join","room":"#bots","id":"my-join"})"));
    f.answerOk(R"("room":"#bots","topic":"","members":["alice"])");
    CHECK_THAT(f.out.messages.back(), Catch::Contains(R"("id":"my-join")"));
    CHECK(f.session.currentRoom() == "#bots");  // a JSON join moves the current room too
    f.session.say("/not a command");
    CHECK(field(f.sent.back(), "to") == "#bots");
    CHECK(field(f.sent.back(), "text") == "/not a command");
    CHECK(f.session.awaitingAnswers());
}

TEST_CASE("messages beyond the announced burst wait for answers and go in order - a refused one goes first") {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    auto w = welcome();
    w.ratePerSecond = 1000;
    w.rateBurst = 2;
    chat::ClientSession session{w, [&](const Poco::JSON::Object::Ptr& m) { sent.push_back(m); }, out, {}};
    const auto answer = [&](std::size_t i, const std::string& rest) {
        session.handleMessage(
            parse(R"({"type":)" + rest + R"(,"id":)" + std::to_string(*chat::intField(sent.at(i), "id")) + "}"));
    };
    for (const auto* text : {"one", "two", "three", "four"}) session.handleLine(text);
    // Two on their way, which the server may process at any moment: waiting
    // alone would not do, only an answer makes room.
    REQUIRE(sent.size() == 2);
    CHECK_FALSE(session.nextRetry());

    // "two" is refused after all (say another session of ours took the
    // tokens): it is held, and goes before "three" and "four".
    answer(1, R"("error","code":"rate_limited","message":"slow down","retry_after_ms":1)");
    CHECK(out.errors.empty());
    answer(0, R"("ok","msg_id":1)");
    CHECK(sent.size() == 2);
    REQUIRE(session.nextRetry());
    session.retryDue(*session.nextRetry() + std::chrono::milliseconds(5));
    REQUIRE(sent.size() == 4);
    CHECK(field(sent[2], "text") == "two");
    CHECK(field(sent[3], "text") == "three");

    // "two" and "three" on their way: "four" waits for an answer.
    CHECK_FALSE(session.nextRetry());
    answer(2, R"("ok","msg_id":2)");
    REQUIRE(session.nextRetry());
    session.retryDue(*session.nextRetry());
    REQUIRE(sent.size() == 5);
    CHECK(field(sent[4], "text") == "four");
    CHECK(out.errors.empty());
}

TEST_CASE("a message that breaks the protocol throws ClientError(76), never anything else (issue 12, defect 10)") {
    for (const char* json : {
             R"({"type":"message","from":"bob","to":"#lobby","text":5})",
             R"({"type":"message","from":"bob","text":"no to"})",
             R"({"type":"joined","user":["bob"],"room":"#lobby"})",
             R"({"type":"left","user":"bob"})",
             R"({"type":"nick","old":"bob","new":null})",
             R"({"type":"topic","room":"#lobby","topic":7,"by":"bob"})",
             R"({"type":"message","from":"bob","to":"#lobby","text":"hi","action":"yes"})",
             R"({"type":"error","code":"x","message":["no"]})",
         }) {
        INFO(json);
        Fixture f;
        try {
            f.session.handleMessage(parse(json));
            FAIL("no exception");
        } catch (const chat::ClientError& e) {
            CHECK(e.exitCode() == 76);
            CHECK_THAT(e.what(), Catch::StartsWith("the server sent") && Catch::EndsWith("; disconnecting"));
        }
    }
    // Answers with members of the wrong type, the Poco exceptions of old.
    const std::vector<std::pair<std::string, std::string>> answers{
        {"/rooms", R"("rooms":[1])"}, {"/rooms", R"("rooms":"many")"}, {"/who", R"("users":[null])"},
        {"/who", R"("users":["bob"],"away":[1])"}, {"/join #dev", R"("room":"#dev","members":[{}])"},
        {"/whois bob", R"("user":"bob","rooms":[2])"}};
    for (const auto& [line, fields] : answers) {
        INFO(line << " answered with " << fields);
        Fixture f;
        f.session.handleLine(line);
        CHECK_THROWS_AS(f.answerOk(fields), chat::ClientError);
    }
}

TEST_CASE("server strings in answers are shown, never printed raw (issue 12, defect 2)") {
    Fixture f;
    f.session.handleLine("/topic");
    f.answerOk(R"("room":"#lobby","topic":"\u001b]0;title\u0007")");
    f.session.handleLine("/whois bob");
    f.answerOk(R"("user":"bob","rooms":["#lobby\u001b[2J"],"since":0,"idle_ms":0,"away":"\u009b1m")");
    f.session.handleMessage(parse(R"({"type":"error","code":"x\u001b","message":"bad\u001b[H"})"));
    for (const auto& line : f.out.lines) CHECK(line.find('\033') == std::string::npos);
    for (const auto& line : f.out.errors) CHECK(line.find('\033') == std::string::npos);
    CHECK_THAT(f.out.lines.at(0), Catch::Contains("^[]0;title^G"));
    CHECK_THAT(f.out.lines.at(1), Catch::Contains("#lobby^[[2J") && Catch::Contains("<U+009B>1m"));
    CHECK_THAT(f.out.errors.at(0), Catch::Contains("bad^[[H"));
}

TEST_CASE("a text longer than max_text goes as several messages, split between words (issue 12, defect 7)") {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    auto w = welcome();
    w.maxText = 4096;
    chat::ClientSession session{w, [&](const Poco::JSON::Object::Ptr& m) { sent.push_back(m); }, out, {}};
    std::string text;
    while (text.size() < 4200) text += "lorem ipsum ";
    text.pop_back();
    session.handleLine(text);
    REQUIRE(sent.size() == 2);
    const auto first = field(sent[0], "text"), second = field(sent[1], "text");
    CHECK(first.size() <= 4096);
    CHECK(first + " " + second == text);
    CHECK(field(sent[1], "to") == "#lobby");
    CHECK(out.errors.empty());
    // And it says so.
    REQUIRE(out.lines.size() == 1);
    CHECK(out.lines[0] == "* that line is longer than the server's 4096 bytes: sent as 2 messages, split between words");
}

TEST_CASE("the away notice and /leave name the user and room as the server spells them (issue 12, defect 11)") {
    Fixture f;
    f.session.handleMessage(parse(R"({"type":"joined","user":"Bob","room":"#lobby"})"));
    f.session.handleLine("@BOB are you there?");
    f.answerOk(R"("msg_id":1,"away":"lunch")");
    CHECK(f.out.lines.back() == "* Bob is away: lunch");
    f.session.handleLine("/join #Dev");
    f.answerOk(R"("room":"#Dev","topic":"","members":["alice"])");
    f.session.handleLine("/leave #DEV");
    f.answerOk(R"("left":"#DEV","room":"#lobby")");
    CHECK(f.out.lines.back() == "* you left #Dev; current room is #lobby");
}

TEST_CASE("/names without a room asks who is in the current room (issue 12, defect 11)") {
    Fixture f;
    f.session.handleLine("/names");
    REQUIRE(f.sent.size() == 1);
    CHECK(field(f.sent[0], "room") == "#lobby");
    f.answerOk(R"("users":["alice","bob"])");
    CHECK(f.out.lines.back() == "#lobby (2): alice, bob");
}

TEST_CASE("after a reconnection, joins of people already known in a room are not shown again (issue 12, defect 8)") {
    Fixture f;
    f.session.connectionLost();
    f.session.reconnected(welcome());
    f.out.lines.clear();
    f.session.handleMessage(parse(R"({"type":"joined","user":"bob","room":"#lobby"})"));  // bob was there
    CHECK(f.out.lines.empty());
    f.session.handleMessage(parse(R"({"type":"joined","user":"carol","room":"#lobby"})"));  // carol is new
    CHECK(f.out.lines == std::vector<std::string>{"* carol joined"});
}

TEST_CASE("our own messages never ring the bell - /bell off silences mentions and DMs (issue 12, defect 1)") {
    Fixture f;
    f.session.handleMessage(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hi alice"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"alice","to":"@bob","text":"psst"})"));
    CHECK(f.out.bells == 0);
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"@alice","text":"psst"})"));
    CHECK(f.out.bells == 1);
    f.session.handleLine("/bell off");
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"@alice","text":"psst"})"));
    CHECK(f.out.bells == 1);
}

TEST_CASE("/query makes plain lines private messages and shows in the prompt - /query alone goes back") {
    Fixture f;
    f.session.handleLine("/query @BOB");  // shown as the server spells the name
    CHECK(f.session.prompt() == "[@bob] alice> ");
    f.session.handleLine("hello you");
    f.session.handleLine("/me waves");
    REQUIRE(f.sent.size() == 2);
    CHECK(field(f.sent[0], "to") == "@bob");
    CHECK(field(f.sent[1], "to") == "@bob");
    CHECK(chat::boolField(f.sent[1], "action").value_or(false));
    f.session.handleLine("/q");
    CHECK(f.session.prompt() == "[#lobby] alice> ");
    f.session.handleLine("to the room");
    CHECK(field(f.sent.back(), "to") == "#lobby");
    // /join ends a query too.
    f.session.handleLine("/query bob");
    f.session.handleLine("/join #dev");
    f.answerOk(R"("room":"#dev","topic":"","members":["alice"])");
    CHECK(f.session.prompt() == "[#dev] alice> ");
}

TEST_CASE("unread traffic elsewhere shows in the prompt - /switch goes there first and shows what was missed") {
    Fixture f;
    f.session.handleLine("/join #dev");
    f.answerOk(R"("room":"#dev","topic":"","members":["alice","bob"])");
    f.out.lines.clear();
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"one"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"two"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"@alice","text":"psst"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#dev","text":"here"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"mine"})"));
    CHECK(f.session.prompt() == "[#dev] alice (#lobby 2, @bob 1)> ");
    // Lines from elsewhere are labelled as they arrive.
    CHECK(f.out.lines.at(0) == "[#lobby] bob: one");
    f.out.lines.clear();
    f.session.handleLine("/switch");
    CHECK(f.session.currentContext() == "#lobby");
    CHECK(f.session.prompt() == "[#lobby] alice (@bob 1)> ");
    CHECK(f.out.lines ==
          std::vector<std::string>{"* now in #lobby; 2 unread:", "bob: one", "bob: two", "alice: mine"});
    f.out.lines.clear();
    f.session.handleLine("/sw");
    CHECK(f.session.currentContext() == "@bob");
    CHECK(f.session.prompt() == "[@bob] alice> ");
    CHECK(f.out.lines.size() == 2);
    CHECK(f.out.lines.back() == "[DM from bob] psst");
    // Nothing unread: in turn through rooms and queries.
    f.session.handleLine("/switch");
    CHECK(f.session.currentContext() == "#dev");
    f.session.handleLine("/switch");
    CHECK(f.session.currentContext() == "#lobby");
    f.session.handleLine("/switch 3");  // #dev, #lobby, then the query @bob
    CHECK(f.session.currentContext() == "@bob");
    f.session.handleLine("/switch 1");
    CHECK(f.session.currentContext() == "#dev");
    f.session.handleLine("/switch 4");
    CHECK_THAT(f.out.errors.back(), Catch::Contains("1 #dev, 2 #lobby, 3 @bob"));
    f.session.handleLine("/switch #nowhere");
    CHECK_THAT(f.out.errors.back(), Catch::Contains("not in #nowhere"));
    CHECK(f.sent.size() == 1);  // only the join: switching is local
}

TEST_CASE("/switch - (Ctrl-P) goes to the room or query before this one, round the end") {
    Fixture f;
    f.session.handleLine("/join #dev");
    f.answerOk(R"("room":"#dev","topic":"","members":["alice"])");
    f.session.handleLine("/query bob");  // #dev, #lobby, then @bob
    REQUIRE(f.session.currentContext() == "@bob");
    f.session.handleLine("/switch -");
    CHECK(f.session.currentContext() == "#lobby");
    f.session.handleLine("/switch -");
    CHECK(f.session.currentContext() == "#dev");
    f.session.handleLine("/switch -");
    CHECK(f.session.currentContext() == "@bob");
    CHECK(chat::parseInput("/switch -").text == "previous");
    CHECK(f.sent.size() == 1);  // only the join: switching is local
}

TEST_CASE("/ignore hides a user's messages and DMs, lists them, and /unignore shows them again") {
    Fixture f;
    f.session.handleLine("/ignore");
    CHECK_THAT(f.out.lines.back(), Catch::Contains("nobody is ignored"));
    f.session.handleLine("/ignore BOB");
    f.out.lines.clear();
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"hi alice"})"));
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"@alice","text":"psst"})"));
    CHECK(f.out.lines.empty());
    CHECK(f.out.bells == 0);
    CHECK(f.session.prompt() == "[#lobby] alice> ");
    f.session.handleMessage(parse(R"({"type":"joined","user":"carol","room":"#lobby"})"));
    f.session.handleLine("/ignore");
    CHECK(f.out.lines.back() == "* ignored: bob");
    f.session.handleLine("/unignore bob");
    f.session.handleMessage(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"back"})"));
    CHECK(f.out.lines.back() == "bob: back");
    CHECK(f.sent.empty());
}

TEST_CASE("each room keeps its last 200 messages for /switch - the unread count is exact") {
    Fixture f;
    f.session.handleLine("/join #dev");
    f.answerOk(R"("room":"#dev","topic":"","members":["alice","bob"])");
    for (int i = 1; i <= 250; ++i)
        f.session.handleMessage(
            parse(R"({"type":"message","from":"bob","to":"#lobby","text":"n)" + std::to_string(i) + R"("})"));
    CHECK(f.session.prompt() == "[#dev] alice (#lobby 250)> ");
    f.out.lines.clear();
    f.session.handleLine("/switch #lobby");
    REQUIRE(f.out.lines.size() == 1 + chat::ClientSession::kScrollback);
    CHECK(f.out.lines.front() == "* now in #lobby; 250 unread:");
    CHECK(f.out.lines[1] == "bob: n51");
    CHECK(f.out.lines.back() == "bob: n250");
    CHECK(f.session.prompt() == "[#lobby] alice> ");
}

namespace {
/// A backlog event for #lobby with three messages (ids 41-43), the first from yesterday.
std::string backlog(const std::string& extra = "") {
    const auto now = chat::nowMillis();
    const auto yesterday = std::to_string(now - 36 * 3600 * 1000);  // a day and a half ago: always another day
    const auto today = std::to_string(now);
    return R"({"type":"backlog","room":"#lobby","topic":"deploys on Fridays","events":[)"
           R"({"type":"message","msg_id":41,"ts":)" + yesterday + R"(,"from":"bob","to":"#lobby","text":"deploy at 5pm"},)"
           R"({"type":"message","msg_id":42,"ts":)" + today + R"(,"from":"carol","to":"#lobby","text":"alice: deployed"},)"
           R"({"type":"message","msg_id":43,"ts":)" + today + R"(,"from":"bob","to":"#lobby","text":"thanks"}])" + extra + "}";
}

int indexOf(const std::vector<std::string>& lines, const std::string& needle) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i);
    return -1;
}

chat::RenderOptions noColour() {
    chat::RenderOptions options;
    options.timestamps = chat::Timestamps::Short;
    options.terminal = true;
    return options;
}
}  // namespace

TEST_CASE("a backlog is shown as history: framed, dated, marked - no bell, no unread count") {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    chat::ClientSession session{welcome({"#lobby", "#dev"}), [&](const auto& m) { sent.push_back(m); }, out, noColour()};
    session.handleMessage(parse(backlog(R"(,"more":true,"unread":2,"unread_since":)" +
                                        std::to_string(chat::nowMillis() - 36 * 3600 * 1000) + R"(,"first_unread":42)")));
    INFO(Catch::Detail::stringify(out.lines));
    REQUIRE(out.lines.size() == 7);
    CHECK(out.lines[0] == "-- #lobby: topic: deploys on Fridays --");
    CHECK(out.lines[1] == "-- older messages: /history #lobby --");
    CHECK(out.lines[2].rfind("-- 2 unread in #lobby since 20", 0) == 0);  // with the date: not today
    CHECK(out.lines[3].find(" bob: deploy at 5pm") == 3 + 16);  // "· YYYY-MM-DD HH:MM": dated
    CHECK(out.lines[4] == "-- new --");  // right before the first unread, 42
    CHECK(out.lines[5].find(" carol: alice: deployed") == 3 + 5);  // "· HH:MM": today, no date; a mention, not news
    CHECK(out.lines[6].find("bob: thanks") != std::string::npos);
    CHECK(out.bells == 0);
    CHECK(session.prompt() == "[#lobby] alice> ");
    CHECK(sent.empty());
    // Passed on unchanged (--json).
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].find(R"("type":"backlog")") != std::string::npos);
}

TEST_CASE("a backlog draws no marker without unread messages, or when the first unread is not among its events") {
    for (const auto& extra : {std::string(), std::string(R"(,"unread":0,"unread_since":1)"),
                              std::string(R"(,"unread":5,"unread_since":1,"first_unread":7)")}) {
        Fixture f;
        f.session.handleMessage(parse(backlog(extra)));
        INFO(extra << "\n" << Catch::Detail::stringify(f.out.lines));
        CHECK(indexOf(f.out.lines, "-- new --") == -1);
        CHECK(indexOf(f.out.lines, "older messages") == -1);
        CHECK((indexOf(f.out.lines, "-- 5 unread in #lobby since ") == 1) == (extra.find("\"unread\":5") != std::string::npos));
        CHECK(f.out.lines.size() == (extra.find("\"unread\":5") != std::string::npos ? 5u : 4u));
        CHECK(f.out.lines[0] == "-- #lobby: topic: deploys on Fridays --");
    }
    // A room without a past says nothing.
    Fixture f;
    f.session.handleMessage(parse(R"({"type":"backlog","room":"#dev","topic":"","events":[],"more":false})"));
    CHECK(f.out.lines.empty());
}

TEST_CASE("backlog lines are dimmed with colours, never with a dot, and hostile strings in them are shown") {
    Recorder out;
    auto options = noColour();
    options.color = true;
    chat::ClientSession session{welcome(), [](const auto&) {}, out, options};
    session.handleMessage(parse(
        R"({"type":"backlog","room":"#lobby","topic":"t\u001b[2J","events":[{"type":"message","msg_id":5,"ts":1,)"
        R"("from":"bob","to":"#lobby","text":"\u001b]0;pwned\u0007 \u202eevil"}],"unread":1,"first_unread":5})"));
    INFO(Catch::Detail::stringify(out.lines));
    REQUIRE(out.lines.size() == 4);
    CHECK(out.lines[0] == std::string(chat::style::kNotice) + "-- #lobby: topic: t^[[2J --" + chat::style::kReset);
    CHECK(out.lines[2] == std::string(chat::style::kMarker) + "-- new --" + chat::style::kReset);
    CHECK(out.lines[3].rfind(chat::style::kNotice, 0) == 0);
    CHECK(out.lines[3].find("bob: ^[]0;pwned^G <U+202E>evil") != std::string::npos);
    CHECK(out.lines[3].find("\xc2\xb7") == std::string::npos);
}

TEST_CASE("a backlog with members of the wrong type breaks the protocol") {
    for (const auto& bad : {R"({"type":"backlog","room":"#lobby","events":{"a":1}})",
                            R"({"type":"backlog","room":"#lobby","events":[5]})",
                            R"({"type":"backlog","room":"#lobby","events":[{"type":"message","from":"bob","to":"#lobby","text":7}]})",
                            R"({"type":"backlog","room":"#lobby","events":[],"unread":"2"})",
                            R"({"type":"backlog","room":"#lobby","events":[],"more":1})",
                            R"({"type":"backlog","events":[]})"}) {
        Fixture f;
        INFO(bad);
        CHECK_THROWS_AS(f.session.handleMessage(parse(bad)), chat::ClientError);
    }
}

TEST_CASE("/history asks for the current room or the one named, and pages back from the smallest id shown") {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    chat::ClientSession session{welcome(), [&](const auto& m) { sent.push_back(m); }, out, noColour()};
    auto answer = [&](const std::string& fields) {
        session.handleMessage(parse(R"({"type":"ok","id":)" + std::to_string(*chat::intField(sent.back(), "id")) + "," +
                                    fields + "}"));
    };
    // Without a backlog: the newest events.
    session.handleLine("/history");
    REQUIRE(sent.size() == 1);
    CHECK(field(sent[0], "type") == "history");
    CHECK(field(sent[0], "room") == "#lobby");
    CHECK_FALSE(sent[0]->has("user"));
    CHECK(chat::intField(sent[0], "limit") == 50);
    CHECK_FALSE(sent[0]->has("before"));
    answer(R"("room":"#lobby","more":true,"events":[)"
           R"({"type":"message","msg_id":30,"ts":1,"from":"bob","to":"#lobby","text":"old"},)"
           R"({"type":"topic","msg_id":33,"ts":2,"room":"#lobby","topic":"x","by":"bob"}])");
    INFO(Catch::Detail::stringify(out.lines));
    REQUIRE(out.lines.size() == 5);
    CHECK(out.lines[0] == "-- history of #lobby: 2 events --");
    CHECK(out.lines[1].find("bob: old") != std::string::npos);
    CHECK(out.lines[1].rfind("\xc2\xb7 ", 0) == 0);
    CHECK(out.lines[3] == "-- more: /history again --");
    CHECK(out.lines[4] == "-- end of history --");
    // Again: before the smallest id shown.
    session.handleLine("/history 20");
    CHECK(chat::intField(sent.back(), "before") == 30);
    CHECK(chat::intField(sent.back(), "limit") == 20);
    answer(R"("room":"#lobby","more":false,"events":[])");
    CHECK(out.lines.back() == "-- no older history of #lobby --");
    // A backlog with smaller ids moves the page back; larger ones do not.
    session.handleMessage(parse(backlog()));  // 41..43
    session.handleLine("/history");
    CHECK(chat::intField(sent.back(), "before") == 30);
    // Another target has its own paging; a backlog of #dev starts it.
    session.handleLine("/history #dev");
    CHECK(field(sent.back(), "room") == "#dev");
    CHECK_FALSE(sent.back()->has("before"));
    session.handleMessage(parse(R"({"type":"backlog","room":"#DEV","events":[)"
                                R"({"type":"message","msg_id":12,"ts":1,"from":"bob","to":"#dev","text":"a"}]})"));
    session.handleLine("/history #dev");
    CHECK(chat::intField(sent.back(), "before") == 12);
    // A private conversation: "user", and the query's user by default.
    session.handleLine("/history @bob 5");
    CHECK(field(sent.back(), "user") == "bob");
    CHECK_FALSE(sent.back()->has("room"));
    CHECK(chat::intField(sent.back(), "limit") == 5);
    answer(R"("user":"bob","more":false,"events":[{"type":"message","msg_id":7,"ts":1,"from":"bob","to":"@alice","text":"psst"}])");
    session.handleLine("/query bob");
    session.handleLine("/history");
    CHECK(field(sent.back(), "user") == "bob");
    CHECK(chat::intField(sent.back(), "before") == 7);
}

TEST_CASE("/history errors are shown like other refusals") {
    Fixture f;
    f.session.handleLine("/history #dev");
    f.session.handleMessage(parse(R"({"type":"error","id":)" + std::to_string(*chat::intField(f.sent.back(), "id")) +
                                  R"(,"code":"not_in_room","message":"you are not in #dev\u001b[2J"})"));
    CHECK(f.out.errors == std::vector<std::string>{"you are not in #dev^[[2J (not_in_room)"});
}

TEST_CASE("/search sends the words and shows each result with its place, time, sender and id") {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    chat::ClientSession session{welcome(), [&](const auto& m) { sent.push_back(m); }, out, noColour()};
    session.handleLine("/search #dev deploy  friday");
    REQUIRE(sent.size() == 1);
    CHECK(field(sent[0], "type") == "search");
    CHECK(field(sent[0], "text") == "deploy  friday");
    CHECK(field(sent[0], "room") == "#dev");
    CHECK(chat::intField(sent[0], "limit") == 20);
    const auto now = chat::nowMillis();
    const auto old = now - 36 * 3600 * 1000;
    session.handleMessage(parse(
        R"({"type":"ok","id":1,"more":true,"results":[)"
        R"({"type":"message","msg_id":41,"ts":)" + std::to_string(now) + R"(,"from":"bob","to":"#dev","text":"deploy friday \u001b[2J"},)"
        R"({"type":"message","msg_id":9,"ts":)" + std::to_string(old) + R"(,"from":"bob","to":"@alice","text":"friday deploy?","action":true}]})"));
    INFO(Catch::Detail::stringify(out.lines));
    REQUIRE(out.lines.size() == 3);
    CHECK(out.lines[0] == "[#dev " + chat::formatClock(now) + "] bob: deploy friday ^[[2J  (id 41)");
    CHECK(out.lines[1] == "[@bob " + chat::formatStoredTime(old, chat::Timestamps::Short, now) + "] * bob friday deploy?  (id 9)");
    CHECK(out.lines[2] == "-- 2 results (more: narrow the words) --");

    session.handleLine("/search nothing");
    CHECK_FALSE(sent.back()->has("room"));
    CHECK(field(sent.back(), "text") == "nothing");
    session.handleMessage(parse(R"({"type":"ok","id":2,"more":false,"results":[]})"));
    CHECK(out.lines.back() == "-- no messages with \"nothing\" --");
}

TEST_CASE("storage_unavailable for a message: said once, never sent again, and its token counted") {
    Recorder out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    auto w = welcome();
    w.ratePerSecond = 0.001;  // one message, then nothing for a long time
    w.rateBurst = 1;
    chat::ClientSession session{w, [&](const auto& m) { sent.push_back(m); }, out, noColour()};
    session.handleLine("first");
    session.handleLine("second");
    REQUIRE(sent.size() == 1);  // the second waits for the first's answer
    session.handleMessage(parse(R"({"type":"error","id":1,"code":"storage_unavailable","message":"disk full"})"));
    CHECK(out.errors == std::vector<std::string>{"message to #lobby delivered but not saved to history: disk full"});
    session.retryDue(chat::ClientSession::Clock::now());
    // Not again, and the server took the token for it: the second still waits.
    CHECK(sent.size() == 1);
    CHECK(session.nextRetry().has_value());
}

TEST_CASE("/history and /search are parsed, with their targets and limits checked") {
    using chat::parseInput;
    CHECK(parseInput("/history").kind == Kind::History);
    CHECK(parseInput("/history").limit == 0);
    CHECK(parseInput("/history #dev 20").room == "#dev");
    CHECK(parseInput("/history #dev 20").limit == 20);
    CHECK(parseInput("/history @bob").target == "bob");
    CHECK(parseInput("/history @bob").room.empty());
    CHECK(parseInput("/history 200").limit == 200);
    CHECK(parseInput("/HISTORY 1").limit == 1);
    for (const auto* bad : {"/history 0", "/history 201", "/history -5", "/history #dev 1000000000000000000000",
                            "/history #dev x", "/history bob", "/history #dev 5 6", "/history 5 #dev", "/history #d!v",
                            "/history @b@b"}) {
        INFO(bad);
        CHECK(parseInput(bad).kind == Kind::Invalid);
    }
    CHECK_THAT(parseInput("/history 0").error, Catch::Contains("1 to 200"));
    CHECK_THAT(parseInput("/history bob").error, Catch::Contains("usage: /history [#room|@user] [N]"));

    const auto s = parseInput("/search #dev deploy friday");
    CHECK(s.kind == Kind::Search);
    CHECK(s.room == "#dev");
    CHECK(s.text == "deploy friday");
    CHECK(parseInput("/search deploy friday").text == "deploy friday");
    CHECK(parseInput("/search deploy friday").room.empty());
    CHECK(parseInput("/search").kind == Kind::Invalid);
    CHECK(parseInput("/search #dev").kind == Kind::Invalid);
    CHECK(parseInput("/search " + std::string(201, 'a')).kind == Kind::Invalid);
    CHECK(parseInput("/search " + std::string(200, 'a')).kind == Kind::Search);
    CHECK_THAT(chat::inputHelp(), Catch::Contains("/history [#room|@user] [N]") && Catch::Contains("/search [#room] words"));
}

TEST_CASE("the backlog after a reconnection leaves out what was already shown, live or from a backlog") {
    Fixture f;
    f.session.handleMessage(parse(backlog()));  // 41..43
    REQUIRE(f.out.lines.size() == 4);
    f.session.handleMessage(parse(R"({"type":"message","msg_id":44,"ts":1,"from":"bob","to":"#lobby","text":"live"})"));
    REQUIRE(f.out.lines.size() == 5);
    // The same past again: nothing.
    f.session.handleMessage(parse(backlog()));
    CHECK(f.out.lines.size() == 5);
    // With what came while away: only that.
    f.session.handleMessage(parse(
        R"({"type":"backlog","room":"#lobby","events":[{"type":"message","msg_id":44,"ts":1,"from":"bob","to":"#lobby","text":"live"},)"
        R"({"type":"message","msg_id":47,"ts":1,"from":"carol","to":"#lobby","text":"while you were away"}]})"));
    INFO(Catch::Detail::stringify(f.out.lines));
    REQUIRE(f.out.lines.size() == 7);
    CHECK(f.out.lines[5] == "-- #lobby --");
    CHECK(f.out.lines[6].find("carol: while you were away") != std::string::npos);
}

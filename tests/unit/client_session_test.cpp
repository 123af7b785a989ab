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

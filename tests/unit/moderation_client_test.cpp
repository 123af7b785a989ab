// The client's side of moderation: the commands as typed, the requests they
// become, and how `moderation` events are shown (never raw).

#include "client/client_session.hpp"
#include "client/event_renderer.hpp"
#include "client/input_parser.hpp"
#include "client/server_connection_error.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

#include <regex>

namespace {
using Kind = chat::InputCommand::Kind;

Poco::JSON::Object::Ptr parse(const std::string& json) { return chat::parseMessage(json).message; }

struct Quiet final : chat::ClientOutput {
    std::vector<std::string> lines, errors;
    void line(const std::string& text) override { lines.push_back(text); }
    void error(const std::string& text) override { errors.push_back(text); }
    void message(const Poco::JSON::Object::Ptr&) override {}
    void bell() override {}
};

chat::Welcome welcome() {
    chat::Welcome w;
    w.user = "alice";
    w.room = "#lobby";
    w.rooms = {"#lobby", "#dev"};
    w.online = {"alice"};
    return w;
}

/// What the client sends for `line`, typed while looking at #lobby.
std::string sentFor(const std::string& line) {
    Quiet out;
    std::vector<Poco::JSON::Object::Ptr> sent;
    chat::ClientSession session{welcome(), [&](const Poco::JSON::Object::Ptr& m) { sent.push_back(m); }, out, {}};
    session.handleLine(line);
    if (sent.empty()) return out.errors.empty() ? "" : "error: " + out.errors.back();
    // The request as sent, without the id the session numbered it with.
    return std::regex_replace(chat::toJson(sent.back()), std::regex(R"(,"id":[0-9]+)"), "");
}
}  // namespace

TEST_CASE("moderation commands: room first or the current one, the target, a duration, a reason") {
    CHECK(sentFor("/kick bob") == R"({"type":"kick","room":"#lobby","user":"bob"})");
    CHECK(sentFor("/kick #dev @bob you were warned") ==
          R"({"type":"kick","room":"#dev","user":"bob","reason":"you were warned"})");
    CHECK(sentFor("/ban dev mallory 7d spam") == R"({"type":"ban","room":"#lobby","user":"dev","reason":"mallory 7d spam"})");
    CHECK(sentFor("/ban #dev mallory 7d spam") ==
          R"({"type":"ban","room":"#dev","user":"mallory","duration":"7d","reason":"spam"})");
    CHECK(sentFor("/ban * 192.0.2.7") == R"({"type":"ban","address":"192.0.2.7"})");
    CHECK(sentFor("/ban #dev 2001:db8::1 1h") == R"({"type":"ban","room":"#dev","address":"2001:db8::1","duration":"1h"})");
    CHECK(sentFor("/unban * mallory") == R"({"type":"unban","user":"mallory"})");
    CHECK(sentFor("/mute bob 10m") == R"({"type":"mute","room":"#lobby","user":"bob","duration":"10m"})");
    CHECK(sentFor("/unmute #dev bob") == R"({"type":"unmute","room":"#dev","user":"bob"})");
    CHECK(sentFor("/op #dev carol") == R"({"type":"op","room":"#dev","user":"carol"})");
    CHECK(sentFor("/deop carol") == R"({"type":"deop","room":"#lobby","user":"carol"})");
    CHECK(sentFor("/mode #dev +i") == R"({"type":"mode","room":"#dev","mode":"+i"})");
    CHECK(sentFor("/mode") == R"({"type":"mode","room":"#lobby"})");
    CHECK(sentFor("/invite bob #dev 2h") == R"({"type":"invite","room":"#dev","user":"bob","duration":"2h"})");
    CHECK(sentFor("/invite #dev bob") == R"({"type":"invite","room":"#dev","user":"bob"})");
    CHECK(sentFor("/kill bob flooding") == R"({"type":"kill","user":"bob","reason":"flooding"})");
}

TEST_CASE("moderation commands refuse what would be misread, locally") {
    for (const char* line : {"/kick", "/ban", "/mode #dev +o", "/mode #dev +i extra", "/op bob extra", "/unmute bob now",
                             "/mute bob 10min", "/mute bob 3", "/invite bob tomorrow", "/kick #dev", "/kick b@d",
                             "/op * bob", "/kill #dev bob", "/ban #d!ev bob"}) {
        INFO(line);
        CHECK(chat::parseInput(line).kind == Kind::Invalid);
    }
    CHECK(chat::parseInput("/mute bob 10min").error.find("not a duration") != std::string::npos);
}

TEST_CASE("moderation events are shown in words, every server string made visible") {
    chat::RenderOptions options{"alice", "#dev", false, chat::Timestamps::Off};
    auto show = [&](const std::string& json) { return chat::renderEvent(parse(json), options).value_or("(none)"); };
    CHECK(show(R"({"type":"moderation","action":"kick","by":"alice","room":"#dev","target":"bob","reason":"loud"})") ==
          "* alice kicked bob from #dev (loud)");
    CHECK(show(R"({"type":"moderation","action":"ban","by":"root","target":"mallory"})") ==
          "* root banned mallory from the server");
    CHECK(show(R"({"type":"moderation","action":"mode","by":"alice","room":"#dev","mode":"+i"})") ==
          "* alice made #dev invite-only (+i)");
    CHECK(show(R"({"type":"moderation","action":"op","by":"alice","room":"#dev","target":"carol"})") ==
          "* alice made carol an operator of #dev");
    CHECK(show(R"({"type":"moderation","action":"kill","by":"root","target":"bob"})") ==
          "* root disconnected bob from the server");
    const auto muted = show(R"({"type":"moderation","action":"mute","by":"alice","room":"#dev","target":"bob","until":4102488000000})");
    CHECK(muted.rfind("* alice muted bob in #dev until 2100-01-01", 0) == 0);  // noon UTC: that day in any time zone
    // A hostile server's escape sequences and bidi controls are shown, not obeyed.
    const auto hostile = show("{\"type\":\"moderation\",\"action\":\"kick\",\"by\":\"x\\u001b[2J\",\"room\":\"#dev\","
                              "\"target\":\"\\u202ebob\",\"reason\":\"\\u001b]0;pwned\\u0007\"}");
    CHECK(hostile.find('\x1b') == std::string::npos);
    CHECK(hostile.find("\xe2\x80\xae") == std::string::npos);
    CHECK(hostile.find("^[") != std::string::npos);
    CHECK(hostile.find("<U+202E>") != std::string::npos);
}

TEST_CASE("a moderation event with a mistyped member is a protocol violation; one without room is fine") {
    Quiet out;
    chat::ClientSession session{welcome(), [](const Poco::JSON::Object::Ptr&) {}, out, {}};
    session.handleMessage(parse(R"({"type":"moderation","action":"ban","by":"root","target":"bob"})"));
    CHECK_THROWS_AS(session.handleMessage(parse(R"({"type":"moderation","action":"ban","by":"root","until":"soon"})")),
                    chat::ClientError);
    CHECK_THROWS_AS(session.handleMessage(parse(R"({"type":"moderation","action":true,"by":"root"})")),
                    chat::ClientError);
}

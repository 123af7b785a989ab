#include "client/event_renderer.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

namespace {
Poco::JSON::Object::Ptr parse(const std::string& json) { return chat::parseMessage(json).message; }
const std::int64_t kTs = 1'700'000'000'000;
}  // namespace

TEST_CASE("a room message renders as 'HH:MM name: text'") {
    chat::RenderOptions options{"bob", false, true};
    auto line = chat::renderEvent(
        parse(R"({"type":"message","msg_id":1,"ts":1700000000000,"from":"alice","to":"#lobby","text":"hi"})"), options);
    REQUIRE(line);
    CHECK(*line == chat::formatClock(kTs) + " alice: hi");
    CHECK(line->size() == 5 + 1 + 9);
}

TEST_CASE("direct messages are marked as private, in both directions") {
    chat::RenderOptions options{"bob", false, false};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"@bob","text":"psst"})"), options) ==
          std::string("[DM from alice] psst"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"bob","to":"@alice","text":"ok"})"), options) ==
          std::string("[DM to alice] ok"));
}

TEST_CASE("presence and shutdown notices") {
    chat::RenderOptions options{"bob", false, false};
    CHECK(chat::renderEvent(parse(R"({"type":"joined","user":"alice","room":"#lobby"})"), options) ==
          std::string("* alice joined"));
    CHECK(chat::renderEvent(parse(R"({"type":"left","user":"alice","reason":"quit"})"), options) ==
          std::string("* alice left (quit)"));
    CHECK(chat::renderEvent(parse(R"({"type":"shutdown","message":"bye"})"), options) == std::string("* bye"));
}

TEST_CASE("answers are not rendered as lines") {
    chat::RenderOptions options{"bob", false, false};
    CHECK_FALSE(chat::renderEvent(parse(R"({"type":"ok","id":1})"), options));
    CHECK_FALSE(chat::renderEvent(parse(R"({"type":"pong"})"), options));
}

TEST_CASE("without colour there are no escape bytes; with colour there are") {
    auto event = parse(R"({"type":"joined","user":"alice"})");
    CHECK(chat::renderEvent(event, {"bob", false, false})->find('\x1b') == std::string::npos);
    CHECK(chat::renderEvent(event, {"bob", true, false})->find('\x1b') != std::string::npos);
}

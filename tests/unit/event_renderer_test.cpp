#include "client/event_renderer.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

namespace {
Poco::JSON::Object::Ptr parse(const std::string& json) { return chat::parseMessage(json).message; }
const std::int64_t kTs = 1'700'000'000'000;
}  // namespace

TEST_CASE("a room message renders as 'HH:MM name: text'") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Short};
    auto line = chat::renderEvent(
        parse(R"({"type":"message","msg_id":1,"ts":1700000000000,"from":"alice","to":"#lobby","text":"hi"})"), options);
    REQUIRE(line);
    CHECK(*line == chat::formatClock(kTs) + " alice: hi");
    CHECK(line->size() == 5 + 1 + 9);
}

TEST_CASE("direct messages are marked as private, in both directions") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"@bob","text":"psst"})"), options) ==
          std::string("[DM from alice] psst"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"bob","to":"@alice","text":"ok"})"), options) ==
          std::string("[DM to alice] ok"));
}

TEST_CASE("presence and shutdown notices") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"joined","user":"alice","room":"#lobby"})"), options) ==
          std::string("* alice joined"));
    CHECK(chat::renderEvent(parse(R"({"type":"left","user":"alice","reason":"quit"})"), options) ==
          std::string("* alice left (quit)"));
    CHECK(chat::renderEvent(parse(R"({"type":"shutdown","message":"bye"})"), options) == std::string("* bye"));
}

TEST_CASE("answers are not rendered as lines") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK_FALSE(chat::renderEvent(parse(R"({"type":"ok","id":1})"), options));
    CHECK_FALSE(chat::renderEvent(parse(R"({"type":"pong"})"), options));
}

TEST_CASE("without colour there are no escape bytes; with colour there are") {
    auto event = parse(R"({"type":"joined","user":"alice"})");
    CHECK(chat::renderEvent(event, {"bob", "#lobby", false, chat::Timestamps::Off})->find('\x1b') == std::string::npos);
    CHECK(chat::renderEvent(event, {"bob", "#lobby", true, chat::Timestamps::Off})->find('\x1b') != std::string::npos);
}

TEST_CASE("events from a room other than the current one carry the room's name") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#dev","text":"hi"})"), options) ==
          std::string("[#dev] alice: hi"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#LOBBY","text":"hi"})"), options) ==
          std::string("alice: hi"));
    CHECK(chat::renderEvent(parse(R"({"type":"joined","user":"carol","room":"#dev"})"), options) ==
          std::string("* carol joined #dev"));
    CHECK(chat::renderEvent(parse(R"({"type":"left","user":"carol","room":"#dev","reason":"left"})"), options) ==
          std::string("* carol left #dev"));
}

TEST_CASE("actions, topics and renames") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"waves","action":true})"),
                            options) == std::string("* alice waves"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"@bob","text":"waves","action":true})"),
                            options) == std::string("[DM from alice] * alice waves"));
    CHECK(chat::renderEvent(parse(R"({"type":"topic","room":"#dev","topic":"ship it","by":"alice"})"), options) ==
          std::string("* alice set the topic of #dev: ship it"));
    CHECK(chat::renderEvent(parse(R"({"type":"nick","old":"alice","new":"alicia"})"), options) ==
          std::string("* alice is now known as alicia"));
}

#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

TEST_CASE("parseMessage accepts an object with a string type") {
    auto parsed = chat::parseMessage(R"({"type":"send","id":3,"text":"hi"})");
    REQUIRE(parsed);
    CHECK(parsed.type == "send");
    CHECK(chat::stringField(parsed.message, "text") == std::string("hi"));
    CHECK(chat::intField(parsed.message, "id") == 3);
}

TEST_CASE("parseMessage explains each kind of bad payload") {
    CHECK_THAT(chat::parseMessage("").error, Catch::Contains("empty"));
    CHECK_THAT(chat::parseMessage("\xff").error, Catch::Contains("UTF-8"));
    CHECK_THAT(chat::parseMessage("{").error, Catch::Contains("not valid JSON"));
    CHECK_THAT(chat::parseMessage("[]").error, Catch::Contains("not an object"));
    CHECK_THAT(chat::parseMessage(R"({"type":1})").error, Catch::Contains("\"type\""));
}

TEST_CASE("parseMessage refuses deep nesting instead of recursing without bound") {
    std::string deep = R"({"type":"x","a":)";
    for (int i = 0; i < 10000; ++i) deep += "[";
    for (int i = 0; i < 10000; ++i) deep += "]";
    deep += "}";
    CHECK_FALSE(chat::parseMessage(deep));
}

TEST_CASE("field accessors are strict about JSON types") {
    auto m = chat::parseMessage(R"({"type":"t","s":"5","i":5,"b":true,"f":1.5})").message;
    CHECK(chat::stringField(m, "s") == std::string("5"));
    CHECK_FALSE(chat::stringField(m, "i"));
    CHECK(chat::intField(m, "i") == 5);
    CHECK_FALSE(chat::intField(m, "s"));
    CHECK_FALSE(chat::intField(m, "b"));
    CHECK_FALSE(chat::intField(m, "f"));
    CHECK(chat::boolField(m, "b") == true);
    CHECK_FALSE(chat::boolField(m, "i"));
    CHECK_FALSE(chat::stringField(m, "missing"));
}

TEST_CASE("request ids are echoed only when they are strings or integers") {
    CHECK(chat::requestId(chat::parseMessage(R"({"type":"t","id":"a1"})").message).convert<std::string>() == "a1");
    CHECK(chat::requestId(chat::parseMessage(R"({"type":"t","id":12})").message).convert<int>() == 12);
    CHECK(chat::requestId(chat::parseMessage(R"({"type":"t","id":[1]})").message).isEmpty());
    CHECK(chat::requestId(chat::parseMessage(R"({"type":"t"})").message).isEmpty());
}

TEST_CASE("error messages carry the stable code name and the request id") {
    auto e = chat::makeError(chat::ErrorCode::NoSuchUser, "no user named 'bob' is online", Poco::Dynamic::Var(7));
    CHECK(chat::toJson(e) == R"({"type":"error","id":7,"code":"no_such_user","message":"no user named 'bob' is online"})");
}

TEST_CASE("every error code round-trips through its name") {
    for (auto code : {chat::ErrorCode::BadRequest, chat::ErrorCode::FrameTooLarge, chat::ErrorCode::VersionUnsupported,
                      chat::ErrorCode::NameInvalid, chat::ErrorCode::TextTooLong, chat::ErrorCode::TextInvalid,
                      chat::ErrorCode::NoSuchUser, chat::ErrorCode::ServerFull, chat::ErrorCode::ShuttingDown,
                      chat::ErrorCode::NameInUse, chat::ErrorCode::RoomInvalid, chat::ErrorCode::NoSuchRoom,
                      chat::ErrorCode::NotInRoom, chat::ErrorCode::TooManyRooms, chat::ErrorCode::TooManyConnections,
                      chat::ErrorCode::RateLimited}) {
        CHECK(chat::errorCodeFromName(chat::errorCodeName(code)) == code);
    }
    CHECK_FALSE(chat::errorCodeFromName("nonsense"));
}

TEST_CASE("non-ASCII text is sent as UTF-8, not escaped") {
    auto m = chat::makeMessage("message");
    m->set("text", std::string("héllo \xF0\x9F\x98\x80 \"q\"\t"));
    CHECK(chat::toJson(m) == "{\"type\":\"message\",\"text\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \\\"q\\\"\\t\"}");
}

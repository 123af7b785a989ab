#include "shared/protocol.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <random>

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
                      chat::ErrorCode::RateLimited, chat::ErrorCode::TlsRequired, chat::ErrorCode::AuthRequired,
                      chat::ErrorCode::AuthFailed, chat::ErrorCode::AuthThrottled, chat::ErrorCode::AuthInsecure,
                      chat::ErrorCode::NotOperator, chat::ErrorCode::Banned, chat::ErrorCode::Muted,
                      chat::ErrorCode::InviteOnly}) {
        CHECK(chat::errorCodeFromName(chat::errorCodeName(code)) == code);
    }
    CHECK_FALSE(chat::errorCodeFromName("nonsense"));
}

TEST_CASE("non-ASCII text is sent as UTF-8, not escaped") {
    auto m = chat::makeMessage("message");
    m->set("text", std::string("héllo \xF0\x9F\x98\x80 \"q\"\t"));
    CHECK(chat::toJson(m) == "{\"type\":\"message\",\"text\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \\\"q\\\"\\t\"}");
}

// ---------------------------------------------------------------------------
// Integers outside the signed 64-bit range. Poco's parser wraps them
// (18446744073709551617 -> 1, 18446744073709551616 -> 0); parseMessage reads
// them as floats instead, and refuses a frame whose id is one.

namespace {
const std::vector<std::string> kOutOfRange = {
    "9223372036854775808",  "18446744073709551615", "18446744073709551616",    "18446744073709551617",
    "-9223372036854775809", "-18446744073709551617", "99999999999999999999999", "36893488147419103233",
    std::string(300, '9')};
}  // namespace

TEST_CASE("integers at the edges of the signed 64-bit range are accepted") {
    auto m = chat::parseMessage(R"({"type":"t","max":9223372036854775807,"min":-9223372036854775808,"z":-0})");
    REQUIRE(m);
    CHECK(m.outOfRange.empty());
    CHECK(chat::intField(m.message, "max") == std::numeric_limits<std::int64_t>::max());
    CHECK(chat::intField(m.message, "min") == std::numeric_limits<std::int64_t>::min());
    CHECK(chat::intField(m.message, "z") == 0);
    auto id = chat::parseMessage(R"({"type":"ping","id":9223372036854775807})");
    REQUIRE(id);
    CHECK(chat::requestId(id.message).convert<std::int64_t>() == std::numeric_limits<std::int64_t>::max());
    auto negative = chat::parseMessage(R"({"type":"ping","id":-9223372036854775808})");
    REQUIRE(negative);
    CHECK(chat::requestId(negative.message).convert<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("an integer member outside the signed 64-bit range is not an integer, and is listed") {
    for (const auto& number : kOutOfRange) {
        INFO(number);
        const auto parsed =
            chat::parseMessage(R"({"type":"hello","id":4,"version":)" + number + R"(,"user":"a"})");
        REQUIRE(parsed);
        CHECK_FALSE(chat::intField(parsed.message, "version"));  // never 1, never 0
        CHECK(parsed.outOfRange == std::vector<std::string>{"version"});
        CHECK(chat::requestId(parsed.message).convert<int>() == 4);  // the id is still echoed
    }
}

TEST_CASE("an id outside the signed 64-bit range fails the parse, naming the id") {
    for (const auto& number : kOutOfRange) {
        INFO(number);
        const auto parsed = chat::parseMessage(R"({"type":"ping","id":)" + number + "}");
        CHECK_FALSE(parsed);
        CHECK_THAT(parsed.error, Catch::Contains("\"id\" must be an integer in range"));
    }
    CHECK_FALSE(chat::parseMessage(R"({"type":"ping", "id" :   18446744073709551616 })"));
    CHECK_FALSE(chat::parseMessage(R"({"type":"ping","\u0069d":18446744073709551616})"));  // "id", escaped
}

TEST_CASE("the range check reads numbers only, and lists top-level members only") {
    // Nested: made a float, but not listed (and not an id).
    auto nested = chat::parseMessage(R"({"type":"t","list":[1,99999999999999999999],"o":{"id":18446744073709551616}})");
    REQUIRE(nested);
    CHECK(nested.outOfRange.empty());
    const auto list = nested.message->getArray("list");
    REQUIRE(list);
    CHECK_FALSE(list->get(1).isInteger());
    // Digits inside strings, keys and escaped quotes are text, not numbers.
    for (const char* json : {R"({"type":"t","s":"99999999999999999999"})", R"({"type":"t","99999999999999999999":1})",
                             R"({"type":"t","s":"\"99999999999999999999\\","n":1})"}) {
        INFO(json);
        const auto parsed = chat::parseMessage(json);
        REQUIRE(parsed);
        CHECK(parsed.outOfRange.empty());
    }
    CHECK(chat::stringField(chat::parseMessage(R"({"type":"t","s":"\"99999999999999999999"})").message, "s") ==
          std::string("\"99999999999999999999"));
    // Floats may be large; the integer accessors refuse them.
    auto f = chat::parseMessage(R"({"type":"t","f":18446744073709551616.0,"e":1e30,"m":-2E+40})");
    REQUIRE(f);
    CHECK(f.outOfRange.empty());
    CHECK_FALSE(chat::intField(f.message, "f"));
    CHECK_FALSE(chat::intField(f.message, "e"));
    // A member that is an array of a big number is not the number.
    auto array = chat::parseMessage(R"({"type":"t","id":[18446744073709551616]})");
    REQUIRE(array);
    CHECK(chat::requestId(array.message).isEmpty());
}

TEST_CASE("intField and requestId refuse unsigned values above the signed range in objects built by hand") {
    Poco::JSON::Object::Ptr m = new Poco::JSON::Object;
    m->set("big", Poco::UInt64(9223372036854775808ull));
    m->set("ok", Poco::UInt64(42));
    m->set("id", Poco::UInt64(18446744073709551615ull));
    CHECK_FALSE(chat::intField(m, "big"));
    CHECK(chat::intField(m, "ok") == 42);
    CHECK(chat::requestId(m).isEmpty());
    m->set("id", Poco::UInt64(7));
    CHECK(chat::requestId(m).convert<std::int64_t>() == 7);
}

// ---------------------------------------------------------------------------
// Error texts repeat nothing a peer could use against a terminal or a log.

namespace {
bool printableUtf8(const std::string& text) {
    if (!chat::isValidUtf8(text)) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7F) return false;
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) return false;
    }
    return true;
}
}  // namespace

TEST_CASE("every parse error is short, valid UTF-8 and free of control characters") {
    std::vector<std::string> payloads = {
        "{\"type\":\x1b[31m}",
        "{\"type\":\"x\",\"a\":\x07}",
        "{\"type\":\"x\",\"a\":\"\x07\"}",
        "\x1b",
        "{\x1b}",
        "{\"a\":tru\x1b}",
        "{\"type\":\xff}",
        "{\"type\":\xc3}",
        "\xc3",
        "{\"type\":\"x\"}\x1b\x1b\x1b",
        "{\"a\":\xc2\x9b" "2J}",
        "{\"a\":1e999999}",
        std::string(70000, '\x1b'),
        "{\"a\":" + std::string(400, '9') + ".5}",
        "{\"a\":" + std::string(5000, '\x07') + "}",
    };
    std::mt19937 rng(11);
    for (int i = 0; i < 500; ++i) {
        std::string garbage(1 + rng() % 2000, '\0');
        for (auto& c : garbage) c = static_cast<char>(rng() & 0xFF);
        if (i % 2) garbage[0] = '{';
        payloads.push_back(garbage);
    }
    for (const auto& payload : payloads) {
        const auto parsed = chat::parseMessage(payload);
        INFO("payload of " << payload.size() << " bytes starting " << chat::quoteForError(payload)
                           << "; error: " << chat::quoteForError(parsed.error));
        CHECK_FALSE(parsed);
        CHECK(printableUtf8(parsed.error));
        CHECK(parsed.error.size() <= 200);
    }
    // ESC is named, not sent.
    CHECK_THAT(chat::parseMessage("{\"type\":\x1b[31m}").error, Catch::Contains("\\x1B"));
}

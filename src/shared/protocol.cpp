#include "shared/protocol.hpp"

#include "shared/frame_codec.hpp"
#include "shared/validation.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <array>
#include <chrono>
#include <sstream>

namespace chat {

namespace {
constexpr std::array<std::pair<ErrorCode, std::string_view>, 16> kErrorNames{{
    {ErrorCode::BadRequest, "bad_request"},
    {ErrorCode::FrameTooLarge, "frame_too_large"},
    {ErrorCode::VersionUnsupported, "version_unsupported"},
    {ErrorCode::NameInvalid, "name_invalid"},
    {ErrorCode::TextTooLong, "text_too_long"},
    {ErrorCode::TextInvalid, "text_invalid"},
    {ErrorCode::NoSuchUser, "no_such_user"},
    {ErrorCode::ServerFull, "server_full"},
    {ErrorCode::ShuttingDown, "shutting_down"},
    {ErrorCode::NameInUse, "name_in_use"},
    {ErrorCode::RoomInvalid, "room_invalid"},
    {ErrorCode::NoSuchRoom, "no_such_room"},
    {ErrorCode::NotInRoom, "not_in_room"},
    {ErrorCode::TooManyRooms, "too_many_rooms"},
    {ErrorCode::TooManyConnections, "too_many_connections"},
    {ErrorCode::RateLimited, "rate_limited"},
}};
constexpr std::size_t kMaxJsonDepth = 16;
}  // namespace

std::string_view errorCodeName(ErrorCode code) {
    for (const auto& [c, name] : kErrorNames)
        if (c == code) return name;
    return "bad_request";
}

std::optional<ErrorCode> errorCodeFromName(std::string_view name) {
    for (const auto& [c, n] : kErrorNames)
        if (n == name) return c;
    return std::nullopt;
}

std::int64_t nowMillis() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Poco::JSON::Object::Ptr makeMessage(std::string_view type) {
    Poco::JSON::Object::Ptr message = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    message->set("type", std::string(type));
    return message;
}

Poco::JSON::Object::Ptr makeError(ErrorCode code, const std::string& text, const Poco::Dynamic::Var& id) {
    auto message = makeMessage("error");
    if (!id.isEmpty()) message->set("id", id);
    message->set("code", std::string(errorCodeName(code)));
    message->set("message", text);
    return message;
}

Poco::JSON::Object::Ptr makeOk(const Poco::Dynamic::Var& id) {
    auto message = makeMessage("ok");
    if (!id.isEmpty()) message->set("id", id);
    return message;
}

std::string toJson(const Poco::JSON::Object::Ptr& message) {
    std::ostringstream out;
    message->stringify(out);
    return out.str();
}

std::string toFrame(const Poco::JSON::Object::Ptr& message) { return encodeFrame(toJson(message)); }

ParsedMessage parseMessage(std::string_view payload) {
    ParsedMessage parsed;
    if (payload.empty()) {
        parsed.error = "frame is empty; expected a JSON object";
        return parsed;
    }
    if (!isValidUtf8(payload)) {
        parsed.error = "frame is not valid UTF-8";
        return parsed;
    }
    Poco::Dynamic::Var value;
    try {
        Poco::JSON::Parser parser;
        parser.setDepth(kMaxJsonDepth);
        value = parser.parse(std::string(payload));
    } catch (const Poco::Exception& e) {
        parsed.error = "frame is not valid JSON: " + e.message();
        return parsed;
    } catch (const std::exception& e) {
        parsed.error = std::string("frame is not valid JSON: ") + e.what();
        return parsed;
    }
    if (value.type() != typeid(Poco::JSON::Object::Ptr)) {
        parsed.error = "frame is JSON but not an object";
        return parsed;
    }
    auto object = value.extract<Poco::JSON::Object::Ptr>();
    auto type = stringField(object, "type");
    if (!type) {
        parsed.error = "message has no string field \"type\"";
        return parsed;
    }
    parsed.message = object;
    parsed.type = *type;
    return parsed;
}

std::optional<std::string> stringField(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    if (!message || !message->has(key)) return std::nullopt;
    const auto& value = message->get(key);
    if (!value.isString()) return std::nullopt;
    return value.convert<std::string>();
}

std::optional<std::int64_t> intField(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    if (!message || !message->has(key)) return std::nullopt;
    const auto& value = message->get(key);
    if (!value.isInteger() || value.isBoolean()) return std::nullopt;
    try {
        return value.convert<std::int64_t>();
    } catch (const Poco::Exception&) {
        return std::nullopt;
    }
}

std::optional<bool> boolField(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    if (!message || !message->has(key)) return std::nullopt;
    const auto& value = message->get(key);
    if (!value.isBoolean()) return std::nullopt;
    return value.convert<bool>();
}

Poco::Dynamic::Var requestId(const Poco::JSON::Object::Ptr& message) {
    if (!message || !message->has("id")) return {};
    const auto& value = message->get("id");
    if (value.isString() && value.convert<std::string>().size() <= 64) return value;
    if (value.isInteger() && !value.isBoolean()) return value;
    return {};
}

}  // namespace chat

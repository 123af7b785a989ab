#include "shared/protocol.hpp"

#include "shared/frame_codec.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <array>
#include <cctype>
#include <chrono>
#include <limits>
#include <sstream>

namespace chat {

namespace {
constexpr std::pair<ErrorCode, std::string_view> kErrorNames[] = {
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
    {ErrorCode::StorageUnavailable, "storage_unavailable"},
    {ErrorCode::TooManyConnections, "too_many_connections"},
    {ErrorCode::RateLimited, "rate_limited"},
    {ErrorCode::TlsRequired, "tls_required"},
    {ErrorCode::AuthRequired, "auth_required"},
    {ErrorCode::AuthFailed, "auth_failed"},
    {ErrorCode::AuthThrottled, "auth_throttled"},
    {ErrorCode::AuthInsecure, "auth_insecure"},
    {ErrorCode::MailboxFull, "mailbox_full"},
    // moderation
    {ErrorCode::NotOperator, "not_operator"},
    {ErrorCode::Banned, "banned"},
    {ErrorCode::Muted, "muted"},
    {ErrorCode::InviteOnly, "invite_only"},
};
constexpr std::size_t kMaxJsonDepth = 16;

/// True when the JSON integer literal `digits` (an optional '-', then
/// decimal digits) lies outside -2^63 .. 2^63-1.
bool outsideInt64(std::string_view literal) {
    const bool negative = !literal.empty() && literal.front() == '-';
    std::string_view digits = literal.substr(negative ? 1 : 0);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    const std::string_view limit = negative ? "9223372036854775808" : "9223372036854775807";
    if (digits.size() != limit.size()) return digits.size() > limit.size();
    return digits > limit;
}

/// Poco's JSON parser (1.11) does not refuse integers outside the signed
/// 64-bit range: 2^63 .. 2^64-1 come back as UInt64, larger ones wrap modulo
/// 2^64 (18446744073709551617 becomes 1), -2^63-1 becomes -2^63, and from
/// about 2^65 on it throws. So the payload's text is scanned before Poco
/// sees it, and ".0" is written after every integer literal outside the
/// range: Poco then reads a float, which no integer accessor accepts.
struct IntegerScan {
    std::string text;                     ///< the payload, rewritten if `changed`
    bool changed = false;
    std::vector<std::string> outOfRange;  ///< top-level members so rewritten, keys as written (escapes undecoded)
};

IntegerScan scanIntegers(std::string_view payload) {
    IntegerScan scan;
    std::size_t copied = 0;       // payload bytes already in scan.text
    std::size_t depth = 0;        // of '{' and '['
    std::string_view lastString;  // the most recent string: a key if ':' follows
    std::string_view member;      // the key of the top-level member being read
    bool valueStart = false;      // just after a top-level ':'
    for (std::size_t i = 0; i < payload.size();) {
        const char c = payload[i];
        if (c == '"') {
            const std::size_t start = ++i;
            while (i < payload.size() && payload[i] != '"') i += payload[i] == '\\' ? 2 : 1;
            lastString = payload.substr(start, std::min(i, payload.size()) - start);
            ++i;
            valueStart = false;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            const std::size_t start = i;
            bool integer = true;
            while (i < payload.size() && (std::isdigit(static_cast<unsigned char>(payload[i])) || payload[i] == '-' ||
                                          payload[i] == '+' || payload[i] == '.' || payload[i] == 'e' ||
                                          payload[i] == 'E')) {
                if (payload[i] == '.' || payload[i] == 'e' || payload[i] == 'E' || payload[i] == '+' ||
                    (payload[i] == '-' && i > start))
                    integer = false;
                ++i;
            }
            if (integer && outsideInt64(payload.substr(start, i - start))) {
                scan.text.append(payload, copied, i - copied);
                scan.text += ".0";
                copied = i;
                scan.changed = true;
                if (depth == 1 && valueStart) scan.outOfRange.emplace_back(member);
            }
            valueStart = false;
            continue;
        }
        if (c == ':' && depth == 1) {
            member = lastString;
            valueStart = true;
        } else if (c == '{' || c == '[') {
            ++depth;
            valueStart = false;
        } else if (c == '}' || c == ']') {
            depth -= depth > 0 ? 1 : 0;
            valueStart = false;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            valueStart = false;
        }
        ++i;
    }
    if (scan.changed) scan.text.append(payload, copied, std::string_view::npos);
    return scan;
}

/// A key as written in JSON, decoded ("\u0069d" is "id").
std::string decodeKey(const std::string& written) {
    if (written.find('\\') == std::string::npos) return written;
    try {
        Poco::JSON::Parser parser;
        return parser.parse("[\"" + written + "\"]").extract<Poco::JSON::Array::Ptr>()->getElement<std::string>(0);
    } catch (const std::exception&) {
        return written;
    }
}

/// True when a parsed value is a JSON integer that fits an Int64: Poco holds
/// 2^63 .. 2^64-1 as UInt64 (parseMessage turns such literals into floats
/// first; this guards objects built some other way).
bool isInt64(const Poco::Dynamic::Var& value) {
    if (!value.isInteger() || value.isBoolean()) return false;
    if (value.isSigned()) return true;
    try {
        return value.convert<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    } catch (const Poco::Exception&) {
        return false;
    }
}
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
    const auto scan = scanIntegers(payload);
    Poco::Dynamic::Var value;
    try {
        Poco::JSON::Parser parser;
        parser.setDepth(kMaxJsonDepth);
        value = parser.parse(scan.changed ? scan.text : std::string(payload));
    } catch (const Poco::Exception& e) {
        // Poco's complaint quotes the offending byte raw ("unexpected byte
        // '<ESC>' in value"): never repeat it unquoted.
        parsed.error = "frame is not valid JSON: " + quoteForError(e.message());
        return parsed;
    } catch (const std::exception& e) {
        parsed.error = "frame is not valid JSON: " + quoteForError(e.what());
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
    for (const auto& written : scan.outOfRange) {
        auto key = decodeKey(written);
        if (key == "id") {
            // Ids are echoed; one that cannot be is refused rather than
            // ignored, so the client learns why its answer has no id.
            parsed.error = "\"id\" must be an integer in range (-2^63 to 2^63-1) or a string";
            return parsed;
        }
        parsed.outOfRange.push_back(std::move(key));
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
    if (!isInt64(value)) return std::nullopt;
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
    if (isInt64(value)) return value;
    return {};
}

}  // namespace chat

#pragma once
// The chat protocol: message types, error codes, and helpers to build and
// parse the JSON objects carried in frames. docs/protocol.md is the
// specification; this header is its code.

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

inline constexpr int kProtocolVersion = 1;

/// Stable error codes sent in `error` frames. Their spelling is part of the
/// protocol: never rename one.
enum class ErrorCode {
    BadRequest,          ///< malformed frame content, unknown type, wrong field type
    FrameTooLarge,       ///< length prefix above the maximum; connection closes
    VersionUnsupported,  ///< hello names a protocol version the server does not speak
    NameInvalid,         ///< user name breaks the naming rules
    TextTooLong,         ///< message text above the server's limit
    TextInvalid,         ///< empty, invalid UTF-8, or control characters
    NoSuchUser,          ///< DM target not online
    ServerFull,          ///< --max-clients reached; connection closes
    ShuttingDown,        ///< server is stopping; connection closes
    NameInUse,           ///< nick: another user has that name
    RoomInvalid,         ///< room name breaks the naming rules
    NoSuchRoom,          ///< the room does not exist
    NotInRoom,           ///< the request needs membership of the room
    TooManyRooms,        ///< join would exceed the per-user room limit
    TooManyConnections,  ///< --max-per-ip connections from this address; connection closes
    RateLimited,         ///< over the message rate limit; carries retry_after_ms
    StorageUnavailable,  ///< delivered but not stored, or history cannot be read
    TlsRequired,         ///< plaintext on the TLS port; sent unencrypted, then the connection closes
    AuthRequired,        ///< the name is registered (or --require-account) and no password was given
    AuthFailed,          ///< wrong password, or no such account: the same answer for both
    AuthThrottled,       ///< too many failed authentications; carries retry_after_ms
    AuthInsecure,        ///< a password over plaintext from a non-loopback peer
    MailboxFull,         ///< a DM to an offline account whose mailbox holds the most messages allowed
    // moderation
    NotOperator,         ///< a moderation request from someone without the rights (guests never have them)
    Banned,              ///< join (or, banned server-wide, hello) of a banned name or address
    Muted,               ///< send to a room where the sender is muted
    InviteOnly,          ///< join of an invite-only room without an invite
};

std::string_view errorCodeName(ErrorCode code);
std::optional<ErrorCode> errorCodeFromName(std::string_view name);

/// Milliseconds since the Unix epoch, UTC.
std::int64_t nowMillis();

/// A new JSON object with {"type": type} first; keys keep insertion order.
Poco::JSON::Object::Ptr makeMessage(std::string_view type);

/// An `error` message; `id` is echoed when the request carried one.
Poco::JSON::Object::Ptr makeError(ErrorCode code, const std::string& text,
                                  const Poco::Dynamic::Var& id = Poco::Dynamic::Var());

/// An `ok` answer to a request; callers add result fields.
Poco::JSON::Object::Ptr makeOk(const Poco::Dynamic::Var& id);

/// Compact JSON text of a message.
std::string toJson(const Poco::JSON::Object::Ptr& message);

/// encodeFrame(toJson(message)).
std::string toFrame(const Poco::JSON::Object::Ptr& message);

/// The outcome of parsing one frame payload.
struct ParsedMessage {
    Poco::JSON::Object::Ptr message;  ///< null when parsing failed
    std::string type;                 ///< the "type" field when parsing succeeded
    std::string error;                ///< why parsing failed (ErrorCode::BadRequest)
    /// Top-level members whose value was an integer outside -2^63..2^63-1,
    /// e.g. {"version":18446744073709551617}. They hold a float now, so
    /// intField refuses them; a handler may use this list to say
    /// '"version" must be an integer in range' instead of "not an integer".
    std::vector<std::string> outOfRange;
    explicit operator bool() const { return !message.isNull(); }
};

/// Parses a payload: valid UTF-8, one JSON object, with a string "type".
/// Nesting deeper than 16 levels is refused, so hostile input cannot exhaust
/// the stack. Integers outside -2^63..2^63-1 are never wrapped (Poco alone
/// would read 18446744073709551617 as 1): they are read as floats and listed
/// in `outOfRange`; a top-level "id" among them fails the parse, since it can
/// be neither echoed nor ignored silently. `error` is at most about 100
/// bytes, valid UTF-8 and free of control characters: what it quotes of
/// the payload (the parser's complaint) goes through printableExcerpt.
ParsedMessage parseMessage(std::string_view payload);

/// The field as a string only if present and a JSON string.
std::optional<std::string> stringField(const Poco::JSON::Object::Ptr& message, const std::string& key);

/// The field as an integer only if present and a JSON integer.
std::optional<std::int64_t> intField(const Poco::JSON::Object::Ptr& message, const std::string& key);

/// The field as a bool only if present and a JSON boolean.
std::optional<bool> boolField(const Poco::JSON::Object::Ptr& message, const std::string& key);

/// The request id to echo: a string or an integer, else empty.
Poco::Dynamic::Var requestId(const Poco::JSON::Object::Ptr& message);

}  // namespace chat

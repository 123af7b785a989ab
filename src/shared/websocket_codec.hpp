#pragma once
// WebSocket framing (RFC 6455, section 5) as pure byte work: frames out,
// frames in, no sockets. The server's WebSocket transport decodes its
// clients' (masked) frames with it and encodes its own (unmasked) ones; the
// tests' client does the reverse.
//
// Why our own codec and not Poco::Net::WebSocket::receiveFrame/sendFrame:
// Poco's calls read and write its socket with blocking calls of their own,
// while a server connection is a Link driven by two threads without blocking
// (the session thread reads, the Dispatcher writes), serialised by the
// Link's stream mutex (see server/link.hpp). A decoder fed whatever bytes
// arrived, answering "need more / a message / a control frame / an error",
// fits that model exactly as shared/frame_codec does for TCP. Poco still does
// the HTTP side (the request parsing before the upgrade).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

namespace ws {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

/// Close codes (RFC 6455, 7.4.1) the server uses.
enum CloseCode : std::uint16_t {
    kNormal = 1000,
    kGoingAway = 1001,       ///< the server shuts down
    kProtocolError = 1002,   ///< a frame broke RFC 6455
    kUnsupportedData = 1003, ///< a binary message: only text carries the protocol
    kInvalidPayload = 1007,  ///< a text message (or close reason) that is not UTF-8
    kPolicyViolation = 1008,
    kMessageTooBig = 1009,   ///< over the payload limit (the TCP frame payload limit)
    kInternalError = 1011,
    kTryAgainLater = 1013,   ///< refused: the server is full
};

/// The largest payload a control frame may carry.
inline constexpr std::size_t kMaxControlPayload = 125;

/// One whole frame: FIN set when `fin`, the payload masked with `mask` when
/// given (a client's frames) and unmasked otherwise (a server's). The payload
/// length is written in the shortest of the three forms.
std::string encodeFrame(Opcode opcode, std::string_view payload, bool fin = true,
                        std::optional<std::uint32_t> mask = std::nullopt);

/// A close frame's payload: the code (big-endian), then `reason` cut to fit
/// 125 bytes at a UTF-8 character boundary.
std::string closePayload(std::uint16_t code, std::string_view reason);

/// Splits a byte stream into WebSocket messages and control frames, joining
/// fragments. `expectMasked`: true on the server (every client frame must be
/// masked), false on a client (no server frame may be). A message (all its
/// fragments together) longer than `maxMessage` is refused as soon as a
/// header announces it, before its bytes are buffered. A text message must
/// be valid UTF-8. After an Error the stream cannot be resynchronised: every
/// later next() answers the same Error.
class Decoder {
public:
    enum class Status {
        NeedMore,  ///< no complete message or control frame yet
        Text,      ///< a whole text message in `payload`
        Binary,    ///< a whole binary message in `payload`
        Ping,      ///< `payload`: its application data, to echo in a pong
        Pong,
        Close,     ///< `closeCode` (1005 when none was given) and `payload` (the reason)
        Error,     ///< `closeCode`: what to close with; `error`: why, in words
    };
    struct Result {
        Status status = Status::NeedMore;
        std::string payload;
        std::uint16_t closeCode = 0;
        std::string error;
        std::uint64_t declaredLength = 0;  ///< with Error kMessageTooBig: the message length reached
    };

    explicit Decoder(bool expectMasked, std::size_t maxMessage);

    void feed(const char* data, std::size_t size);
    void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }
    Result next();

    /// Bytes received but not yet returned, plus a message's fragments so
    /// far: nonzero while a frame or a fragmented message is unfinished.
    std::size_t pending() const { return buffer_.size() - readPos_ + message_.size() + (inMessage_ ? 1 : 0); }

private:
    Result fail(std::uint16_t code, std::string why, std::uint64_t length = 0);

    const bool expectMasked_;
    const std::size_t maxMessage_;
    std::string buffer_;
    std::size_t readPos_ = 0;
    bool inMessage_ = false;      // a fragmented message has started
    Opcode messageOpcode_ = Opcode::Text;
    std::string message_;         // its fragments so far
    std::optional<Result> error_;
};

}  // namespace ws
}  // namespace chat

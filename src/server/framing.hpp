#pragma once
// How a transport turns an event's payload into wire bytes.

#include <cstddef>
#include <string>
#include <string_view>

namespace chat {

/// One wire format (TCP's 4-byte length prefix; a WebSocket frame header). Stateless and shared by every connection of its kind.
class Framing {
public:
    /// Distinct framings have distinct indexes below kMaxFramings: a fan-out
    /// encodes an event once per index, never once per recipient.
    static constexpr std::size_t kMaxFramings = 4;

    virtual ~Framing() = default;
    virtual std::size_t index() const = 0;

    /// The bytes that carry `payload`. Throws std::length_error when the
    /// payload cannot be carried (larger than the format allows).
    virtual std::string encode(std::string_view payload) const = 0;
};

/// TCP: a 4-byte big-endian length, then the payload (shared/frame_codec).
class LengthPrefixFraming final : public Framing {
public:
    std::size_t index() const override { return 0; }
    std::string encode(std::string_view payload) const override;
    static const LengthPrefixFraming& instance();
};

/// WebSocket: each payload as one unmasked, unfragmented text frame
/// (shared/websocket_codec), as a server sends them.
class WebSocketFraming final : public Framing {
public:
    std::size_t index() const override { return 1; }
    /// Throws std::length_error above kMaxFramePayload, as TCP does.
    std::string encode(std::string_view payload) const override;
    static const WebSocketFraming& instance();
};

}  // namespace chat

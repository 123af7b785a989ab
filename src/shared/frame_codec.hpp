#pragma once
// The wire framing: a 4-byte big-endian unsigned length, then that many bytes
// of payload (one UTF-8 JSON object; see protocol.hpp). No sockets here.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat {

inline constexpr std::size_t kFrameHeaderBytes = 4;
inline constexpr std::size_t kMaxFramePayload = 64 * 1024;

/// Returns header + payload. Throws std::length_error when the payload is
/// larger than kMaxFramePayload: the caller built something it must not send.
std::string encodeFrame(std::string_view payload);

/// Splits a byte stream into frame payloads. Feed it whatever arrived; call
/// next() until it says NeedMore. After Invalid the stream cannot be
/// resynchronised: every later next() answers Invalid again.
class FrameDecoder {
public:
    enum class Status { NeedMore, Frame, Invalid };

    struct Result {
        Status status;
        std::string payload;     ///< the frame's payload when status == Frame
        std::size_t declaredLength = 0;  ///< the offending length when Invalid
    };

    explicit FrameDecoder(std::size_t maxPayload = kMaxFramePayload);

    void feed(const char* data, std::size_t size);
    void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }
    Result next();

    /// Bytes received but not yet returned as frames.
    std::size_t buffered() const { return buffer_.size() - readPos_; }

private:
    std::size_t maxPayload_;
    std::string buffer_;
    std::size_t readPos_ = 0;
    bool invalid_ = false;
    std::size_t invalidLength_ = 0;
};

}  // namespace chat

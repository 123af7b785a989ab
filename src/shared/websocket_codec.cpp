#include "shared/websocket_codec.hpp"

#include "shared/validation.hpp"

#include <stdexcept>

namespace chat::ws {

namespace {
constexpr unsigned char kFin = 0x80;
constexpr unsigned char kRsvBits = 0x70;
constexpr unsigned char kOpcodeBits = 0x0F;
constexpr unsigned char kMaskBit = 0x80;
constexpr std::uint16_t kNoStatus = 1005;  // a close frame without a code

bool isControl(unsigned opcode) { return (opcode & 0x8) != 0; }
bool isKnown(unsigned opcode) { return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA); }

/// Close codes a peer may send (RFC 6455 7.4, and the registered ranges).
bool isValidCloseCode(std::uint16_t code) {
    if (code >= 3000 && code <= 4999) return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a
/// character boundary.
std::string_view cutUtf8(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}
}  // namespace

std::string encodeFrame(Opcode opcode, std::string_view payload, bool fin, std::optional<std::uint32_t> mask) {
    if (isControl(static_cast<unsigned>(opcode)) && payload.size() > kMaxControlPayload)
        throw std::length_error("a control frame carries at most 125 bytes");
    std::string frame;
    frame.reserve(payload.size() + 14);
    frame.push_back(static_cast<char>((fin ? kFin : 0) | static_cast<unsigned char>(opcode)));
    const unsigned char maskBit = mask ? kMaskBit : 0;
    const std::uint64_t n = payload.size();
    if (n <= 125) {
        frame.push_back(static_cast<char>(maskBit | n));
    } else if (n <= 0xFFFF) {
        frame.push_back(static_cast<char>(maskBit | 126));
        frame.push_back(static_cast<char>((n >> 8) & 0xFF));
        frame.push_back(static_cast<char>(n & 0xFF));
    } else {
        frame.push_back(static_cast<char>(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8) frame.push_back(static_cast<char>((n >> shift) & 0xFF));
    }
    if (!mask) {
        frame.append(payload);
        return frame;
    }
    const unsigned char key[4] = {static_cast<unsigned char>(*mask >> 24), static_cast<unsigned char>(*mask >> 16),
                                  static_cast<unsigned char>(*mask >> 8), static_cast<unsigned char>(*mask)};
    frame.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]));
    return frame;
}

std::string closePayload(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    payload.append(cutUtf8(reason, kMaxControlPayload - 2));
    return payload;
}

Decoder::Decoder(bool expectMasked, std::size_t maxMessage) : expectMasked_(expectMasked), maxMessage_(maxMessage) {}

void Decoder::feed(const char* data, std::size_t size) {
    if (error_) return;
    if (readPos_ > 0 && readPos_ == buffer_.size()) {
        buffer_.clear();
        readPos_ = 0;
    } else if (readPos_ > 64 * 1024) {
        buffer_.erase(0, readPos_);
        readPos_ = 0;
    }
    buffer_.append(data, size);
}

Decoder::Result Decoder::fail(std::uint16_t code, std::string why, std::uint64_t length) {
    Result result;
    result.status = Status::Error;
    result.closeCode = code;
    result.error = std::move(why);
    result.declaredLength = length;
    error_ = result;
    buffer_.clear();
    readPos_ = 0;
    message_.clear();
    return result;
}

Decoder::Result Decoder::next() {
    for (;;) {
        if (error_) return *error_;
        const std::size_t available = buffer_.size() - readPos_;
        if (available < 2) return {};
        const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + readPos_);
        const bool fin = (p[0] & kFin) != 0;
        const unsigned opcode = p[0] & kOpcodeBits;
        if (p[0] & kRsvBits) return fail(kProtocolError, "reserved bits set (no extension was agreed)");
        if (!isKnown(opcode)) return fail(kProtocolError, "unknown opcode " + std::to_string(opcode));
        const bool masked = (p[1] & kMaskBit) != 0;
        if (masked != expectMasked_)
            return fail(kProtocolError, expectMasked_ ? "a client frame must be masked" : "a server frame must not be masked");
        std::uint64_t length = p[1] & 0x7F;
        std::size_t header = 2;
        if (isControl(opcode)) {
            if (!fin) return fail(kProtocolError, "a control frame must not be fragmented");
            if (length > kMaxControlPayload) return fail(kProtocolError, "a control frame carries at most 125 bytes");
        }
        if (length == 126) {
            if (available < 4) return {};
            length = (std::uint64_t{p[2]} << 8) | p[3];
            header = 4;
        } else if (length == 127) {
            if (available < 10) return {};
            length = 0;
            for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
            header = 10;
            if (length >> 63) return fail(kProtocolError, "a 64-bit length must have its top bit clear");
        }
        if (!isControl(opcode)) {
            if (opcode == 0 && !inMessage_) return fail(kProtocolError, "a continuation frame without a message to continue");
            if (opcode != 0 && inMessage_) return fail(kProtocolError, "a new message began before the last one finished");
            const std::uint64_t total = message_.size() + length;
            if (total > maxMessage_)
                return fail(kMessageTooBig,
                            "a message of " + std::to_string(total) + " bytes or more exceeds the maximum of " +
                                std::to_string(maxMessage_) + " bytes",
                            total);
        }
        const std::size_t maskBytes = masked ? 4 : 0;
        if (available < header + maskBytes + length) return {};
        unsigned char key[4] = {0, 0, 0, 0};
        for (std::size_t i = 0; i < maskBytes; ++i) key[i] = p[header + i];
        std::string payload(reinterpret_cast<const char*>(p + header + maskBytes), static_cast<std::size_t>(length));
        if (masked)
            for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
        readPos_ += header + maskBytes + static_cast<std::size_t>(length);

        Result result;
        switch (static_cast<Opcode>(opcode)) {
            case Opcode::Ping:
                result.status = Status::Ping;
                result.payload = std::move(payload);
                return result;
            case Opcode::Pong:
                result.status = Status::Pong;
                result.payload = std::move(payload);
                return result;
            case Opcode::Close: {
                result.status = Status::Close;
                if (payload.size() == 1) return fail(kProtocolError, "a close frame with a one-byte payload");
                if (payload.empty()) {
                    result.closeCode = kNoStatus;
                    return result;
                }
                result.closeCode = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                              static_cast<unsigned char>(payload[1]));
                if (!isValidCloseCode(result.closeCode))
                    return fail(kProtocolError, "close code " + std::to_string(result.closeCode) + " is not allowed");
                result.payload = payload.substr(2);
                if (!isValidUtf8(result.payload)) return fail(kInvalidPayload, "the close reason is not valid UTF-8");
                return result;
            }
            default:
                break;
        }
        if (opcode != 0) {
            inMessage_ = true;
            messageOpcode_ = static_cast<Opcode>(opcode);
        }
        message_.append(payload);
        if (!fin) continue;
        inMessage_ = false;
        result.payload = std::move(message_);
        message_.clear();
        if (messageOpcode_ == Opcode::Binary) {
            result.status = Status::Binary;
            return result;
        }
        if (!isValidUtf8(result.payload)) return fail(kInvalidPayload, "a text message that is not valid UTF-8");
        result.status = Status::Text;
        return result;
    }
}

}  // namespace chat::ws

#include "websocket_client.hpp"

#include <cstring>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdexcept>
#include <utility>

namespace bench {

namespace {
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// True when the comma-separated `list` holds `token` (case-insensitive).
bool hasToken(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

/// Server text made safe for an error message: printable ASCII, at most `max` bytes.
std::string printable(std::string_view s, std::size_t max = 120) {
    std::string out;
    for (const char c : s.substr(0, max)) out += c >= 0x20 && c < 0x7f ? c : '?';
    if (s.size() > max) out += "...";
    return out;
}
}  // namespace

std::string wsNewKey() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
    return base64(bytes, sizeof bytes);
}

std::string wsAcceptFor(std::string_view key) {
    std::string input(key);
    input += kGuid;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 failed");
    return base64(digest, length);
}

std::string wsUpgradeRequest(std::string_view host, std::uint16_t port, std::string_view path, std::string_view key,
                             bool secure) {
    const std::string authority = std::string(host) + ":" + std::to_string(port);
    std::string out = "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + authority +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + std::string(key) +
                      "\r\nSec-WebSocket-Version: 13\r\nOrigin: " + (secure ? "https://" : "http://") + authority +
                      "\r\nUser-Agent: chat-bench\r\n\r\n";
    return out;
}

void wsAppendFrame(std::string& out, WsOpcode opcode, std::string_view payload, std::uint32_t mask) {
    const std::uint64_t n = payload.size();
    char header[14];
    std::size_t h = 0;
    header[h++] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
    if (n < 126) {
        header[h++] = static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        header[h++] = static_cast<char>(0x80 | 126);
        header[h++] = static_cast<char>(n >> 8);
        header[h++] = static_cast<char>(n);
    } else {
        header[h++] = static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) header[h++] = static_cast<char>(n >> shift);
    }
    const unsigned char key[4] = {static_cast<unsigned char>(mask >> 24), static_cast<unsigned char>(mask >> 16),
                                  static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
    std::memcpy(header + h, key, 4);
    h += 4;
    const std::size_t start = out.size() + h;
    out.append(header, h);
    out.append(payload);
    auto* data = reinterpret_cast<unsigned char*>(out.data() + start);
    for (std::size_t i = 0; i < n; ++i) data[i] ^= key[i & 3];
}

WsStream::WsStream(std::string key, std::uint64_t maskSeed) : key_(std::move(key)), mask_(maskSeed ? maskSeed : 1) {}

std::uint32_t WsStream::nextMask() {
    mask_ ^= mask_ >> 12;  // xorshift64*
    mask_ ^= mask_ << 25;
    mask_ ^= mask_ >> 27;
    return static_cast<std::uint32_t>((mask_ * 0x2545F4914F6CDD1DULL) >> 32);
}

void WsStream::appendClose(std::string& out, std::uint16_t code) {
    const char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code)};
    wsAppendFrame(out, WsOpcode::Close, std::string_view(payload, 2), nextMask());
}

WsStream::Status WsStream::fail(std::string why) {
    error_ = std::move(why);
    ended_ = Status::Failed;
    return Status::Failed;
}

WsStream::Status WsStream::feed(const char* data, std::size_t n, WsSink& sink, std::string& reply) {
    if (ended_ != Status::Ok) return ended_;
    const bool carried = !pending_.empty();
    if (carried) pending_.append(data, n);
    const char* p = carried ? pending_.data() : data;
    const std::size_t length = carried ? pending_.size() : n;
    std::size_t used = 0;
    Status status = Status::Ok;
    if (!open_) {
        status = handshake(p, length, used);
        if (status == Status::Ok && open_) sink.onOpen();
    }
    if (status == Status::Ok && open_) {
        std::size_t more = 0;
        status = frames(p + used, length - used, more, sink, reply);
        used += more;
    }
    if (status != Status::Ok) {
        pending_.clear();
        return status;
    }
    if (carried) pending_.erase(0, used);
    else pending_.assign(p + used, length - used);
    return Status::Ok;
}

WsStream::Status WsStream::handshake(const char* data, std::size_t n, std::size_t& used) {
    const std::string_view text(data, n);
    const std::size_t end = text.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (n > kWsMaxHandshake) return fail("WebSocket upgrade: no end of the server's answer within 16 KiB");
        return Status::Ok;
    }
    used = end + 4;
    std::string_view headers = text.substr(0, end + 2);
    const std::size_t firstEnd = headers.find("\r\n");
    const std::string_view status = headers.substr(0, firstEnd);
    if (status.substr(0, 12) != "HTTP/1.1 101" || (status.size() > 12 && status[12] != ' '))
        return fail("WebSocket upgrade refused: " + printable(status));
    headers.remove_prefix(firstEnd + 2);
    bool upgrade = false, connection = false, accept = false;
    const std::string expected = wsAcceptFor(key_);
    while (!headers.empty()) {
        const std::size_t eol = headers.find("\r\n");
        const std::string_view line = headers.substr(0, eol);
        headers.remove_prefix(eol + 2);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return fail("WebSocket upgrade: a header line without ':': " + printable(line));
        const std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
        if (iequals(name, "upgrade")) upgrade = iequals(value, "websocket");
        else if (iequals(name, "connection")) connection = hasToken(value, "upgrade");
        else if (iequals(name, "sec-websocket-accept")) {
            if (value != expected)
                return fail("WebSocket upgrade: wrong Sec-WebSocket-Accept '" + printable(value) + "', expected " + expected);
            accept = true;
        } else if (iequals(name, "sec-websocket-extensions") || iequals(name, "sec-websocket-protocol")) {
            return fail("WebSocket upgrade: the server chose " + printable(line) + ", which was not asked for");
        }
    }
    if (!upgrade) return fail("WebSocket upgrade: no 'Upgrade: websocket' in the 101 answer");
    if (!connection) return fail("WebSocket upgrade: no 'Connection: Upgrade' in the 101 answer");
    if (!accept) return fail("WebSocket upgrade: no Sec-WebSocket-Accept in the 101 answer");
    open_ = true;
    return Status::Ok;
}

WsStream::Status WsStream::frames(const char* data, std::size_t n, std::size_t& used, WsSink& sink, std::string& reply) {
    std::size_t at = 0;
    used = 0;
    while (n - at >= 2) {
        const auto* h = reinterpret_cast<const unsigned char*>(data + at);
        const bool fin = (h[0] & 0x80) != 0;
        const auto opcode = static_cast<WsOpcode>(h[0] & 0x0F);
        std::uint64_t length = h[1] & 0x7F;
        std::size_t header = 2;
        if ((h[0] & 0x70) != 0) return fail("WebSocket: a server frame with reserved bits set (no extension was agreed)");
        if ((h[1] & 0x80) != 0) return fail("WebSocket: a masked server frame (RFC 6455 5.1)");
        const bool control = (h[0] & 0x08) != 0;
        if (control && opcode != WsOpcode::Close && opcode != WsOpcode::Ping && opcode != WsOpcode::Pong)
            return fail("WebSocket: unknown control opcode " + std::to_string(h[0] & 0x0F));
        if (!control && opcode != WsOpcode::Continuation && opcode != WsOpcode::Text) {
            if (opcode == WsOpcode::Binary) return fail("WebSocket: a binary message from the server (the protocol is text)");
            return fail("WebSocket: unknown data opcode " + std::to_string(h[0] & 0x0F));
        }
        if (control && (!fin || length > 125)) return fail("WebSocket: a fragmented or oversized control frame");
        if (length == 126) {
            if (n - at < 4) break;
            length = (std::uint64_t{h[2]} << 8) | h[3];
            header = 4;
        } else if (length == 127) {
            if (n - at < 10) break;
            length = 0;
            for (int i = 2; i < 10; ++i) length = (length << 8) | h[i];
            if (length >> 63) return fail("WebSocket: a 64-bit frame length with its top bit set");
            header = 10;
        }
        if (length > kWsMaxMessage || (opcode == WsOpcode::Continuation && message_.size() + length > kWsMaxMessage))
            return fail("WebSocket: a message of more than " + std::to_string(kWsMaxMessage) + " bytes");
        if (n - at - header < length) break;
        const std::string_view payload(data + at + header, static_cast<std::size_t>(length));
        at += header + static_cast<std::size_t>(length);
        used = at;
        switch (opcode) {
            case WsOpcode::Text:
                if (fragmented_) return fail("WebSocket: a new message before the fragmented one ended");
                if (!fin) {
                    fragmented_ = true;
                    message_.assign(payload);
                } else if (!sink.onMessage(payload)) {
                    return Status::Ok;
                }
                break;
            case WsOpcode::Continuation:
                if (!fragmented_) return fail("WebSocket: a continuation frame without a message");
                message_.append(payload);
                if (fin) {
                    fragmented_ = false;
                    if (!sink.onMessage(message_)) return Status::Ok;
                }
                break;
            case WsOpcode::Ping:
                wsAppendFrame(reply, WsOpcode::Pong, payload, nextMask());
                break;
            case WsOpcode::Pong:
                break;
            case WsOpcode::Close: {
                if (payload.size() == 1) return fail("WebSocket: a close frame with a 1-byte payload");
                ended_ = Status::Closed;
                if (payload.empty()) {
                    wsAppendFrame(reply, WsOpcode::Close, {}, nextMask());
                    error_ = "WebSocket close (no status)";
                } else {
                    const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                                 static_cast<unsigned char>(payload[1]));
                    appendClose(reply, code);
                    error_ = "WebSocket close " + std::to_string(code);
                    if (payload.size() > 2) error_ += ": " + printable(payload.substr(2));
                }
                return Status::Closed;
            }
            default:
                return fail("WebSocket: unexpected opcode");
        }
    }
    used = at;
    return Status::Ok;
}

}  // namespace bench

#pragma once
// The load generator's WebSocket client (RFC 6455), socket-free: the
// upgrade request, the check of the server's 101 answer, masked client
// frames out, server frames in. The engine owns the socket (and TLS, when
// on) and moves bytes; nothing here does I/O, blocks or allocates per
// message once its buffers have grown (a frame split across reads is
// carried over in one reused buffer; fragmented messages in another).
//
// Everything a server sends is checked: a bad status line or accept key, a
// masked or reserved-bit server frame, an unknown opcode, a control frame
// over 125 bytes or fragmented, a 64-bit length with its top bit set or a
// message over kWsMaxMessage fail the stream with a reason.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

/// Far above any server's own limit: only a sanity bound for a broken stream.
inline constexpr std::size_t kWsMaxMessage = 16 * 1024 * 1024;
/// The most header bytes accepted before the 101 answer's blank line.
inline constexpr std::size_t kWsMaxHandshake = 16 * 1024;

enum class WsOpcode : std::uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };

/// A fresh Sec-WebSocket-Key: 16 random bytes (OpenSSL RAND_bytes), base64.
std::string wsNewKey();
/// base64(SHA-1(key + the RFC 6455 GUID)): the Sec-WebSocket-Accept a server
/// must answer `key` with.
std::string wsAcceptFor(std::string_view key);
/// The GET request that upgrades a connection to `host:port` (an IP
/// literal) to a WebSocket on `path`, with `Origin: SCHEME://host:port`
/// (scheme http, or https when `secure`) matching the Host header.
std::string wsUpgradeRequest(std::string_view host, std::uint16_t port, std::string_view path, std::string_view key,
                             bool secure);
/// Appends one client frame with FIN set: header, `mask` (the 4 masking
/// bytes, big-endian) and `payload` XORed with it. Lengths over 125 use the
/// 16-bit and over 65535 the 64-bit form.
void wsAppendFrame(std::string& out, WsOpcode opcode, std::string_view payload, std::uint32_t mask);

/// What a WebSocket stream hands up: the moment it opened, and each complete
/// text message (the view is valid only during the call).
class WsSink {
public:
    virtual ~WsSink() = default;
    virtual void onOpen() = 0;
    /// Returns false when the connection was closed meanwhile: the stream stops.
    virtual bool onMessage(std::string_view text) = 0;
};

/// One client connection's WebSocket state, from the upgrade request on.
class WsStream {
public:
    enum class Status {
        Ok,      ///< keep going (more bytes may be needed)
        Closed,  ///< the server sent a close frame; `error()` has its code and reason
        Failed,  ///< the server broke the protocol; `error()` says how
    };

    /// `key` is this connection's Sec-WebSocket-Key (wsNewKey()); `maskSeed`
    /// seeds the masking keys (any value but 0; a xorshift generator: the
    /// benchmark's frames go to a server it started on loopback, so masking
    /// keys need not be unpredictable to anyone).
    WsStream(std::string key, std::uint64_t maskSeed);

    const std::string& key() const { return key_; }
    bool open() const { return open_; }
    const std::string& error() const { return error_; }

    /// Consumes `n` bytes from the server: first the 101 answer (then
    /// onOpen()), then frames. Text messages go to `sink`; a ping is
    /// answered with a pong and a close with a close, appended to `reply`.
    Status feed(const char* data, std::size_t n, WsSink& sink, std::string& reply);

    /// Appends a masked text frame carrying `text`.
    void appendText(std::string& out, std::string_view text) { wsAppendFrame(out, WsOpcode::Text, text, nextMask()); }
    /// Appends a masked close frame with `code` (1000: normal closure).
    void appendClose(std::string& out, std::uint16_t code = 1000);

private:
    std::uint32_t nextMask();
    Status handshake(const char* data, std::size_t n, std::size_t& used);
    /// Parses complete frames at the start of [data, data+n); `used` says how many bytes.
    Status frames(const char* data, std::size_t n, std::size_t& used, WsSink& sink, std::string& reply);
    Status fail(std::string why);

    std::string key_;
    std::uint64_t mask_;
    bool open_ = false;
    Status ended_ = Status::Ok;  // Closed or Failed once the stream has ended (nothing after counts)
    bool fragmented_ = false;    // a text message's first frame came without FIN
    std::string pending_;        // bytes of an incomplete handshake or frame, carried over
    std::string message_;        // a fragmented message being assembled
    std::string error_;
};

}  // namespace bench

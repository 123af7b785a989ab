#pragma once
// The client's side of one connection to a chat server.

#include "client/server_address.hpp"
#include "client/server_connection_error.hpp"
#include "client/tls_stream.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chat {

/// What a hello may carry besides the name (docs/protocol.md, "Names").
struct HelloCredentials {
    HelloCredentials(std::string password = {}, std::string key = {}, std::string token = {})
        : password(std::move(password)), key(std::move(key)), token(std::move(token)) {}
    std::string password;  ///< empty: none
    std::string key;       ///< a guest key from an earlier welcome; empty: none
    std::string token;     ///< a token of `chat login` (instead of a password); empty: none
};

struct Welcome {
    std::string server;
    std::string motd;
    std::string user;
    std::string room;                ///< the default room, where we start
    std::vector<std::string> rooms;  ///< rooms we are in (several sessions share them)
    std::vector<std::string> online;
    std::size_t maxText = 0;
    double ratePerSecond = 0;  ///< the server's message rate limit; 0 when not announced
    double rateBurst = 0;
    bool account = false;  ///< the name is a registered account's
    std::string key;       ///< a guest's key, for further sessions and reconnects
    Poco::JSON::Object::Ptr message;  ///< the welcome as received
};

/// Not thread-safe: one thread owns a ServerConnection. Plain TCP or TLS
/// underneath (TlsStream); everything above the bytes is the same.
class ServerConnection {
public:
    using Clock = std::chrono::steady_clock;

    /// Connects (and with address.tls, completes the TLS handshake and
    /// decides trust) within `timeout`. Throws ClientError(69) naming host
    /// and port when the server cannot be reached, ClientError(75) on
    /// time-out, and what TlsStream throws.
    ServerConnection(const ServerAddress& address, const TlsSettings& tls, std::chrono::milliseconds timeout);
    /// Plaintext to host:port.
    ServerConnection(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

    /// Says hello and waits for welcome. Throws ClientError: 64 for a name
    /// the server refuses, 69 when the server is full or the connection
    /// drops or says the port speaks TLS, 75 on time-out or auth_throttled,
    /// 76 when the server speaks another version, 78 for auth_required,
    /// auth_failed and auth_insecure (ClientError::code() says which; a
    /// refused token's message says to run `chat login` again).
    Welcome hello(const std::string& user, const std::string& clientName, bool announce,
                  Clock::time_point deadline, const HelloCredentials& credentials = {});

    /// Sends one message, blocking until it is written. Throws ClientError(69)
    /// when the connection is gone.
    void send(const Poco::JSON::Object::Ptr& message);

    /// Reads whatever the socket has without blocking, and with TLS every
    /// byte OpenSSL has decrypted, so that no complete message waits for
    /// the socket to become readable again. False once the server has
    /// closed the connection (messages already read stay available).
    bool readAvailable();

    /// True when bytes already received wait to be read by readAvailable()
    /// (a poll loop must not sleep on fd() then).
    bool pending() const { return tls_ && tls_->pending(); }

    /// The server's certificate fingerprint; empty for plaintext.
    std::string fingerprint() const { return tls_ ? tls_->fingerprint() : std::string(); }

    /// The next complete message already read, if any. Throws ClientError(76)
    /// when the server sends something that is not a valid frame.
    std::optional<Poco::JSON::Object::Ptr> nextMessage();

    /// Waits for the next message until `deadline`: nullopt on time-out.
    /// Throws ClientError(69) when the connection is lost.
    std::optional<Poco::JSON::Object::Ptr> waitMessage(Clock::time_point deadline);

    int fd() const { return socket_.impl()->sockfd(); }
    void close();

private:
    Poco::Net::StreamSocket socket_;
    std::string where_;  ///< "host:port", for messages
    std::unique_ptr<TlsStream> tls_;
    FrameDecoder decoder_;
    bool closed_ = false;
};

}  // namespace chat

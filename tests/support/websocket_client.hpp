#pragma once
// A test's view of the web port: raw HTTP requests, and a WebSocket client
// built on shared/websocket_codec over a plain loopback socket (so a test can
// also send frames no browser would).

#include "support/deadline.hpp"
#include "support/test_client.hpp"

#include "shared/websocket_codec.hpp"

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chat::test {

struct HttpReply {
    int status = 0;                              ///< 0: no status line arrived
    std::map<std::string, std::string> headers;  ///< names in lower case
    std::string body;
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

/// Sends `method path HTTP/1.1` with Host 127.0.0.1:port, Connection: close
/// and `headers`, reads to the server's EOF (within `wait`), parses.
HttpReply httpRequest(std::uint16_t port, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      std::chrono::milliseconds wait = kWait);

/// Parses a whole response (head, then the body as it is); status 0 when
/// there is no complete head.
HttpReply parseHttpReply(const std::string& bytes);

/// The Origin a page served by the web port on `port` sends.
std::string ownOrigin(std::uint16_t port);

class WebSocketClient {
public:
    /// Connects to 127.0.0.1:port and sends the upgrade request with
    /// `origin` (none when empty) and `host` (127.0.0.1:port when empty);
    /// waits for the response head. upgraded() tells whether it was 101.
    WebSocketClient(std::uint16_t port, const std::string& origin, const std::string& host = "");
    ~WebSocketClient();
    WebSocketClient(const WebSocketClient&) = delete;
    WebSocketClient& operator=(const WebSocketClient&) = delete;

    /// Upgraded with its own origin, said hello as `user`, read the welcome.
    static std::unique_ptr<WebSocketClient> joined(std::uint16_t port, const std::string& user);

    bool upgraded() const { return reply_.status == 101; }
    /// The handshake response (for a refusal, with its body read to EOF).
    const HttpReply& reply() const { return reply_; }

    /// Sends one masked frame.
    void sendFrame(ws::Opcode opcode, std::string_view payload, bool fin = true);
    void sendText(const std::string& json) { sendFrame(ws::Opcode::Text, json); }
    /// Sends bytes as they are.
    void sendRaw(std::string_view bytes);

    /// The next text message, parsed (pings from the protocol are answered
    /// with pongs); nullopt on time-out or once the server has closed.
    std::optional<Poco::JSON::Object::Ptr> next(std::chrono::milliseconds wait = kWait);
    Poco::JSON::Object::Ptr waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match,
                                    std::chrono::milliseconds wait = kWait);
    Poco::JSON::Object::Ptr waitForType(const std::string& type, std::chrono::milliseconds wait = kWait);

    struct Close {
        std::uint16_t code = 0;
        std::string reason;
    };
    /// Reads (dropping messages, keeping them in seen()) until the server's
    /// close frame arrives, which is answered; nullopt if the connection ended
    /// without one, or on time-out.
    std::optional<Close> waitForClose(std::chrono::milliseconds wait = kWait);
    /// True when the server ended the TCP stream (EOF or reset) within `wait`.
    bool endedWithin(std::chrono::milliseconds wait = kWait);
    /// Payloads of pongs received (WebSocket control frames).
    const std::vector<std::string>& pongs() const { return pongs_; }
    /// Every text message received so far, in order.
    const std::vector<std::string>& seen() const { return seen_; }

    int fd() const { return fd_; }

private:
    /// Reads what has arrived and decodes; false once the stream ended.
    bool readAvailable();
    bool awaitInput(Clock::time_point deadline);
    /// Decodes buffered frames into texts_/pongs_/close_.
    void decode();

    int fd_ = -1;
    HttpReply reply_;
    ws::Decoder decoder_{false, 16 * 1024 * 1024};
    std::deque<std::string> texts_;
    std::vector<std::string> seen_;
    std::vector<std::string> pongs_;
    std::optional<Close> close_;
    bool ended_ = false;
    bool closeAnswered_ = false;
};

}  // namespace chat::test

#pragma once
// The load generator's connections: one epoll set, non-blocking sockets to
// one server on a loopback address, each speaking through an Adapter,
// over plain TCP or TLS (tls_client.hpp; the adapter's bytes are the same),
// and each either as a stream (the adapter's framing) or as a WebSocket
// (websocket_client.hpp; the adapter's message form, one per text frame).
// Single-threaded; nothing here blocks except pollOnce(), and that only
// until the deadline it is given.

#include "adapter.hpp"
#include "tls_client.hpp"
#include "websocket_client.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

/// What the workloads hear about their connections. `id` is what
/// Engine::open() returned. Views are valid only during the call.
class ClientHandler {
public:
    virtual ~ClientHandler() = default;
    virtual void onReady(int /*id*/) {}
    virtual void onPayload(int /*id*/, std::string_view /*text*/, std::int64_t /*nowNs*/) {}
    virtual void onAck(int /*id*/) {}
    virtual void onError(int /*id*/, std::string_view /*code*/, std::string_view /*detail*/) {}
    virtual void onLeft(int /*id*/, std::string_view /*user*/, std::string_view /*reason*/) {}
    /// The connection is gone; `why` is the server's last error when it gave one.
    virtual void onClosed(int /*id*/, std::string_view /*why*/, bool /*wasReady*/) {}
};

/// Which connections speak WebSocket, and where. Connection ids below `of`
/// are WebSocket for `members` of them, spread evenly (members = of / 2:
/// every other id), so the first K ids (the senders) are mixed too; ids at
/// or past `of` are WebSocket only when members >= of (all of them).
struct WebSocketOptions {
    std::uint16_t port = 0;  ///< the server's web port (`chat serve --web-port`); 0: no WebSocket
    std::string path = "/ws";
    int members = 0;
    int of = 0;
};

/// True when connection `id` speaks WebSocket under `options` (see above).
bool webSocketMember(const WebSocketOptions& options, int id);

class Engine {
public:
    /// `host` must be an IPv4 loopback address (127.0.0.0/8); throws
    /// std::invalid_argument otherwise, std::system_error when epoll fails,
    /// std::runtime_error when TLS is asked for and cannot be set up. With
    /// `tls.enabled` every connection does a full TLS handshake after TCP
    /// connects and logs in once it is done. WebSocket connections (see
    /// WebSocketOptions) go to `ws.port` instead of `port`, upgrade with
    /// `GET ws.path` and log in once the server's 101 is checked; it throws
    /// std::invalid_argument when some are asked for without a port or
    /// over an adapter with no message form.
    Engine(const Adapter& adapter, const std::string& host, std::uint16_t port, const TlsOptions& tls = {},
           const WebSocketOptions& ws = {});
    ~Engine();  ///< closes every connection
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    void setHandler(ClientHandler* handler) { handler_ = handler; }

    /// Starts connecting (then the TLS handshake, when on, then the WebSocket
    /// upgrade for a WebSocket id) and logging in. `receiveBuffer` > 0 fixes SO_RCVBUF
    /// (a small one makes a slow reader fill up sooner). Returns the id;
    /// when the socket cannot even be created the client is closed at once
    /// (onClosed is not called; closed(id) is true).
    int open(const LoginOptions& login, int receiveBuffer = 0);

    /// Queues a post of `text` and tries to write it at once. On a WebSocket
    /// still upgrading it waits behind the login until the 101 has come.
    void post(int id, std::string_view text);
    /// Stops (false) or resumes (true) reading from the connection.
    void setReading(int id, bool on);
    /// Closes the connection (a WebSocket after a close frame, TLS after
    /// close_notify; both sent without waiting); no onClosed.
    void close(int id);

    /// Waits for socket events until `untilNs` (monotonic) at the latest and
    /// handles everything that is ready. Returns after one batch of events.
    void pollOnce(std::int64_t untilNs);

    int size() const { return static_cast<int>(clients_.size()); }
    bool ready(int id) const { return clients_[id].ready; }
    bool closed(int id) const { return clients_[id].fd < 0; }
    const std::string& lastError(int id) const { return clients_[id].lastError; }
    const std::string& user(int id) const { return clients_[id].login.user; }
    /// Bytes queued for the connection that the server has not taken yet.
    std::size_t unsent(int id) const { return clients_[id].out.size() - clients_[id].outPos; }
    int readyCount() const { return readyCount_; }
    int failedCount() const { return failedCount_; }  ///< closed before they were ready
    /// Connections whose TLS handshake finished (0 without TLS).
    int handshakeCount() const { return handshakeCount_; }
    bool tls() const { return tls_ != nullptr; }
    /// What the first finished handshake negotiated (tlsDescribe); empty before.
    const std::string& negotiated() const { return negotiated_; }
    std::uint64_t bytesRead() const { return bytesRead_; }
    /// True when connection `id` speaks WebSocket.
    bool webSocket(int id) const { return clients_[id].ws != nullptr; }
    /// WebSocket connections whose upgrade the server accepted.
    int upgradeCount() const { return upgradeCount_; }

private:
    struct Client {
        LoginOptions login;
        std::unique_ptr<Parser> parser;
        int fd = -1;
        SSL* ssl = nullptr;        // owned; null without TLS
        std::unique_ptr<WsStream> ws;  // null: a stream connection; kept until the engine dies (it may be feeding)
        std::string held;          // WebSocket: frames posted before the upgrade finished
        bool connecting = true;    // TCP not up yet
        bool handshaking = false;  // TLS handshake under way
        bool handshakeWantsWrite = false;
        bool readWantsWrite = false;  // SSL_read asked for the socket to be writable
        bool writeWantsRead = false;  // SSL_write asked for the socket to be readable
        bool ready = false;
        bool reading = true;
        bool writeWanted = false;  // EPOLLOUT registered
        std::uint32_t registered = 0;  // the epoll events registered for fd
        std::string out;
        std::size_t outPos = 0;
        std::string lastError;
    };
    class Dispatch;
    class WsBridge;

    void handle(int id, std::uint32_t events);
    void finishConnect(int id);
    void continueHandshake(int id);
    void startLogin(int id);
    void readFrom(int id);
    /// Hands bytes read from the server to the connection's parser (through
    /// its WebSocket, when it has one). False when the connection ended.
    bool consume(int id, const char* data, std::size_t n, std::string& reply);
    void webSocketOpened(int id);
    void sayGoodbye(int id);
    void readTls(int id);
    void flush(int id);
    void flushTls(int id);
    void release(int id, bool notifyTls);
    void updateInterest(int id);
    void fail(int id, std::string why);

    const Adapter& adapter_;
    std::string host_;
    std::unique_ptr<TlsContext> tls_;  // null: plain TCP
    WebSocketOptions ws_;
    std::uint16_t wsPort_ = 0;   // network order
    std::uint64_t maskSeed_ = 0;
    std::string scratch_;        // a WebSocket post's message before it is framed; reused
    int upgradeCount_ = 0;
    std::uint32_t address_ = 0;  // network order
    std::uint16_t port_ = 0;     // network order
    int epoll_ = -1;
    ClientHandler* handler_ = nullptr;
    std::vector<Client> clients_;
    std::vector<char> readBuffer_;
    int readyCount_ = 0;
    int failedCount_ = 0;
    int handshakeCount_ = 0;
    std::string negotiated_;
    std::uint64_t bytesRead_ = 0;
};

}  // namespace bench

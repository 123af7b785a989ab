#pragma once
// The server: one or two Poco TCPServers (plaintext, TLS) whose connections
// are TcpSessions, and optionally the web port (WebServer: HTTP and
// WebSocketSessions), all sharing one Hub and one Dispatcher.

#include "server/dispatcher.hpp"
#include "server/hub.hpp"
#include "server/log_throttle.hpp"
#include "server/tcp_session.hpp"
#include "server/tls_context.hpp"
#include "server/web_server.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <memory>
#include <optional>
#include <string>

namespace chat {

struct ServerConfig {
    std::string host = "0.0.0.0";
    std::uint16_t port = 5050;      ///< 0 picks a free port; see address()
    bool plaintext = true;          ///< false: no plaintext listener (--tls-only; needs `tls`)
    /// When set, a second listener on host:tlsPort speaks TLS with it. The
    /// caller may reload() it at any time (SIGHUP).
    std::shared_ptr<TlsServerContext> tls;
    std::uint16_t tlsPort = 5051;   ///< 0 picks a free port; see tlsAddress()
    /// When set, the web port (HTTP, WebSocket on /ws) listens too; its
    /// WebSocket sessions share the hub, the limits and the session pool.
    std::optional<WebConfig> web;
    HubConfig hub;
    SessionLimits session;
    /// Bytes queued server-wide, waiting only because the server is behind,
    /// above which sessions stop reading requests (see Dispatcher).
    std::size_t backlogBudget = 64 * 1024 * 1024;
    /// Where messages, topics and read marks are kept (owned by the caller,
    /// outliving the server); null keeps nothing beyond the rooms' recent
    /// events in memory.
    History* history = nullptr;
};

/// Owns the listening sockets, the thread pool (one reading thread per
/// connection, sized for hub.maxClients plus a few for refusing extra
/// clients, per listener), the TCPServers, the Hub and the Dispatcher (the
/// one writing thread). Both listeners share the hub, the dispatcher and
/// every limit: --max-clients counts plaintext, TLS and WebSocket connections
/// together; WebSocket sessions run on the same session pool.
/// Construction binds; start() accepts; stop() notifies every client and
/// waits briefly for sessions to end.
class ChatServer {
public:
    /// Binds host:port and, with config.tls, host:tlsPort. Throws
    /// Poco::Exception if that fails, std::invalid_argument when neither
    /// listener is asked for.
    explicit ChatServer(ServerConfig config);
    ~ChatServer();
    ChatServer(const ChatServer&) = delete;
    ChatServer& operator=(const ChatServer&) = delete;

    void start();

    /// Stops accepting (connections still waiting to be accepted are
    /// answered shutting_down), tells every client "shutting down", and
    /// waits until the sessions have ended or `grace` has passed. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1500));

    /// The plaintext listener's address, with the real port when
    /// config.port was 0; with --tls-only, the TLS listener's.
    Poco::Net::SocketAddress address() const { return plain_ ? plain_->address : tls_->address; }
    /// The TLS listener's address; nullopt without config.tls.
    std::optional<Poco::Net::SocketAddress> tlsAddress() const {
        return tls_ ? std::optional<Poco::Net::SocketAddress>(tls_->address) : std::nullopt;
    }
    /// The plaintext listener's address; nullopt with --tls-only.
    std::optional<Poco::Net::SocketAddress> plainAddress() const {
        return plain_ ? std::optional<Poco::Net::SocketAddress>(plain_->address) : std::nullopt;
    }

    /// The web port's address; nullopt without config.web.
    std::optional<Poco::Net::SocketAddress> webAddress() const {
        return web_ ? std::optional<Poco::Net::SocketAddress>(web_->address()) : std::nullopt;
    }

    Hub& hub() { return hub_; }
    Dispatcher& dispatcher() { return dispatcher_; }

private:
    /// One listening socket and the TCPServer accepting on it.
    struct Listener {
        Poco::Net::ServerSocket socket;
        Poco::Net::SocketAddress address;
        std::shared_ptr<const TlsServerContext> tls;  // null: plaintext
        std::unique_ptr<Poco::Net::TCPServer> server;
    };
    void startListener(Listener& listener);
    void refuseWaitingConnections(Listener& listener);

    ServerConfig config_;
    Dispatcher dispatcher_;  // before hub_ and the pool: outlives every session and every outbox the hub holds
    Hub hub_;                // posts events through dispatcher_
    LogThrottle logs_;       // the warnings peers cause, shared by every session
    Poco::ThreadPool pool_;          // before the listeners: their TCPServers use it until destroyed
    std::optional<Listener> plain_;
    std::optional<Listener> tls_;
    std::unique_ptr<WebServer> web_;  // after pool_ and hub_: its sessions use both
    bool stopped_ = false;
};

}  // namespace chat

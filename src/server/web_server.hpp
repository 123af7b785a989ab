#pragma once
// The web port: serves the embedded web client and upgrades GET /ws to a
// WebSocket chat connection; plain HTTP through a Poco HTTPServer, or, with
// TLS configured, HTTPS and wss:// only (TlsWebConnection).

#include "server/dispatcher.hpp"
#include "server/hub.hpp"
#include "server/log_throttle.hpp"
#include "server/origin_policy.hpp"
#include "server/tcp_session.hpp"
#include "server/tls_context.hpp"

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace chat {

struct WebConfig {
    std::string host = "0.0.0.0";
    std::uint16_t port = 8080;  ///< 0 picks a free port; see WebServer::address()
    /// Origins allowed besides the server's own (each must pass
    /// OriginPolicy::normalizeOrigin(); the caller checks at startup).
    std::vector<std::string> origins;
    /// HTTP limits: threads that parse requests and serve files (not the
    /// WebSocket sessions, which run on the chat server's session pool),
    /// connections waiting for one, and the per-read time-out.
    int httpThreads = 16;
    int httpQueued = 64;
    std::chrono::seconds httpTimeout{5};
    /// Set: the port speaks TLS only (HTTPS and wss://) with this context
    /// (the chat TLS port's, so SIGHUP reloads both); a plaintext request
    /// is answered 400 in plaintext and closed. Null: plain HTTP and ws://.
    std::shared_ptr<const TlsServerContext> tls;
};

/// Every response carries a strict Content-Security-Policy (default-src
/// 'self', no inline script, connect-src only this host's ws:/wss:),
/// X-Content-Type-Options nosniff, Referrer-Policy no-referrer and
/// X-Frame-Options DENY. GET and HEAD only (405 otherwise); unknown paths 404.
///
/// GET /ws: the Origin must pass the OriginPolicy (403 with a plain-text
/// reason otherwise); then the handshake is answered 101 on the HTTP thread
/// and the socket is handed to a WebSocketSession on `sessions` (the chat
/// server's pool), freeing the HTTP thread at once. The HTTP side has its own
/// small pool: a flood of HTTP requests or slow (slowloris) clients can delay
/// page loads and new upgrades, never the chat sessions, and the sessions can
/// never take the threads that serve files.
///
/// With config.tls the same holds over TLS: each connection's handshake and
/// one request run on the HTTP pool (TlsWebConnection), answered with the
/// same responses (plus Connection: close); the own origin is then
/// https://HOST and an upgraded connection's WebSocketSession runs on its
/// TlsLink.
class WebServer {
public:
    /// Binds config.host:config.port. Throws Poco::Exception if that fails.
    WebServer(WebConfig config, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs, Poco::ThreadPool& sessions,
              SessionLimits limits);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    void start();
    /// Stops accepting and ends HTTP connections in progress; sessions
    /// already upgraded belong to the hub (its shutdown ends them).
    void stop();

    Poco::Net::SocketAddress address() const { return address_; }

private:
    WebConfig config_;
    const OriginPolicy origins_;  // before server_: its handlers use it
    Poco::Net::ServerSocket socket_;
    Poco::Net::SocketAddress address_;
    Poco::ThreadPool httpPool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;  // an HTTPServer without TLS
    std::atomic<bool> stopping_{false};             // read by TLS connections in progress
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
    Poco::ThreadPool& sessions_;
    const SessionLimits limits_;
    bool stopped_ = false;
};

}  // namespace chat

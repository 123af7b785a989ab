#pragma once
// The server: a Poco TCPServer whose connections are TcpSessions sharing one
// Hub and one Dispatcher.

#include "server/dispatcher.hpp"
#include "server/hub.hpp"
#include "server/log_throttle.hpp"
#include "server/tcp_session.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <memory>
#include <string>

namespace chat {

struct ServerConfig {
    std::string host = "0.0.0.0";
    std::uint16_t port = 5050;      ///< 0 picks a free port; see address()
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

/// Owns the listening socket, the thread pool (one reading thread per
/// connection, sized for hub.maxClients plus a few for refusing extra
/// clients), the TCPServer, the Hub and the Dispatcher (the one writing
/// thread). Construction binds; start() accepts; stop() notifies every
/// client and waits briefly for sessions to end.
class ChatServer {
public:
    /// Binds host:port. Throws Poco::Exception if that fails.
    explicit ChatServer(ServerConfig config);
    ~ChatServer();
    ChatServer(const ChatServer&) = delete;
    ChatServer& operator=(const ChatServer&) = delete;

    void start();

    /// Stops accepting (connections still waiting to be accepted are
    /// answered shutting_down), tells every client "shutting down", and
    /// waits until the sessions have ended or `grace` has passed. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1500));

    /// The bound address, with the real port when config.port was 0.
    Poco::Net::SocketAddress address() const { return address_; }

    Hub& hub() { return hub_; }
    Dispatcher& dispatcher() { return dispatcher_; }

private:
    void refuseWaitingConnections();

    ServerConfig config_;
    Dispatcher dispatcher_;  // before hub_ and the pool: outlives every session and every outbox the hub holds
    Hub hub_;                // posts events through dispatcher_
    LogThrottle logs_;       // the warnings peers cause, shared by every session
    Poco::Net::ServerSocket socket_;
    Poco::Net::SocketAddress address_;
    Poco::ThreadPool pool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
    bool stopped_ = false;
};

}  // namespace chat

#pragma once
// The server: a Poco TCPServer whose connections are Sessions sharing one Hub.

#include "server/hub.hpp"
#include "server/session.hpp"

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
};

/// Owns the listening socket, the thread pool (one reading thread per
/// connection, sized for hub.maxClients plus a few for refusing extra
/// clients), the TCPServer, the Hub and the Flusher (the one writing thread). Construction binds; start() accepts; stop()
/// notifies every client and waits briefly for sessions to end.
class ChatServer {
public:
    /// Binds host:port. Throws Poco::Exception if that fails.
    explicit ChatServer(ServerConfig config);
    ~ChatServer();
    ChatServer(const ChatServer&) = delete;
    ChatServer& operator=(const ChatServer&) = delete;

    void start();

    /// Stops accepting, tells every client "shutting down", and waits until
    /// the sessions have ended or `grace` has passed. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1500));

    /// The bound address, with the real port when config.port was 0.
    Poco::Net::SocketAddress address() const { return socket_.address(); }

    Hub& hub() { return hub_; }

private:
    ServerConfig config_;
    Flusher flusher_;  // before hub_ and the pool: outlives every session and every outbox the hub holds
    Hub hub_;          // its fan-out posts to flusher_: every participant is an Outbox made with flusher_
    Poco::Net::ServerSocket socket_;
    Poco::ThreadPool pool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
    bool stopped_ = false;
};

}  // namespace chat

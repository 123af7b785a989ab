#include "server/chat_server.hpp"

#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <spdlog/spdlog.h>

namespace chat {

namespace {
/// Threads beyond maxClients, so that clients over the limit are answered
/// "server_full" at once instead of waiting for a free thread.
constexpr int kSpareThreads = 8;
constexpr int kThreadStackBytes = 256 * 1024;

class SessionFactory final : public Poco::Net::TCPServerConnectionFactory {
public:
    SessionFactory(Hub& hub, Flusher& flusher, SessionLimits limits) : hub_(hub), flusher_(flusher), limits_(limits) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        return new Session(socket, hub_, flusher_, limits_);
    }

private:
    Hub& hub_;
    Flusher& flusher_;
    SessionLimits limits_;
};

Poco::Net::ServerSocket bindSocket(const ServerConfig& config) {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(config.host, config.port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(1024);
    return socket;
}

int threadCount(const ServerConfig& config) { return static_cast<int>(config.hub.maxClients) + kSpareThreads; }
}  // namespace

ChatServer::ChatServer(ServerConfig config)
    : config_(std::move(config)),
      hub_(config_.hub, [this](const std::vector<ParticipantPtr>& to, const SharedFrame& frame) { flusher_.post(to, frame); }),
      socket_(bindSocket(config_)),
      pool_("session", 2, threadCount(config_), 60, kThreadStackBytes) {}

ChatServer::~ChatServer() { stop(); }

void ChatServer::start() {
    auto params = new Poco::Net::TCPServerParams;
    params->setMaxThreads(threadCount(config_));
    params->setMaxQueued(1024);
    params->setThreadIdleTime(Poco::Timespan(60, 0));
    server_ = std::make_unique<Poco::Net::TCPServer>(new SessionFactory(hub_, flusher_, config_.session), pool_, socket_,
                                                     params);
    server_->start();
    spdlog::info("listening on {}", address().toString());
}

void ChatServer::stop(std::chrono::milliseconds grace) {
    if (stopped_ || !server_) return;
    stopped_ = true;
    spdlog::info("shutting down: notifying {} connection(s)", hub_.connectionCount());
    server_->stop();
    hub_.shutdown("the server is shutting down");
    if (!hub_.waitUntilEmpty(std::chrono::steady_clock::now() + grace))
        spdlog::warn("{} connection(s) still open after {} ms", hub_.connectionCount(), grace.count());
    pool_.joinAll();
}

}  // namespace chat

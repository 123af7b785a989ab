#include "server/chat_server.hpp"

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <spdlog/spdlog.h>

#include <poll.h>

namespace chat {

namespace {
/// Threads beyond maxClients, so that clients over the limit are answered
/// "server_full" at once instead of waiting for a free thread.
constexpr int kSpareThreads = 8;
constexpr int kThreadStackBytes = 256 * 1024;
/// How long an idle connection-dispatching thread waits before it looks at
/// the stop flag again (see start()).
const Poco::Timespan kDispatcherIdle(0, 200 * 1000);

class SessionFactory final : public Poco::Net::TCPServerConnectionFactory {
public:
    SessionFactory(Hub& hub, Dispatcher& dispatcher, LogThrottle& logs, SessionLimits limits)
        : hub_(hub), dispatcher_(dispatcher), logs_(logs), limits_(limits) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        return new TcpSession(socket, hub_, dispatcher_, logs_, limits_);
    }

private:
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
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
      dispatcher_(config_.backlogBudget),
      hub_(config_.hub, &dispatcher_, config_.history),
      socket_(bindSocket(config_)),
      address_(socket_.address()),
      pool_("session", 2, threadCount(config_), 60, kThreadStackBytes) {}

ChatServer::~ChatServer() { stop(); }

void ChatServer::start() {
    auto params = new Poco::Net::TCPServerParams;
    params->setMaxThreads(threadCount(config_));
    params->setMaxQueued(1024);
    // Poco 1.11's TCPServerDispatcher::stop() wakes only the dispatcher
    // threads already waiting for a connection; one that is on its way back
    // to wait misses the wake-up and sleeps for the whole idle time, which
    // stop()'s joinAll() then waits out. A short idle time bounds that wait.
    params->setThreadIdleTime(kDispatcherIdle);
    server_ = std::make_unique<Poco::Net::TCPServer>(new SessionFactory(hub_, dispatcher_, logs_, config_.session), pool_,
                                                     socket_, params);
    server_->start();
    spdlog::info("listening on {}", address_.toString());
}

void ChatServer::stop(std::chrono::milliseconds grace) {
    if (stopped_) return;
    stopped_ = true;
    spdlog::info("shutting down: notifying {} connection(s)", hub_.connectionCount());
    if (server_) server_->stop();
    hub_.flushHistory();  // oks of stored messages go out before the shutdown notice
    hub_.shutdown("the server is shutting down");
    refuseWaitingConnections();
    if (!hub_.waitUntilEmpty(std::chrono::steady_clock::now() + grace))
        spdlog::warn("{} connection(s) still open after {} ms", hub_.connectionCount(), grace.count());
    pool_.joinAll();
    hub_.flushHistory();  // no answer is delivered once the dispatcher is gone
}

void ChatServer::refuseWaitingConnections() {
    // Connections the kernel accepted but the TCPServer will never take: say
    // why, then close the listening socket so that later ones are refused.
    // Each is closed the way sessions close: FIN, then what the client still
    // sends is read until it closes (or 100 ms pass), so no reset destroys
    // the answer.
    const auto frame = toFrame(makeError(ErrorCode::ShuttingDown, "the server is shutting down"));
    std::vector<Poco::Net::StreamSocket> refused;
    try {
        for (int i = 0; i < 1024; ++i) {
            pollfd pfd{socket_.impl()->sockfd(), POLLIN, 0};
            if (::poll(&pfd, 1, 0) <= 0) break;
            Poco::Net::StreamSocket peer = socket_.acceptConnection();
            try {
                peer.setBlocking(false);
                peer.sendBytes(frame.data(), static_cast<int>(frame.size()));
                peer.shutdownSend();
                refused.push_back(peer);
            } catch (const Poco::Exception&) {
            }
        }
        socket_.close();
    } catch (const Poco::Exception& e) {
        spdlog::warn("closing the listening socket: {}", e.displayText());
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    for (auto& peer : refused) {
        char sink[4096];
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            pollfd pfd{peer.impl()->sockfd(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
            if (::recv(pfd.fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
        }
        peer.close();
    }
}

}  // namespace chat

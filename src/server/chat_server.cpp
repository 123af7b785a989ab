#include "server/chat_server.hpp"

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <stdexcept>

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
    SessionFactory(Hub& hub, Dispatcher& dispatcher, LogThrottle& logs, SessionLimits limits,
                   std::shared_ptr<const TlsServerContext> tls)
        : hub_(hub), dispatcher_(dispatcher), logs_(logs), limits_(limits), tls_(std::move(tls)) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        return new TcpSession(socket, hub_, dispatcher_, logs_, limits_, tls_);
    }

private:
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
    SessionLimits limits_;
    std::shared_ptr<const TlsServerContext> tls_;
};

Poco::Net::ServerSocket bindSocket(const std::string& host, std::uint16_t port) {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(host, port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(1024);
    return socket;
}

int threadCount(const ServerConfig& config) { return static_cast<int>(config.hub.maxClients) + kSpareThreads; }

int listenerCount(const ServerConfig& config) {
    if (!config.plaintext && !config.tls) throw std::invalid_argument("no listener: plaintext off and no TLS context");
    return (config.plaintext ? 1 : 0) + (config.tls ? 1 : 0) + (config.web ? 1 : 0);
}
}  // namespace

ChatServer::ChatServer(ServerConfig config)
    : config_(std::move(config)),
      dispatcher_(config_.backlogBudget),
      hub_(config_.hub, &dispatcher_, config_.history),
      // Each listener may fill its own share: clients beyond --max-clients
      // still get a thread to be refused on, whichever port they chose.
      pool_("session", 2, threadCount(config_) * listenerCount(config_), 60, kThreadStackBytes) {
    if (config_.plaintext) {
        auto socket = bindSocket(config_.host, config_.port);
        const auto address = socket.address();
        plain_.emplace(Listener{std::move(socket), address, nullptr, nullptr});
    }
    if (config_.tls) {
        auto socket = bindSocket(config_.host, config_.tlsPort);
        const auto address = socket.address();
        tls_.emplace(Listener{std::move(socket), address, config_.tls, nullptr});
    }
    if (config_.web) {
        auto web = *config_.web;
        web.tls = config_.tls;  // with TLS configured the web port speaks only HTTPS and wss://
        web_ = std::make_unique<WebServer>(std::move(web), hub_, dispatcher_, logs_, pool_, config_.session);
    }
}

ChatServer::~ChatServer() { stop(); }

void ChatServer::start() {
    if (plain_) startListener(*plain_);
    if (tls_) startListener(*tls_);
    if (web_) web_->start();
}

void ChatServer::startListener(Listener& listener) {
    auto params = new Poco::Net::TCPServerParams;
    params->setMaxThreads(threadCount(config_));
    params->setMaxQueued(1024);
    // Poco 1.11's TCPServerDispatcher::stop() wakes only the dispatcher
    // threads already waiting for a connection; one that is on its way back
    // to wait misses the wake-up and sleeps for the whole idle time, which
    // stop()'s joinAll() then waits out. A short idle time bounds that wait.
    params->setThreadIdleTime(kDispatcherIdle);
    listener.server = std::make_unique<Poco::Net::TCPServer>(
        new SessionFactory(hub_, dispatcher_, logs_, config_.session, listener.tls), pool_, listener.socket, params);
    listener.server->start();
    if (listener.tls)
        spdlog::info("listening for TLS on {} (certificate SHA-256 {})", listener.address.toString(),
                     listener.tls->fingerprint());
    else
        spdlog::info("listening on {}", listener.address.toString());
}

void ChatServer::stop(std::chrono::milliseconds grace) {
    if (stopped_) return;
    stopped_ = true;
    spdlog::info("shutting down: notifying {} connection(s)", hub_.connectionCount());
    for (auto* listener : {&plain_, &tls_})
        if (*listener && (*listener)->server) (*listener)->server->stop();
    if (web_) web_->stop();  // no new upgrades; those made are the hub's (below)
    hub_.flushHistory();  // oks of stored messages go out before the shutdown notice
    hub_.shutdown("the server is shutting down");
    for (auto* listener : {&plain_, &tls_})
        if (*listener) refuseWaitingConnections(**listener);
    if (!hub_.waitUntilEmpty(std::chrono::steady_clock::now() + grace))
        spdlog::warn("{} connection(s) still open after {} ms", hub_.connectionCount(), grace.count());
    pool_.joinAll();
    hub_.flushHistory();  // no answer is delivered once the dispatcher is gone
}

void ChatServer::refuseWaitingConnections(Listener& listener) {
    Poco::Net::ServerSocket& socket = listener.socket;
    if (listener.tls) {
        // No handshake is started for a refusal: the waiting TLS clients see
        // the connection close.
        try {
            socket.close();
        } catch (const Poco::Exception& e) {
            spdlog::warn("closing the TLS listening socket: {}", e.displayText());
        }
        return;
    }
    // Connections the kernel accepted but the TCPServer will never take: say
    // why, then close the listening socket so that later ones are refused.
    // Each is closed the way sessions close: FIN, then what the client still
    // sends is read until it closes (or 100 ms pass), so no reset destroys
    // the answer.
    const auto frame = toFrame(makeError(ErrorCode::ShuttingDown, "the server is shutting down"));
    std::vector<Poco::Net::StreamSocket> refused;
    try {
        for (int i = 0; i < 1024; ++i) {
            pollfd pfd{socket.impl()->sockfd(), POLLIN, 0};
            if (::poll(&pfd, 1, 0) <= 0) break;
            Poco::Net::StreamSocket peer = socket.acceptConnection();
            try {
                peer.setBlocking(false);
                peer.sendBytes(frame.data(), static_cast<int>(frame.size()));
                peer.shutdownSend();
                refused.push_back(peer);
            } catch (const Poco::Exception&) {
            }
        }
        socket.close();
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

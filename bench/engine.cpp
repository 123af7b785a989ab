#include "engine.hpp"

#include "proc_stats.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace bench {

namespace {
constexpr int kMaxEvents = 1024;
constexpr int kReadsPerEvent = 4;  // then give other connections a turn
constexpr std::size_t kReadBuffer = 256 * 1024;
}  // namespace

/// Forwards one connection's parser events to the handler with its id.
class Engine::Dispatch final : public EventSink {
public:
    Dispatch(Engine& engine, int id, std::int64_t now) : engine_(engine), id_(id), now_(now) {}
    void onEvent(const Event& event) override {
        auto& client = engine_.clients_[id_];
        ClientHandler* h = engine_.handler_;
        switch (event.kind) {
            case Event::Kind::Ready:
                if (!client.ready) {
                    client.ready = true;
                    ++engine_.readyCount_;
                    if (h) h->onReady(id_);
                }
                break;
            case Event::Kind::Payload:
                if (h) h->onPayload(id_, event.text, now_);
                break;
            case Event::Kind::Ack:
                if (h) h->onAck(id_);
                break;
            case Event::Kind::Error:
                client.lastError = std::string(event.text) + (event.detail.empty() ? "" : ": ") + std::string(event.detail);
                if (h) h->onError(id_, event.text, event.detail);
                break;
            case Event::Kind::Left:
                if (h) h->onLeft(id_, event.text, event.detail);
                break;
        }
    }

private:
    Engine& engine_;
    int id_;
    std::int64_t now_;
};

Engine::Engine(const Adapter& adapter, const std::string& host, std::uint16_t port)
    : adapter_(adapter), readBuffer_(kReadBuffer) {
    in_addr addr{};
    if (inet_pton(AF_INET, host.c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127)
        throw std::invalid_argument("host must be an IPv4 loopback address (127.x.x.x), not '" + host + "'");
    address_ = addr.s_addr;
    port_ = htons(port);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Engine::~Engine() {
    for (auto& client : clients_)
        if (client.fd >= 0) ::close(client.fd);
    ::close(epoll_);
}

int Engine::open(const LoginOptions& login, int receiveBuffer) {
    const int id = static_cast<int>(clients_.size());
    clients_.emplace_back();
    auto& client = clients_.back();
    client.login = login;
    client.parser = adapter_.newParser(login);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        client.lastError = std::string("socket: ") + std::strerror(errno);
        ++failedCount_;
        return id;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (receiveBuffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = address_;
    to.sin_port = port_;
    client.fd = fd;
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
        fail(id, std::string("connect: ") + std::strerror(errno));
        return id;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(id);
    client.writeWanted = true;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) fail(id, std::string("epoll_ctl: ") + std::strerror(errno));
    return id;
}

void Engine::post(int id, std::string_view text) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    adapter_.appendPost(client.out, text, 0);
    if (!client.connecting) flush(id);
}

void Engine::setReading(int id, bool on) {
    auto& client = clients_[id];
    if (client.reading == on) return;
    client.reading = on;
    if (client.fd >= 0) updateInterest(id);
}

void Engine::close(int id) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, client.fd, nullptr);
    ::close(client.fd);
    client.fd = -1;
}

void Engine::pollOnce(std::int64_t untilNs) {
    const std::int64_t wait = std::max<std::int64_t>(0, untilNs - nowNs());
    timespec timeout{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    epoll_event events[kMaxEvents];
    const int n = epoll_pwait2(epoll_, events, kMaxEvents, &timeout, nullptr);
    for (int i = 0; i < n; ++i) handle(static_cast<int>(events[i].data.u32), events[i].events);
}

void Engine::handle(int id, std::uint32_t events) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    if (client.connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finishConnect(id);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (client.reading) readFrom(id);
        else if (events & (EPOLLHUP | EPOLLERR)) fail(id, "connection reset");
    }
    if (clients_[id].fd >= 0 && (events & EPOLLOUT)) flush(id);
}

void Engine::finishConnect(int id) {
    auto& client = clients_[id];
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(client.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return fail(id, std::string("connect: ") + std::strerror(error));
    client.connecting = false;
    client.out.insert(0, adapter_.login(client.login));
    flush(id);
    if (clients_[id].fd >= 0) updateInterest(id);
}

void Engine::readFrom(int id) {
    std::string reply;
    for (int round = 0; round < kReadsPerEvent; ++round) {
        const ssize_t n = recv(clients_[id].fd, readBuffer_.data(), readBuffer_.size(), 0);
        if (n == 0) return fail(id, clients_[id].lastError.empty() ? "closed by server" : clients_[id].lastError);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return fail(id, std::string("recv: ") + std::strerror(errno));
        }
        bytesRead_ += static_cast<std::uint64_t>(n);
        Dispatch dispatch(*this, id, nowNs());
        if (!clients_[id].parser->feed(readBuffer_.data(), static_cast<std::size_t>(n), dispatch, reply))
            return fail(id, "unparseable data from server");
        if (clients_[id].fd < 0) return;
        if (static_cast<std::size_t>(n) < readBuffer_.size()) break;
    }
    if (!reply.empty()) {
        clients_[id].out += reply;
        flush(id);
    }
}

void Engine::flush(int id) {
    auto& client = clients_[id];
    while (client.outPos < client.out.size()) {
        const ssize_t n = send(client.fd, client.out.data() + client.outPos, client.out.size() - client.outPos,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return fail(id, std::string("send: ") + std::strerror(errno));
        }
        client.outPos += static_cast<std::size_t>(n);
    }
    if (client.outPos == client.out.size()) {
        client.out.clear();
        client.outPos = 0;
    } else if (client.outPos > 64 * 1024) {
        client.out.erase(0, client.outPos);
        client.outPos = 0;
    }
    const bool want = client.outPos < client.out.size();
    if (want != client.writeWanted) updateInterest(id);
}

void Engine::updateInterest(int id) {
    auto& client = clients_[id];
    epoll_event ev{};
    client.writeWanted = client.connecting || client.outPos < client.out.size();
    ev.events = (client.reading ? EPOLLIN : 0u) | (client.writeWanted ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<std::uint32_t>(id);
    epoll_ctl(epoll_, EPOLL_CTL_MOD, client.fd, &ev);
}

void Engine::fail(int id, std::string why) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    const bool wasReady = client.ready;
    if (!wasReady) ++failedCount_;
    client.lastError = why;
    close(id);
    if (handler_) handler_->onClosed(id, why, wasReady);
}

}  // namespace bench

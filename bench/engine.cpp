#include "engine.hpp"

#include "proc_stats.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace bench {

namespace {
constexpr int kMaxEvents = 1024;
constexpr int kReadsPerEvent = 4;  // then give other connections a turn
constexpr int kTlsReadsPerEvent = 64;  // a TLS read returns one record (<= 16 KiB): about the same 1 MiB
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

Engine::Engine(const Adapter& adapter, const std::string& host, std::uint16_t port, const TlsOptions& tls)
    : adapter_(adapter), host_(host), readBuffer_(kReadBuffer) {
    in_addr addr{};
    if (inet_pton(AF_INET, host.c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127)
        throw std::invalid_argument("host must be an IPv4 loopback address (127.x.x.x), not '" + host + "'");
    address_ = addr.s_addr;
    port_ = htons(port);
    if (tls.enabled) tls_ = std::make_unique<TlsContext>(tls);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Engine::~Engine() {
    for (auto& client : clients_) {
        if (client.ssl) SSL_free(client.ssl);
        if (client.fd >= 0) ::close(client.fd);
    }
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
    if (tls_) {
        std::string why;
        client.ssl = tls_->attach(fd, host_, why);
        if (!client.ssl) {
            fail(id, why);
            return id;
        }
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
        fail(id, std::string("connect: ") + std::strerror(errno));
        return id;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(id);
    client.writeWanted = true;
    client.registered = ev.events;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) fail(id, std::string("epoll_ctl: ") + std::strerror(errno));
    return id;
}

void Engine::post(int id, std::string_view text) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    adapter_.appendPost(client.out, text, 0);
    if (!client.connecting && !client.handshaking) flush(id);
}

void Engine::setReading(int id, bool on) {
    auto& client = clients_[id];
    if (client.reading == on) return;
    client.reading = on;
    if (client.fd >= 0) updateInterest(id);
}

void Engine::close(int id) { release(id, true); }

void Engine::release(int id, bool notifyTls) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    if (client.ssl) {
        if (notifyTls && !client.connecting && !client.handshaking) tlsNotifyClose(client.ssl);
        SSL_free(client.ssl);
        client.ssl = nullptr;
    }
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
    if (client.handshaking) return continueHandshake(id);
    if (client.ssl) {
        // A TLS read may need the socket writable and a write readable; each
        // waits for what it asked for and is retried when that comes.
        const bool readable = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
        const bool writable = (events & EPOLLOUT) != 0;
        if (client.writeWantsRead && readable) {
            client.writeWantsRead = false;
            flush(id);
        }
        if (clients_[id].fd >= 0 && clients_[id].readWantsWrite && writable) {
            clients_[id].readWantsWrite = false;
            readFrom(id);
        }
        if (clients_[id].fd >= 0 && readable) {
            if (clients_[id].reading) readFrom(id);
            else if (events & (EPOLLHUP | EPOLLERR)) fail(id, "connection reset");
        }
        if (clients_[id].fd >= 0 && writable) flush(id);
        if (clients_[id].fd >= 0) updateInterest(id);
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
    if (client.ssl) {
        client.handshaking = true;
        return continueHandshake(id);
    }
    startLogin(id);
}

void Engine::continueHandshake(int id) {
    auto& client = clients_[id];
    const auto step = tlsHandshake(client.ssl);
    switch (step.status) {
        case TlsStatus::Done:
            client.handshaking = false;
            if (handshakeCount_++ == 0) negotiated_ = tlsDescribe(client.ssl);
            return startLogin(id);
        case TlsStatus::WantRead:
        case TlsStatus::WantWrite:
            client.handshakeWantsWrite = step.status == TlsStatus::WantWrite;
            return updateInterest(id);
        case TlsStatus::Closed:
        case TlsStatus::Failed:
            return fail(id, step.error);
    }
}

/// The transport is up (TCP, and TLS when on): the login goes first, before
/// anything posted meanwhile.
void Engine::startLogin(int id) {
    auto& client = clients_[id];
    client.out.insert(0, adapter_.login(client.login));
    flush(id);
    if (clients_[id].fd >= 0) updateInterest(id);
}

void Engine::readFrom(int id) {
    if (clients_[id].ssl) return readTls(id);
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

void Engine::readTls(int id) {
    std::string reply;
    for (int round = 0; round < kTlsReadsPerEvent || SSL_pending(clients_[id].ssl) > 0; ++round) {
        auto& client = clients_[id];
        const auto step = tlsRead(client.ssl, readBuffer_.data(), readBuffer_.size());
        if (step.status == TlsStatus::WantRead) break;
        if (step.status == TlsStatus::WantWrite) {
            client.readWantsWrite = true;
            break;
        }
        if (step.status == TlsStatus::Closed)
            return fail(id, client.lastError.empty() ? step.error : client.lastError);
        if (step.status == TlsStatus::Failed) return fail(id, step.error);
        bytesRead_ += step.bytes;
        Dispatch dispatch(*this, id, nowNs());
        if (!client.parser->feed(readBuffer_.data(), step.bytes, dispatch, reply))
            return fail(id, "unparseable data from server");
        if (clients_[id].fd < 0) return;
    }
    if (!reply.empty()) {
        clients_[id].out += reply;
        flush(id);
    }
}

void Engine::flushTls(int id) {
    auto& client = clients_[id];
    while (!client.writeWantsRead && client.outPos < client.out.size()) {
        const auto step = tlsWrite(client.ssl, client.out.data() + client.outPos, client.out.size() - client.outPos);
        if (step.status == TlsStatus::WantWrite) break;
        if (step.status == TlsStatus::WantRead) {
            client.writeWantsRead = true;
            break;
        }
        if (step.status != TlsStatus::Done) return fail(id, step.error);
        client.outPos += step.bytes;
    }
}

void Engine::flush(int id) {
    auto& client = clients_[id];
    if (client.ssl) flushTls(id);
    if (client.fd < 0) return;
    while (!client.ssl && client.outPos < client.out.size()) {
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
    updateInterest(id);
}

void Engine::updateInterest(int id) {
    auto& client = clients_[id];
    epoll_event ev{};
    bool readWanted = client.reading;
    if (client.handshaking) {
        client.writeWanted = client.handshakeWantsWrite;
        readWanted = !client.handshakeWantsWrite;
    } else {
        const bool pending = client.outPos < client.out.size();
        client.writeWanted = client.connecting || client.readWantsWrite || (pending && !client.writeWantsRead);
        readWanted = readWanted || client.writeWantsRead;
    }
    ev.events = (readWanted ? EPOLLIN : 0u) | (client.writeWanted ? EPOLLOUT : 0u);
    if (ev.events == client.registered) return;
    client.registered = ev.events;
    ev.data.u32 = static_cast<std::uint32_t>(id);
    epoll_ctl(epoll_, EPOLL_CTL_MOD, client.fd, &ev);
}

void Engine::fail(int id, std::string why) {
    auto& client = clients_[id];
    if (client.fd < 0) return;
    const bool wasReady = client.ready;
    if (!wasReady) ++failedCount_;
    client.lastError = why;
    release(id, false);
    if (handler_) handler_->onClosed(id, why, wasReady);
}

}  // namespace bench

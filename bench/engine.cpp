#include "engine.hpp"

#include "proc_stats.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
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

bool webSocketMember(const WebSocketOptions& options, int id) {
    if (options.members <= 0) return false;
    if (options.members >= options.of) return true;
    if (id >= options.of) return false;
    const auto before = static_cast<std::int64_t>(id) * options.members / options.of;
    const auto upTo = static_cast<std::int64_t>(id + 1) * options.members / options.of;
    return upTo > before;
}

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

/// Carries one WebSocket connection's messages to its parser, and the
/// parser's answers back into WebSocket frames.
class Engine::WsBridge final : public WsSink {
public:
    WsBridge(Engine& engine, int id, EventSink& dispatch, std::string& reply)
        : engine_(engine), id_(id), dispatch_(dispatch), reply_(reply) {}
    void onOpen() override { engine_.webSocketOpened(id_); }
    bool onMessage(std::string_view text) override {
        auto& client = engine_.clients_[id_];
        if (client.fd < 0) return false;
        answer_.clear();
        client.parser->feedMessage(text, dispatch_, answer_);
        if (!answer_.empty() && engine_.clients_[id_].fd >= 0) engine_.clients_[id_].ws->appendText(reply_, answer_);
        return engine_.clients_[id_].fd >= 0;
    }

private:
    Engine& engine_;
    int id_;
    EventSink& dispatch_;
    std::string& reply_;
    std::string answer_;  // a pong, now and then: no allocation otherwise
};

Engine::Engine(const Adapter& adapter, const std::string& host, std::uint16_t port, const TlsOptions& tls,
               const WebSocketOptions& ws)
    : adapter_(adapter), host_(host), ws_(ws), readBuffer_(kReadBuffer) {
    in_addr addr{};
    if (inet_pton(AF_INET, host.c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127)
        throw std::invalid_argument("host must be an IPv4 loopback address (127.x.x.x), not '" + host + "'");
    address_ = addr.s_addr;
    port_ = htons(port);
    if (ws.members > 0) {
        if (ws.port == 0) throw std::invalid_argument("WebSocket members need the server's web port");
        if (!adapter.hasMessageForm())
            throw std::invalid_argument("the " + std::string(adapter.name()) + " adapter cannot speak over WebSocket");
    }
    wsPort_ = htons(ws.port);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&maskSeed_), sizeof maskSeed_) != 1) maskSeed_ = 0x9E3779B97F4A7C15ULL;
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
    if (webSocketMember(ws_, id)) {
        to.sin_port = wsPort_;
        client.ws = std::make_unique<WsStream>(wsNewKey(), maskSeed_ + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(id + 1));
    }
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
    if (client.ws) {
        scratch_.clear();
        adapter_.appendPostMessage(scratch_, text, 0);
        if (!client.ws->open()) return client.ws->appendText(client.held, scratch_);
        client.ws->appendText(client.out, scratch_);
    } else {
        adapter_.appendPost(client.out, text, 0);
    }
    if (!client.connecting && !client.handshaking) flush(id);
}

void Engine::setReading(int id, bool on) {
    auto& client = clients_[id];
    if (client.reading == on) return;
    client.reading = on;
    if (client.fd >= 0) updateInterest(id);
}

void Engine::close(int id) {
    sayGoodbye(id);
    release(id, true);
}

/// A WebSocket that is open gets a close frame (1000), in one try: the
/// socket is closed right after, so nothing waits for the server's answer.
void Engine::sayGoodbye(int id) {
    auto& client = clients_[id];
    if (client.fd < 0 || !client.ws || !client.ws->open() || client.outPos < client.out.size()) return;
    scratch_.clear();
    client.ws->appendClose(scratch_);
    if (client.ssl) (void)tlsWrite(client.ssl, scratch_.data(), scratch_.size());
    else (void)::send(client.fd, scratch_.data(), scratch_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

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
/// anything posted meanwhile; a WebSocket asks for the upgrade first.
void Engine::startLogin(int id) {
    auto& client = clients_[id];
    if (client.ws) {
        client.out = wsUpgradeRequest(host_, ws_.port, ws_.path, client.ws->key(), tls_ != nullptr);
        client.outPos = 0;
    } else {
        client.out.insert(0, adapter_.login(client.login));
    }
    flush(id);
    if (clients_[id].fd >= 0) updateInterest(id);
}

/// The server accepted the upgrade: the login goes out, then what was posted meanwhile.
void Engine::webSocketOpened(int id) {
    auto& client = clients_[id];
    ++upgradeCount_;
    client.ws->appendText(client.out, adapter_.loginMessage(client.login));
    client.out += client.held;
    client.held.clear();
    client.held.shrink_to_fit();
    flush(id);
}

bool Engine::consume(int id, const char* data, std::size_t n, std::string& reply) {
    bytesRead_ += n;
    Dispatch dispatch(*this, id, nowNs());
    auto& client = clients_[id];
    if (!client.ws) {
        if (!client.parser->feed(data, n, dispatch, reply)) {
            fail(id, "unparseable data from server");
            return false;
        }
        return clients_[id].fd >= 0;
    }
    WsStream& ws = *client.ws;
    WsBridge bridge(*this, id, dispatch, reply);
    const auto status = ws.feed(data, n, bridge, reply);
    if (clients_[id].fd < 0) return false;
    if (status == WsStream::Status::Ok) return true;
    if (status == WsStream::Status::Closed) {  // answer the close frame, then close
        clients_[id].out += reply;
        reply.clear();
        flush(id);
        if (clients_[id].fd < 0) return false;
        const auto& last = clients_[id].lastError;
        fail(id, last.empty() ? "closed by server (" + ws.error() + ")" : last + " (" + ws.error() + ")");
        return false;
    }
    fail(id, ws.error());
    return false;
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
        if (!consume(id, readBuffer_.data(), static_cast<std::size_t>(n), reply)) return;
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
        if (!consume(id, readBuffer_.data(), step.bytes, reply)) return;
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

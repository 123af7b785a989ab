#include "ws_stub_server.hpp"

#include "loopback_listener.hpp"

#include "websocket_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace bench::test {

namespace {
bool readExactly(int fd, char* into, std::size_t n) {
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = ::recv(fd, into + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

/// The value of header `name` (exact case, as the client under test writes it).
std::string header(const std::string& request, const std::string& name) {
    const auto at = request.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    const auto start = at + name.size() + 4;
    return request.substr(start, request.find("\r\n", start) - start);
}
}  // namespace

std::string serverFrame(std::uint8_t opcode, const std::string& payload) {
    std::string out(1, static_cast<char>(0x80 | opcode));
    const std::uint64_t n = payload.size();
    if (n < 126) {
        out += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        out += static_cast<char>(126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n);
    } else {
        out += static_cast<char>(127);
        for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(n >> shift);
    }
    return out + payload;
}

WsStubServer::WsStubServer(Mode mode) : mode_(mode) {
    const auto listener = listenOnLoopback("ws stub server");
    listener_ = listener.fd;
    port_ = listener.port;
    acceptor_ = std::thread([this] { acceptLoop(); });
}

WsStubServer::~WsStubServer() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        for (const auto& c : connections_) ::shutdown(c->fd, SHUT_RDWR);
    }
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    for (auto& worker : workers_) worker.join();
    ::close(listener_);
    for (const auto& c : connections_) ::close(c->fd);
}

std::size_t WsStubServer::connections() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return connections_.size();
}

std::string WsStubServer::request(std::size_t i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return i < connections_.size() ? connections_[i]->request : std::string();
}

bool WsStubServer::originMatched(std::size_t i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return i < connections_.size() && connections_[i]->originMatched;
}

std::vector<WsStubServer::ClientFrame> WsStubServer::frames(std::size_t i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return i < connections_.size() ? connections_[i]->frames : std::vector<ClientFrame>();
}

void WsStubServer::sendRaw(std::size_t i, const std::string& bytes) {
    std::shared_ptr<Connection> c;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (i >= connections_.size()) throw std::logic_error("ws stub server: no such connection");
        c = connections_[i];
    }
    write(*c, bytes);
}

bool WsStubServer::write(Connection& c, const std::string& bytes) {
    std::lock_guard<std::mutex> lock(c.writing);
    for (std::size_t put = 0; put < bytes.size();) {
        const ssize_t r = ::send(c.fd, bytes.data() + put, bytes.size() - put, MSG_NOSIGNAL);
        if (r <= 0) return false;
        put += static_cast<std::size_t>(r);
    }
    return true;
}

void WsStubServer::acceptLoop() {
    for (;;) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        std::lock_guard<std::mutex> lock(mutex_);
        if (fd < 0) {
            if (stopping_ || (errno != EINTR && errno != ECONNABORTED)) return;
            continue;
        }
        if (stopping_) {
            ::close(fd);
            return;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_shared<Connection>();
        c->fd = fd;
        connections_.push_back(c);
        workers_.emplace_back([this, c] { serve(c); });
    }
}

void WsStubServer::serve(std::shared_ptr<Connection> c) {
    std::string request;
    char byte = 0;
    while (request.size() < 16384 && request.find("\r\n\r\n") == std::string::npos) {
        if (::recv(c->fd, &byte, 1, 0) != 1) return;
        request += byte;
    }
    const bool origin = header(request, "Origin") == "http://" + header(request, "Host");
    {
        std::lock_guard<std::mutex> lock(mutex_);
        c->request = request;
        c->originMatched = origin;
    }
    if (mode_ == Mode::Refuse || !origin) {
        write(*c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        ::shutdown(c->fd, SHUT_RDWR);
        return;
    }
    const std::string accept = mode_ == Mode::BadAccept ? wsAcceptFor("not the key") : wsAcceptFor(header(request, "Sec-WebSocket-Key"));
    if (!write(*c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: " + accept + "\r\n\r\n"))
        return;
    for (;;) {
        unsigned char h[2];
        if (!readExactly(c->fd, reinterpret_cast<char*>(h), 2)) return;
        ClientFrame frame;
        frame.fin = (h[0] & 0x80) != 0;
        frame.opcode = h[0] & 0x0F;
        frame.masked = (h[1] & 0x80) != 0;
        std::uint64_t n = h[1] & 0x7F;
        unsigned char ext[8];
        if (n == 126) {
            if (!readExactly(c->fd, reinterpret_cast<char*>(ext), 2)) return;
            n = (std::uint64_t{ext[0]} << 8) | ext[1];
        } else if (n == 127) {
            if (!readExactly(c->fd, reinterpret_cast<char*>(ext), 8)) return;
            n = 0;
            for (const unsigned char b : ext) n = (n << 8) | b;
        }
        if (n > (1u << 24)) return;
        unsigned char key[4] = {0, 0, 0, 0};
        if (frame.masked && !readExactly(c->fd, reinterpret_cast<char*>(key), 4)) return;
        frame.mask = (std::uint32_t{key[0]} << 24) | (std::uint32_t{key[1]} << 16) | (std::uint32_t{key[2]} << 8) | key[3];
        frame.payload.resize(n);
        if (!readExactly(c->fd, frame.payload.data(), n)) return;
        for (std::size_t i = 0; i < n; ++i) frame.payload[i] = static_cast<char>(frame.payload[i] ^ key[i & 3]);
        const std::string body = frame.payload;
        const std::uint8_t opcode = frame.opcode;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            c->frames.push_back(std::move(frame));
        }
        if (opcode == 8) {
            write(*c, serverFrame(8, body.substr(0, 2)));
            ::shutdown(c->fd, SHUT_RDWR);
            return;
        }
        if (opcode != 1) continue;
        if (body.find(R"("type":"hello")") != std::string::npos) {
            if (!write(*c, serverFrame(1, R"({"type":"welcome","user":"stub"})"))) return;
            continue;
        }
        const auto at = body.find(R"("text":")");
        if (at == std::string::npos) continue;
        const auto start = at + 8, end = body.find('"', start);
        if (!write(*c, serverFrame(1, R"({"type":"message","from":"stub","text":")" + body.substr(start, end - start) + "\"}")))
            return;
    }
}

}  // namespace bench::test

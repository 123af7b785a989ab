#include "support/raw_connection.hpp"

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chat::test {

namespace {
std::function<std::string()>& failureContext() {
    static std::function<std::string()> context;
    return context;
}

std::string failureContextText() { return failureContext() ? "\n" + failureContext()() : std::string(); }
}  // namespace

std::string frameHeader(std::uint32_t n) {
    return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}

std::string helloFrame(const std::string& user) {
    return encodeFrame(R"({"type":"hello","version":1,"user":")" + user + R"(","client":"raw"})");
}

void setRawFailureContext(std::function<std::string()> context) { failureContext() = std::move(context); }

int connectLoopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        INFO("connect: " << std::strerror(errno));
        REQUIRE(errno == EINPROGRESS);
        pollfd p{fd, POLLOUT, 0};
        REQUIRE(::poll(&p, 1, 5000) == 1);
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        INFO("connect: " << std::strerror(error));
        REQUIRE(error == 0);
    }
    return fd;
}

RawConnection::RawConnection(std::uint16_t port) : fd_(connectLoopback(port)) {}

RawConnection::~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<RawConnection> RawConnection::joined(std::uint16_t port, const std::string& user) {
    auto peer = std::make_unique<RawConnection>(port);
    peer->send(helloFrame(user));
    for (;;) {
        auto m = peer->next();
        INFO("waiting for the welcome of " << user << failureContextText());
        REQUIRE(m);
        if (typeOf(*m) == "welcome") {
            // A backlog per room of the welcome follows at once (docs/protocol.md).
            const auto rooms = (*m)->getArray("rooms");
            for (std::size_t i = 0; rooms && i < rooms->size(); ++i) {
                auto backlog = peer->next();
                REQUIRE(backlog);
                REQUIRE(typeOf(*backlog) == "backlog");
            }
            return peer;
        }
        INFO(toJson(*m));
        REQUIRE(typeOf(*m) != "error");
    }
}

void RawConnection::send(std::string_view bytes, std::chrono::milliseconds wait) {
    const auto done = sendUntil(bytes, Clock::now() + wait, /*readMeanwhile=*/true);
    INFO("sent " << done << " of " << bytes.size() << " bytes"
                 << (sendFailed_ ? ": " + sendError_ : std::string(" before the deadline")) << failureContextText());
    REQUIRE(done == bytes.size());
}

void RawConnection::sendJson(const std::string& json) { send(encodeFrame(json)); }

std::size_t RawConnection::sendSome(std::string_view bytes, Clock::time_point deadline) {
    return sendUntil(bytes, deadline, /*readMeanwhile=*/false);
}

std::size_t RawConnection::sendUntil(std::string_view bytes, Clock::time_point deadline, bool readMeanwhile) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (Clock::now() >= deadline) break;
            const bool read = readMeanwhile && !closed_;
            pollfd p{fd_, static_cast<short>(read ? POLLIN | POLLOUT : POLLOUT), 0};
            ::poll(&p, 1, std::min(millisUntil(deadline), 100));
            if (read && (p.revents & POLLIN)) readAvailable();
            continue;
        }
        sendError_ = std::strerror(errno);  // EPIPE or ECONNRESET: the server is gone
        sendFailed_ = true;
        break;
    }
    return done;
}

bool RawConnection::trySend(std::string_view bytes) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    return n == static_cast<ssize_t>(bytes.size());
}

std::optional<std::string> RawConnection::nextPayload(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        if (auto payload = takeFrame()) return payload;
        if (closed_) return std::nullopt;
        if (!awaitInput(deadline)) return std::nullopt;
        readAvailable();
    }
}

std::optional<Poco::JSON::Object::Ptr> RawConnection::next(std::chrono::milliseconds wait) {
    auto payload = nextPayload(wait);
    if (!payload) return std::nullopt;
    auto parsed = parseMessage(*payload);
    INFO("frame from the server: " << *payload << "\nparse error: " << parsed.error);
    REQUIRE(parsed);
    return parsed.message;
}

std::string RawConnection::nextType(std::chrono::milliseconds wait) {
    const auto message = next(wait);
    if (!message) return closed_ ? "closed" : "time-out";
    return typeOf(*message);
}

Poco::JSON::Object::Ptr RawConnection::waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match,
                                               std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        auto message = next(std::chrono::milliseconds(millisUntil(deadline)));
        if (!message)
            FAIL((closed_ ? "connection closed" : "time-out") << " waiting for a message" << failureContextText());
        if (match(*message)) return *message;
    }
}

Poco::JSON::Object::Ptr RawConnection::waitForType(const std::string& type, std::chrono::milliseconds wait) {
    return waitFor([&](const Poco::JSON::Object::Ptr& m) { return typeOf(m) == type; }, wait);
}

Poco::JSON::Object::Ptr RawConnection::answer(std::int64_t id, std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        auto m = next(std::chrono::milliseconds(millisUntil(deadline)));
        if (!m)
            FAIL((closed_ ? "the server closed the connection" : "time-out")
                 << " waiting for the answer to id " << id << failureContextText());
        if (typeOf(*m) == "ping") sendJson(R"({"type":"pong"})");
        if (typeOf(*m) != "ping" && intField(*m, "id") == id) return *m;  // ok, error, pong, welcome
    }
}

void RawConnection::requireServed(std::int64_t id) {
    sendJson(R"({"type":"ping","id":)" + std::to_string(id) + "}");
    CHECK(typeOf(answer(id)) == "pong");
}

std::pair<std::string, std::string> RawConnection::readToEnd(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (!closed_ && awaitInput(deadline)) readAvailable();
    std::string rest = inbox_.substr(inboxPos_);
    inbox_.clear();
    inboxPos_ = 0;
    return {std::move(rest), closed_ ? end_ : "time-out"};
}

bool RawConnection::closedWithin(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (!closed_) {
        if (!nextPayload(std::chrono::milliseconds(millisUntil(deadline))) && !closed_) return false;
    }
    return true;
}

bool RawConnection::pollClosed() {
    readAvailable();
    return closed_;
}

void RawConnection::reset() {
    const linger hard{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close();
}

void RawConnection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!closed_) end_ = "closed here";
    closed_ = true;
}

void RawConnection::readAvailable() {
    if (closed_) return;
    char buffer[16 * 1024];
    for (;;) {
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            received_ += static_cast<std::size_t>(n);
            inbox_.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        end_ = n == 0 ? "eof" : std::string("error: ") + std::strerror(errno);  // EOF, or ECONNRESET
        closed_ = true;
        return;
    }
}

bool RawConnection::awaitInput(Clock::time_point deadline) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, millisUntil(deadline)) != 0;
}

std::optional<std::string> RawConnection::takeFrame() {
    const std::size_t available = inbox_.size() - inboxPos_;
    if (available < kFrameHeaderBytes) return std::nullopt;
    const auto* b = reinterpret_cast<const unsigned char*>(inbox_.data() + inboxPos_);
    const std::size_t length = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
    INFO("the server sent a frame of " << length << " bytes, above " << kMaxFramePayload);
    REQUIRE(length <= kMaxFramePayload);
    if (available < kFrameHeaderBytes + length) return std::nullopt;
    std::string payload = inbox_.substr(inboxPos_ + kFrameHeaderBytes, length);
    inboxPos_ += kFrameHeaderBytes + length;
    if (inboxPos_ > inbox_.size() / 2) {  // drop what has been returned, now and then
        inbox_.erase(0, inboxPos_);
        inboxPos_ = 0;
    }
    return payload;
}

}  // namespace chat::test

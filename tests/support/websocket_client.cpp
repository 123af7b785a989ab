#include "support/websocket_client.hpp"

#include "support/raw_connection.hpp"

#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace chat::test {

namespace {
/// Sends everything within 5 s; fails the test otherwise.
void sendAll(int fd, std::string_view bytes) {
    const auto deadline = Clock::now() + kWait;
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            pollfd p{fd, POLLOUT, 0};
            REQUIRE(millisUntil(deadline) > 0);
            ::poll(&p, 1, millisUntil(deadline));
            continue;
        }
        FAIL("send: " << std::strerror(errno));
    }
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

/// Parses a response head ("HTTP/1.1 200 OK\r\nName: value\r\n...") into `reply`.
void parseHead(const std::string& head, HttpReply& reply) {
    std::size_t pos = head.find("\r\n");
    const auto statusLine = head.substr(0, pos);
    if (statusLine.rfind("HTTP/1.", 0) == 0 && statusLine.size() >= 12) reply.status = std::stoi(statusLine.substr(9, 3));
    while (pos != std::string::npos && pos + 2 < head.size()) {
        const auto end = head.find("\r\n", pos + 2);
        const auto line = head.substr(pos + 2, end == std::string::npos ? std::string::npos : end - pos - 2);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            auto value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            reply.headers[lower(line.substr(0, colon))] = value;
        }
        pos = end;
    }
}

/// Reads from `fd` into `in` until `done(in)` or EOF or the deadline; false on time-out.
bool readUntil(int fd, std::string& in, const std::function<bool(const std::string&)>& done, Clock::time_point deadline,
               bool& eof) {
    char buffer[16 * 1024];
    while (!done(in)) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            in.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            eof = true;
            return true;
        }
        if (millisUntil(deadline) == 0) return false;
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, millisUntil(deadline));
    }
    return true;
}
}  // namespace

HttpReply parseHttpReply(const std::string& bytes) {
    HttpReply reply;
    const auto headEnd = bytes.find("\r\n\r\n");
    if (headEnd == std::string::npos) return reply;
    parseHead(bytes.substr(0, headEnd), reply);
    reply.body = bytes.substr(headEnd + 4);
    return reply;
}

std::string ownOrigin(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

HttpReply httpRequest(std::uint16_t port, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers, std::chrono::milliseconds wait) {
    const int fd = connectLoopback(port);
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    request += "\r\n";
    sendAll(fd, request);
    std::string in;
    bool eof = false;
    const bool finished = readUntil(fd, in, [](const std::string&) { return false; }, Clock::now() + wait, eof);
    ::close(fd);
    INFO("HTTP " << method << " " << path << " got: " << in.substr(0, 500));
    REQUIRE(finished);
    HttpReply reply;
    const auto headEnd = in.find("\r\n\r\n");
    REQUIRE(headEnd != std::string::npos);
    parseHead(in.substr(0, headEnd), reply);
    reply.body = in.substr(headEnd + 4);
    return reply;
}

WebSocketClient::WebSocketClient(std::uint16_t port, const std::string& origin, const std::string& host)
    : fd_(connectLoopback(port)) {
    std::string request = "GET /ws HTTP/1.1\r\nHost: " + (host.empty() ? "127.0.0.1:" + std::to_string(port) : host) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!origin.empty()) request += "Origin: " + origin + "\r\n";
    request += "\r\n";
    sendAll(fd_, request);
    std::string in;
    bool eof = false;
    const bool got = readUntil(
        fd_, in, [](const std::string& text) { return text.find("\r\n\r\n") != std::string::npos; },
        Clock::now() + kWait, eof);
    INFO("upgrade response: " << in.substr(0, 500));
    REQUIRE(got);
    const auto headEnd = in.find("\r\n\r\n");
    REQUIRE(headEnd != std::string::npos);
    parseHead(in.substr(0, headEnd), reply_);
    std::string rest = in.substr(headEnd + 4);
    if (reply_.status == 101) {
        // RFC 6455's example key has this answer.
        CHECK(reply_.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        decoder_.feed(rest);
        decode();
    } else {
        // The server keeps the connection alive: read Content-Length bytes.
        const auto length = reply_.header("content-length");
        const std::size_t want = length.empty() ? 0 : std::stoul(length);
        readUntil(fd_, rest, [want](const std::string& text) { return text.size() >= want; }, Clock::now() + kWait, eof);
        reply_.body = rest;
    }
}

WebSocketClient::~WebSocketClient() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<WebSocketClient> WebSocketClient::joined(std::uint16_t port, const std::string& user) {
    auto client = std::make_unique<WebSocketClient>(port, ownOrigin(port));
    INFO("upgrade: " << client->reply().status << " " << client->reply().body);
    REQUIRE(client->upgraded());
    client->sendText(R"({"type":"hello","version":1,"user":")" + user + R"(","client":"ws-test"})");
    client->waitForType("welcome");
    return client;
}

void WebSocketClient::sendFrame(ws::Opcode opcode, std::string_view payload, bool fin) {
    static std::mt19937 random(12345);
    sendAll(fd_, ws::encodeFrame(opcode, payload, fin, static_cast<std::uint32_t>(random())));
}

void WebSocketClient::sendRaw(std::string_view bytes) { sendAll(fd_, bytes); }

void WebSocketClient::decode() {
    for (;;) {
        auto r = decoder_.next();
        switch (r.status) {
            case ws::Decoder::Status::NeedMore:
                return;
            case ws::Decoder::Status::Text:
                seen_.push_back(r.payload);
                texts_.push_back(std::move(r.payload));
                break;
            case ws::Decoder::Status::Pong:
                pongs_.push_back(r.payload);
                break;
            case ws::Decoder::Status::Close:
                close_ = Close{r.closeCode, r.payload};
                if (!closeAnswered_) {
                    closeAnswered_ = true;
                    const auto frame = ws::encodeFrame(ws::Opcode::Close, ws::closePayload(r.closeCode, ""), true, 1);
                    [[maybe_unused]] auto n = ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                }
                return;
            case ws::Decoder::Status::Error:
                FAIL("the server sent a bad frame: " << r.error);
                return;
            default:
                break;
        }
    }
}

bool WebSocketClient::readAvailable() {
    char buffer[16 * 1024];
    while (!ended_) {
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            decoder_.feed(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        ended_ = true;
    }
    decode();
    return !ended_;
}

bool WebSocketClient::awaitInput(Clock::time_point deadline) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, millisUntil(deadline)) > 0;
}

std::optional<Poco::JSON::Object::Ptr> WebSocketClient::next(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        readAvailable();
        while (!texts_.empty()) {
            auto text = std::move(texts_.front());
            texts_.pop_front();
            auto parsed = parseMessage(text);
            INFO("server text message: " << text);
            REQUIRE(parsed);
            if (parsed.type == "ping") {
                sendText(R"({"type":"pong"})");
                continue;
            }
            return parsed.message;
        }
        if (ended_ || close_ || millisUntil(deadline) == 0) return std::nullopt;
        awaitInput(deadline);
    }
}

Poco::JSON::Object::Ptr WebSocketClient::waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match,
                                                 std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        auto m = next(std::chrono::milliseconds(millisUntil(deadline)));
        INFO("waiting on a WebSocket; last messages: " << (seen_.empty() ? std::string("(none)") : seen_.back()));
        REQUIRE(m);
        if (match(*m)) return *m;
    }
}

Poco::JSON::Object::Ptr WebSocketClient::waitForType(const std::string& type, std::chrono::milliseconds wait) {
    INFO("waiting for a " << type);
    return waitFor([&](const Poco::JSON::Object::Ptr& m) { return typeOf(m) == type; }, wait);
}

std::optional<WebSocketClient::Close> WebSocketClient::waitForClose(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        readAvailable();
        texts_.clear();
        if (close_) return close_;
        if (ended_ || millisUntil(deadline) == 0) return std::nullopt;
        awaitInput(deadline);
    }
}

bool WebSocketClient::endedWithin(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        readAvailable();
        texts_.clear();
        if (ended_) return true;
        if (millisUntil(deadline) == 0) return false;
        awaitInput(deadline);
    }
}

}  // namespace chat::test

// How the server ends connections: the last frames arrive, then a clean
// end of stream, never a reset that destroys them.

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/child_process.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace chat;
using namespace chat::test;
using Clock = std::chrono::steady_clock;

namespace {
/// A bare TCP connection: bytes out, every byte in until the end of stream.
class Raw {
public:
    explicit Raw(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    }
    ~Raw() { ::close(fd_); }
    void send(const std::string& bytes) {
        for (std::size_t sent = 0; sent < bytes.size();) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            sent += static_cast<std::size_t>(n);
        }
    }
    /// Reads exactly one frame (with a deadline) and returns its type.
    std::string readFrameType(std::chrono::milliseconds wait) {
        std::string in;
        const auto deadline = Clock::now() + wait;
        while (Clock::now() < deadline) {
            if (in.size() >= kFrameHeaderBytes) {
                const auto* b = reinterpret_cast<const unsigned char*>(in.data());
                const std::size_t length = (std::size_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
                if (in.size() == kFrameHeaderBytes + length)
                    return stringField(parseMessage(in.substr(kFrameHeaderBytes)).message, "type").value_or("?");
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            char c;  // byte by byte: nothing after this frame is consumed
            if (::recv(fd_, &c, 1, 0) != 1) return "closed";
            in.push_back(c);
        }
        return "time-out";
    }
    /// Reads until end of stream, a reset or `wait`. Returns what came and how it ended.
    std::pair<std::string, std::string> readToEnd(std::chrono::milliseconds wait) {
        std::string in;
        const auto deadline = Clock::now() + wait;
        char buffer[65536];
        while (Clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n > 0) {
                in.append(buffer, static_cast<std::size_t>(n));
                continue;
            }
            return {in, n == 0 ? "eof" : std::string("error: ") + std::strerror(errno)};
        }
        return {in, "time-out"};
    }

private:
    int fd_;
};

std::vector<std::string> types(const std::string& stream) {
    FrameDecoder decoder(1 << 20);
    decoder.feed(stream);
    std::vector<std::string> out;
    for (auto r = decoder.next(); r.status == FrameDecoder::Status::Frame; r = decoder.next())
        out.push_back(stringField(parseMessage(r.payload).message, "type").value_or("?"));
    return out;
}
}  // namespace

TEST_CASE("closing: on SIGTERM, clients that keep sending while they lag in reading still get shutdown, then EOF") {
    auto server = startServer({"--max-per-ip", "100"});
    constexpr int kClients = 10;
    std::vector<std::unique_ptr<Raw>> clients;
    std::string pings;
    for (int i = 0; i < 2000; ++i) pings += encodeFrame(R"({"type":"ping"})");
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<Raw>(server.port));
        clients.back()->send(encodeFrame(R"({"type":"hello","version":1,"user":"c)" + std::to_string(i) + R"("})"));
        REQUIRE(clients.back()->readFrameType(std::chrono::seconds(5)) == "welcome");
    }
    for (auto& client : clients) client->send(pings);  // and read nothing more yet
    server.process->signal(SIGTERM);
    for (int i = 0; i < kClients; ++i) clients[i]->send(pings);  // still sending as the server stops
    int cleanEnds = 0, gotShutdown = 0;
    std::string report;
    for (auto& client : clients) {
        const auto [bytes, end] = client->readToEnd(std::chrono::seconds(10));
        const auto got = types(bytes);
        report += "ended with " + end + " after " + std::to_string(got.size()) + " frames, the last " +
                  (got.empty() ? "none" : got.back()) + "\n";
        if (!got.empty() && got.back() == "shutdown") ++gotShutdown;
        if (end == "eof") ++cleanEnds;
    }
    INFO(report << "server log:\n" << server.process->stderrText());
    CHECK(gotShutdown == kClients);
    CHECK(cleanEnds == kClients);
    CHECK(server.process->wait() == 0);
}

// How the server ends connections: the last frames arrive, then a clean
// end of stream, never a reset that destroys them.

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/child_process.hpp"
#include "support/raw_connection.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace chat;
using namespace chat::test;

namespace {
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
    std::vector<std::unique_ptr<RawConnection>> clients;
    std::string pings;
    for (int i = 0; i < 2000; ++i) pings += encodeFrame(R"({"type":"ping"})");
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<RawConnection>(server.port));
        clients.back()->send(helloFrame("c" + std::to_string(i)));
        REQUIRE(clients.back()->nextType(std::chrono::seconds(5)) == "welcome");
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

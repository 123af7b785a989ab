// The web port of the real `chat serve` with TLS configured: HTTPS for the
// page (verified against a CA made at test time), wss:// for the chat, the
// Origin check for https://, plaintext refused, and the hello timeout bounding
// an unfinished handshake.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/raw_connection.hpp"
#include "support/test_client.hpp"
#include "support/tls_connection.hpp"
#include "support/websocket_client.hpp"

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "shared/websocket_codec.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/String.h>
#include <catch2/catch.hpp>

using namespace chat::test;
using namespace std::chrono_literals;
using chat::stringField;

namespace {
using WebTlsServer = WebServeProcess;

WebTlsServer startWebTlsServer(const TlsFixture& fixture, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"serve", "--host", "127.0.0.1", "--port", "0", "--web-port", "0", "--db", ":memory:"};
    const auto tlsArgs = fixture.serveArgs();
    args.insert(args.end(), tlsArgs.begin(), tlsArgs.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return startWebServe(args);
}

TlsClientOptions trusting(const TlsFixture& fixture) { return {fixture.ca.certificate, "localhost"}; }

std::string httpsOrigin(std::uint16_t port) { return "https://127.0.0.1:" + std::to_string(port); }

/// One HTTPS request over a verified TLS connection, read to the server's close.
HttpReply httpsRequest(const TlsFixture& fixture, std::uint16_t port, const std::string& method,
                       const std::string& path) {
    TlsConnection connection(port, trusting(fixture));
    const auto failure = connection.handshake();
    INFO("handshake: " << failure);
    REQUIRE(failure.empty());
    connection.send(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n\r\n");
    std::string in;
    const auto deadline = Clock::now() + kWait;
    while (auto bytes = connection.receiveRaw(std::chrono::milliseconds(millisUntil(deadline)))) in += *bytes;
    INFO("got: " << in.substr(0, 300));
    REQUIRE(connection.closed());
    return parseHttpReply(in);
}

/// A WebSocket client over a verified TLS connection: wss://.
class WssClient {
public:
    WssClient(const TlsFixture& fixture, std::uint16_t port, const std::string& origin)
        : connection_(port, trusting(fixture)) {
        const auto failure = connection_.handshake();
        INFO("handshake: " << failure);
        REQUIRE(failure.empty());
        connection_.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: " +
                         origin + "\r\n\r\n");
        std::string in;
        const auto deadline = Clock::now() + kWait;
        while (in.find("\r\n\r\n") == std::string::npos) {
            auto bytes = connection_.receiveRaw(std::chrono::milliseconds(millisUntil(deadline)));
            if (!bytes) break;
            in += *bytes;
        }
        const auto headEnd = in.find("\r\n\r\n");
        REQUIRE(headEnd != std::string::npos);
        reply_ = parseHttpReply(in.substr(0, headEnd + 4));
        if (reply_.status == 101) {
            decoder_.feed(in.substr(headEnd + 4));
        } else {  // a refusal: its body, to the close
            reply_.body = in.substr(headEnd + 4);
            while (auto bytes = connection_.receiveRaw(std::chrono::milliseconds(millisUntil(deadline))))
                reply_.body += *bytes;
        }
    }

    const HttpReply& reply() const { return reply_; }

    void sendText(const std::string& json) {
        connection_.send(chat::ws::encodeFrame(chat::ws::Opcode::Text, json, true, 0x1234abcdU));
    }

    /// The next text message, parsed; nullopt on time-out or close.
    std::optional<Poco::JSON::Object::Ptr> next(Clock::time_point deadline) {
        for (;;) {
            auto frame = decoder_.next();
            if (frame.status == chat::ws::Decoder::Status::Text) {
                Poco::JSON::Parser parser;
                return parser.parse(frame.payload).extract<Poco::JSON::Object::Ptr>();
            }
            if (frame.status == chat::ws::Decoder::Status::Ping) {
                connection_.send(chat::ws::encodeFrame(chat::ws::Opcode::Pong, frame.payload, true, 0x1234abcdU));
                continue;
            }
            if (frame.status != chat::ws::Decoder::Status::NeedMore) return std::nullopt;
            auto bytes = connection_.receiveRaw(std::chrono::milliseconds(millisUntil(deadline)));
            if (!bytes) return std::nullopt;
            decoder_.feed(*bytes);
        }
    }

    Poco::JSON::Object::Ptr waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match) {
        const auto deadline = Clock::now() + kWait;
        for (;;) {
            auto message = next(deadline);
            REQUIRE(message);
            if (match(*message)) return *message;
        }
    }

private:
    TlsConnection connection_;
    HttpReply reply_;
    chat::ws::Decoder decoder_{/*expectMasked=*/false, chat::kMaxFramePayload};
};

bool isMessage(const Poco::JSON::Object::Ptr& m, const std::string& from, const std::string& to, const std::string& text) {
    return typeOf(m) == "message" && stringField(m, "from") == from && stringField(m, "to") == to &&
           stringField(m, "text") == text;
}

Poco::JSON::Object::Ptr sendRequest(std::int64_t id, const std::string& to, const std::string& text) {
    auto send = chat::makeMessage("send");
    send->set("id", id);
    send->set("to", to);
    send->set("text", text);
    return send;
}
}  // namespace

TEST_CASE("with TLS the web port serves the page over HTTPS with the security headers", "[web][tls]") {
    TlsFixture fixture;
    auto server = startWebTlsServer(fixture);
    const auto index = httpsRequest(fixture, server.webPort, "GET", "/");
    CHECK(index.status == 200);
    CHECK(index.header("content-type") == "text/html; charset=utf-8");
    CHECK(index.body.find("<html") != std::string::npos);
    CHECK(index.header("content-length") == std::to_string(index.body.size()));
    const auto csp = index.header("content-security-policy");
    CHECK(csp.find("default-src 'self'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("wss://127.0.0.1:" + std::to_string(server.webPort)) != std::string::npos);
    CHECK(index.header("x-content-type-options") == "nosniff");
    CHECK(index.header("x-frame-options") == "DENY");
    CHECK(Poco::icompare(index.header("connection"), std::string("close")) == 0);
    const auto head = httpsRequest(fixture, server.webPort, "HEAD", "/");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(httpsRequest(fixture, server.webPort, "GET", "/nope").status == 404);
    CHECK(httpsRequest(fixture, server.webPort, "POST", "/").status == 405);
}

TEST_CASE("a wss:// client and a TCP client exchange messages", "[web][tls]") {
    TlsFixture fixture;
    auto server = startWebTlsServer(fixture);
    WssClient web(fixture, server.webPort, httpsOrigin(server.webPort));
    INFO("upgrade: " << web.reply().status << " " << web.reply().body);
    REQUIRE(web.reply().status == 101);
    web.sendText(R"({"type":"hello","version":1,"user":"secure","client":"wss-test"})");
    web.waitFor([](const auto& m) { return typeOf(m) == "welcome"; });
    auto tcp = TestClient::joined(server.port, "plain");
    web.waitFor([](const auto& m) { return typeOf(m) == "joined" && stringField(m, "user") == "plain"; });
    web.sendText(chat::toJson(sendRequest(1, "#lobby", "over wss")));
    tcp->waitFor([](const auto& m) { return isMessage(m, "secure", "#lobby", "over wss"); });
    tcp->send(sendRequest(2, "#lobby", "over tcp"));
    web.waitFor([](const auto& m) { return isMessage(m, "plain", "#lobby", "over tcp"); });
}

TEST_CASE("a foreign Origin over wss:// is refused 403, and http:// is not the own origin", "[web][tls]") {
    TlsFixture fixture;
    auto server = startWebTlsServer(fixture);
    WssClient foreign(fixture, server.webPort, "https://evil.example");
    CHECK(foreign.reply().status == 403);
    CHECK(foreign.reply().body.find("origin") != std::string::npos);
    WssClient plainOrigin(fixture, server.webPort, "http://127.0.0.1:" + std::to_string(server.webPort));
    CHECK(plainOrigin.reply().status == 403);
    WssClient own(fixture, server.webPort, httpsOrigin(server.webPort));
    CHECK(own.reply().status == 101);
}

TEST_CASE("a plaintext HTTP request to the TLS web port is refused with a reason", "[web][tls]") {
    TlsFixture fixture;
    auto server = startWebTlsServer(fixture);
    const auto reply = httpRequest(server.webPort, "GET", "/");
    CHECK(reply.status == 400);
    CHECK(reply.body.find("HTTPS") != std::string::npos);
    CHECK(reply.body.find("<html") == std::string::npos);
}

TEST_CASE("an unfinished TLS handshake on the web port is cut at the hello timeout", "[web][tls]") {
    TlsFixture fixture;
    auto server = startWebTlsServer(fixture, {"--hello-timeout", "1"});
    RawConnection stalled(server.webPort);
    stalled.send(std::string("\x16\x03\x01", 3));  // a handshake record that never completes
    const auto started = Clock::now();
    CHECK_FALSE(stalled.closedWithin(500ms));  // not cut at once
    CHECK(stalled.closedWithin(4s));           // but by the 1 s hello timeout
    CHECK(Clock::now() - started >= 800ms);
}

// The web port of the real `chat serve`: static files and their headers, the
// WebSocket upgrade and its Origin check, WebSocket users talking with TCP
// users, framing errors and their close codes, slow consumers, limits and
// the shutdown notice.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/test_client.hpp"
#include "support/websocket_client.hpp"

#include "shared/protocol.hpp"
#include "shared/websocket_codec.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <sys/socket.h>

using namespace chat::test;
using namespace std::chrono_literals;
using chat::stringField;

namespace {
using WebServer = WebServeProcess;

WebServer startWebServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"serve", "--host", "127.0.0.1", "--port", "0", "--web-port", "0", "--db", ":memory:"};
    args.insert(args.end(), extra.begin(), extra.end());
    return startWebServe(args);
}

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

void requireSecurityHeaders(const HttpReply& reply) {
    const auto csp = reply.header("content-security-policy");
    CHECK(csp.find("default-src 'self'") != std::string::npos);
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("connect-src 'self' ws://127.0.0.1:") != std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(reply.header("x-content-type-options") == "nosniff");
    CHECK(reply.header("referrer-policy") == "no-referrer");
    CHECK(reply.header("x-frame-options") == "DENY");
}
}  // namespace

TEST_CASE("the web port serves the embedded client with security headers and content types", "[web]") {
    auto server = startWebServer();
    const auto index = httpRequest(server.webPort, "GET", "/");
    CHECK(index.status == 200);
    CHECK(index.header("content-type") == "text/html; charset=utf-8");
    CHECK(index.body.find("<html") != std::string::npos);
    requireSecurityHeaders(index);
    const auto script = httpRequest(server.webPort, "GET", "/app.js");
    CHECK(script.status == 200);
    CHECK(script.header("content-type") == "text/javascript; charset=utf-8");
    requireSecurityHeaders(script);
    const auto style = httpRequest(server.webPort, "GET", "/style.css?v=1");
    CHECK(style.status == 200);
    CHECK(style.header("content-type") == "text/css; charset=utf-8");
    const auto head = httpRequest(server.webPort, "HEAD", "/");
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(index.body.size()));
    CHECK(head.body.empty());
}

TEST_CASE("unknown paths are 404 and methods other than GET and HEAD 405, with the same headers", "[web]") {
    auto server = startWebServer();
    const auto missing = httpRequest(server.webPort, "GET", "/nope");
    CHECK(missing.status == 404);
    requireSecurityHeaders(missing);
    CHECK(httpRequest(server.webPort, "GET", "/../CMakeLists.txt").status == 404);
    CHECK(httpRequest(server.webPort, "GET", "/%2e%2e/CMakeLists.txt").status == 404);
    const auto post = httpRequest(server.webPort, "POST", "/", {{"Content-Length", "0"}});
    CHECK(post.status == 405);
    CHECK(post.header("allow") == "GET, HEAD");
    requireSecurityHeaders(post);
    CHECK(httpRequest(server.webPort, "PUT", "/index.html", {{"Content-Length", "0"}}).status == 405);
    // A plain GET of /ws is not an upgrade.
    CHECK(httpRequest(server.webPort, "GET", "/ws").status == 400);
}

TEST_CASE("the upgrade refuses a foreign or missing Origin with 403, and a rebinding Host", "[web]") {
    auto server = startWebServer({"--web-origin", "http://allowed.example:3000"});
    {
        WebSocketClient foreign(server.webPort, "http://evil.example");
        CHECK(foreign.reply().status == 403);
        CHECK(foreign.reply().body.find("origin") != std::string::npos);
        requireSecurityHeaders(foreign.reply());
    }
    {
        WebSocketClient none(server.webPort, "");
        CHECK(none.reply().status == 403);
        CHECK(none.reply().body.find("Origin header") != std::string::npos);
    }
    {
        // DNS rebinding: the page's name agrees with the Host but names someone else.
        const std::string host = "evil.example:" + std::to_string(server.webPort);
        WebSocketClient rebound(server.webPort, "http://" + host, host);
        CHECK(rebound.reply().status == 403);
    }
    {
        WebSocketClient allowed(server.webPort, "http://allowed.example:3000");
        CHECK(allowed.upgraded());
    }
    {
        WebSocketClient own(server.webPort, ownOrigin(server.webPort));
        CHECK(own.upgraded());
    }
    CHECK(server.process->waitForStderr("origin http://evil.example not allowed"));
}

TEST_CASE("a WebSocket user and a TCP user talk in a room and by DM, both ways", "[web]") {
    auto server = startWebServer();
    auto web = WebSocketClient::joined(server.webPort, "webby");
    auto tcp = TestClient::joined(server.port, "tessa");
    web->waitFor([](const auto& m) { return typeOf(m) == "joined" && stringField(m, "user") == "tessa"; });

    web->sendText(R"({"type":"send","id":2,"to":"#lobby","text":"hello from the browser"})");
    tcp->waitFor([](const auto& m) { return isMessage(m, "webby", "#lobby", "hello from the browser"); });
    web->waitFor([](const auto& m) { return isMessage(m, "webby", "#lobby", "hello from the browser"); });

    tcp->send(sendRequest(3, "#lobby", "hello from the terminal"));
    web->waitFor([](const auto& m) { return isMessage(m, "tessa", "#lobby", "hello from the terminal"); });

    web->sendText(R"({"type":"send","id":4,"to":"@tessa","text":"psst"})");
    tcp->waitFor([](const auto& m) { return isMessage(m, "webby", "@tessa", "psst"); });
    tcp->send(sendRequest(5, "@webby", "psst back"));
    web->waitFor([](const auto& m) { return isMessage(m, "tessa", "@webby", "psst back"); });
}

TEST_CASE("WebSocket pings get pongs, and fragmented text is one request", "[web]") {
    auto server = startWebServer();
    auto web = WebSocketClient::joined(server.webPort, "frag");
    web->sendFrame(chat::ws::Opcode::Ping, "are you there");
    web->sendFrame(chat::ws::Opcode::Text, R"({"type":"send","id":7,)", false);
    web->sendFrame(chat::ws::Opcode::Ping, "mid");
    web->sendFrame(chat::ws::Opcode::Continuation, R"("to":"#lobby","text":"in pieces"})");
    web->waitFor([](const auto& m) { return isMessage(m, "frag", "#lobby", "in pieces"); });
    REQUIRE(web->pongs().size() == 2);
    CHECK(web->pongs()[0] == "are you there");
    CHECK(web->pongs()[1] == "mid");
}

TEST_CASE("framing errors close with their code, and the server keeps serving others", "[web]") {
    auto server = startWebServer();
    auto tcp = TestClient::joined(server.port, "bystander");
    struct Case {
        const char* what;
        std::function<void(WebSocketClient&)> send;
        std::uint16_t code;
        const char* errorCode;  // the JSON error before the close, if any
    };
    const std::vector<Case> cases{
        {"binary", [](WebSocketClient& c) { c.sendFrame(chat::ws::Opcode::Binary, "\x01\x02"); },
         chat::ws::kUnsupportedData, "bad_request"},
        {"oversized", [](WebSocketClient& c) { c.sendFrame(chat::ws::Opcode::Text, std::string(64 * 1024 + 1, 'x')); },
         chat::ws::kMessageTooBig, "frame_too_large"},
        {"bad UTF-8", [](WebSocketClient& c) { c.sendFrame(chat::ws::Opcode::Text, "{\"type\":\"\xc3\"}"); },
         chat::ws::kInvalidPayload, "bad_request"},
        {"unmasked", [](WebSocketClient& c) { c.sendRaw(chat::ws::encodeFrame(chat::ws::Opcode::Text, "{}")); },
         chat::ws::kProtocolError, "bad_request"},
        {"opcode 3", [](WebSocketClient& c) { c.sendRaw(std::string("\x83\x80\0\0\0\0", 6)); },
         chat::ws::kProtocolError, "bad_request"},
    };
    int n = 0;
    for (const auto& c : cases) {
        INFO(c.what);
        auto web = WebSocketClient::joined(server.webPort, "breaker" + std::to_string(++n));
        c.send(*web);
        const auto error = web->waitForType("error");
        CHECK(stringField(error, "code") == std::string(c.errorCode));
        const auto close = web->waitForClose();
        REQUIRE(close);
        CHECK(close->code == c.code);
        CHECK(!close->reason.empty());
        CHECK(web->endedWithin());
        // Others are still served.
        tcp->send(sendRequest(1, "#lobby", std::string("still here after ") + c.what));
        tcp->waitFor([&](const auto& m) {
            return isMessage(m, "bystander", "#lobby", std::string("still here after ") + c.what);
        });
    }
}

// The frame deadline, as on the TCP port ("hardening: a frame trickled one
// byte at a time"): bytes that keep coming do not keep a frame open forever.
TEST_CASE("a WebSocket frame trickled one byte at a time is closed at the frame deadline", "[web]") {
    auto server = startWebServer({"--ping-interval", "0.3"});
    auto web = WebSocketClient::joined(server.webPort, "trickler");
    // A masked text frame promising 60,000 bytes; mask key 0, so each byte is as sent.
    web->sendRaw(std::string("\x81\xfe\xea\x60\0\0\0\0", 8));
    std::optional<WebSocketClient::Close> close;
    const auto deadline = Clock::now() + 4s;
    while (!close && Clock::now() < deadline) {
        close = web->waitForClose(100ms);  // the wait for the close is also the pace of the trickle
        if (!close) (void)::send(web->fd(), "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    REQUIRE(close);
    CHECK(close->code == chat::ws::kPolicyViolation);
    CHECK(close->reason == "protocol error: incomplete frame");
    const auto& seen = web->seen();
    CHECK(std::any_of(seen.begin(), seen.end(), [](const std::string& text) {
        return text.find("bad_request") != std::string::npos && text.find("not finished") != std::string::npos;
    }));
    CHECK(server.process->waitForStderr("(trickler): a frame was started and not finished"));
}

TEST_CASE("a bad JSON text message is answered bad_request and the connection goes on", "[web]") {
    auto server = startWebServer();
    auto web = WebSocketClient::joined(server.webPort, "sloppy");
    web->sendText("{not json");
    CHECK(stringField(web->waitForType("error"), "code") == std::string("bad_request"));
    web->sendText(R"({"type":"send","id":9,"to":"#lobby","text":"fine now"})");
    web->waitFor([](const auto& m) { return isMessage(m, "sloppy", "#lobby", "fine now"); });
}

TEST_CASE("a WebSocket client that never reads is cut as a slow consumer while others go on", "[web]") {
    auto server = startWebServer({"--max-queue", "65536", "--rate", "100000", "--burst", "100000"});
    auto stalled = WebSocketClient::joined(server.webPort, "stalled");
    auto reader = TestClient::joined(server.port, "reader");
    auto sender = TestClient::joined(server.port, "sender");
    const std::string text(3000, 'z');
    bool cut = false;
    for (int i = 0; i < 12000 && !cut; ++i) {
        sender->send(sendRequest(i + 1, "#lobby", text));
        if (i % 50 == 49) {
            reader->pump();
            sender->pump();
            cut = server.process->waitForStderr("slow consumer", 1ms);
        }
    }
    CHECK(server.process->waitForStderr("disconnecting 127.0.0.1"));
    CHECK(server.process->waitForStderr("(stalled): slow consumer"));
    sender->send(sendRequest(99999, "#lobby", "after the cut"));
    reader->waitFor([](const auto& m) { return isMessage(m, "sender", "#lobby", "after the cut"); }, 20s);
    CHECK(stalled->endedWithin(10s));
}

TEST_CASE("WebSocket connections count against --max-clients", "[web]") {
    auto server = startWebServer({"--max-clients", "1"});
    auto tcp = TestClient::joined(server.port, "first");
    WebSocketClient web(server.webPort, ownOrigin(server.webPort));
    REQUIRE(web.upgraded());
    const auto error = web.waitForType("error");
    CHECK(stringField(error, "code") == std::string("server_full"));
    const auto close = web.waitForClose();
    REQUIRE(close);
    CHECK(close->code == chat::ws::kTryAgainLater);
}

TEST_CASE("a WebSocket client that never says hello is closed after the hello timeout", "[web]") {
    auto server = startWebServer({"--hello-timeout", "0.3"});
    WebSocketClient web(server.webPort, ownOrigin(server.webPort));
    REQUIRE(web.upgraded());
    const auto close = web.waitForClose();
    REQUIRE(close);
    CHECK(close->code == chat::ws::kNormal);
    CHECK(close->reason == "hello timeout");
}

TEST_CASE("SIGTERM's shutdown notice reaches a WebSocket client, then close 1001", "[web]") {
    auto server = startWebServer();
    auto web = WebSocketClient::joined(server.webPort, "leaving");
    server.process->signal(SIGTERM);
    const auto notice = web->waitForType("shutdown");
    CHECK(stringField(notice, "message") == std::string("the server is shutting down"));
    const auto close = web->waitForClose();
    REQUIRE(close);
    CHECK(close->code == chat::ws::kGoingAway);
    CHECK(server.process->wait() == 0);
}

TEST_CASE("serve --help documents the web flags, and a bad web origin is a usage error", "[web]") {
    const auto help = runChat({"serve", "--help"});
    CHECK(help.exitCode == 0);
    CHECK(help.out.find("--web-port") != std::string::npos);
    CHECK(help.out.find("--web-origin") != std::string::npos);
    const auto bad = runChat({"serve", "--port", "0", "--web-port", "0", "--web-origin", "chat.example.org/x"});
    CHECK(bad.exitCode == 64);
    CHECK(bad.err.find("--web-origin chat.example.org/x: not an origin") != std::string::npos);
    const auto alone = runChat({"serve", "--port", "0", "--web-origin", "https://chat.example.org"});
    CHECK(alone.exitCode == 64);
    CHECK(alone.err.find("--web-origin needs --web-port") != std::string::npos);
}

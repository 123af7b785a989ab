// The WebSocket layer: the socket-free stream (websocket_client.hpp) fed
// byte strings, and the engine over WebSocket against a stub server on a
// real loopback socket: the upgrade and its checks, masked text frames out
// with one JSON object each, unmasked frames in with 7-, 16- and 64-bit
// lengths, a frame split across reads, ping and close, and a mixed engine
// whose members speak WebSocket and TCP side by side.

#include "engine.hpp"
#include "engine_recorder.hpp"
#include "proc_stats.hpp"
#include "tls_stub_server.hpp"
#include "websocket_client.hpp"
#include "ws_stub_server.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <set>

using bench::test::serverFrame;
using bench::test::WsStubServer;
using bench::test::pollUntil;
using bench::test::Recorder;

namespace {
bench::WebSocketOptions allWs(std::uint16_t port) {
    bench::WebSocketOptions ws;
    ws.port = port;
    ws.members = ws.of = 1;
    return ws;
}

std::string messageEvent(const std::string& text) {
    return R"({"type":"message","from":"stub","to":"#lobby","text":")" + text + "\"}";
}

struct Messages final : bench::WsSink {
    int opened = 0;
    std::vector<std::string> texts;
    void onOpen() override { ++opened; }
    bool onMessage(std::string_view text) override {
        texts.emplace_back(text);
        return true;
    }
};

/// A 101 answer for `key`.
std::string accepted(const std::string& key) {
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           bench::wsAcceptFor(key) + "\r\n\r\n";
}

/// Decodes one masked client frame at the start of `bytes`: its opcode and unmasked payload.
std::pair<int, std::string> unmaskClientFrame(const std::string& bytes) {
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
    REQUIRE((h[1] & 0x80) != 0);
    std::uint64_t n = h[1] & 0x7F;
    std::size_t at = 2;
    if (n == 126) n = (std::uint64_t{h[2]} << 8) | h[3], at = 4;
    else if (n == 127) {
        n = 0;
        for (int i = 2; i < 10; ++i) n = (n << 8) | h[i];
        at = 10;
    }
    REQUIRE(bytes.size() == at + 4 + n);
    std::string payload = bytes.substr(at + 4);
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(payload[i] ^ h[at + (i & 3)]);
    return {h[0] & 0x0F, payload};
}
}  // namespace

TEST_CASE("WebSocket: the accept key is the RFC 6455 example's", "[websocket]") {
    CHECK(bench::wsAcceptFor("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(bench::wsNewKey().size() == 24);
    CHECK(bench::wsNewKey() != bench::wsNewKey());
}

TEST_CASE("WebSocket: client frames are masked, with 7-, 16- and 64-bit lengths", "[websocket]") {
    for (const std::size_t size : {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535},
                                   std::size_t{65536}, std::size_t{70001}}) {
        INFO("size " << size);
        std::string payload(size, 'a');
        for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
        std::string out;
        bench::wsAppendFrame(out, bench::WsOpcode::Text, payload, 0xA1B2C3D4);
        const auto* h = reinterpret_cast<const unsigned char*>(out.data());
        CHECK(h[0] == 0x81);  // FIN, text
        const std::size_t expectedLength = size < 126 ? size : size <= 0xFFFF ? 126 : 127;
        CHECK(static_cast<std::size_t>(h[1] & 0x7F) == expectedLength);
        const auto [opcode, unmasked] = unmaskClientFrame(out);
        CHECK(opcode == 1);
        CHECK(unmasked == payload);
        if (size >= 4) CHECK(out.substr(out.size() - size, 4) != payload.substr(0, 4));  // really masked
    }
}

TEST_CASE("WebSocket: the stream gives the same messages whatever the split", "[websocket]") {
    const std::string key = bench::wsNewKey();
    const std::string big(70000, 'z'), medium(300, 'm');
    const std::string stream = accepted(key) + serverFrame(1, "{\"a\":1}") + serverFrame(1, medium) +
                               serverFrame(9, "hb") + serverFrame(1, big) +
                               std::string("\x01\x03" "par", 5) + std::string("\x80\x03" "ts!", 5);  // fragmented
    for (const std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{4096}}) {
        INFO("chunk " << chunk);
        bench::WsStream ws(key, 42);
        Messages sink;
        std::string reply;
        for (std::size_t at = 0; at < stream.size(); at += chunk)
            REQUIRE(ws.feed(stream.data() + at, std::min(chunk, stream.size() - at), sink, reply) == bench::WsStream::Status::Ok);
        CHECK(sink.opened == 1);
        REQUIRE(sink.texts.size() == 4);
        CHECK(sink.texts[0] == "{\"a\":1}");
        CHECK(sink.texts[1] == medium);
        CHECK(sink.texts[2] == big);
        CHECK(sink.texts[3] == "parts!");
        const auto [opcode, payload] = unmaskClientFrame(reply);  // the ping's pong, masked
        CHECK(opcode == 10);
        CHECK(payload == "hb");
    }
}

TEST_CASE("WebSocket: a broken server stream fails with a reason", "[websocket]") {
    const std::string key = bench::wsNewKey();
    const auto failure = [&](const std::string& bytes) {
        bench::WsStream ws(key, 7);
        Messages sink;
        std::string reply;
        const auto status = ws.feed(bytes.data(), bytes.size(), sink, reply);
        return status == bench::WsStream::Status::Failed ? ws.error() : std::string("not failed");
    };
    CHECK_THAT(failure("HTTP/1.1 403 Forbidden\r\n\r\n"), Catch::Contains("refused: HTTP/1.1 403 Forbidden"));
    CHECK_THAT(failure("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " + bench::wsAcceptFor("other") + "\r\n\r\n"),
               Catch::Contains("wrong Sec-WebSocket-Accept"));
    CHECK_THAT(failure("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                       bench::wsAcceptFor(key) + "\r\n\r\n"),
               Catch::Contains("no 'Upgrade: websocket'"));
    CHECK_THAT(failure(std::string(20000, 'x')), Catch::Contains("within 16 KiB"));
    CHECK_THAT(failure(accepted(key) + std::string("\x81\x81\x00\x00\x00\x00" "a", 7)), Catch::Contains("masked server frame"));
    CHECK_THAT(failure(accepted(key) + std::string("\xC1\x01" "a", 3)), Catch::Contains("reserved bits"));
    CHECK_THAT(failure(accepted(key) + std::string("\x82\x01" "a", 3)), Catch::Contains("binary"));
    CHECK_THAT(failure(accepted(key) + std::string("\x81\x7F\x80\x00\x00\x00\x00\x00\x00\x01", 10)), Catch::Contains("top bit"));
    CHECK_THAT(failure(accepted(key) + std::string("\x81\x7F\x00\x00\x00\x00\x10\x00\x00\x01", 10)), Catch::Contains("more than"));
    CHECK_THAT(failure(accepted(key) + std::string("\x09\x00", 2)), Catch::Contains("control frame"));
    CHECK_THAT(failure(accepted(key) + std::string("\x80\x01" "a", 3)), Catch::Contains("continuation frame without"));
}

TEST_CASE("WebSocket engine: upgrades with a matching Origin, logs in and carries payloads unchanged", "[websocket]") {
    std::signal(SIGPIPE, SIG_IGN);
    WsStubServer server;
    auto adapter = bench::makeAdapter("chat");
    bench::Engine engine(*adapter, "127.0.0.1", 0, {}, allWs(server.port()));
    Recorder recorder;
    engine.setHandler(&recorder);
    const int id = engine.open({"alice", true});
    CHECK(engine.webSocket(id));
    REQUIRE(pollUntil(engine, [&] { return recorder.ready == 1 || recorder.closed > 0; }));
    REQUIRE(recorder.ready == 1);
    CHECK(engine.upgradeCount() == 1);
    const std::string request = server.request(0);
    CHECK(request.rfind("GET /ws HTTP/1.1\r\n", 0) == 0);
    CHECK_THAT(request, Catch::Contains("\r\nSec-WebSocket-Version: 13\r\n"));
    CHECK(server.originMatched(0));
    for (int i = 0; i < 3; ++i) engine.post(id, "hello over ws " + std::to_string(i));
    REQUIRE(pollUntil(engine, [&] { return recorder.payloads.size() == 3; }));
    CHECK(recorder.payloads[2] == "hello over ws 2");
    const auto frames = server.frames(0);
    REQUIRE(frames.size() == 4);
    std::set<std::uint32_t> masks;
    for (const auto& frame : frames) {
        CHECK(frame.masked);
        CHECK(frame.fin);
        CHECK(frame.opcode == 1);
        CHECK(frame.payload.front() == '{');  // one JSON object, no length prefix
        CHECK(frame.payload.back() == '}');
        masks.insert(frame.mask);
    }
    CHECK(masks.size() == 4);
    CHECK(frames[0].payload == R"({"type":"hello","version":1,"user":"alice","client":"bench"})");
    CHECK(frames[1].payload == R"({"type":"send","id":0,"text":"hello over ws 0"})");
}

TEST_CASE("WebSocket engine: a frame split across reads, 16- and 64-bit lengths, ping and close", "[websocket]") {
    std::signal(SIGPIPE, SIG_IGN);
    WsStubServer server;
    auto adapter = bench::makeAdapter("chat");
    bench::Engine engine(*adapter, "127.0.0.1", 0, {}, allWs(server.port()));
    Recorder recorder;
    engine.setHandler(&recorder);
    const int id = engine.open({"bob", true});
    REQUIRE(pollUntil(engine, [&] { return recorder.ready == 1 || recorder.closed > 0; }));
    REQUIRE(recorder.ready == 1);

    // The engine has read the first half of a frame (bytesRead says so) before the rest is sent.
    const std::string split = serverFrame(1, messageEvent("split-in-two"));
    const std::uint64_t before = engine.bytesRead();
    server.sendRaw(0, split.substr(0, 9));
    REQUIRE(pollUntil(engine, [&] { return engine.bytesRead() == before + 9; }));
    CHECK(recorder.payloads.empty());
    server.sendRaw(0, split.substr(9));
    REQUIRE(pollUntil(engine, [&] { return recorder.payloads.size() == 1; }));
    CHECK(recorder.payloads[0] == "split-in-two");

    const std::string medium(1000, 'm'), big(100000, 'b');
    server.sendRaw(0, serverFrame(1, messageEvent(medium)) + serverFrame(1, messageEvent(big)));
    REQUIRE(pollUntil(engine, [&] { return recorder.payloads.size() == 3; }));
    CHECK(recorder.payloads[1] == medium);
    CHECK(recorder.payloads[2] == big);

    server.sendRaw(0, serverFrame(9, "beat"));
    REQUIRE(pollUntil(engine, [&] { return server.frames(0).size() == 2; }));
    CHECK(server.frames(0)[1].opcode == 10);
    CHECK(server.frames(0)[1].masked);
    CHECK(server.frames(0)[1].payload == "beat");

    server.sendRaw(0, serverFrame(8, std::string("\x03\xE9", 2) + "going away"));
    REQUIRE(pollUntil(engine, [&] { return recorder.closed == 1; }));
    CHECK(recorder.lastClose == "closed by server (WebSocket close 1001: going away)");
    CHECK(engine.closed(id));
    REQUIRE(pollUntil(engine, [&] { return server.frames(0).size() == 3; }));
    CHECK(server.frames(0)[2].opcode == 8);  // the close, answered
    CHECK(server.frames(0)[2].payload == std::string("\x03\xE9", 2));
}

TEST_CASE("WebSocket engine: a refused or wrongly accepted upgrade fails the connection with a reason", "[websocket]") {
    std::signal(SIGPIPE, SIG_IGN);
    auto adapter = bench::makeAdapter("chat");
    Recorder recorder;
    SECTION("403") {
        WsStubServer server(WsStubServer::Mode::Refuse);
        bench::Engine engine(*adapter, "127.0.0.1", 0, {}, allWs(server.port()));
        engine.setHandler(&recorder);
        const int id = engine.open({"carol", true});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.closed == 1);
        CHECK(engine.lastError(id) == "WebSocket upgrade refused: HTTP/1.1 403 Forbidden");
    }
    SECTION("a wrong accept key") {
        WsStubServer server(WsStubServer::Mode::BadAccept);
        bench::Engine engine(*adapter, "127.0.0.1", 0, {}, allWs(server.port()));
        engine.setHandler(&recorder);
        const int id = engine.open({"dave", true});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.closed == 1);
        CHECK_THAT(engine.lastError(id), Catch::Contains("wrong Sec-WebSocket-Accept"));
        CHECK(engine.failedCount() == 1);
    }
}

TEST_CASE("WebSocket engine: mixed members speak WebSocket and TCP side by side", "[websocket]") {
    std::signal(SIGPIPE, SIG_IGN);
    WsStubServer web;
    bench::test::StubServer tcp(bench::test::StubServer::Mode::Plain);
    auto adapter = bench::makeAdapter("chat");
    bench::WebSocketOptions ws;
    ws.port = web.port();
    ws.members = 2;
    ws.of = 4;
    bench::Engine engine(*adapter, "127.0.0.1", tcp.port(), {}, ws);
    Recorder recorder;
    engine.setHandler(&recorder);
    for (int i = 0; i < 4; ++i) engine.open({"m" + std::to_string(i), true});
    CHECK(!engine.webSocket(0));  // every other one: the first K senders are mixed too
    CHECK(engine.webSocket(1));
    CHECK(!engine.webSocket(2));
    CHECK(engine.webSocket(3));
    REQUIRE(pollUntil(engine, [&] { return recorder.ready == 4 || recorder.closed > 0; }));
    CHECK(web.connections() == 2);
    CHECK(engine.upgradeCount() == 2);
    for (int i = 0; i < 4; ++i) engine.post(i, "from-" + std::to_string(i));
    REQUIRE(pollUntil(engine, [&] { return recorder.payloads.size() == 4; }));
    std::set<std::string> got(recorder.payloads.begin(), recorder.payloads.end());
    CHECK(got == std::set<std::string>{"from-0", "from-1", "from-2", "from-3"});
    CHECK(bench::webSocketMember(ws, 5) == false);  // past `of`: TCP
}

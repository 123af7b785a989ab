// ws::encodeFrame and ws::Decoder: RFC 6455 framing as byte strings, no sockets.

#include "shared/websocket_codec.hpp"

#include <catch2/catch.hpp>

using namespace chat::ws;
using Status = Decoder::Status;

namespace {
constexpr std::uint32_t kMask = 0x37fa213d;  // RFC 6455 5.7's example key
constexpr std::size_t kMax = 64 * 1024;

/// A client frame: masked.
std::string client(Opcode opcode, std::string_view payload, bool fin = true) {
    return encodeFrame(opcode, payload, fin, kMask);
}

Decoder::Result decodeOne(const std::string& bytes, std::size_t max = kMax) {
    Decoder decoder(true, max);
    decoder.feed(bytes);
    return decoder.next();
}

/// Feeds `bytes` one byte at a time; returns every non-NeedMore result.
std::vector<Decoder::Result> trickle(Decoder& decoder, const std::string& bytes) {
    std::vector<Decoder::Result> results;
    for (char c : bytes) {
        decoder.feed(&c, 1);
        for (;;) {
            auto r = decoder.next();
            if (r.status == Status::NeedMore) break;
            results.push_back(r);
            if (r.status == Status::Error) return results;
        }
    }
    return results;
}
}  // namespace

TEST_CASE("encodeFrame masks like RFC 6455's example: \"Hello\" with key 37 fa 21 3d") {
    const auto frame = encodeFrame(Opcode::Text, "Hello", true, kMask);
    CHECK(frame == std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
    CHECK(encodeFrame(Opcode::Text, "Hello") == std::string("\x81\x05Hello", 7));
}

TEST_CASE("payload lengths 125, 126, 65535 and 65536 take the 7-bit, 16-bit and 64-bit forms") {
    struct Case {
        std::size_t length;
        std::size_t header;
        unsigned char lengthByte;
    };
    for (const auto& c : {Case{125, 2, 125}, Case{126, 4, 126}, Case{65535, 4, 126}, Case{65536, 10, 127}}) {
        INFO("length " << c.length);
        const std::string payload(c.length, 'x');
        const auto frame = encodeFrame(Opcode::Text, payload);
        REQUIRE(frame.size() == c.header + c.length);
        CHECK(static_cast<unsigned char>(frame[1]) == c.lengthByte);
        const auto masked = client(Opcode::Text, payload);
        CHECK(masked.size() == c.header + 4 + c.length);
        const auto r = decodeOne(masked, 70000);
        REQUIRE(r.status == Status::Text);
        CHECK(r.payload == payload);
    }
    // Big-endian: 65536 = 00 00 00 00 00 01 00 00.
    const auto frame = encodeFrame(Opcode::Binary, std::string(65536, 'x'));
    CHECK(frame.substr(2, 8) == std::string("\0\0\0\0\0\x01\0\0", 8));
}

TEST_CASE("the decoder waits for whole frames fed a byte at a time") {
    Decoder decoder(true, kMax);
    const auto results = trickle(decoder, client(Opcode::Text, R"({"type":"ping"})") + client(Opcode::Text, "second"));
    REQUIRE(results.size() == 2);
    CHECK(results[0].payload == R"({"type":"ping"})");
    CHECK(results[1].payload == "second");
    CHECK(decoder.pending() == 0);
}

TEST_CASE("fragments join into one message, with control frames between them") {
    Decoder decoder(true, kMax);
    const auto bytes = client(Opcode::Text, "hel", false) + client(Opcode::Ping, "p1") +
                       client(Opcode::Continuation, "lo ", false) + client(Opcode::Pong, "") +
                       client(Opcode::Continuation, "world", true);
    const auto results = trickle(decoder, bytes);
    REQUIRE(results.size() == 3);
    CHECK(results[0].status == Status::Ping);
    CHECK(results[0].payload == "p1");
    CHECK(results[1].status == Status::Pong);
    CHECK(results[2].status == Status::Text);
    CHECK(results[2].payload == "hello world");
}

TEST_CASE("a fragmented message in progress counts as pending") {
    Decoder decoder(true, kMax);
    decoder.feed(client(Opcode::Text, "part", false));
    CHECK(decoder.next().status == Status::NeedMore);
    CHECK(decoder.pending() > 0);
}

TEST_CASE("binary messages are returned as Binary") {
    const auto r = decodeOne(client(Opcode::Binary, std::string("\0\x01", 2)));
    CHECK(r.status == Status::Binary);
    CHECK(r.payload == std::string("\0\x01", 2));
}

TEST_CASE("close frames give their code and reason") {
    auto r = decodeOne(client(Opcode::Close, closePayload(1000, "bye")));
    REQUIRE(r.status == Status::Close);
    CHECK(r.closeCode == 1000);
    CHECK(r.payload == "bye");
    r = decodeOne(client(Opcode::Close, ""));
    REQUIRE(r.status == Status::Close);
    CHECK(r.closeCode == 1005);
    CHECK(decodeOne(client(Opcode::Close, "x")).closeCode == kProtocolError);
    CHECK(decodeOne(client(Opcode::Close, closePayload(999, ""))).closeCode == kProtocolError);
    CHECK(decodeOne(client(Opcode::Close, closePayload(1000, "\xff"))).closeCode == kInvalidPayload);
}

TEST_CASE("closePayload cuts a long reason to 123 bytes at a character boundary") {
    std::string reason;
    for (int i = 0; i < 100; ++i) reason += "\xc3\xa9";  // é, two bytes
    const auto payload = closePayload(1001, reason);
    CHECK(payload.size() == 2 + 122);
    CHECK(payload.substr(0, 2) == std::string("\x03\xe9", 2));
}

TEST_CASE("framing errors give the close code to use") {
    struct Case {
        const char* what;
        std::string bytes;
        std::uint16_t code;
    };
    const std::vector<Case> cases{
        {"an unmasked client frame", encodeFrame(Opcode::Text, "hi"), kProtocolError},
        {"reserved bits", std::string(1, '\xc1') + client(Opcode::Text, "hi").substr(1), kProtocolError},
        {"opcode 3", std::string(1, '\x83') + client(Opcode::Text, "hi").substr(1), kProtocolError},
        {"opcode 0xB", std::string(1, '\x8b') + client(Opcode::Text, "hi").substr(1), kProtocolError},
        {"a continuation with no message", client(Opcode::Continuation, "hi"), kProtocolError},
        {"a new message inside a fragmented one", client(Opcode::Text, "a", false) + client(Opcode::Text, "b"),
         kProtocolError},
        {"a fragmented ping", client(Opcode::Ping, "p", false), kProtocolError},
        {"a 126-byte ping", std::string("\x89\xfe\x00\x7e", 4) + "abcd" + std::string(126, 'x'), kProtocolError},
        {"bad UTF-8 in a text message", client(Opcode::Text, "caf\xc3"), kInvalidPayload},
        {"bad UTF-8 across fragments", client(Opcode::Text, "\xe2\x82", false) + client(Opcode::Continuation, "x"),
         kInvalidPayload},
        {"a 64-bit length with its top bit set", std::string("\x81\xff\x80\0\0\0\0\0\0\x01", 10) + "abcd",
         kProtocolError},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        Decoder decoder(true, kMax);
        const auto results = trickle(decoder, c.bytes);
        REQUIRE(!results.empty());
        CHECK(results.back().status == Status::Error);
        CHECK(results.back().closeCode == c.code);
        CHECK(!results.back().error.empty());
        // Sticky: nothing after an error is decoded.
        decoder.feed(client(Opcode::Text, "later"));
        CHECK(decoder.next().status == Status::Error);
    }
}

TEST_CASE("UTF-8 split across fragments is valid when whole") {
    Decoder decoder(true, kMax);
    const auto results =
        trickle(decoder, client(Opcode::Text, "\xe2\x82", false) + client(Opcode::Continuation, "\xac"));
    REQUIRE(results.size() == 1);
    CHECK(results[0].status == Status::Text);
    CHECK(results[0].payload == "\xe2\x82\xac");
}

TEST_CASE("an oversized message is refused from its header, before its bytes arrive") {
    Decoder decoder(true, 1000);
    const auto frame = client(Opcode::Text, std::string(1001, 'x'));
    decoder.feed(frame.substr(0, 8));  // header, mask, and a little
    const auto r = decoder.next();
    REQUIRE(r.status == Status::Error);
    CHECK(r.closeCode == kMessageTooBig);
    CHECK(r.declaredLength == 1001);
    // Exactly the limit is fine.
    CHECK(decodeOne(client(Opcode::Text, std::string(1000, 'x')), 1000).status == Status::Text);
}

TEST_CASE("fragments that together pass the limit are refused") {
    Decoder decoder(true, 1000);
    const auto results = trickle(decoder, client(Opcode::Text, std::string(600, 'x'), false) +
                                              client(Opcode::Continuation, std::string(401, 'x')));
    REQUIRE(!results.empty());
    CHECK(results.back().status == Status::Error);
    CHECK(results.back().closeCode == kMessageTooBig);
    CHECK(results.back().declaredLength == 1001);
}

TEST_CASE("a client-side decoder refuses masked server frames and reads unmasked ones") {
    Decoder decoder(false, kMax);
    decoder.feed(encodeFrame(Opcode::Text, "hi"));
    auto r = decoder.next();
    REQUIRE(r.status == Status::Text);
    CHECK(r.payload == "hi");
    decoder.feed(client(Opcode::Text, "hi"));
    CHECK(decoder.next().closeCode == kProtocolError);
}

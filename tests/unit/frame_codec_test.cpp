#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/raw_connection.hpp"

#include <catch2/catch.hpp>

using chat::FrameDecoder;
using Status = FrameDecoder::Status;
using chat::test::frameHeader;

namespace {
std::vector<std::string> drain(FrameDecoder& decoder) {
    std::vector<std::string> frames;
    for (;;) {
        auto r = decoder.next();
        if (r.status == Status::NeedMore) return frames;
        REQUIRE(r.status == Status::Frame);
        frames.push_back(r.payload);
    }
}
}  // namespace

TEST_CASE("encodeFrame writes a 4-byte big-endian length before the payload") {
    const auto frame = chat::encodeFrame(R"({"type":"ping"})");
    REQUIRE(frame.size() == 4 + 15);
    CHECK(frame.substr(0, 4) == std::string("\0\0\0\x0f", 4));
    CHECK(frame.substr(4) == R"({"type":"ping"})");
}

TEST_CASE("encodeFrame refuses a payload over the maximum") {
    CHECK_NOTHROW(chat::encodeFrame(std::string(chat::kMaxFramePayload, 'x')));
    CHECK_THROWS_AS(chat::encodeFrame(std::string(chat::kMaxFramePayload + 1, 'x')), std::length_error);
}

TEST_CASE("a stream of several frames split at every byte offset decodes to the same frames") {
    const std::vector<std::string> payloads{R"({"type":"hello"})", "", R"({"type":"send","text":"héllo"})",
                                            std::string(300, 'a')};
    std::string stream;
    for (const auto& p : payloads) stream += chat::encodeFrame(p);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        FrameDecoder decoder;
        decoder.feed(stream.substr(0, cut));
        auto frames = drain(decoder);
        decoder.feed(stream.substr(cut));
        auto rest = drain(decoder);
        frames.insert(frames.end(), rest.begin(), rest.end());
        INFO("cut at " << cut);
        REQUIRE(frames == payloads);
        REQUIRE(decoder.buffered() == 0);
    }
}

TEST_CASE("feeding one byte at a time yields each frame exactly when its last byte arrives") {
    const std::string stream = chat::encodeFrame("abc") + chat::encodeFrame("de");
    FrameDecoder decoder;
    std::vector<std::size_t> completedAt;
    for (std::size_t i = 0; i < stream.size(); ++i) {
        decoder.feed(stream.substr(i, 1));
        for (const auto& f : drain(decoder)) {
            (void)f;
            completedAt.push_back(i);
        }
    }
    CHECK(completedAt == std::vector<std::size_t>{6, 12});
}

TEST_CASE("several frames in one chunk all come out, in order") {
    std::string chunk;
    for (int i = 0; i < 100; ++i) chunk += chat::encodeFrame(std::to_string(i));
    FrameDecoder decoder;
    decoder.feed(chunk);
    const auto frames = drain(decoder);
    REQUIRE(frames.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(frames[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("a zero-length frame is a frame with an empty payload, which parseMessage refuses") {
    FrameDecoder decoder;
    decoder.feed(frameHeader(0));
    auto r = decoder.next();
    REQUIRE(r.status == Status::Frame);
    CHECK(r.payload.empty());
    CHECK_FALSE(chat::parseMessage(r.payload));
    CHECK(decoder.next().status == Status::NeedMore);
}

TEST_CASE("an oversize length is invalid at once, before its body arrives, and stays invalid") {
    FrameDecoder decoder;
    decoder.feed(frameHeader(static_cast<std::uint32_t>(chat::kMaxFramePayload + 1)));
    auto r = decoder.next();
    REQUIRE(r.status == Status::Invalid);
    CHECK(r.declaredLength == chat::kMaxFramePayload + 1);
    decoder.feed(chat::encodeFrame("ok"));
    CHECK(decoder.next().status == Status::Invalid);
}

TEST_CASE("a 4 GiB length prefix is invalid") {
    FrameDecoder decoder;
    decoder.feed(std::string("\xff\xff\xff\xff", 4));
    auto r = decoder.next();
    REQUIRE(r.status == Status::Invalid);
    CHECK(r.declaredLength == 0xFFFFFFFFu);
}

TEST_CASE("a frame of exactly the maximum size is accepted") {
    FrameDecoder decoder;
    decoder.feed(chat::encodeFrame(std::string(chat::kMaxFramePayload, 'x')));
    auto r = decoder.next();
    REQUIRE(r.status == Status::Frame);
    CHECK(r.payload.size() == chat::kMaxFramePayload);
}

TEST_CASE("frames whose payloads are not valid messages decode as frames and fail parseMessage") {
    const std::vector<std::string> bad{"{not json", "[1,2,3]", "\"just a string\"", "42",
                                       std::string("{\"type\":\"send\",\"text\":\"\xc3\x28\"}"),
                                       R"({"text":"no type"})", R"({"type":7})"};
    std::string stream;
    for (const auto& b : bad) stream += chat::encodeFrame(b);
    FrameDecoder decoder;
    decoder.feed(stream);
    const auto frames = drain(decoder);
    REQUIRE(frames == bad);
    for (const auto& f : frames) {
        INFO(f);
        auto parsed = chat::parseMessage(f);
        CHECK_FALSE(parsed);
        CHECK_FALSE(parsed.error.empty());
    }
}

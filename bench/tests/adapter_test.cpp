#include "adapter.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace bench;

namespace {
struct Recorded {
    Event::Kind kind;
    std::string text, detail;
};

struct Recorder final : EventSink {
    std::vector<Recorded> events;
    void onEvent(const Event& e) override { events.push_back({e.kind, std::string(e.text), std::string(e.detail)}); }
};

std::string frame(const std::string& json) {
    const auto n = json.size();
    std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                    static_cast<char>(n)};
    return out + json;
}

/// Feeds `bytes` to a fresh parser `chunk` bytes at a time.
Recorder feedInChunks(const Adapter& adapter, const std::string& bytes, std::size_t chunk, std::string& reply,
                      const LoginOptions& login = {"me", true}) {
    auto parser = adapter.newParser(login);
    Recorder sink;
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
        REQUIRE(parser->feed(bytes.data() + at, std::min(chunk, bytes.size() - at), sink, reply));
    return sink;
}
}  // namespace

TEST_CASE("chat adapter: frames split anywhere give the same events") {
    const auto adapter = makeAdapter("chat");
    const std::string stream =
        frame(R"({"type":"welcome","id":1,"version":1,"server":"chat","motd":"","user":"me","room":"#lobby"})") +
        frame(R"({"type":"joined","msg_id":2,"ts":1,"user":"x","room":"#lobby"})") +
        frame(R"({"type":"message","msg_id":3,"ts":1,"from":"x","to":"#lobby","text":"b001s00001q0000000001t"})") +
        frame(R"({"type":"ok","id":5,"msg_id":3})") + frame(R"({"type":"ping"})") +
        frame(R"({"type":"left","msg_id":4,"ts":1,"user":"x","room":"#lobby","reason":"slow consumer"})") +
        frame(R"({"type":"error","code":"server_full","message":"the server is full"})");
    for (std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{50}}) {
        INFO("chunk " << chunk);
        std::string reply;
        const auto sink = feedInChunks(*adapter, stream, chunk, reply);
        REQUIRE(sink.events.size() == 5);
        CHECK(sink.events[0].kind == Event::Kind::Ready);
        CHECK(sink.events[1].kind == Event::Kind::Payload);
        CHECK(sink.events[1].text == "b001s00001q0000000001t");
        CHECK(sink.events[2].kind == Event::Kind::Ack);
        CHECK(sink.events[3].kind == Event::Kind::Left);
        CHECK(sink.events[3].text == "x");
        CHECK(sink.events[3].detail == "slow consumer");
        CHECK(sink.events[4].kind == Event::Kind::Error);
        CHECK(sink.events[4].text == "server_full");
        CHECK(reply == frame(R"({"type":"pong"})"));
    }
}

TEST_CASE("chat adapter: a field name used as a value is not mistaken for the field") {
    const auto adapter = makeAdapter("chat");
    std::string reply;
    const auto sink = feedInChunks(
        *adapter, frame(R"({"type":"message","from":"text","to":"#lobby","text":"hi \"there\""})"), 1000, reply);
    REQUIRE(sink.events.size() == 1);
    CHECK(sink.events[0].text == R"(hi \"there\")");
}

TEST_CASE("chat adapter: fields in another order or spacing are still found") {
    const auto adapter = makeAdapter("chat");
    std::string reply;
    const auto sink = feedInChunks(*adapter,
                                   frame(R"({"msg_id":1, "type" : "message","text":"first","action":true})") +
                                       frame(R"({"type":"message","from":"a","text":"last"})") +
                                       frame(R"({"type":"message","text":"x\"text\":\"y"})"),
                                   1000, reply);
    REQUIRE(sink.events.size() == 3);
    CHECK(sink.events[0].text == "first");
    CHECK(sink.events[1].text == "last");
    CHECK(sink.events[2].text == R"(x\"text\":\"y)");
}

TEST_CASE("chat adapter: login and post are framed JSON") {
    const auto adapter = makeAdapter("chat");
    const auto hello = adapter->login({"b00001", true});
    REQUIRE(hello.size() > 4);
    CHECK(hello.substr(4) == R"({"type":"hello","version":1,"user":"b00001","client":"bench"})");
    CHECK(static_cast<unsigned char>(hello[3]) == hello.size() - 4);
    CHECK(adapter->login({"x", false}).find(R"("announce":false)") != std::string::npos);
    std::string post;
    adapter->appendPost(post, "a\"b", 9);
    CHECK(post.substr(4) == R"({"type":"send","id":9,"text":"a\"b"})");
}

TEST_CASE("chat adapter: an absurd frame length breaks the stream") {
    const auto adapter = makeAdapter("chat");
    auto parser = adapter->newParser({"me", true});
    Recorder sink;
    std::string reply;
    const std::string bad("\x7f\xff\xff\xff", 4);
    CHECK_FALSE(parser->feed(bad.data(), bad.size(), sink, reply));
}

TEST_CASE("irc adapter: registers, joins, answers PING and reads PRIVMSG in any split") {
    const auto adapter = makeAdapter("irc");
    CHECK(adapter->login({"b00001", true}) == "NICK b00001\r\nUSER b00001 0 * :bench\r\n");
    const std::string stream =
        ":irc.local NOTICE * :*** Looking up your hostname...\r\n"
        ":irc.local 001 me :Welcome to the network\r\n"
        ":irc.local 422 me :MOTD File is missing\r\n"
        "PING :irc.local\r\n"
        ":other!u@h JOIN #bench\r\n"
        ":Me!me@127.0.0.1 JOIN :#bench\r\n"
        ":x!u@h PRIVMSG #bench :b001s00001q0000000001t\r\n"
        ":irc.local 404 me #bench :Cannot send to channel\r\n"
        "ERROR :Closing link: (me@127.0.0.1) [Too many connections]\n";
    for (std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{5}, std::size_t{64}}) {
        INFO("chunk " << chunk);
        std::string reply;
        const auto sink = feedInChunks(*adapter, stream, chunk, reply);
        CHECK(reply == "JOIN #bench\r\nPONG :irc.local\r\n");
        REQUIRE(sink.events.size() == 4);
        CHECK(sink.events[0].kind == Event::Kind::Ready);
        CHECK(sink.events[1].kind == Event::Kind::Payload);
        CHECK(sink.events[1].text == "b001s00001q0000000001t");
        CHECK(sink.events[2].kind == Event::Kind::Error);
        CHECK(sink.events[2].text == "404");
        CHECK(sink.events[2].detail == "Cannot send to channel");
        CHECK(sink.events[3].kind == Event::Kind::Error);
        CHECK(sink.events[3].text == "ERROR");
        CHECK(sink.events[3].detail == "Closing link: (me@127.0.0.1) [Too many connections]");
    }
}

TEST_CASE("irc adapter: without a room, 001 is ready") {
    const auto adapter = makeAdapter("irc");
    std::string reply;
    const auto sink = feedInChunks(*adapter, ":s 001 me :hi\r\n", 100, reply, {"me", false});
    REQUIRE(sink.events.size() == 1);
    CHECK(sink.events[0].kind == Event::Kind::Ready);
    CHECK(reply.empty());
    std::string post;
    adapter->appendPost(post, "hello", 0);
    CHECK(post == "PRIVMSG #bench :hello\r\n");
}

TEST_CASE("line adapter: the greeting is ready, later lines are payloads") {
    const auto adapter = makeAdapter("line");
    const std::string stream = "* relay\nfirst\r\nsecond\nthird-incompl";
    std::string reply;
    const auto sink = feedInChunks(*adapter, stream, 2, reply);
    REQUIRE(sink.events.size() == 3);
    CHECK(sink.events[0].kind == Event::Kind::Ready);
    CHECK(sink.events[1].text == "first");
    CHECK(sink.events[2].text == "second");
    std::string post;
    adapter->appendPost(post, "x", 0);
    CHECK(post == "x\n");
    CHECK(makeAdapter("nope") == nullptr);
}

TEST_CASE("line adapter: an endless line breaks the stream") {
    const auto adapter = makeAdapter("line");
    auto parser = adapter->newParser({"me", true});
    Recorder sink;
    std::string reply;
    const std::string junk(70 * 1024, 'x');
    CHECK_FALSE(parser->feed(junk.data(), junk.size(), sink, reply));
}

// Abuse tests against the real `chat serve` process, on the bytes: random
// bytes, a 4 GiB length prefix, frames cut off mid-way, and valid frames of
// every request type with wrong or missing fields. The set-up and the
// closing proof they share are in abuse_support.hpp.

#include "e2e/abuse_support.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/raw_connection.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace chat;
using namespace chat::test;
using namespace chat::test::abuse;

TEST_CASE("abuse: random bytes get frame_too_large or bad_request and the server stays up") {
    Server server({"--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();
    std::mt19937_64 rng(0x5EED2026);
    const auto started = Clock::now();

    // 1. 256 KiB of noise on a fresh connection. Its first four bytes are a
    //    length far above the limit (this seed makes sure of it), so the
    //    answer is frame_too_large and the server hangs up without reading
    //    the rest.
    {
        const auto noise = randomBytes(rng, 256 * 1024);
        const auto declared = (std::uint32_t{static_cast<unsigned char>(noise[0])} << 24) |
                              (std::uint32_t{static_cast<unsigned char>(noise[1])} << 16) |
                              (std::uint32_t{static_cast<unsigned char>(noise[2])} << 8) |
                              std::uint32_t{static_cast<unsigned char>(noise[3])};
        REQUIRE(declared > kMaxFramePayload);
        RawConnection raw(server.port());
        const auto sent = raw.sendSome(noise, Clock::now() + kWait);
        const auto error = raw.waitForType("error");
        CHECK(stringField(error, "code") == std::string("frame_too_large"));
        CHECK_FALSE(error->has("id"));
        CHECK(raw.closedWithin());
        note("noise before hello: " + std::to_string(sent) + " of " + std::to_string(noise.size()) +
             " bytes taken, frame_too_large, closed");
    }

    // 2. Noise inside well-formed frames, from a joined session: 256 KiB of
    //    frames of 0 to 2048 random bytes, or random JSON-ish text. Each is
    //    answered with exactly one bad_request without an id, and the session
    //    stays joined.
    {
        auto noisy = TestClient::joined(server.port(), "noisy");
        std::size_t frames = 0, bytes = 0;
        while (bytes < 256 * 1024) {
            const std::size_t length = rng() % 2049;
            const auto payload = rng() % 3 == 0 ? randomJsonish(rng, length) : randomBytes(rng, length);
            if (parseMessage(payload)) continue;  // a valid message by chance: not noise
            noisy->sendRaw(encodeFrame(payload));
            ++frames;
            bytes += length;
            if (frames % 16 == 0) {
                noisy->pump();  // keep our side of the connection drained
                server.log();
            }
        }
        std::size_t answered = 0;
        while (answered < frames) {
            const auto error = awaitMessage(*noisy, [](const Message& m) { return typeOf(m) == "error"; });
            INFO("answer " << answered << ": " << toJson(error));
            REQUIRE(stringField(error, "code") == std::string("bad_request"));
            REQUIRE_FALSE(error->has("id"));
            ++answered;
        }
        // ...and not one answer more: the next is the pong to this ping.
        const auto id = nextRequestId();
        auto ping = makeMessage("ping");
        ping->set("id", id);
        noisy->send(ping);
        const auto next = awaitMessage(*noisy, [](const Message& m) {
            return typeOf(m) == "error" || typeOf(m) == "ok" || typeOf(m) == "pong";
        });
        INFO(toJson(next));
        CHECK(typeOf(next) == "pong");
        CHECK(intField(next, "id") == id);
        CHECK(typeOf(noisy->request("", "noisy is still here", nextRequestId())) == "ok");
        awaitText(witness, "noisy is still here");
        const auto online = onlineUsers(witness);
        CHECK(std::find(online.begin(), online.end(), "noisy") != online.end());
        note("noise in frames: " + std::to_string(frames) + " frames, " + std::to_string(bytes) +
             " bytes, each answered bad_request");
    }

    // 3. Noise from a joined session (the frame header is noise too): it is
    //    cut off and the witness sees it leave for that reason.
    {
        RawConnection raw(server.port());
        raw.send(helloFrame("noise"));
        raw.waitForType("welcome");
        auto noise = randomBytes(rng, 64 * 1024);
        noise[0] = '\x7F';  // a length of about 2 GiB
        raw.sendSome(noise, Clock::now() + kWait);
        CHECK(stringField(raw.waitForType("error"), "code") == std::string("frame_too_large"));
        CHECK(raw.closedWithin());
        const auto left = awaitLeft(witness, "noise");
        CHECK(stringField(left, "reason") == std::string("protocol error: frame too large"));
    }
    note("random bytes: " + std::to_string(millisSince(started)) + " ms");

    CHECK(contains(server.log(), "exceeds"));
    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("random bytes");
}

TEST_CASE("abuse: a 4 GiB length prefix gets frame_too_large and the connection is closed") {
    Server server({"--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();

    // Before hello, alone.
    {
        RawConnection raw(server.port());
        raw.send(frameHeader(0xFFFFFFFF));
        const auto error = raw.waitForType("error");
        CHECK(stringField(error, "code") == std::string("frame_too_large"));
        CHECK_THAT(stringField(error, "message").value_or(""), Catch::Contains("4294967295"));
        CHECK_FALSE(error->has("id"));
        CHECK(raw.closedWithin());
    }
    // One byte per send.
    {
        RawConnection raw(server.port());
        for (char c : frameHeader(0xFFFFFFFF)) raw.send(std::string(1, c));
        CHECK(stringField(raw.waitForType("error"), "code") == std::string("frame_too_large"));
        CHECK(raw.closedWithin());
    }
    // Followed by 1 MiB that the server must neither buffer nor wait for.
    {
        RawConnection raw(server.port());
        raw.sendSome(frameHeader(0xFFFFFFFF) + std::string(1024 * 1024, 'x'), Clock::now() + kWait);
        CHECK(stringField(raw.waitForType("error"), "code") == std::string("frame_too_large"));
        CHECK(raw.closedWithin());
    }
    // From a joined user: the room is told why the user left.
    {
        auto big = TestClient::joined(server.port(), "big");
        big->sendRaw(frameHeader(0xFFFFFFFF));
        CHECK(stringField(big->waitForType("error"), "code") == std::string("frame_too_large"));
        CHECK(big->closedWithin());
        CHECK(stringField(awaitLeft(witness, "big"), "reason") == std::string("protocol error: frame too large"));
    }
    // The boundary: one byte over the limit is refused, exactly the limit is served.
    {
        RawConnection raw(server.port());
        raw.send(frameHeader(kMaxFramePayload + 1));
        CHECK(stringField(raw.waitForType("error"), "code") == std::string("frame_too_large"));
        CHECK(raw.closedWithin());

        auto edge = TestClient::joined(server.port(), "edge");
        std::string ping = R"({"type":"ping","id":77})";
        ping.resize(kMaxFramePayload, ' ');  // JSON whitespace after the object
        edge->sendRaw(encodeFrame(ping));
        CHECK(typeOf(awaitAnswer(*edge, 77)) == "pong");
    }
    // The server's stderr is read by another thread: wait for the last line
    // this test caused (it can trail the events the clients saw).
    pollUntil([&] { return contains(server.log(), "(big): frame length 4294967295"); });
    const auto log = server.log();
    INFO("server log:\n" << log);
    CHECK(contains(log, "frame length 4294967295 exceeds 65536"));
    CHECK(contains(log, "(big): frame length 4294967295"));

    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("4 GiB prefix", /*maxGrowthKb=*/16 * 1024 * kSanitizerFactor);
}

TEST_CASE("abuse: a frame cut off mid-way and the socket closed leaves nothing behind") {
    Server server({"--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();
    const auto started = Clock::now();

    const std::string send = encodeFrame(R"({"type":"send","id":1,"text":"this must never be delivered"})");
    // Before hello: cut in the header, cut in the payload; closed, or reset.
    for (int i = 0; i < 200; ++i) {
        RawConnection raw(server.port());
        const std::string hello = helloFrame("cutter" + std::to_string(i));
        raw.send(i % 2 == 0 ? hello.substr(0, 2) : hello.substr(0, hello.size() / 2));
        if (i % 4 < 2) raw.close();
        else raw.reset();
    }
    // After hello, as a room member: the witness sees the user leave, and
    // never sees the half-sent message.
    {
        RawConnection raw(server.port());
        raw.send(helloFrame("cut"));
        raw.waitForType("welcome");
        raw.waitForType("backlog");  // read all that came, or the close would be a reset
        raw.send(send.substr(0, send.size() - 10));
        raw.close();
        CHECK(stringField(awaitLeft(witness, "cut"), "reason") == std::string("client closed the connection"));
    }
    {
        RawConnection raw(server.port());
        raw.send(helloFrame("cutrst"));
        raw.waitForType("welcome");
        raw.send(send.substr(0, 7));
        raw.reset();
        CHECK(stringField(awaitLeft(witness, "cutrst"), "reason") == std::string("connection reset by peer"));
    }
    // A complete frame sent in three pieces is one message.
    {
        auto whole = TestClient::joined(server.port(), "whole");
        const std::string frame = encodeFrame(R"({"type":"send","id":5,"text":"reassembled"})");
        whole->sendRaw(frame.substr(0, 3));
        whole->sendRaw(frame.substr(3, 20));
        whole->sendRaw(frame.substr(23));
        CHECK(typeOf(awaitAnswer(*whole, 5)) == "ok");
        // It reaches the witness after the cut users left; nothing of theirs did.
        awaitMessage(witness, [](const Message& m) {
            const auto text = stringField(m, "text");
            if (text && contains(*text, "never be delivered")) FAIL("a cut-off frame was delivered: " << toJson(m));
            return text == std::string("reassembled");
        });
        CHECK(onlineUsers(witness) == std::vector<std::string>{"whole", "witness"});
    }
    note("cut-off frames: 203 connections in " + std::to_string(millisSince(started)) + " ms");

    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("cut-off frames");
}

TEST_CASE("abuse: valid frames of every request type with wrong or missing fields get an error and the connection stays up") {
    Server server({"--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    auto bob = TestClient::joined(server.port(), "bob");
    {
        auto join = makeMessage("join");
        join->set("id", 1);
        join->set("room", "#dev");
        bob->send(join);
        REQUIRE(typeOf(awaitAnswer(*bob, 1)) == "ok");
    }
    server.markBaseline();

    struct Case {
        std::string json;  // "@ID" is replaced by the request id
        std::string answer;  // the answer's type
        std::string code;  // for an error
    };
    auto run = [&](TestClient& client, const std::vector<Case>& cases) {
        for (const auto& c : cases) {
            const auto id = nextRequestId();
            std::string json = c.json;
            const bool withId = contains(json, "@ID");
            if (withId) json.replace(json.find("@ID"), 3, std::to_string(id));
            client.sendRaw(encodeFrame(json));
            const auto answer = awaitMessage(client, [](const Message& m) {
                const auto type = typeOf(m);
                return type == "error" || type == "ok" || type == "pong" || type == "welcome";
            });
            INFO("request: " << json << "\nanswer: " << toJson(answer));
            CHECK(typeOf(answer) == c.answer);
            if (!c.code.empty()) CHECK(stringField(answer, "code") == c.code);
            if (withId) CHECK(intField(answer, "id") == id);
            else CHECK_FALSE(answer->has("id"));
        }
    };
    const std::string longName(33, 'n');
    const std::string longText(4097, 't');
    const std::string longTopic(301, 't');
    const std::string deep = std::string(17, '[') + std::string(17, ']');

    // Before hello, on a connection that then says hello and goes on.
    TestClient alice(server.port());
    run(alice, {
        // not a request at all
        {R"({"type":5,"id":1})", "error", "bad_request"},  // not a request, so no id to echo
        {R"({"type":null})", "error", "bad_request"},
        {R"({"type":["hello"]})", "error", "bad_request"},
        {R"({"id":1})", "error", "bad_request"},
        {R"([{"type":"hello"}])", "error", "bad_request"},
        {R"({"type":"hello","version":1,"user":"alice","x":)" + deep + "}", "error", "bad_request"},
        {std::string(60000, '['), "error", "bad_request"},
        {R"({"type":"hello","version":1,"user":"alice"} trailing)", "error", "bad_request"},
        // every other request before hello
        {R"({"type":"send","id":@ID,"text":"hi"})", "error", "bad_request"},
        {R"({"type":"join","id":@ID,"room":"#dev"})", "error", "bad_request"},
        {R"({"type":"leave","id":@ID,"room":"#lobby"})", "error", "bad_request"},
        {R"({"type":"rooms","id":@ID})", "error", "bad_request"},
        {R"({"type":"topic","id":@ID,"room":"#lobby"})", "error", "bad_request"},
        {R"({"type":"who","id":@ID})", "error", "bad_request"},
        {R"({"type":"whois","id":@ID,"user":"bob"})", "error", "bad_request"},
        {R"({"type":"nick","id":@ID,"user":"carl"})", "error", "bad_request"},
        {R"({"type":"away","id":@ID,"message":"afk"})", "error", "bad_request"},
        {R"({"type":"back","id":@ID})", "error", "bad_request"},
        {R"({"type":"ping","id":@ID})", "pong", ""},  // ping works before hello
        {R"({"type":"quit","id":@ID})", "error", "bad_request"},
        {R"({"type":"frobnicate","id":@ID})", "error", "bad_request"},
        // hello with missing or mistyped fields
        {R"({"type":"hello","id":@ID})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":"1","user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1.0,"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":true,"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":null,"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":[1],"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":{"v":1},"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":18446744073709551615,"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1,"user":42})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1,"user":null})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1,"user":["alice"]})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1,"user":"alice","announce":"yes"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1,"user":"alice","announce":1})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID,"version":1,"user":""})", "error", "name_invalid"},
        {R"({"type":"hello","id":@ID,"version":1,"user":"no spaces"})", "error", "name_invalid"},
        {R"({"type":"hello","id":@ID,"version":1,"user":")" + longName + R"("})", "error", "name_invalid"},
        {R"({"type":"hello","id":@ID,"version":1,"user":"ünï"})", "error", "name_invalid"},
        // ids of the wrong type are ignored, not echoed
        {R"({"type":"who","id":1.5})", "error", "bad_request"},
        {R"({"type":"who","id":true})", "error", "bad_request"},
        {R"({"type":"who","id":")" + std::string(65, 'i') + R"("})", "error", "bad_request"},
        // and after all that, hello works
        {R"({"type":"hello","id":@ID,"version":1,"user":"alice"})", "welcome", ""},
    });

    // After hello.
    run(alice, {
        {R"({"type":"hello","id":@ID,"version":1,"user":"alice"})", "error", "bad_request"},
        {R"({"type":"hello","id":@ID})", "error", "bad_request"},
        {R"({"type":"frobnicate","id":@ID})", "error", "bad_request"},
        {R"({"type":"HELLO","id":@ID})", "error", "bad_request"},
        // send
        {R"({"type":"send","id":@ID})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":5})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":null})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":true})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":["hi"]})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":{"t":"hi"}})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":"hi","to":5})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":"hi","to":null})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":"hi","to":"lobby"})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":"hi","to":""})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":"hi","action":"yes"})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":"hi","action":1})", "error", "bad_request"},
        {R"({"type":"send","id":@ID,"text":""})", "error", "text_invalid"},
        {R"({"type":"send","id":@ID,"text":"a\u0001b"})", "error", "text_invalid"},
        {R"({"type":"send","id":@ID,"text":"a\nb"})", "error", "text_invalid"},
        {R"({"type":"send","id":@ID,"text":")" + longText + R"("})", "error", "text_too_long"},
        {R"({"type":"send","id":@ID,"text":"hi","to":"#"})", "error", "room_invalid"},
        {R"({"type":"send","id":@ID,"text":"hi","to":"#no_such_room"})", "error", "no_such_room"},
        {R"({"type":"send","id":@ID,"text":"hi","to":"#dev"})", "error", "not_in_room"},
        {R"({"type":"send","id":@ID,"text":"hi","to":"@"})", "error", "name_invalid"},
        {R"({"type":"send","id":@ID,"text":"hi","to":"@nobody"})", "error", "no_such_user"},
        // join
        {R"({"type":"join","id":@ID})", "error", "bad_request"},
        {R"({"type":"join","id":@ID,"room":5})", "error", "bad_request"},
        {R"({"type":"join","id":@ID,"room":null})", "error", "bad_request"},
        {R"({"type":"join","id":@ID,"room":["#dev"]})", "error", "bad_request"},
        {R"({"type":"join","id":@ID,"room":"dev"})", "error", "room_invalid"},
        {R"({"type":"join","id":@ID,"room":"#bad room"})", "error", "room_invalid"},
        {R"({"type":"join","id":@ID,"room":"#)" + longName + R"("})", "error", "room_invalid"},
        // leave
        {R"({"type":"leave","id":@ID})", "error", "bad_request"},
        {R"({"type":"leave","id":@ID,"room":false})", "error", "bad_request"},
        {R"({"type":"leave","id":@ID,"room":"lobby"})", "error", "room_invalid"},
        {R"({"type":"leave","id":@ID,"room":"#dev"})", "error", "not_in_room"},
        {R"({"type":"leave","id":@ID,"room":"#lobby"})", "error", "bad_request"},
        // rooms has no members: stray ones of any type are ignored
        {R"({"type":"rooms","id":@ID,"room":5,"junk":[1,{"a":null}]})", "ok", ""},
        // topic
        {R"({"type":"topic","id":@ID})", "error", "bad_request"},
        {R"({"type":"topic","id":@ID,"room":5})", "error", "bad_request"},
        {R"({"type":"topic","id":@ID,"room":"#lobby","topic":5})", "error", "bad_request"},
        {R"({"type":"topic","id":@ID,"room":"#lobby","topic":null})", "error", "bad_request"},
        {R"({"type":"topic","id":@ID,"room":"#lobby","topic":"a\u0000b"})", "error", "text_invalid"},
        {R"({"type":"topic","id":@ID,"room":"#lobby","topic":")" + longTopic + R"("})", "error", "text_too_long"},
        {R"({"type":"topic","id":@ID,"room":"lobby"})", "error", "room_invalid"},
        {R"({"type":"topic","id":@ID,"room":"#nosuch"})", "error", "no_such_room"},
        {R"({"type":"topic","id":@ID,"room":"#nosuch","topic":"x"})", "error", "no_such_room"},
        {R"({"type":"topic","id":@ID,"room":"#dev","topic":"x"})", "error", "not_in_room"},
        // who
        {R"({"type":"who","id":@ID,"room":5})", "error", "bad_request"},
        {R"({"type":"who","id":@ID,"room":null})", "error", "bad_request"},
        {R"({"type":"who","id":@ID,"room":"lobby"})", "error", "room_invalid"},
        {R"({"type":"who","id":@ID,"room":"#nosuch"})", "error", "no_such_room"},
        // whois
        {R"({"type":"whois","id":@ID})", "error", "bad_request"},
        {R"({"type":"whois","id":@ID,"user":5})", "error", "bad_request"},
        {R"({"type":"whois","id":@ID,"user":{}})", "error", "bad_request"},
        {R"({"type":"whois","id":@ID,"user":"bad name"})", "error", "name_invalid"},
        {R"({"type":"whois","id":@ID,"user":"nobody"})", "error", "no_such_user"},
        // nick
        {R"({"type":"nick","id":@ID})", "error", "bad_request"},
        {R"({"type":"nick","id":@ID,"user":7})", "error", "bad_request"},
        {R"({"type":"nick","id":@ID,"user":[]})", "error", "bad_request"},
        {R"({"type":"nick","id":@ID,"user":""})", "error", "name_invalid"},
        {R"({"type":"nick","id":@ID,"user":"bad name"})", "error", "name_invalid"},
        {R"({"type":"nick","id":@ID,"user":"BOB"})", "error", "name_in_use"},
        // away and back
        {R"({"type":"away","id":@ID,"message":5})", "error", "bad_request"},
        {R"({"type":"away","id":@ID,"message":true})", "error", "bad_request"},
        {R"({"type":"away","id":@ID,"message":"a\u0007"})", "error", "text_invalid"},
        {R"({"type":"away","id":@ID,"message":")" + longText + R"("})", "error", "text_too_long"},
        {R"({"type":"back","id":@ID,"junk":5})", "ok", ""},
        // ping: no members; a mistyped id is dropped, not echoed
        {R"({"type":"ping","id":1.5})", "pong", ""},
        {R"({"type":"ping","id":{"n":1}})", "pong", ""},
        {R"({"type":"ping","id":@ID,"junk":[]})", "pong", ""},
    });
    // A lone surrogate cannot be text: the parser refuses the frame
    // (bad_request) or the text check does (text_invalid).
    {
        alice.sendRaw(encodeFrame(R"({"type":"send","id":9,"text":"\ud800"})"));
        const auto answer = awaitMessage(alice, [](const Message& m) { return typeOf(m) == "error"; });
        INFO(toJson(answer));
        const auto code = stringField(answer, "code").value_or("");
        CHECK((code == "bad_request" || code == "text_invalid"));
    }
    // pong is never answered, whatever it carries: the next answer on the
    // connection is the one to the ping after it.
    {
        alice.sendRaw(encodeFrame(R"({"type":"pong","id":"p","junk":[5]})"));
        const auto id = nextRequestId();
        auto ping = makeMessage("ping");
        ping->set("id", id);
        alice.send(ping);
        const auto answer = awaitMessage(alice, [](const Message& m) {
            return typeOf(m) == "error" || typeOf(m) == "ok" || typeOf(m) == "pong";
        });
        INFO(toJson(answer));
        CHECK(typeOf(answer) == "pong");
        CHECK(intField(answer, "id") == id);
    }

    // Still up and still alice: a message reaches the others.
    CHECK(typeOf(alice.request("", "alice survived", nextRequestId())) == "ok");
    awaitText(witness, "alice survived");
    awaitText(*bob, "alice survived");
    CHECK(onlineUsers(witness) == std::vector<std::string>{"alice", "bob", "witness"});

    // The requests that close the connection, each on its own.
    {
        TestClient old(server.port());
        old.sendRaw(encodeFrame(R"({"type":"hello","id":3,"version":2,"user":"old"})"));
        const auto error = old.waitForType("error");
        CHECK(stringField(error, "code") == std::string("version_unsupported"));
        CHECK(intField(error, "id") == 3);
        CHECK(old.closedWithin());
    }
    {
        auto quitter = TestClient::joined(server.port(), "quitter");
        quitter->sendRaw(encodeFrame(R"({"type":"quit","id":4,"junk":{"a":[1,2]}})"));
        CHECK(typeOf(awaitAnswer(*quitter, 4)) == "ok");
        CHECK(quitter->closedWithin());
        CHECK(stringField(awaitLeft(witness, "quitter"), "reason") == std::string("quit"));
    }

    alice.connection().close();
    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("malformed requests");
}

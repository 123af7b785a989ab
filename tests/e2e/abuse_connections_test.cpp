// Abuse tests against the real `chat serve` process, on connections: a
// connect/disconnect loop, half-open peers that never say hello or stop
// answering pings, and connections beyond --max-per-ip. The set-up and the
// closing proof they share are in abuse_support.hpp.

#include "e2e/abuse_support.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/raw_connection.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

using namespace chat;
using namespace chat::test;
using namespace chat::test::abuse;

TEST_CASE("abuse: 1000 connects and disconnects in a loop leave only the expected users and no descriptors behind") {
    Server server({"--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();

    constexpr int kConnections = 1000;
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::milliseconds(slack(20000));
    int done = 0;
    for (; done < kConnections && Clock::now() < deadline; ++done) {
        RawConnection c(server.port());
        const std::string name = "churn" + std::to_string(done);
        switch (done % 5) {
            case 0:  // connect and hang up at once
                break;
            case 1:  // say hello and hang up without waiting for the answer
                c.send(helloFrame(name));
                break;
            case 2:  // join, then hang up
                c.send(helloFrame(name));
                c.waitForType("welcome");
                break;
            case 3:  // join and quit politely
                c.send(helloFrame(name) + encodeFrame(R"({"type":"quit","id":1})"));
                c.waitForType("welcome");
                c.waitFor([](const Message& m) { return typeOf(m) == "ok" && intField(m, "id") == 1; });
                REQUIRE(c.closedWithin());
                break;
            case 4:  // half a frame, then a reset
                c.send(frameHeader(100) + R"({"type":"hel)");
                c.reset();
                break;
        }
        if (done % 50 == 0) {
            witness.pump();
            server.log();
        }
    }
    const auto loopMs = millisSince(started);
    REQUIRE(done == kConnections);

    // The server has forgotten every one of them: /who lists only the
    // witness, and the descriptors are back to what they were.
    std::vector<std::string> online;
    const bool settled = pollUntil([&] {
        online = onlineUsers(witness);
        return online == std::vector<std::string>{"witness"};
    }, std::chrono::seconds(10));
    INFO("online: " << online.size() << " users, first " << (online.empty() ? "" : online.front()));
    CHECK(settled);
    server.requireFdsBack();
    note("1,000 connects: loop " + std::to_string(loopMs) + " ms, settled after " +
         std::to_string(millisSince(started)) + " ms; fds " + std::to_string(server.fds()) + " (baseline " +
         std::to_string(server.baselineFds()) + ")");

    proveServing(server, witness, "fresh");
    server.checkMemory("1,000 connects");
}

TEST_CASE("abuse: half-open connections that never say hello are closed after --hello-timeout") {
    Server server({"--hello-timeout", "0.3", "--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();

    const auto started = Clock::now();
    std::vector<std::unique_ptr<RawConnection>> silent;
    for (int i = 0; i < 20; ++i) silent.push_back(std::make_unique<RawConnection>(server.port()));
    RawConnection halfHeader(server.port());
    halfHeader.send(frameHeader(40).substr(0, 2));
    RawConnection halfFrame(server.port());
    const auto hello = helloFrame("slowpoke");
    halfFrame.send(hello.substr(0, hello.size() - 1));

    // A slowloris: one byte of a long hello every 20 ms, which would take
    // seconds to complete. The hello deadline is counted from the accept,
    // not from the last byte, so it is cut off all the same.
    std::string padded = R"({"type":"hello","version":1,"user":"loris")";
    padded += std::string(200, ' ') + "}";
    const std::string slow = encodeFrame(padded);
    RawConnection loris(server.port());
    const auto lorisStarted = Clock::now();
    std::size_t trickled = 0;
    while (trickled < slow.size() && !loris.closed() && millisSince(lorisStarted) < slack(5000)) {
        if (loris.next(std::chrono::milliseconds(20))) FAIL("the server sent something to a connection before hello");
        if (loris.closed()) break;
        loris.sendSome(slow.substr(trickled, 1), Clock::now() + kWait);
        if (loris.sendFailed()) break;
        ++trickled;
    }
    const auto lorisMs = millisSince(lorisStarted);
    CHECK(loris.closedWithin());
    CHECK(trickled < slow.size());
    CHECK(lorisMs >= 250);
    CHECK(lorisMs < slack(3000));

    // The others went the same way, without a word from the server.
    for (auto* c : std::vector<RawConnection*>{&halfHeader, &halfFrame}) {
        CHECK(c->closedWithin(std::chrono::milliseconds(slack(3000))));
        CHECK(c->bytesReceived() == 0);
    }
    for (auto& c : silent) {
        CHECK(c->closedWithin(std::chrono::milliseconds(slack(3000))));
        CHECK(c->bytesReceived() == 0);
    }
    const auto allMs = millisSince(started);
    CHECK(allMs >= 300);
    CHECK(allMs < slack(4000));
    note("hello timeout 0.3 s: slowloris cut after " + std::to_string(lorisMs) + " ms and " +
         std::to_string(trickled) + " bytes; 22 silent connections closed by " + std::to_string(allMs) + " ms");

    // The witness, who did say hello, is untouched.
    CHECK(onlineUsers(witness) == std::vector<std::string>{"witness"});
    // The server logs through a queue: its last lines may still be on their way.
    pollUntil([&] { return countOf(server.log(), "no hello within 300 ms") >= 23; }, std::chrono::seconds(5));
    CHECK(countOf(server.log(), "no hello within 300 ms") >= 23);
    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("hello timeout");
}

TEST_CASE("abuse: half-open: a joined client that stops answering pings is dropped with 'ping timeout'") {
    Server server({"--ping-interval", "0.2", "--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();

    // mute joins and then neither reads nor writes: to the server it looks
    // like a peer whose machine has gone.
    const auto started = Clock::now();
    auto mute = TestClient::joined(server.port(), "mute");
    awaitMessage(witness, [](const Message& m) { return typeOf(m) == "joined" && stringField(m, "user") == "mute"; });
    int pings = 0;
    const auto left = witness.waitFor(
        [&](const Message& m) {
            if (typeOf(m) == "ping") {
                ++pings;
                witness.send(makeMessage("pong"));
            }
            return typeOf(m) == "left" && stringField(m, "user") == "mute";
        },
        std::chrono::milliseconds(slack(5000)));
    const auto droppedMs = millisSince(started);
    CHECK(stringField(left, "reason") == std::string("ping timeout"));
    CHECK(droppedMs >= 350);  // two intervals of 200 ms, less clock slack
    CHECK(droppedMs < slack(3000));
    CHECK(pings >= 1);  // the witness was pinged too, and survived by answering
    CHECK(mute->closedWithin());
    note("ping interval 0.2 s: mute dropped after " + std::to_string(droppedMs) + " ms");

    // The witness answered its pings and is still there.
    CHECK(onlineUsers(witness) == std::vector<std::string>{"witness"});
    const auto log = server.log();
    INFO("server log:\n" << log);
    CHECK(contains(log, "(mute): ping timeout"));
    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("ping timeout");
}

TEST_CASE("abuse: connections beyond --max-per-ip get too_many_connections and are closed while the others are unaffected") {
    Server server({"--max-per-ip", "3"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    auto alice = TestClient::joined(server.port(), "alice");
    // A connection that has not said hello counts too. Its answer to a
    // request proves the server has registered it before the next one arrives.
    TestClient lurker(server.port());
    lurker.sendRaw(encodeFrame(R"({"type":"who","id":1})"));
    REQUIRE(stringField(lurker.waitForType("error"), "code") == std::string("bad_request"));
    server.markBaseline();

    constexpr int kRefused = 50;
    const auto started = Clock::now();
    for (int i = 0; i < kRefused; ++i) {
        RawConnection extra(server.port());
        const auto error = extra.waitForType("error");
        INFO(toJson(error));
        REQUIRE(stringField(error, "code") == std::string("too_many_connections"));
        CHECK_FALSE(error->has("id"));
        CHECK_THAT(stringField(error, "message").value_or(""), Catch::Contains("at most 3"));
        REQUIRE(extra.closedWithin());
    }
    note("max-per-ip 3: " + std::to_string(kRefused) + " refusals in " + std::to_string(millisSince(started)) + " ms");

    // The three admitted connections never noticed.
    CHECK(typeOf(alice->request("", "unaffected", 1)) == "ok");
    awaitText(witness, "unaffected");
    auto who = makeMessage("who");
    who->set("id", 2);
    lurker.send(who);
    CHECK(stringField(lurker.waitFor([](const Message& m) { return intField(m, "id") == 2; }), "code") ==
          std::string("bad_request"));
    // Each refusal answered, but logged a few times per address and 10 s, then counted.
    const auto refusals = countOf(server.log(), "too many connections from your address");
    CHECK(refusals >= 1);
    CHECK(refusals <= 5 * 2);
    server.requireFdsBack();

    // A slot freed is a slot again.
    lurker.connection().close();
    server.requireFdsBack(/*the lurker's socket*/ 1);
    proveServing(server, witness, "fresh");
    server.checkMemory("max-per-ip");
}

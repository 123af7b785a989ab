// Abuse tests against the real `chat serve` process, on volume: a request
// flood from a peer that never reads, a reader that stalls during a
// 10,000-message broadcast, and floods over the rate limit. The set-up and
// the closing proof they share are in abuse_support.hpp.

#include "e2e/abuse_support.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/raw_connection.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

using namespace chat;
using namespace chat::test;
using namespace chat::test::abuse;

TEST_CASE("abuse: a client that floods requests and never reads is cut off and pins nothing") {
    // Not in the issue's list, but what "memory per session stays bounded
    // whatever a peer does" and "a slowloris cannot pin threads" promise:
    // a peer that writes pings as fast as it can and reads nothing.
    Server server({"--hello-timeout", "0.3", "--max-queue", "65536", "--max-per-ip", "2000"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    server.markBaseline();

    std::string burst;
    for (int i = 0; i < 1000; ++i) burst += encodeFrame(R"({"type":"ping"})");
    RawConnection flooder(server.port());
    const auto started = Clock::now();
    std::size_t sent = 0;
    while (!flooder.sendFailed() && millisSince(started) < slack(5000)) {
        sent += flooder.sendSome(burst, Clock::now() + std::chrono::milliseconds(100));
        server.log();
    }
    const auto floodMs = millisSince(started);
    note("pre-hello flood of pings: " + std::to_string(sent / (1024 * 1024)) + " MiB sent in " +
         std::to_string(floodMs) + " ms before the server " +
         (flooder.sendFailed() ? "cut the connection" : "had not cut the connection"));
    CHECK(flooder.sendFailed());
    CHECK(floodMs < slack(3000));  // hello timeout 0.3 s; the 64 KiB queue overflows sooner
    flooder.close();

    server.requireFdsBack();
    proveServing(server, witness, "fresh");
    server.checkMemory("request flood");
}

namespace {
/// How the broadcast's sender decides it may send more.
enum class Pacing {
    /// At most a window of messages ahead of the slowest reading client, so
    /// no reader is ever more than 16 messages (about 18 KB) behind: only
    /// the staller can reach the 64 KiB queue limit.
    SlowestReader,
    /// At most a window ahead of the sender's own answers, as a real client
    /// pipelines: the other readers' server-side queues are bounded only by
    /// how promptly the server's session threads write them out.
    OwnAnswers,
};

/// Alice broadcasts 10,000 messages of about 1 KB to #lobby, where bob and
/// carol read everything and a fourth client, the staller, reads nothing.
void broadcastPastAStaller(Pacing pacing) {
    Server server({"--max-queue", "65536", "--rate", "100000", "--burst", "100000", "--max-per-ip", "2000"});
    struct Reader {
        std::string name;
        std::unique_ptr<TestClient> client;
        int received = 0;
        int acked = 0;  // the sender's ok answers
        std::string problem;
        std::optional<std::string> stallerLeft;  // the reason, once seen
        int stallerLeftAt = -1;                  // messages received by then
        std::map<std::int64_t, Clock::time_point> pingsOut;
        long long maxPingMs = 0;
    };
    std::vector<Reader> readers;
    for (const auto* name : {"alice", "bob", "carol"}) {
        Reader reader;
        reader.name = name;
        reader.client = TestClient::joined(server.port(), name);
        readers.push_back(std::move(reader));
    }
    Reader& alice = readers[0];   // the sender, who reads her own copies too
    Reader& prober = readers[2];  // also pings the server now and then
    auto staller = TestClient::joined(server.port(), "staller");  // reads nothing from here on
    server.markBaseline();

    // About 10 MB for each reader: more than the kernel buffers of the
    // staller's connection hold (4 MiB of send buffer at most by default),
    // so its queue must overflow while the broadcast goes on.
    constexpr int kMessages = 10000;
    const std::string padding(1000, 'p');
    auto textOf = [&](int n) {
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "m%05d ", n);
        return prefix + padding;
    };
    auto handle = [&](Reader& r, const Message& m) {
        const auto type = typeOf(m);
        if (type == "message") {
            const auto text = stringField(m, "text").value_or("");
            if (r.problem.empty() && (text != textOf(r.received + 1) || stringField(m, "from") != "alice"))
                r.problem = "message " + std::to_string(r.received + 1) + " was " + text.substr(0, 8);
            ++r.received;
        } else if (type == "ok") {
            if (r.problem.empty() && intField(m, "id") != r.acked + 1)
                r.problem = "answer " + std::to_string(r.acked + 1) + " out of order: " + toJson(m);
            ++r.acked;
        } else if (type == "pong") {
            const auto sentAt = r.pingsOut.find(intField(m, "id").value_or(0));
            if (sentAt != r.pingsOut.end())
                r.maxPingMs = std::max(r.maxPingMs, static_cast<long long>(millisSince(sentAt->second)));
        } else if (type == "left" && stringField(m, "user") == "staller") {
            r.stallerLeft = stringField(m, "reason").value_or("");
            r.stallerLeftAt = r.received;
        } else if (type == "ping") {
            r.client->send(makeMessage("pong"));
        } else if (type == "error" && r.problem.empty()) {
            r.problem = "error: " + toJson(m);
        }
    };
    auto drain = [&](Reader& r) {
        auto& connection = r.client->connection();
        const bool open = connection.readAvailable();
        while (auto m = connection.nextMessage()) handle(r, *m);
        if (!open && r.problem.empty()) r.problem = "the server closed the connection";
    };
    auto drainAll = [&](int waitMs) {
        std::vector<pollfd> fds;
        for (auto& r : readers) fds.push_back({r.client->connection().fd(), POLLIN, 0});
        ::poll(fds.data(), fds.size(), waitMs);
        for (auto& r : readers) drain(r);
    };
    auto anyProblem = [&] {
        return std::any_of(readers.begin(), readers.end(), [](const Reader& r) { return !r.problem.empty(); });
    };
    auto progress = [&] {
        if (pacing == Pacing::OwnAnswers) return alice.acked;
        int slowest = alice.acked;
        for (const auto& r : readers) slowest = std::min(slowest, r.received);
        return slowest;
    };

    constexpr int kWindow = 16;
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::milliseconds(slack(20000));
    int sent = 0;
    long peakRssKb = 0;
    int nextSample = 0;
    while (alice.acked < kMessages && Clock::now() < deadline && !anyProblem()) {
        while (sent < kMessages && sent - progress() < kWindow) {
            auto send = makeMessage("send");
            send->set("id", ++sent);
            send->set("text", textOf(sent));
            alice.client->send(send);
        }
        drainAll(100);
        if (alice.acked >= nextSample) {  // every 500 messages: memory, the log, a ping
            nextSample += 500;
            peakRssKb = std::max(peakRssKb, server.stats().rssKb);
            server.log();
            const auto id = nextRequestId();
            auto ping = makeMessage("ping");
            ping->set("id", id);
            prober.pingsOut[id] = Clock::now();
            prober.client->send(ping);
        }
    }
    const auto sendMs = millisSince(started);
    // The rest reaches every reader, and so does the news of the staller.
    auto complete = [&] {
        return std::all_of(readers.begin(), readers.end(),
                           [&](const Reader& r) { return r.received == kMessages && r.stallerLeft; });
    };
    while (!complete() && !anyProblem() && Clock::now() < deadline) drainAll(100);
    const auto receiveMs = millisSince(started);
    const auto after = server.stats();
    peakRssKb = std::max(peakRssKb, after.rssKb);
    const auto log = server.log();

    note("broadcast of " + std::to_string(kMessages) + " x " + std::to_string(textOf(1).size()) +
         "-byte texts to 3 readers and a staller (" +
         (pacing == Pacing::SlowestReader ? "paced by the slowest reader" : "paced by the sender's answers") +
         "): sent " + std::to_string(sent) + " in " + std::to_string(sendMs) + " ms, received by " +
         std::to_string(receiveMs) + " ms; staller cut after message ~" + std::to_string(readers[1].stallerLeftAt) +
         "; slowest ping answer " + std::to_string(prober.maxPingMs) + " ms; VmRSS " +
         std::to_string(server.baseline().rssKb) + " kB before, peak sampled " + std::to_string(peakRssKb) +
         " kB, VmHWM " + std::to_string(after.hwmKb) + " kB");
    INFO("server log:\n" << log);
    for (auto& r : readers) {
        INFO(r.name << " received " << r.received << " of the " << sent << " sent");
        CHECK(r.problem == "");
        CHECK(r.received == kMessages);
        REQUIRE(r.stallerLeft);
        CHECK(*r.stallerLeft == "slow consumer");
    }
    CHECK(alice.acked == kMessages);
    CHECK(readers[1].stallerLeftAt < kMessages);  // cut while the broadcast was still going
    CHECK(prober.maxPingMs < slack(2000));        // responsive throughout
    CHECK(peakRssKb < 200 * 1024 * kSanitizerFactor);
    CHECK(after.hwmKb < 200 * 1024 * kSanitizerFactor);
    CHECK(contains(log, "(staller): slow consumer, it left more than 65536 bytes unread"));
    CHECK(countOf(log, "slow consumer") == 1);  // nobody else

    // The staller got what fitted in its buffers, then the close.
    CHECK(staller->closedWithin(std::chrono::seconds(10)));
    server.requireFdsBack(/*the staller's socket*/ 1);
    proveServing(server, *readers[1].client, "dave");
    server.checkMemory("10,000 broadcast", /*maxGrowthKb=*/150 * 1024 * kSanitizerFactor,
                       /*maxHwmKb=*/200 * 1024 * kSanitizerFactor);
}
}  // namespace

TEST_CASE("abuse: a client that never reads while 10000 messages are broadcast is cut off and every reader gets all of them in order") {
    broadcastPastAStaller(Pacing::SlowestReader);
}

// Hidden (run it by name or with "[known-bug]"): the same broadcast with the
// sender pipelining against its own answers only, so nothing paces alice to
// her readers. Before the Flusher, bob or carol were regularly cut as "slow
// consumers" on two busy cores because the server's own per-connection
// threads were not scheduled to write their queues. Since all writing moved
// to the one Flusher thread it passes on an idle machine and under `ctest
// -j2`, but with three CPU hogs on two cores it still fails about one run in
// two: the readers' own threads, in this test process, then read slower
// than alice sends, which the server cannot tell from a slow consumer.
TEST_CASE("abuse: a broadcast paced only by the sender's answers cuts no reader that keeps reading", "[.][known-bug]") {
    broadcastPastAStaller(Pacing::OwnAnswers);
}

TEST_CASE("abuse: over the rate limit (--rate 1 --burst 3) a send gets rate_limited with retry_after_ms and the connection stays up") {
    Server server({"--rate", "1", "--burst", "3"});
    auto witnessClient = TestClient::joined(server.port(), "witness");
    TestClient& witness = *witnessClient;
    auto alice = TestClient::joined(server.port(), "alice");
    server.markBaseline();
    const auto bucketStarted = Clock::now();

    for (int i = 1; i <= 3; ++i) REQUIRE(typeOf(alice->request("", "burst " + std::to_string(i), i)) == "ok");
    const auto refused = alice->request("", "one too many", 4);
    REQUIRE(typeOf(refused) == "error");
    CHECK(stringField(refused, "code") == std::string("rate_limited"));
    const auto retry = intField(refused, "retry_after_ms");
    REQUIRE(retry);
    CHECK(*retry > 0);
    CHECK(*retry <= 1001);

    // Other requests are not limited, and the connection is up.
    CHECK(onlineUsers(*alice) == std::vector<std::string>{"alice", "witness"});
    auto ping = makeMessage("ping");
    ping->set("id", 5);
    alice->send(ping);
    CHECK(typeOf(awaitAnswer(*alice, 5)) == "pong");

    // The limit is the user's: a second session of alice shares it.
    auto again = TestClient::joined(server.port(), "alice");
    const auto second = again->request("", "from the second session", 6);
    CHECK(stringField(second, "code") == std::string("rate_limited"));

    // A flood of 200 pipelined sends: each is answered, in order, and only
    // what the bucket refills in the meantime passes.
    constexpr int kFlood = 200;
    for (int i = 0; i < kFlood; ++i) {
        auto send = makeMessage("send");
        send->set("id", 1000 + i);
        send->set("text", "flood " + std::to_string(i));
        alice->send(send);
    }
    int accepted = 0, limited = 0;
    for (int i = 0; i < kFlood; ++i) {
        const auto answer = awaitMessage(*alice, [](const Message& m) {
            return typeOf(m) == "ok" || typeOf(m) == "error";
        });
        INFO(toJson(answer));
        REQUIRE(intField(answer, "id") == 1000 + i);
        if (typeOf(answer) == "ok") {
            ++accepted;
        } else {
            REQUIRE(stringField(answer, "code") == std::string("rate_limited"));
            REQUIRE(intField(answer, "retry_after_ms").value_or(0) > 0);
            ++limited;
        }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - bucketStarted).count();
    CHECK(accepted + limited == kFlood);
    CHECK(accepted <= 1 + static_cast<int>(elapsed));  // 1 token per second after the burst of 3

    // Refused messages were not delivered: the witness sees exactly the
    // accepted ones before its own marker.
    REQUIRE(typeOf(witness.request("", "marker", nextRequestId())) == "ok");
    int delivered = 0;
    awaitMessage(witness, [&](const Message& m) {
        if (typeOf(m) == "message" && stringField(m, "from") == "alice") ++delivered;
        return typeOf(m) == "message" && stringField(m, "text") == "marker";
    });
    CHECK(delivered == 3 + accepted);

    // Retrying after retry_after_ms succeeds. (Waiting out the announced
    // delay is the behaviour under test, not synchronisation.)
    auto late = alice->request("", "patience", 7);
    if (typeOf(late) == "error") {
        REQUIRE(stringField(late, "code") == std::string("rate_limited"));
        const auto wait = intField(late, "retry_after_ms").value_or(0);
        REQUIRE(wait > 0);
        REQUIRE(wait <= 1001);
        std::this_thread::sleep_for(std::chrono::milliseconds(wait));
        late = alice->request("", "patience", 8);
    }
    CHECK(typeOf(late) == "ok");
    awaitText(witness, "patience");
    note("rate limit 1/s burst 3: flood of " + std::to_string(kFlood) + " got " + std::to_string(accepted) +
         " ok and " + std::to_string(limited) + " rate_limited in " + std::to_string(elapsed) + " s");

    const auto log = server.log();
    INFO("server log:\n" << log);
    // Logged, but not once per refusal: a peer cannot drive the log (a few
    // lines per 10 s per connection, then a count).
    CHECK(countOf(log, "rate limited 127.0.0.1:") >= 1);
    CHECK(countOf(log, "rate limited 127.0.0.1:") <= 5 * 2);
    CHECK(contains(log, "(alice): retry in "));
    again.reset();
    server.requireFdsBack();
    // The newcomer is a different user with a full bucket of its own.
    proveServing(server, witness, "fresh");
    server.checkMemory("rate limit");
}

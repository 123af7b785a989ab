// Abuse tests against the real `chat serve` process: hostile bytes, oversize
// and cut-off frames, malformed requests of every type, connection churn,
// half-open peers, a reader that stalls during a 10,000-message broadcast,
// floods over the rate limit and over --max-per-ip.
//
// Every test ends the same way: the server process still runs, it holds no
// more file descriptors than before the abuse, a fresh client joins and
// chats both ways with a witness that was connected all along, and the
// server's memory (VmRSS and VmHWM from /proc/PID/status) stayed in bounds.
// Measurements go to stderr as "[abuse] ..." lines (see them with ctest -V).
//
// The servers run with --log-level warn and the tests drain their stderr as
// they go (Server::log): every refusal logs a line, and a full pipe would
// block the server's logging and so the server.

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/child_process.hpp"
#include "support/raw_connection.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"

#include <Poco/JSON/Array.h>

#include <catch2/catch.hpp>

#include <poll.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <iostream>
#include <optional>
#include <random>
#include <thread>

using namespace chat;
using namespace chat::test;

namespace {
using Message = Poco::JSON::Object::Ptr;

// A sanitizer build (scripts/dev test --sanitize ...) builds the server the
// same way: it runs several times slower and needs several times the memory.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSanitizerFactor = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kSanitizerFactor = 5;
#else
constexpr int kSanitizerFactor = 1;
#endif
#else
constexpr int kSanitizerFactor = 1;
#endif

/// An upper bound on a duration, stretched for sanitizer builds.
constexpr long long slack(long long millis) { return millis * kSanitizerFactor; }

// Memory bounds for every test but the broadcast one, which has its own.
constexpr long kMaxRssGrowthKb = 64 * 1024 * kSanitizerFactor;  // VmRSS after the abuse, over the baseline
constexpr long kMaxHwmKb = 200 * 1024 * kSanitizerFactor;       // VmHWM, the peak over the server's life

void note(const std::string& line) { std::cerr << "[abuse] " << line << std::endl; }

/// Checks `condition` every few milliseconds until it holds or `wait` has
/// passed; returns whether it held. For conditions nobody can wait on
/// directly, such as /proc or another process's bookkeeping.
bool pollUntil(const std::function<bool()>& condition, std::chrono::milliseconds wait = kWait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::int64_t nextRequestId() {
    static std::int64_t last = 100000;
    return ++last;
}

// ---------------------------------------------------------------------------
// The server process and what /proc says about it.

struct ProcessStats {
    long rssKb = 0;
    long hwmKb = 0;
    long threads = 0;
};

ProcessStats readStats(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    ProcessStats stats;
    std::string line;
    while (std::getline(in, line)) {
        const auto value = [&] { return std::stol(line.substr(line.find(':') + 1)); };
        if (line.rfind("VmRSS:", 0) == 0) stats.rssKb = value();
        else if (line.rfind("VmHWM:", 0) == 0) stats.hwmKb = value();
        else if (line.rfind("Threads:", 0) == 0) stats.threads = value();
    }
    return stats;
}

/// What each open descriptor of the process is, one per line ("3 -> socket:[1234]").
std::string describeFds(pid_t pid) {
    std::error_code error;
    std::string out;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end;
         !error && it != end; it.increment(error)) {
        std::error_code linkError;
        const auto target = std::filesystem::read_symlink(it->path(), linkError);
        out += it->path().filename().string() + " -> " + (linkError ? "?" : target.string()) + "\n";
    }
    return out;
}

/// Open descriptors of the process, not counting epoll instances: Poco's
/// acceptor creates one for each poll() call, so one comes and goes on its own.
std::size_t openFds(pid_t pid) {
    std::error_code error;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end;
         !error && it != end; it.increment(error)) {
        std::error_code linkError;
        const auto target = std::filesystem::read_symlink(it->path(), linkError);
        if (!linkError && target.string() == "anon_inode:[eventpoll]") continue;
        ++n;
    }
    return n;
}

class Server;
Server* currentServer = nullptr;  // for failure messages: what the server said
std::string currentServerLog();

class Server {
public:
    explicit Server(std::vector<std::string> args) {
        args.insert(args.begin(), {"--log-level", "warn"});
        running_ = startServer(args);
        currentServer = this;
        setRawFailureContext(currentServerLog);
    }
    ~Server() {
        setRawFailureContext({});
        currentServer = nullptr;
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    std::uint16_t port() const { return running_.port; }
    pid_t pid() const { return running_.process->pid(); }
    ProcessStats stats() const { return readStats(pid()); }
    std::size_t fds() const { return openFds(pid()); }
    bool running() { return !running_.process->wait(std::chrono::milliseconds(0)); }

    /// Everything the server has logged so far; reading it also drains the pipe.
    std::string log() { return running_.process->stderrText(); }

    /// Remembers memory and descriptors before the abuse.
    void markBaseline() {
        baseline_ = stats();
        baselineFds_ = fds();
        baselineFdList_ = describeFds(pid());
        log();
    }
    const ProcessStats& baseline() const { return baseline_; }
    std::size_t baselineFds() const { return baselineFds_; }

    /// Waits until the server holds no more descriptors than at the baseline
    /// (`less` fewer): every connection the abuse opened has been cleaned up.
    void requireFdsBack(std::size_t less = 0) {
        const auto started = Clock::now();
        const bool back = pollUntil([&] { return fds() + less <= baselineFds_; }, std::chrono::seconds(10));
        note("  descriptors back to " + std::to_string(fds()) + " (baseline " + std::to_string(baselineFds_) +
             (less ? " - " + std::to_string(less) : std::string()) + ") after " + std::to_string(millisSince(started)) +
             " ms");
        INFO("server fds: " << fds() << ", baseline " << baselineFds_ << " - " << less << "\n"
                            << describeFds(pid()) << "at the baseline:\n" << baselineFdList_);
        REQUIRE(back);
    }

    /// VmRSS has not grown by more than `maxGrowthKb` over the baseline and
    /// the peak stayed under `maxHwmKb`.
    void checkMemory(const std::string& label, long maxGrowthKb = kMaxRssGrowthKb, long maxHwmKb = kMaxHwmKb) {
        const auto now = stats();
        note(label + ": VmRSS " + std::to_string(baseline_.rssKb) + " kB before, " + std::to_string(now.rssKb) +
             " kB after; VmHWM " + std::to_string(now.hwmKb) + " kB; threads " + std::to_string(baseline_.threads) +
             " -> " + std::to_string(now.threads));
        CHECK(now.rssKb > 0);
        CHECK(now.rssKb - baseline_.rssKb <= maxGrowthKb);
        CHECK(now.hwmKb <= maxHwmKb);
        checkNoSanitizerReports();
    }

    /// In a sanitizer build the server reports what it finds on stderr, and
    /// the tests end it with SIGKILL, so no exit status would tell.
    void checkNoSanitizerReports() {
        const auto text = log();
        INFO("server log:\n" << text);
        CHECK_FALSE(contains(text, "ThreadSanitizer"));
        CHECK_FALSE(contains(text, "AddressSanitizer"));
        CHECK_FALSE(contains(text, "LeakSanitizer"));
        CHECK_FALSE(contains(text, "runtime error:"));  // UndefinedBehaviorSanitizer
    }

private:
    RunningServer running_;
    ProcessStats baseline_;
    std::size_t baselineFds_ = 0;
    std::string baselineFdList_;
};

std::string currentServerLog() {
    if (!currentServer) return "(no server)";
    const auto text = currentServer->log();
    return (currentServer->running() ? "server running; its log:\n" : "the server has exited; its log:\n") + text;
}

// ---------------------------------------------------------------------------
// Clients.

/// Waits for a message matching `match`, answering the server's pings meanwhile.
Message awaitMessage(TestClient& client, const std::function<bool(const Message&)>& match,
                     std::chrono::milliseconds wait = kWait) {
    return client.waitFor(
        [&](const Message& m) {
            if (typeOf(m) == "ping") {
                client.send(makeMessage("pong"));
                return false;
            }
            return match(m);
        },
        wait);
}

Message awaitAnswer(TestClient& client, std::int64_t id, std::chrono::milliseconds wait = kWait) {
    return awaitMessage(
        client,
        [&](const Message& m) {
            const auto type = typeOf(m);
            return (type == "ok" || type == "error" || type == "pong") && intField(m, "id") == id;
        },
        wait);
}

Message awaitText(TestClient& client, const std::string& text) {
    return awaitMessage(client, [&](const Message& m) { return typeOf(m) == "message" && stringField(m, "text") == text; });
}

Message awaitLeft(TestClient& client, const std::string& user, std::chrono::milliseconds wait = kWait) {
    return awaitMessage(
        client, [&](const Message& m) { return typeOf(m) == "left" && stringField(m, "user") == user; }, wait);
}

std::vector<std::string> onlineUsers(TestClient& client) {
    const auto id = nextRequestId();
    auto who = makeMessage("who");
    who->set("id", id);
    client.send(who);
    const auto answer = awaitAnswer(client, id);
    REQUIRE(typeOf(answer) == "ok");
    std::vector<std::string> users;
    const auto list = answer->getArray("users");
    REQUIRE(list);
    for (std::size_t i = 0; i < list->size(); ++i) users.push_back(list->getElement<std::string>(i));
    return users;
}

/// The closing proof of every test: the process runs, and `newcomer` joins
/// and exchanges a room message and a DM with `witness`, who was connected
/// through all the abuse.
void proveServing(Server& server, TestClient& witness, const std::string& newcomer) {
    INFO(currentServerLog());
    REQUIRE(server.running());
    const auto started = Clock::now();
    auto fresh = TestClient::joined(server.port(), newcomer);
    awaitMessage(witness, [&](const Message& m) { return typeOf(m) == "joined" && stringField(m, "user") == newcomer; });

    const std::string hello = "hello from " + newcomer;
    const auto id = nextRequestId();
    REQUIRE(typeOf(fresh->request("", hello, id)) == "ok");
    CHECK(stringField(awaitText(witness, hello), "from") == newcomer);
    awaitText(*fresh, hello);  // the sender's own copy

    const std::string reply = "welcome, " + newcomer;
    REQUIRE(typeOf(witness.request("@" + newcomer, reply, nextRequestId())) == "ok");
    awaitText(*fresh, reply);
    awaitText(witness, reply);  // the sender's own copy of a DM
    note("  round trip with a fresh client: " + std::to_string(millisSince(started)) + " ms");
    REQUIRE(server.running());
}

std::string randomBytes(std::mt19937_64& rng, std::size_t n) {
    std::string bytes(n, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
    return bytes;
}

/// Random text over the characters JSON is made of, so the parser gets
/// deeper than its first byte.
std::string randomJsonish(std::mt19937_64& rng, std::size_t n) {
    static const std::string alphabet = R"({}[]":,.-+eE0123456789 truefalsn\ utype"hello"send"text)";
    std::string text(n, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    if (n > 0) text[0] = '{';
    return text;
}
}  // namespace

// ---------------------------------------------------------------------------

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

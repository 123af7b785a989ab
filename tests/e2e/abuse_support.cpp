#include "e2e/abuse_support.hpp"

#include "shared/protocol.hpp"
#include "support/deadline.hpp"
#include "support/raw_connection.hpp"
#include "support/text.hpp"

#include <Poco/JSON/Array.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace chat::test::abuse {

void note(const std::string& line) { std::cerr << "[abuse] " << line << std::endl; }

bool pollUntil(const std::function<bool()>& condition, std::chrono::milliseconds wait) {
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

Server* currentServer = nullptr;  // for failure messages: what the server said

Server::Server(std::vector<std::string> args, const std::string& logLevel) {
    args.insert(args.begin(), {"--log-level", logLevel});
    running_ = startServer(args);
    currentServer = this;
    setRawFailureContext(currentServerLog);
}

Server::~Server() {
    setRawFailureContext({});
    currentServer = nullptr;
}

void Server::markBaseline() {
    baseline_ = stats();
    baselineFds_ = fds();
    baselineFdList_ = describeFds(pid());
    log();
}

void Server::requireFdsBack(std::size_t less) {
    const auto started = Clock::now();
    const bool back = pollUntil([&] { return fds() + less <= baselineFds_; }, std::chrono::seconds(10));
    note("  descriptors back to " + std::to_string(fds()) + " (baseline " + std::to_string(baselineFds_) +
         (less ? " - " + std::to_string(less) : std::string()) + ") after " + std::to_string(millisSince(started)) +
         " ms");
    INFO("server fds: " << fds() << ", baseline " << baselineFds_ << " - " << less << "\n"
                        << describeFds(pid()) << "at the baseline:\n" << baselineFdList_);
    REQUIRE(back);
}

void Server::checkMemory(const std::string& label, long maxGrowthKb, long maxHwmKb) {
    const auto now = stats();
    note(label + ": VmRSS " + std::to_string(baseline_.rssKb) + " kB before, " + std::to_string(now.rssKb) +
         " kB after; VmHWM " + std::to_string(now.hwmKb) + " kB; threads " + std::to_string(baseline_.threads) +
         " -> " + std::to_string(now.threads));
    CHECK(now.rssKb > 0);
    CHECK(now.rssKb - baseline_.rssKb <= maxGrowthKb);
    CHECK(now.hwmKb <= maxHwmKb);
    checkNoSanitizerReports();
}

void Server::checkNoSanitizerReports() {
    const auto text = log();
    INFO("server log:\n" << text);
    CHECK_FALSE(contains(text, "ThreadSanitizer"));
    CHECK_FALSE(contains(text, "AddressSanitizer"));
    CHECK_FALSE(contains(text, "LeakSanitizer"));
    CHECK_FALSE(contains(text, "runtime error:"));  // UndefinedBehaviorSanitizer
}

std::string currentServerLog() {
    if (!currentServer) return "(no server)";
    const auto text = currentServer->log();
    return (currentServer->running() ? "server running; its log:\n" : "the server has exited; its log:\n") + text;
}

// ---------------------------------------------------------------------------
// Clients.

Message awaitMessage(TestClient& client, const std::function<bool(const Message&)>& match,
                     std::chrono::milliseconds wait) {
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

Message awaitAnswer(TestClient& client, std::int64_t id, std::chrono::milliseconds wait) {
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

Message awaitLeft(TestClient& client, const std::string& user, std::chrono::milliseconds wait) {
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

std::string randomJsonish(std::mt19937_64& rng, std::size_t n) {
    static const std::string alphabet = R"({}[]":,.-+eE0123456789 truefalsn\ utype"hello"send"text)";
    std::string text(n, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    if (n > 0) text[0] = '{';
    return text;
}

}  // namespace chat::test::abuse

#pragma once
// What the abuse tests (abuse_*_test.cpp) share: the real `chat serve` as a
// child process with what /proc says about it, clients that answer pings
// while they wait, the closing proof of every test, and random input.
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

#include "support/child_process.hpp"
#include "support/test_client.hpp"

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <sys/types.h>
#include <vector>

namespace chat::test::abuse {

using Message = Poco::JSON::Object::Ptr;

// A sanitizer build (scripts/dev test --sanitize ...) builds the server the
// same way: it runs several times slower and needs several times the memory.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerFactor = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr int kSanitizerFactor = 5;
#else
inline constexpr int kSanitizerFactor = 1;
#endif
#else
inline constexpr int kSanitizerFactor = 1;
#endif

/// An upper bound on a duration, stretched for sanitizer builds.
constexpr long long slack(long long millis) { return millis * kSanitizerFactor; }

// Memory bounds for every test but the broadcast one, which has its own.
inline constexpr long kMaxRssGrowthKb = 64 * 1024 * kSanitizerFactor;  // VmRSS after the abuse, over the baseline
inline constexpr long kMaxHwmKb = 200 * 1024 * kSanitizerFactor;       // VmHWM, the peak over the server's life

/// A measurement, to stderr as "[abuse] LINE".
void note(const std::string& line);

/// Checks `condition` every few milliseconds until it holds or `wait` has
/// passed; returns whether it held. For conditions nobody can wait on
/// directly, such as /proc or another process's bookkeeping.
bool pollUntil(const std::function<bool()>& condition, std::chrono::milliseconds wait = kWait);

/// A request id no other request of this process has used.
std::int64_t nextRequestId();

// ---------------------------------------------------------------------------
// The server process and what /proc says about it.

struct ProcessStats {
    long rssKb = 0;
    long hwmKb = 0;
    long threads = 0;
};

ProcessStats readStats(pid_t pid);

/// What each open descriptor of the process is, one per line ("3 -> socket:[1234]").
std::string describeFds(pid_t pid);

/// Open descriptors of the process, not counting epoll instances: Poco's
/// acceptor creates one for each poll() call, so one comes and goes on its own.
std::size_t openFds(pid_t pid);

/// `chat serve --log-level LOGLEVEL ARGS...` on a free port. While it exists
/// it is the current server, whose log failure messages show (also those of
/// RawConnection's waits).
class Server {
public:
    explicit Server(std::vector<std::string> args = {}, const std::string& logLevel = "warn");
    ~Server();
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
    void markBaseline();
    const ProcessStats& baseline() const { return baseline_; }
    std::size_t baselineFds() const { return baselineFds_; }

    /// Waits until the server holds no more descriptors than at the baseline
    /// (`less` fewer): every connection the abuse opened has been cleaned up.
    void requireFdsBack(std::size_t less = 0);

    /// VmRSS has not grown by more than `maxGrowthKb` over the baseline and
    /// the peak stayed under `maxHwmKb`.
    void checkMemory(const std::string& label, long maxGrowthKb = kMaxRssGrowthKb, long maxHwmKb = kMaxHwmKb);

    /// In a sanitizer build the server reports what it finds on stderr, and
    /// the tests end it with SIGKILL, so no exit status would tell.
    void checkNoSanitizerReports();

private:
    RunningServer running_;
    ProcessStats baseline_;
    std::size_t baselineFds_ = 0;
    std::string baselineFdList_;
};

/// The current server's log and whether it still runs, for failure messages.
std::string currentServerLog();

// ---------------------------------------------------------------------------
// Clients.

/// Waits for a message matching `match`, answering the server's pings meanwhile.
Message awaitMessage(TestClient& client, const std::function<bool(const Message&)>& match,
                     std::chrono::milliseconds wait = kWait);

/// The ok, error or pong answering request `id`.
Message awaitAnswer(TestClient& client, std::int64_t id, std::chrono::milliseconds wait = kWait);

/// The room or direct message with this text.
Message awaitText(TestClient& client, const std::string& text);

/// The news that `user` left.
Message awaitLeft(TestClient& client, const std::string& user, std::chrono::milliseconds wait = kWait);

/// The answer to a who request: everyone online.
std::vector<std::string> onlineUsers(TestClient& client);

/// The closing proof of every test: the process runs, and `newcomer` joins
/// and exchanges a room message and a DM with `witness`, who was connected
/// through all the abuse.
void proveServing(Server& server, TestClient& witness, const std::string& newcomer);

// ---------------------------------------------------------------------------
// Random input.

std::string randomBytes(std::mt19937_64& rng, std::size_t n);

/// Random text over the characters JSON is made of, so the parser gets
/// deeper than its first byte.
std::string randomJsonish(std::mt19937_64& rng, std::size_t n);

}  // namespace chat::test::abuse

// Workload 6 (one-shot send): time `chat send` as a whole process, from
// spawn to exit, while one member ("sink") is online to receive each DM.

#include "histogram.hpp"
#include "members.hpp"
#include "payload.hpp"

#include <cerrno>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace bench {

namespace {
class Sink final : public ClientHandler {
public:
    void onPayload(int, std::string_view text, std::int64_t) override {
        if (parsePayload(text)) ++received;
    }
    int received = 0;
};

/// Runs argv to completion with stdin and stdout on /dev/null; returns the
/// wait status, or -1 when it could not be started.
int runChild(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    if (rc != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return status;
}
}  // namespace

int runOneShot(const RunOptions& o) {
    if (o.adapter != "chat" || o.chatBinary.empty())
        return emitError(o, "oneshot", "oneshot needs --adapter chat and --chat-binary PATH");
    if (o.tls) return emitError(o, "oneshot", "oneshot runs `chat send` over plain TCP only (no --tls)");
    auto adapter = makeAdapter("chat");
    Engine engine(*adapter, o.host, o.port);
    Sink sink;
    engine.setHandler(&sink);
    const auto crowd = connectCrowd(engine, 1, true, 1, 10);
    if (crowd.ready < 1) return emitError(o, "oneshot", "sink could not log in: " + crowd.firstFailure);
    settle(engine, 100, 2);

    Histogram wall;
    int failures = 0;
    std::string firstFailure, text;
    const std::string target = "@" + engine.user(0);
    for (int i = 0; i < o.count; ++i) {
        makePayload({1, 0, static_cast<std::uint64_t>(i), nowNs()}, o.payload, text);
        const std::int64_t start = nowNs();
        const int status = runChild({o.chatBinary, "send", "--host", o.host, "--port", std::to_string(o.port),
                                     "--user", "oneshot" + std::to_string(i % 10), target, text});
        wall.record(static_cast<std::uint64_t>(nowNs() - start) / 1000);
        if (status != 0 && failures++ == 0)
            firstFailure = status < 0 ? "could not start" : "exit status " + std::to_string(WEXITSTATUS(status));
        const std::int64_t deadline = nowNs() + 2'000'000'000;
        while (sink.received <= i - failures && nowNs() < deadline) engine.pollOnce(deadline);
    }
    auto row = rowStart(o, "oneshot");
    row.add("runs", o.count).add("failures", failures).add("delivered", sink.received)
        .add("p50_us", wall.percentile(50)).add("p99_us", wall.percentile(99)).add("min_us", wall.min())
        .add("max_us", wall.max());
    if (!firstFailure.empty()) row.add("first_failure", firstFailure);
    emit(row);
    return 0;
}

}  // namespace bench

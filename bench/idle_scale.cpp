// Workload 4 (idle scale): open connections up to each step, logged in
// (and only in the room with --join), and report server memory per
// connection, threads and connect rate; then try one connection more than
// the last step and report what the server did with it.

#include "members.hpp"

#include <algorithm>
#include <unistd.h>

namespace bench {

namespace {
constexpr double kBeyondTimeoutSeconds = 5;

/// What happened to one extra connection: accepted, refused with a reason,
/// or nothing at all within the timeout.
std::string probeBeyond(Engine& engine, bool joinRoom) {
    const int id = engine.open({"over" + memberName(0).substr(1, 3), joinRoom});
    const std::int64_t deadline = nowNs() + static_cast<std::int64_t>(kBeyondTimeoutSeconds * 1e9);
    while (!engine.ready(id) && !engine.closed(id) && nowNs() < deadline) engine.pollOnce(deadline);
    if (engine.ready(id)) return "accepted";
    if (engine.closed(id)) return "refused: " + engine.lastError(id);
    if (!engine.lastError(id).empty()) return "error, connection left open: " + engine.lastError(id);
    return "no answer within 5 s";
}
}  // namespace

int runIdleScale(const RunOptions& o) {
    auto adapter = makeAdapter(o.adapter);
    Engine engine(*adapter, o.host, o.port, tlsOptions(o), webSocketOptions(o));
    std::vector<int> steps = o.steps;
    if (steps.empty()) steps = {o.clients};
    std::sort(steps.begin(), steps.end());

    const auto base = sampleProcess(o.serverPid);
    int previous = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const int step = steps[i];
        const double budget = o.setupTimeout * (step - previous) / std::max(1, steps.back());
        const auto crowd = connectCrowd(engine, step, o.idleJoin, o.connectConcurrency, std::max(5.0, budget));
        settle(engine, 200, 5);
        const auto now = sampleProcess(o.serverPid);
        auto row = rowStart(o, "idle");
        addTls(row, engine);
        int held = 0;  // logged in and still open
        for (int id = 0; id < engine.size(); ++id) held += engine.ready(id) && !engine.closed(id) ? 1 : 0;
        row.add("n", step).add("connections", held).add("failed", engine.failedCount())
            .add("connect_per_s", crowd.seconds > 0 ? crowd.ready / crowd.seconds : 0.0)
            .add("joined_room", o.idleJoin);
        if (base.ok && now.ok)
            row.add("rss_per_conn_kib",
                    held > 0 ? (static_cast<double>(now.rssKiB) - static_cast<double>(base.rssKiB)) / held : 0.0)
                .add("server_base_rss_kib", base.rssKiB);
        addServerMemory(row, now);
        if (const auto self = sampleProcess(getpid()); self.ok) row.add("gen_rss_kib", self.rssKiB);  // our own cost, e.g. of TLS
        if (crowd.failed > 0) row.add("first_failure", crowd.firstFailure);
        if (crowd.timedOut) row.add("timed_out", true);
        if (i + 1 == steps.size()) row.add("beyond_limit", probeBeyond(engine, o.idleJoin));
        emit(row);
        previous = step;
        if (crowd.timedOut) break;
    }
    return 0;
}

}  // namespace bench

// The handshake workload: as many connect -> TLS handshake (with --tls) ->
// hello -> welcome -> close cycles as the server sustains, with at most
// `inFlight` under way at once. A warm-up of `warmup` s, then `duration` s
// measured: cycles whose welcome arrived in that window count, with their
// latency (open to welcome), the failures, and the server's CPU over the
// window. Logins use "announce": false (no room), so a cycle costs the
// connection, not a join notice.

#include "histogram.hpp"
#include "members.hpp"

#include <algorithm>

namespace bench {

namespace {
constexpr double kSettleSeconds = 5;  // after the window, for the cycles still under way

class Handshakes final : public ClientHandler {
public:
    Handshakes(const RunOptions& options, Engine& engine) : o_(options), engine_(engine) {}

    int run() {
        if (o_.inFlight < 1) return emitError(o_, "handshake", "need --in-flight >= 1");
        engine_.setHandler(this);
        const std::int64_t start = nowNs();
        const std::int64_t measureFrom = start + static_cast<std::int64_t>(o_.warmup * 1e9);
        const std::int64_t measureUntil = measureFrom + static_cast<std::int64_t>(o_.duration * 1e9);
        ProcSample before;
        double selfBefore = 0;
        bool measuring = false;
        // Connections are opened here only, never from a handler: open() may
        // move the engine's connection table while it is dispatching.
        while (nowNs() < measureUntil) {
            if (!measuring && nowNs() >= measureFrom) {
                measuring = measuring_ = true;
                before = sampleProcess(o_.serverPid);
                selfBefore = selfCpuSeconds();
                windowStart_ = nowNs();
            }
            while (inFlight_ < o_.inFlight) {
                const auto index = static_cast<std::size_t>(engine_.size());
                startedNs_.push_back(nowNs());
                done_.push_back(false);
                ++inFlight_;
                const int id = engine_.open({memberName(engine_.size()), false});
                if (engine_.closed(id)) {  // failed at once (onClosed may have counted it already)
                    if (!done_[index]) finish(id, false, engine_.lastError(id));
                    break;
                }
            }
            engine_.pollOnce(std::min(measuring ? measureUntil : measureFrom, nowNs() + 10'000'000));
        }
        measuring_ = false;
        const std::int64_t windowEnd = nowNs();
        const auto after = sampleProcess(o_.serverPid);
        const double selfAfter = selfCpuSeconds();
        const std::int64_t settleUntil = nowNs() + static_cast<std::int64_t>(kSettleSeconds * 1e9);
        while (inFlight_ > 0 && nowNs() < settleUntil) engine_.pollOnce(settleUntil);

        const double seconds = static_cast<double>(windowEnd - windowStart_) / 1e9;
        auto row = rowStart(o_, "handshake");
        addTls(row, engine_);
        row.add("in_flight", o_.inFlight).add("seconds", seconds).add("completed", completed_)
            .add("failed", failed_).add("per_s", seconds > 0 ? static_cast<double>(completed_) / seconds : 0.0)
            .add("p50_us", latency_.percentile(50)).add("p99_us", latency_.percentile(99))
            .add("max_us", latency_.max()).add("verified", o_.tls && !o_.caFile.empty())
            .add("gen_cpu_pct", seconds > 0 ? 100 * (selfAfter - selfBefore) / seconds : 0.0);
        if (before.ok && after.ok) {
            const double cpu = after.cpuSeconds - before.cpuSeconds;
            row.add("server_cpu_s", cpu).add("server_cpu_pct", seconds > 0 ? 100 * cpu / seconds : 0.0)
                .add("per_cpu_s", cpu > 0 ? static_cast<double>(completed_) / cpu : 0.0);
        }
        addServerMemory(row, after);
        if (failed_ > 0) row.add("first_failure", firstFailure_);
        if (inFlight_ > 0) row.add("unfinished", inFlight_);
        emit(row);
        return 0;
    }

    void onReady(int id) override {
        finish(id, true, {});
        engine_.close(id);  // over TLS: close_notify first
    }

    void onClosed(int id, std::string_view why, bool) override { finish(id, false, why); }

private:
    /// A cycle ended: with the welcome (`ok`) or a failure. Counted once.
    void finish(int id, bool ok, std::string_view why) {
        const auto index = static_cast<std::size_t>(id);
        if (done_[index]) return;
        done_[index] = true;
        --inFlight_;
        if (!measuring_) return;
        if (ok) {
            ++completed_;
            latency_.record(static_cast<std::uint64_t>(nowNs() - startedNs_[index]) / 1000);
        } else if (failed_++ == 0) {
            firstFailure_ = "#" + std::to_string(id) + ": " + std::string(why);
        }
    }

    const RunOptions& o_;
    Engine& engine_;
    std::vector<std::int64_t> startedNs_;  // per connection id: when it was opened
    std::vector<bool> done_;               // per connection id: its cycle ended
    Histogram latency_;                    // µs from open to welcome, measured cycles
    int inFlight_ = 0;
    bool measuring_ = false;
    std::int64_t windowStart_ = 0;
    std::uint64_t completed_ = 0;
    std::uint64_t failed_ = 0;
    std::string firstFailure_;
};
}  // namespace

int runHandshakes(const RunOptions& options) {
    auto adapter = makeAdapter(options.adapter);
    Engine engine(*adapter, options.host, options.port, tlsOptions(options), webSocketOptions(options));
    return Handshakes(options, engine).run();
}

}  // namespace bench

// Workload 2 (fan-out probe): N members in one room; one member posts one
// message at a time and we time how long until every other member has it.

#include "histogram.hpp"
#include "members.hpp"
#include "payload.hpp"

#include <algorithm>

namespace bench {

namespace {
constexpr double kProbeTimeoutSeconds = 10;

class Fanout final : public ClientHandler {
public:
    Fanout(const RunOptions& options, Engine& engine) : o_(options), engine_(engine) {}

    int run() {
        const int n = o_.clients;
        if (n < 2 || o_.probes < 1) return emitError(o_, "fanout", "need N >= 2 and at least one probe");
        engine_.setHandler(this);
        const auto crowd = connectCrowd(engine_, n, true, o_.connectConcurrency, o_.setupTimeout);
        if (crowd.ready < n)
            return emitError(o_, "fanout", "setup: " + std::to_string(crowd.ready) + "/" + std::to_string(n) +
                                               " members ready; first failure " + crowd.firstFailure);
        settle(engine_, 300, 30);

        Histogram all, lastMember, p50s, p99s;
        std::uint64_t lost = 0;
        const auto before = sampleProcess(o_.serverPid);
        const double selfBefore = selfCpuSeconds();
        const std::int64_t wallBefore = nowNs();
        std::string text;
        for (int probe = 0; probe < o_.probes; ++probe) {
            epoch_ = probe % 1000 + 1;
            probe_.clear();
            const std::int64_t sentAt = nowNs();
            makePayload({static_cast<std::uint32_t>(epoch_), 0, 0, sentAt}, o_.payload, text);
            engine_.post(0, text);
            const std::int64_t deadline = sentAt + static_cast<std::int64_t>(kProbeTimeoutSeconds * 1e9);
            while (probe_.count() < static_cast<std::uint64_t>(n - 1) && nowNs() < deadline) engine_.pollOnce(deadline);
            lost += static_cast<std::uint64_t>(n - 1) - std::min<std::uint64_t>(probe_.count(), n - 1);
            all.merge(probe_);
            lastMember.record(probe_.max());
            p50s.record(probe_.percentile(50));
            p99s.record(probe_.percentile(99));
            settle(engine_, 50, 2);
        }
        const auto after = sampleProcess(o_.serverPid);
        const double wall = static_cast<double>(nowNs() - wallBefore) / 1e9;

        auto row = rowStart(o_, "fanout");
        addTls(row, engine_);
        row.add("n", n).add("size", static_cast<std::uint64_t>(o_.payload)).add("probes", o_.probes)
            .add("expected", static_cast<std::uint64_t>(o_.probes) * (n - 1)).add("delivered", all.count())
            .add("lost", lost).add("p50_us", p50s.percentile(50)).add("p99_us", p99s.percentile(50))
            .add("last_member_us", lastMember.percentile(50)).add("last_member_worst_us", lastMember.max())
            .add("p999_us", all.percentile(99.9)).add("max_us", all.max());
        if (before.ok && after.ok) row.add("server_cpu_s", after.cpuSeconds - before.cpuSeconds);
        addServerMemory(row, after);
        row.add("gen_cpu_pct", (selfCpuSeconds() - selfBefore) / wall * 100).add("setup_s", crowd.seconds)
            .add("disconnects", disconnects_).add("clean", lost == 0 && disconnects_ == 0);
        emit(row);
        return 0;
    }

    void onPayload(int id, std::string_view text, std::int64_t now) override {
        const auto stamp = parsePayload(text);
        if (!stamp || static_cast<int>(stamp->epoch) != epoch_ || id == 0) return;
        probe_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - stamp->scheduledNs)) / 1000);
    }

    void onClosed(int, std::string_view, bool) override { ++disconnects_; }

private:
    const RunOptions& o_;
    Engine& engine_;
    int epoch_ = 0;
    Histogram probe_;
    int disconnects_ = 0;
};
}  // namespace

int runFanout(const RunOptions& options) {
    auto adapter = makeAdapter(options.adapter);
    Engine engine(*adapter, options.host, options.port, tlsOptions(options), webSocketOptions(options));
    return Fanout(options, engine).run();
}

}  // namespace bench

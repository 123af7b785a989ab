// Workload 1 (sustained broadcast) and 5 (slow consumer): N members in one
// room, K of them post at an aggregate rate on an open-loop schedule; every
// member checks every other sender's sequence and measures latency from
// each message's scheduled send time.

#include "histogram.hpp"
#include "members.hpp"
#include "payload.hpp"
#include "sequence.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace bench {

namespace {
constexpr int kSlowReceiveBuffer = 4096;
constexpr double kMaxRecoverySeconds = 10;  // after an unclean run, for the server to go quiet

class Broadcast final : public ClientHandler {
public:
    Broadcast(const RunOptions& options, Engine& engine) : o_(options), engine_(engine) {}

    int run() {
        const int n = o_.clients, slow = o_.slowConsumers;
        const int kMax = o_.senders.empty() ? 0 : *std::max_element(o_.senders.begin(), o_.senders.end());
        if (n < 2 || o_.senders.empty() || kMax > n - slow || slow < 0 || o_.rates.empty())
            return emitError(o_, "broadcast", "need 2 <= N, 1 <= K <= N - slow consumers, and a rate");
        engine_.setHandler(this);
        const auto crowd = connectCrowd(engine_, n, true, o_.connectConcurrency, o_.setupTimeout, slow, kSlowReceiveBuffer);
        if (crowd.ready < n)
            return emitError(o_, "broadcast", "setup: " + std::to_string(crowd.ready) + "/" + std::to_string(n) +
                                                  " members ready; first failure " + crowd.firstFailure);
        settle(engine_, 200, 10);
        for (const int k : o_.senders) {
            k_ = k;
            int uncleanInARow = 0;  // one noisy stall should not end the ramp
            for (const double rate : o_.rates) {
                int clean = 0;
                bool overloaded = false;
                for (int rep = 0; rep < o_.repeat; ++rep) {
                    const auto outcome = measure(rate, rep);
                    clean += outcome == Outcome::Clean ? 1 : 0;
                    overloaded = overloaded || outcome == Outcome::Overloaded;
                }
                uncleanInARow = clean == 0 ? uncleanInARow + 1 : 0;
                if (o_.stopAfter > 0 && (uncleanInARow >= o_.stopAfter || (clean == 0 && overloaded))) break;
            }
        }
        return 0;
    }

    void onPayload(int id, std::string_view text, std::int64_t now) override {
        const auto stamp = parsePayload(text);
        if (!stamp) return void(++foreign_);
        if (!measuring_) return;  // warm-up
        if (static_cast<int>(stamp->epoch) != epoch_ % 1000) return void(++stale_);  // an earlier run's straggler
        if (static_cast<int>(stamp->sender) == id || id >= o_.clients - o_.slowConsumers) return;  // echo, slow member
        if (static_cast<int>(stamp->sender) >= k_) return void(++foreign_);
        auto& stream = streams_[static_cast<std::size_t>(id) * k_ + stamp->sender];
        if (stream.record(stamp->seq) == SequenceTracker::Outcome::Duplicate) return;
        ++delivered_;
        lastDeliveryNs_ = now;
        latency_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - stamp->scheduledNs)) / 1000);
    }

    void onError(int, std::string_view code, std::string_view detail) override {
        if (errors_++ == 0) firstError_ = std::string(code) + ": " + std::string(detail);
    }

    void onLeft(int, std::string_view user, std::string_view reason) override {
        if (left_.insert(std::string(user)).second && slowCutNs_ == 0 && o_.slowConsumers > 0 &&
            user == engine_.user(o_.clients - 1)) {
            slowCutNs_ = nowNs();
            slowReason_ = std::string(reason);
        }
    }

    void onClosed(int id, std::string_view why, bool) override {
        if (id >= o_.clients - o_.slowConsumers) return;
        if (disconnects_++ == 0) firstDisconnect_ = engine_.user(id) + ": " + std::string(why);
    }

private:
    /// Posts at `rate` for `seconds` under `epoch`; returns messages sent.
    std::uint64_t sendPhase(double rate, double seconds) {
        const auto total = static_cast<std::uint64_t>(std::llround(rate * seconds));
        const double gapNs = 1e9 / rate;
        const std::int64_t t0 = nowNs() + 1'000'000;
        const std::int64_t hardStop = t0 + static_cast<std::int64_t>((seconds + 5) * 1e9);
        phaseStartNs_ = t0;
        std::string text;
        std::uint64_t g = 0;
        while (g < total && nowNs() < hardStop) {
            const std::int64_t now = nowNs();
            for (; g < total; ++g) {
                const std::int64_t due = t0 + static_cast<std::int64_t>(static_cast<double>(g) * gapNs);
                if (due > now) break;
                const int sender = static_cast<int>(g % static_cast<std::uint64_t>(k_));
                makePayload({static_cast<std::uint32_t>(epoch_), static_cast<std::uint32_t>(sender), sent_[sender]++, due},
                            o_.payload, text);
                engine_.post(sender, text);
            }
            if (g < total) engine_.pollOnce(t0 + static_cast<std::int64_t>(static_cast<double>(g) * gapNs));
        }
        return g;
    }

    void startPhase(bool measuring) {
        ++epoch_;
        measuring_ = measuring;
        sent_.assign(static_cast<std::size_t>(k_), 0);
        streams_.assign(static_cast<std::size_t>(o_.clients) * k_, SequenceTracker());
        latency_.clear();
        delivered_ = 0;
        stale_ = 0;
        lastDeliveryNs_ = 0;
    }

    enum class Outcome {
        Clean,
        Unclean,
        Overloaded,  ///< more than half the deliveries missing: far past capacity, not noise
    };

    Outcome measure(double rate, int rep) {
        startPhase(false);
        sendPhase(rate, o_.warmup);
        startPhase(true);
        if (o_.slowConsumers > 0 && !slowStopped_) {
            for (int id = o_.clients - o_.slowConsumers; id < o_.clients; ++id) engine_.setReading(id, false);
            slowStopped_ = true;
            slowStopNs_ = nowNs();
        }
        const int disconnectsBefore = disconnects_, errorsBefore = errors_;
        const auto before = sampleProcess(o_.serverPid);
        const double selfBefore = selfCpuSeconds();
        const std::int64_t wallBefore = nowNs();
        const std::uint64_t sent = sendPhase(rate, o_.duration);

        const int receivers = o_.clients - o_.slowConsumers;
        const std::uint64_t expected = sent * static_cast<std::uint64_t>(receivers - 1);  // senders skip themselves
        const std::int64_t drainUntil = nowNs() + static_cast<std::int64_t>(o_.drain * 1e9);
        while (delivered_ < expected && nowNs() < drainUntil) engine_.pollOnce(std::min(drainUntil, nowNs() + 10'000'000));

        const auto after = sampleProcess(o_.serverPid);
        const double wall = static_cast<double>(nowNs() - wallBefore) / 1e9;
        const double genCpu = (selfCpuSeconds() - selfBefore) / wall * 100;
        std::uint64_t duplicates = 0, outOfOrder = 0;
        for (const auto& stream : streams_) {
            duplicates += stream.duplicates();
            outOfOrder += stream.outOfOrder();
        }
        const std::uint64_t lost = expected - std::min(expected, delivered_);
        const double window = std::max(o_.duration, static_cast<double>(lastDeliveryNs_ - phaseStartNs_) / 1e9);
        const double serverCpu = before.ok && after.ok ? after.cpuSeconds - before.cpuSeconds : 0;
        const std::uint64_t p99 = latency_.percentile(99);
        const int newDisconnects = disconnects_ - disconnectsBefore;
        const bool clean = lost == 0 && duplicates == 0 && newDisconnects == 0 &&
                           static_cast<double>(p99) < o_.p99LimitMs * 1000;

        auto row = rowStart(o_, o_.slowConsumers > 0 ? "slow_consumer" : "broadcast");
        row.add("n", o_.clients).add("k", k_).add("rate", rate).add("size", static_cast<std::uint64_t>(o_.payload))
            .add("rep", rep).add("duration_s", o_.duration).add("sent", sent).add("expected", expected)
            .add("delivered", delivered_).add("lost", lost).add("duplicates", duplicates).add("out_of_order", outOfOrder)
            .add("deliveries_per_s", static_cast<double>(delivered_) / window);
        if (before.ok && after.ok)
            row.add("server_cpu_s", serverCpu)
                .add("deliveries_per_cpu_s", serverCpu > 0 ? static_cast<double>(delivered_) / serverCpu : 0.0);
        row.add("p50_us", latency_.percentile(50)).add("p99_us", p99).add("p999_us", latency_.percentile(99.9))
            .add("max_us", latency_.max());
        addServerMemory(row, after);
        row.add("gen_cpu_pct", genCpu).add("disconnects", newDisconnects).add("errors", errors_ - errorsBefore)
            .add("stale", stale_).add("clean", clean);
        if (foreign_ > 0) row.add("foreign", foreign_);  // text that is not one of our payloads: an adapter bug
        if (!firstDisconnect_.empty()) row.add("first_disconnect", firstDisconnect_);
        if (!firstError_.empty()) row.add("first_error", firstError_);
        if (o_.slowConsumers > 0) {
            row.add("slow_cut", slowCutNs_ != 0);
            if (slowCutNs_ != 0)
                row.add("slow_cut_after_ms", static_cast<double>(slowCutNs_ - slowStopNs_) / 1e6).add("slow_reason", slowReason_);
        }
        emit(row);
        // A backlog left in the server (in the senders' own queues, first of all)
        // would be charged to the next run: wait until the server has gone quiet.
        settle(engine_, clean ? 100 : 300, clean ? std::min(3.0, std::max(0.5, o_.drain)) : kMaxRecoverySeconds);
        if (clean) return Outcome::Clean;
        return lost * 2 > expected ? Outcome::Overloaded : Outcome::Unclean;
    }

    const RunOptions& o_;
    Engine& engine_;
    int k_ = 1;  // senders in the current runs: members 0..k_-1
    int epoch_ = 0;
    bool measuring_ = false;
    std::vector<std::uint64_t> sent_;
    std::vector<SequenceTracker> streams_;
    Histogram latency_;
    std::uint64_t delivered_ = 0, stale_ = 0, foreign_ = 0;
    std::int64_t phaseStartNs_ = 0, lastDeliveryNs_ = 0;
    int errors_ = 0, disconnects_ = 0;
    std::string firstError_, firstDisconnect_;
    std::set<std::string> left_;
    bool slowStopped_ = false;
    std::int64_t slowStopNs_ = 0, slowCutNs_ = 0;
    std::string slowReason_;
};
}  // namespace

int runBroadcast(const RunOptions& options) {
    auto adapter = makeAdapter(options.adapter);
    Engine engine(*adapter, options.host, options.port);
    return Broadcast(options, engine).run();
}

}  // namespace bench

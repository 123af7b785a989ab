// Workload 1 (sustained broadcast), 5 (slow consumer) and 7 (overload): N
// members in one room, K of them post at an aggregate rate on an open-loop
// schedule; every member checks every other sender's sequence and measures
// latency from each message's scheduled send time.
//
// Mixed (--ws-members W < N): W members speak WebSocket and the others TCP,
// in the same room at the same rate (senders of both kinds); rows are
// workload "mixed" and add deliveries, loss and latency per kind of receiver.
//
// Overload (--mode overload): one baseline run at the base rate, then one
// schedule of `pre` s at the base rate, `burst` s at the burst rate and
// `after` s at the base rate, drained for up to `drain` s. Its row adds the
// readers cut, loss to the readers that stayed, and a timeline: per second
// of scheduled send time, p99 and deliveries to the readers that stayed.

#include "histogram.hpp"
#include "members.hpp"
#include "payload.hpp"
#include "sequence.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <poll.h>
#include <set>
#include <unistd.h>

namespace bench {

namespace {
constexpr int kSlowReceiveBuffer = 4096;
constexpr double kMaxRecoverySeconds = 10;  // after an unclean run, for the server to go quiet
constexpr double kGoTimeoutSeconds = 300;   // --wait-for-go: the longest wait for the driver

struct Segment {
    double rate;     ///< messages/s, all senders together
    double seconds;
};

class Broadcast final : public ClientHandler {
public:
    Broadcast(const RunOptions& options, Engine& engine) : o_(options), engine_(engine) {}

    int run() {
        const int n = o_.clients, slow = o_.slowConsumers;
        const int kMax = o_.senders.empty() ? 0 : *std::max_element(o_.senders.begin(), o_.senders.end());
        if (n < 2 || o_.senders.empty() || kMax > n - slow || slow < 0 || o_.rates.empty())
            return emitError(o_, "broadcast", "need 2 <= N, 1 <= K <= N - slow consumers, and a rate");
        const bool overloadMode = o_.mode == "overload";
        if (overloadMode && (o_.senders.size() != 1 || o_.rates.size() != 1 || o_.burstRate <= 0))
            return emitError(o_, "overload", "overload needs one K, one base --rate and a --burst-rate");
        cutNs_.assign(static_cast<std::size_t>(n), 0);
        cutWhy_.assign(static_cast<std::size_t>(n), std::string());
        engine_.setHandler(this);
        const auto crowd = connectCrowd(engine_, n, true, o_.connectConcurrency, o_.setupTimeout, slow, kSlowReceiveBuffer);
        if (crowd.ready < n)
            return emitError(o_, "broadcast", "setup: " + std::to_string(crowd.ready) + "/" + std::to_string(n) +
                                                  " members ready; first failure " + crowd.firstFailure);
        settle(engine_, 200, 10);
        mixed_ = o_.wsMembers > 0 && o_.wsMembers < n && !o_.ws;
        kind_.assign(static_cast<std::size_t>(n), 0);
        for (int id = 0; id < n; ++id) kind_[static_cast<std::size_t>(id)] = engine_.webSocket(id) ? 1 : 0;
        if (overloadMode) {
            k_ = o_.senders[0];
            measure(o_.rates[0], 0, "overload_baseline");
            return overload();
        }
        for (const int k : o_.senders) {
            k_ = k;
            int uncleanInARow = 0;  // one noisy stall should not end the ramp
            for (const double rate : o_.rates) {
                int clean = 0;
                bool overloaded = false;
                for (int rep = 0; rep < o_.repeat; ++rep) {
                    const auto outcome =
                        measure(rate, rep, o_.slowConsumers > 0 ? "slow_consumer" : mixed_ ? "mixed" : "broadcast");
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
        if (!timeline_.empty()) {
            maxGapNs_ = std::max(maxGapNs_, now - std::max(lastDeliveryNs_, timelineStartNs_));
            const auto second = static_cast<std::size_t>(std::max<std::int64_t>(0, now - timelineStartNs_) / 1'000'000'000);
            ++arrivals_[std::min(second, arrivals_.size() - 1)];
        }
        lastDeliveryNs_ = now;
        const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - stamp->scheduledNs)) / 1000;
        latency_.record(us);
        if (mixed_) {
            const int kind = kind_[static_cast<std::size_t>(id)];
            kindLatency_[kind].record(us);
            ++kindDelivered_[kind];
        }
        if (!timeline_.empty() && stamp->scheduledNs >= timelineStartNs_) {
            const auto bucket = static_cast<std::size_t>((stamp->scheduledNs - timelineStartNs_) / 1'000'000'000);
            if (bucket < timeline_.size()) {
                timeline_[bucket].record(us);
                ++timelineDelivered_[(static_cast<std::size_t>(id) * static_cast<std::size_t>(k_) + stamp->sender) *
                                         timeline_.size() + bucket];
            }
        }
    }

    void onError(int id, std::string_view code, std::string_view detail) override {
        if (code == "rate_limited") return void(++rateLimited_);  // a sender slowed down, not cut
        if (errors_++ == 0) firstError_ = std::string(code) + ": " + std::string(detail);
        markCut(id, code);
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
        markCut(id, why);
        if (disconnects_++ == 0) firstDisconnect_ = engine_.user(id) + ": " + std::string(why);
    }

private:
    /// Posts at `rate` for `seconds` under `epoch`; returns messages sent.
    std::uint64_t sendPhase(double rate, double seconds) { return sendSchedule({{rate, seconds}}); }

    /// Posts on an open-loop schedule of consecutive segments under `epoch`;
    /// returns messages sent. Message j of a segment is due j / rate after
    /// the segment starts; senders take turns. When the timeline is on, each
    /// message is counted in the second (from the schedule's start) it is due.
    std::uint64_t sendSchedule(const std::vector<Segment>& segments) {
        std::vector<std::uint64_t> count;
        std::vector<std::int64_t> startNs;
        double offset = 0;
        for (const auto& seg : segments) {
            count.push_back(static_cast<std::uint64_t>(std::llround(seg.rate * seg.seconds)));
            startNs.push_back(static_cast<std::int64_t>(offset * 1e9));
            offset += seg.seconds;
        }
        const std::int64_t t0 = nowNs() + 1'000'000;
        const std::int64_t hardStop = t0 + static_cast<std::int64_t>((offset + 5) * 1e9);
        phaseStartNs_ = t0;
        timelineStartNs_ = t0;
        std::string text;
        std::uint64_t g = 0, j = 0;  // messages sent in all; index within the segment
        std::size_t seg = 0;
        const auto due = [&] {
            return t0 + startNs[seg] + static_cast<std::int64_t>(static_cast<double>(j) * 1e9 / segments[seg].rate);
        };
        const auto skipDone = [&] {
            while (seg < segments.size() && j >= count[seg]) ++seg, j = 0;
        };
        skipDone();
        while (seg < segments.size() && nowNs() < hardStop) {
            const std::int64_t now = nowNs();
            for (; seg < segments.size(); skipDone()) {
                const std::int64_t at = due();
                if (at > now) break;
                const int sender = static_cast<int>(g % static_cast<std::uint64_t>(k_));
                makePayload({static_cast<std::uint32_t>(epoch_), static_cast<std::uint32_t>(sender), sent_[sender]++, at},
                            o_.payload, text);
                engine_.post(sender, text);
                if (!timeline_.empty()) {
                    const auto bucket = static_cast<std::size_t>((at - t0) / 1'000'000'000);
                    if (bucket < timeline_.size()) ++timelineSent_[bucket * static_cast<std::size_t>(k_) + sender];
                }
                ++g, ++j;
            }
            if (!timeline_.empty()) {
                std::uint64_t backlog = 0;
                for (int s = 0; s < k_; ++s) backlog += engine_.unsent(s);
                backlogPeak_ = std::max(backlogPeak_, backlog);
            }
            if (seg < segments.size()) engine_.pollOnce(due());
        }
        return g;
    }

    /// Handles events until `expected` deliveries have arrived, or every
    /// member still connected has all it should get, or `maxSeconds` pass:
    /// a late message still counts, a cut member's are not waited for.
    void drain(std::uint64_t expected, double maxSeconds) {
        const std::int64_t until = nowNs() + static_cast<std::int64_t>(maxSeconds * 1e9);
        std::int64_t nextCheck = 0;
        while (delivered_ < expected && nowNs() < until) {
            if (nowNs() >= nextCheck) {
                if (missingForConnected() == 0) break;
                nextCheck = nowNs() + 50'000'000;
            }
            engine_.pollOnce(std::min(until, nowNs() + 10'000'000));
        }
    }

    /// Deliveries still due to members that are connected (slow members aside)
    /// from senders that are connected.
    std::uint64_t missingForConnected() const {
        const auto k = static_cast<std::size_t>(k_);
        std::uint64_t missing = 0;
        for (int id = 0; id < o_.clients - o_.slowConsumers; ++id) {
            if (engine_.closed(id)) continue;
            for (std::size_t s = 0; s < k; ++s) {
                if (static_cast<int>(s) == id || engine_.closed(static_cast<int>(s))) continue;
                const auto got = streams_[static_cast<std::size_t>(id) * k + s].unique();
                missing += sent_[s] - std::min(sent_[s], got);
            }
        }
        return missing;
    }

    void markCut(int id, std::string_view why) {
        auto& at = cutNs_[static_cast<std::size_t>(id)];
        if (at != 0) return;
        at = nowNs();
        cutWhy_[static_cast<std::size_t>(id)] = std::string(why);
    }

    /// --wait-for-go: says so on stdout, then keeps the connections served
    /// until the driver writes a line on stdin. False on EOF or timeout.
    bool waitForGo() {
        auto line = rowStart(o_, "overload");
        emit(line.add("event", "ready_for_burst"));
        const std::int64_t deadline = nowNs() + static_cast<std::int64_t>(kGoTimeoutSeconds * 1e9);
        while (nowNs() < deadline) {
            pollfd in{STDIN_FILENO, POLLIN, 0};
            if (::poll(&in, 1, 0) > 0) {
                char buffer[256];
                const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
                if (n <= 0) return false;
                if (std::memchr(buffer, '\n', static_cast<std::size_t>(n)) != nullptr) return true;
            }
            engine_.pollOnce(nowNs() + 10'000'000);
        }
        return false;
    }

    int overload() {
        if (o_.waitForGo && !waitForGo()) return emitError(o_, "overload", "no go from the driver on stdin");
        const auto n = static_cast<std::size_t>(o_.clients), k = static_cast<std::size_t>(k_);
        const auto buckets = static_cast<std::size_t>(o_.pre + o_.burst + o_.after);
        startPhase(true);
        timeline_.assign(buckets, Histogram());
        timelineSent_.assign(buckets * k, 0);
        timelineDelivered_.assign(n * k * buckets, 0);
        arrivals_.assign(buckets + static_cast<std::size_t>(std::ceil(o_.drain)) + 2, 0);
        maxGapNs_ = 0;
        backlogPeak_ = 0;
        rateLimited_ = 0;
        const std::int64_t windowStart = nowNs();
        const auto before = sampleProcess(o_.serverPid);
        const double selfBefore = selfCpuSeconds();
        const double base = o_.rates[0];
        const std::uint64_t sent = sendSchedule({{base, static_cast<double>(o_.pre)},
                                                 {o_.burstRate, static_cast<double>(o_.burst)},
                                                 {base, static_cast<double>(o_.after)}});
        const std::int64_t sendEnd = nowNs();
        const std::uint64_t expected = sent * (n - 1);
        drain(expected, o_.drain);
        if (delivered_ < expected)  // the silence at the end counts too
            maxGapNs_ = std::max(maxGapNs_, nowNs() - std::max(lastDeliveryNs_, timelineStartNs_));
        const auto after = sampleProcess(o_.serverPid);
        const double wall = static_cast<double>(nowNs() - windowStart) / 1e9;
        const double genCpu = (selfCpuSeconds() - selfBefore) / wall * 100;

        std::uint64_t duplicates = 0, outOfOrder = 0, streamsOutOfOrder = 0;
        for (const auto& stream : streams_) {
            duplicates += stream.duplicates();
            outOfOrder += stream.outOfOrder();
            streamsOutOfOrder += stream.outOfOrder() > 0 ? 1 : 0;
        }
        // Readers cut in this window, by reason; and who stayed for the whole run.
        std::map<std::string, int> reasons;
        int cutNow = 0, cutEarlier = 0;
        std::vector<char> stayed(n, 1);
        for (std::size_t id = 0; id < n; ++id) {
            if (cutNs_[id] == 0) continue;
            stayed[id] = 0;
            if (cutNs_[id] >= windowStart) ++cutNow, ++reasons[cutWhy_[id]];
            else ++cutEarlier;
        }
        std::string cutReasons;
        for (const auto& [why, count] : reasons)
            cutReasons += (cutReasons.empty() ? "" : "; ") + why + ": " + std::to_string(count);
        const auto stayedCount = static_cast<std::uint64_t>(std::count(stayed.begin(), stayed.end(), 1));
        const auto sendersCut = static_cast<std::uint64_t>(k - std::count(stayed.begin(), stayed.begin() + k_, 1));

        std::vector<std::uint64_t> p99(buckets), bucketSent(buckets), bucketExpected(buckets), bucketDelivered(buckets);
        Histogram preHist, burstHist, afterHist;
        for (std::size_t b = 0; b < buckets; ++b) {
            p99[b] = timeline_[b].percentile(99);
            // Between the members that stayed: a cut sender's messages are the cut's loss, not this.
            std::uint64_t all = 0, byStayed = 0;
            for (std::size_t s = 0; s < k; ++s) {
                all += timelineSent_[b * k + s];
                if (stayed[s]) byStayed += timelineSent_[b * k + s];
            }
            bucketSent[b] = all;
            bucketExpected[b] = stayedCount > 0 ? byStayed * (stayedCount - 1) : 0;  // a sender does not receive its own
            for (std::size_t id = 0; id < n; ++id)
                for (std::size_t s = 0; s < k && stayed[id]; ++s)
                    if (stayed[s] && s != id) bucketDelivered[b] += timelineDelivered_[(id * k + s) * buckets + b];
            const auto at = static_cast<int>(b);
            (at < o_.pre ? preHist : at < o_.pre + o_.burst ? burstHist : afterHist).merge(timeline_[b]);
        }
        std::uint64_t expectedStayed = 0, deliveredStayed = 0;
        for (std::size_t b = 0; b < buckets; ++b) expectedStayed += bucketExpected[b], deliveredStayed += bucketDelivered[b];

        const double serverCpu = before.ok && after.ok ? after.cpuSeconds - before.cpuSeconds : 0;
        auto row = rowStart(o_, "overload");
        addTls(row, engine_);
        row.add("n", o_.clients).add("k", k_).add("base_rate", base).add("burst_rate", o_.burstRate)
            .add("size", static_cast<std::uint64_t>(o_.payload)).add("pre_s", o_.pre).add("burst_s", o_.burst)
            .add("after_s", o_.after).add("sent", sent).add("expected", expected).add("delivered", delivered_)
            .add("lost", expected - std::min(expected, delivered_)).add("duplicates", duplicates)
            .add("out_of_order", outOfOrder).add("streams_out_of_order", streamsOutOfOrder)
            .add("readers_cut", cutNow).add("senders_cut", sendersCut).add("cut_reasons", cutReasons)
            .add("cut_before", cutEarlier)
            .add("expected_stayed", expectedStayed)
            .add("lost_stayed", expectedStayed - std::min(expectedStayed, deliveredStayed))
            .add("rate_limited", rateLimited_).add("errors", errors_).add("stale", stale_)
            .add("baseline_p99_us", baselineP99_).add("p99_pre_us", preHist.percentile(99))
            .add("p99_burst_us", burstHist.percentile(99)).add("p99_after_us", afterHist.percentile(99))
            .add("p50_us", latency_.percentile(50)).add("p99_us", latency_.percentile(99)).add("max_us", latency_.max())
            .add("sender_backlog_peak_bytes", backlogPeak_)
            .add("max_gap_ms", static_cast<double>(maxGapNs_) / 1e6)
            .add("last_delivery_s", lastDeliveryNs_ > 0 ? static_cast<double>(lastDeliveryNs_ - timelineStartNs_) / 1e9 : 0.0)
            .add("send_s", static_cast<double>(sendEnd - windowStart) / 1e9)
            .add("drain_s", static_cast<double>(nowNs() - sendEnd) / 1e9);
        if (before.ok && after.ok) row.add("server_cpu_s", serverCpu).add("server_cpu_pct", serverCpu / wall * 100);
        addServerMemory(row, after);
        row.add("gen_cpu_pct", genCpu).add("timeline_p99_us", p99).add("timeline_sent", bucketSent)
            .add("timeline_expected", bucketExpected).add("timeline_delivered", bucketDelivered)
            .add("arrivals_per_s", arrivals_);
        if (!firstError_.empty()) row.add("first_error", firstError_);
        if (foreign_ > 0) row.add("foreign", foreign_);
        emit(row);
        timeline_.clear();
        return 0;
    }

    /// Per kind of receiver (tcp, ws): members, expected (every message of
    /// every other sender), delivered, lost and latency.
    void addKinds(JsonLine& row, int receivers) const {
        static const char* const names[2] = {"tcp", "ws"};
        for (int kind = 0; kind < 2; ++kind) {
            std::uint64_t members = 0, expected = 0;
            for (int id = 0; id < receivers; ++id) members += kind_[static_cast<std::size_t>(id)] == kind ? 1 : 0;
            for (int s = 0; s < k_; ++s) {
                const std::uint64_t others = members - (kind_[static_cast<std::size_t>(s)] == kind ? 1 : 0);
                expected += sent_[static_cast<std::size_t>(s)] * others;
            }
            const std::string p = names[kind];
            const std::uint64_t got = kindDelivered_[kind];
            row.add(p + "_members", members).add(p + "_expected", expected).add(p + "_delivered", got)
                .add(p + "_lost", expected - std::min(expected, got))
                .add(p + "_p50_us", kindLatency_[kind].percentile(50)).add(p + "_p99_us", kindLatency_[kind].percentile(99))
                .add(p + "_max_us", kindLatency_[kind].max());
        }
    }

    void startPhase(bool measuring) {
        ++epoch_;
        measuring_ = measuring;
        sent_.assign(static_cast<std::size_t>(k_), 0);
        streams_.assign(static_cast<std::size_t>(o_.clients) * k_, SequenceTracker());
        latency_.clear();
        for (auto& h : kindLatency_) h.clear();
        kindDelivered_[0] = kindDelivered_[1] = 0;
        delivered_ = 0;
        stale_ = 0;
        lastDeliveryNs_ = 0;
    }

    enum class Outcome {
        Clean,
        Unclean,
        Overloaded,  ///< more than half the deliveries missing: far past capacity, not noise
    };

    Outcome measure(double rate, int rep, const char* workload) {
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
        drain(expected, o_.drain);

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

        baselineP99_ = p99;
        auto row = rowStart(o_, workload);
        addTls(row, engine_);
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
        if (mixed_) addKinds(row, receivers);
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
    bool mixed_ = false;                  // members of both kinds: per-kind figures in every row
    std::vector<int> kind_;               // per member: 0 TCP, 1 WebSocket
    Histogram kindLatency_[2];
    std::uint64_t kindDelivered_[2] = {0, 0};
    bool slowStopped_ = false;
    std::int64_t slowStopNs_ = 0, slowCutNs_ = 0;
    std::string slowReason_;
    // overload
    std::vector<std::int64_t> cutNs_;     // per member: when it was closed or got an error frame; 0: never
    std::vector<std::string> cutWhy_;
    std::uint64_t rateLimited_ = 0, backlogPeak_ = 0, baselineP99_ = 0;
    std::int64_t timelineStartNs_ = 0;
    std::vector<Histogram> timeline_;             // per second of scheduled send time; empty: off
    std::vector<std::uint64_t> timelineSent_;     // [bucket * K + sender]
    std::vector<std::uint64_t> timelineDelivered_;  // [(member * K + sender) * buckets + bucket]
    std::vector<std::uint64_t> arrivals_;           // deliveries per second of arrival time, from the schedule's start
    std::int64_t maxGapNs_ = 0;                     // longest time with no delivery, from the schedule's start
};
}  // namespace

int runBroadcast(const RunOptions& options) {
    auto adapter = makeAdapter(options.adapter);
    Engine engine(*adapter, options.host, options.port, tlsOptions(options), webSocketOptions(options));
    return Broadcast(options, engine).run();
}

}  // namespace bench

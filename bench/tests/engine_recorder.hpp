#pragma once
// What the engine tests (tls_engine_test, ws_engine_test) share: a handler
// that records what the engine reports, and polling the engine until a
// condition holds or a deadline passes.

#include "engine.hpp"
#include "proc_stats.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench::test {

/// Records the engine's callbacks. Single-threaded: the engine calls it from
/// pollOnce(), on the test's thread, which also reads the fields.
struct Recorder final : bench::ClientHandler {
    int ready = 0;
    int closed = 0;
    std::string lastClose;
    std::vector<std::string> payloads;
    void onReady(int) override { ++ready; }
    void onPayload(int, std::string_view text, std::int64_t) override { payloads.emplace_back(text); }
    void onClosed(int, std::string_view why, bool) override {
        ++closed;
        lastClose = std::string(why);
    }
};

/// Polls `engine` until `done()` or 10 s pass; returns done().
template <typename Done>
bool pollUntil(bench::Engine& engine, Done done) {
    constexpr std::int64_t kDeadlineNs = 10'000'000'000;
    const std::int64_t deadline = bench::nowNs() + kDeadlineNs;
    while (!done() && bench::nowNs() < deadline) engine.pollOnce(std::min(deadline, bench::nowNs() + 50'000'000));
    return done();
}

}  // namespace bench::test

#pragma once
// Rate limiting for log lines a peer can cause. A hostile client can make
// the server warn as fast as it can send bad frames; without a limit that
// fills the disk and buries every other line. This file depends on no other
// server file.

#include "shared/mutex.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat {

/// The budget of a LogThrottle.
struct LogThrottleLimits {
    std::size_t perWindow = 5;                 ///< lines of one kind from one source per window
    std::chrono::milliseconds window{10'000};  ///< how long a window lasts
    std::size_t maxKeys = 10'000;              ///< (source, kind) entries tracked at most
};

/// Decides which warnings to log: for each (source, kind) the first
/// `perWindow` lines of a window pass; later ones in the same window are only
/// counted, and the count is reported once, as one summary line:
///   "… 1,532 more like this (protocol error) from 127.0.0.1:5555 in the last 10 s"
/// A window starts with the first line of its key and lasts `window`.
///
/// Thread-safe: one LogThrottle is meant to be shared by the whole server,
/// every session calling admit() or warn() from its own thread (one mutex,
/// held for a map lookup; never while logging). The caller chooses the
/// source: the peer's "ip:port" throttles each connection on its own, the
/// bare IP throttles an address across its reconnects. `source` and `kind`
/// are repeated verbatim in summaries, so they must come from the server
/// (an address, a constant), never from peer text.
///
/// Memory: one entry per (source, kind) seen in the current window. Call
/// forget(source) when a connection ends and sweep() from time to time;
/// beyond `maxKeys` entries, new sources share one "(other sources)" budget
/// per kind.
class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;

    using Limits = LogThrottleLimits;

    /// What to do with one line.
    struct Verdict {
        bool log = false;     ///< log the line now
        std::string summary;  ///< when not empty, log this first: what an ended window held back
    };

    /// `now` is the clock (injectable for tests); it is called under the lock.
    explicit LogThrottle(Limits limits = Limits(), std::function<Clock::time_point()> now = Clock::now);

    /// One line of `kind` about `source` wants to be logged.
    Verdict admit(std::string_view source, std::string_view kind) EXCLUDES(mutex_);

    /// spdlog::warn(line) if admit() lets it through, preceded by any
    /// summary admit() returns (also at warn level).
    void warn(std::string_view source, std::string_view kind, const std::string& line);

    /// Summaries of every window that has ended with lines held back, each
    /// reported once; forgets ended windows. Call now and then (e.g. once a
    /// second) so that a flood which stops is still reported.
    std::vector<std::string> sweep() EXCLUDES(mutex_);

    /// Summaries for `source` whether or not its windows have ended, then
    /// forgets it: call when its connection closes.
    std::vector<std::string> forget(std::string_view source) EXCLUDES(mutex_);

    /// Entries currently tracked (for tests and diagnostics).
    std::size_t trackedKeys() const EXCLUDES(mutex_);

    /// "1,532": a count with thousands separators, as summaries print it.
    static std::string withSeparators(std::uint64_t count);

private:
    struct Window {
        Clock::time_point start;
        std::uint64_t passed = 0;
        std::uint64_t heldBack = 0;
    };
    using Key = std::pair<std::string, std::string>;  // (source, kind)

    std::string summarise(const Key& key, const Window& window, Clock::time_point now) const;
    bool ended(const Window& window, Clock::time_point now) const { return now - window.start >= limits_.window; }

    /// Drops ended windows that held nothing back; at most once per tenth
    /// of a window, so a full map does not cost a scan per line.
    void purge(Clock::time_point now) REQUIRES(mutex_);

    const Limits limits_;
    const std::function<Clock::time_point()> now_;
    mutable Mutex mutex_;
    std::map<Key, Window> windows_ GUARDED_BY(mutex_);
    Clock::time_point lastPurge_ GUARDED_BY(mutex_);
};

}  // namespace chat

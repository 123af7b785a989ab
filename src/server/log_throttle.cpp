#include "server/log_throttle.hpp"

#include <spdlog/spdlog.h>

namespace chat {

namespace {
constexpr std::string_view kOtherSources = "(other sources)";
}  // namespace

LogThrottle::LogThrottle(Limits limits, std::function<Clock::time_point()> now)
    : limits_(limits), now_(std::move(now)), lastPurge_(now_()) {}

LogThrottle::Verdict LogThrottle::admit(std::string_view source, std::string_view kind) {
    MutexLock lock(mutex_);
    const auto now = now_();
    Key key{std::string(source), std::string(kind)};
    auto it = windows_.find(key);
    if (it == windows_.end() && windows_.size() >= limits_.maxKeys) {
        purge(now);
        if (windows_.size() >= limits_.maxKeys) {
            key.first = kOtherSources;
            it = windows_.find(key);
        }
    }
    if (it == windows_.end()) it = windows_.emplace(key, Window{now, 0, 0}).first;

    Verdict verdict;
    Window& window = it->second;
    if (ended(window, now)) {
        if (window.heldBack > 0) verdict.summary = summarise(it->first, window, now);
        window = Window{now, 0, 0};
    }
    if (window.passed < limits_.perWindow) {
        ++window.passed;
        verdict.log = true;
    } else {
        ++window.heldBack;
    }
    return verdict;
}

void LogThrottle::warn(std::string_view source, std::string_view kind, const std::string& line) {
    const auto verdict = admit(source, kind);
    if (!verdict.summary.empty()) spdlog::warn("{}", verdict.summary);
    if (verdict.log) spdlog::warn("{}", line);
}

std::vector<std::string> LogThrottle::sweep() {
    MutexLock lock(mutex_);
    const auto now = now_();
    std::vector<std::string> summaries;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (!ended(it->second, now)) {
            ++it;
            continue;
        }
        if (it->second.heldBack > 0) summaries.push_back(summarise(it->first, it->second, now));
        it = windows_.erase(it);
    }
    lastPurge_ = now;
    return summaries;
}

std::vector<std::string> LogThrottle::forget(std::string_view source) {
    MutexLock lock(mutex_);
    const auto now = now_();
    std::vector<std::string> summaries;
    // Keys sort by source first, so the source's kinds are one run.
    for (auto it = windows_.lower_bound(Key{std::string(source), std::string()});
         it != windows_.end() && it->first.first == source;) {
        if (it->second.heldBack > 0) summaries.push_back(summarise(it->first, it->second, now));
        it = windows_.erase(it);
    }
    return summaries;
}

std::size_t LogThrottle::trackedKeys() const {
    MutexLock lock(mutex_);
    return windows_.size();
}

void LogThrottle::purge(Clock::time_point now) {
    if (now - lastPurge_ < limits_.window / 10) return;
    lastPurge_ = now;
    for (auto it = windows_.begin(); it != windows_.end();)
        it = ended(it->second, now) && it->second.heldBack == 0 ? windows_.erase(it) : std::next(it);
}

std::string LogThrottle::summarise(const Key& key, const Window& window, Clock::time_point now) const {
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - window.start).count();
    const auto seconds = std::max<long long>(1, (millis + 999) / 1000);
    return "\xE2\x80\xA6 " + withSeparators(window.heldBack) + " more like this (" + key.second + ") from " +
           key.first + " in the last " + withSeparators(static_cast<std::uint64_t>(seconds)) + " s";
}

std::string LogThrottle::withSeparators(std::uint64_t count) {
    std::string digits = std::to_string(count);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace chat

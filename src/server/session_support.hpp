#pragma once
// Pieces every connection-reading session thread uses (TCP and WebSocket).

#include <algorithm>
#include <chrono>
#include <csignal>
#include <mutex>
#include <poll.h>
#include <pthread.h>

namespace chat {

/// Wakes one session thread out of its poll with a signal, so a session
/// costs no descriptor beyond its socket (10,000 connections fit a 20,000
/// descriptor limit). The thread keeps SIGUSR1 blocked except inside ppoll(),
/// so a wake-up that comes while it is busy waits there: none is lost. The
/// signal's handler does nothing; ppoll() returning EINTR is the point.
class ThreadWaker {
public:
    static constexpr int kSignal = SIGUSR1;

    /// On the session thread: blocks the signal outside ppoll().
    ThreadWaker() : thread_(::pthread_self()) {
        static std::once_flag installed;
        std::call_once(installed, [] {
            struct sigaction action {};
            action.sa_handler = [](int) {};
            sigemptyset(&action.sa_mask);
            ::sigaction(kSignal, &action, nullptr);  // no SA_RESTART: ppoll() returns EINTR
        });
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, kSignal);
        ::pthread_sigmask(SIG_BLOCK, &block, &duringPoll_);
        sigdelset(&duringPoll_, kSignal);
    }
    ThreadWaker(const ThreadWaker&) = delete;
    ThreadWaker& operator=(const ThreadWaker&) = delete;

    /// Any thread, while the session runs: interrupts (or pre-empts) its ppoll().
    void wake() const { ::pthread_kill(thread_, kSignal); }

    /// poll() that a wake() interrupts. Returns what ppoll() returns.
    int poll(pollfd* fds, nfds_t count, int timeoutMs) const {
        timespec timeout{timeoutMs / 1000, static_cast<long>(timeoutMs % 1000) * 1'000'000};
        return ::ppoll(fds, count, &timeout, &duringPoll_);
    }

private:
    const pthread_t thread_;
    sigset_t duringPoll_;
};

/// Milliseconds from `now` until `when`, rounded up, within 0..60 s.
inline int millisUntil(std::chrono::steady_clock::time_point when, std::chrono::steady_clock::time_point now) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - now).count() + 1;
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

}  // namespace chat

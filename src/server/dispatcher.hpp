#pragma once
// The one thread that writes every connection's outbound bytes, and the
// server's fan-out: one event queued on a whole room under one lock.

#include "server/framing.hpp"
#include "server/participant.hpp"
#include "shared/mutex.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace chat {

class Dispatcher;
class Outbox;

/// One event's wire bytes for one framing, queued on one or more outboxes.
/// `queued` counts the queue entries that point here and is guarded by the
/// dispatcher's mutex, so queuing a frame on a thousand outboxes costs no
/// atomic operation per outbox; the entry that brings it to zero deletes it.
struct FrameShare {
    std::string bytes;
    std::size_t queued = 0;
};

/// An outbox's queue entry: the bytes to send and the share that keeps them.
struct QueuedFrame {
    const std::string* bytes = nullptr;
    FrameShare* share = nullptr;
};

/// One fan-out in progress: made by Dispatcher::post() with the dispatcher's
/// mutex held, handed to each recipient's Participant::queueInBatch(). It
/// encodes the event at most once per framing.
class FanOutBatch {
public:
    const Dispatcher& dispatcher() const { return dispatcher_; }
    /// The event's bytes in `framing`, encoded on first use; null when the
    /// event cannot be carried in that framing (too large). Only a recipient
    /// of this dispatcher may call it (the dispatcher's mutex is held).
    FrameShare* share(const Framing& framing);
    /// A recipient sets this when the dispatcher thread must be woken.
    bool mustWake = false;

private:
    friend class Dispatcher;
    FanOutBatch(const Dispatcher& dispatcher, const EventPtr& event) : dispatcher_(dispatcher), event_(event) {}
    const Dispatcher& dispatcher_;
    const EventPtr& event_;
    std::array<FrameShare*, Framing::kMaxFramings> shares_{};
    std::array<bool, Framing::kMaxFramings> tried_{};
};

/// Session threads only read; every write to a client connection happens on
/// this thread. An outbox with new frames is scheduled once (however many
/// frames arrive before it is flushed); the thread then sends what it has
/// queued in one write, so under load many frames share one system call. A
/// connection that would block is watched with epoll and flushed again when
/// writable.
///
/// The dispatcher's mutex guards its ready list, the global backlog and the
/// queue of every outbox made with it, so an event for a thousand members is
/// queued under one lock (post()). No socket is written while it is held.
///
/// Backpressure: the backlog is the bytes queued on outboxes whose
/// connections are writable, i.e. waiting only because the server is behind.
/// Reading threads call waitWhileBacklogged() before reading more requests;
/// above `backlogBudget` they wait until it falls below half of it, so TCP
/// slows the senders instead of the server cutting its readers. Bytes queued
/// behind a connection that refuses them (not writable) are that client's
/// own and count against its per-connection limit instead.
class Dispatcher final : public FanOut {
public:
    /// Starts the thread. Throws std::runtime_error if epoll or eventfd fail.
    explicit Dispatcher(std::size_t backlogBudget = 64 * 1024 * 1024);
    /// Stops and joins the thread; scheduled outboxes are dropped.
    ~Dispatcher() override;
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    /// Any thread: queues `event` on every participant in `to`, taking the
    /// lock once and waking the thread at most once; participants of other
    /// kinds get deliver() after the lock is released.
    void post(const std::vector<ParticipantPtr>& to, const EventPtr& event) override EXCLUDES(mutex_);

    /// Blocks while the backlog is over budget, until it falls below half
    /// of it or `deadline`. Returns true when reading may go on.
    bool waitWhileBacklogged(std::chrono::steady_clock::time_point deadline) EXCLUDES(mutex_);

    std::size_t backlogBytes() const EXCLUDES(mutex_);
    std::size_t backlogBudget() const { return backlogBudget_; }

private:
    friend class Outbox;
    friend class FanOutBatch;
    /// Puts `outbox` on the ready list. Returns true when the thread sleeps
    /// and must be woken with wake() once the lock is released.
    bool readyLocked(std::shared_ptr<Outbox> outbox) REQUIRES(mutex_);
    /// Adds (or, negative, removes) bytes waiting on writable connections.
    void addBacklogLocked(std::ptrdiff_t bytes) REQUIRES(mutex_);
    void wake();
    void run();
    void flushBatch(std::vector<std::shared_ptr<Outbox>>& batch) EXCLUDES(mutex_);
    void collectWritable(int timeoutMs, std::vector<std::shared_ptr<Outbox>>& batch);

    const std::size_t backlogBudget_;
    const int epollFd_;
    const int wakeFd_;
    mutable Mutex mutex_;
    CondVar backlogDrained_;  // notified (mutex_ held) when the backlog falls below half the budget
    std::vector<std::shared_ptr<Outbox>> ready_ GUARDED_BY(mutex_);
    std::size_t backlogBytes_ GUARDED_BY(mutex_) = 0;
    /// backlogBytes_ > backlogBudget_, written under mutex_ when it changes and
    /// read without it: the common case (not backlogged) costs readers no lock.
    std::atomic<bool> backlogged_{false};
    std::size_t backlogWaiters_ GUARDED_BY(mutex_) = 0;
    bool sleeping_ GUARDED_BY(mutex_) = false;  // the thread waits in epoll
    bool stopping_ GUARDED_BY(mutex_) = false;
    /// Outboxes waiting for their connection to become writable, by address
    /// (the epoll data); touched by the dispatcher thread only.
    std::unordered_map<const Outbox*, std::shared_ptr<Outbox>> waiting_;
    std::thread thread_;
};

}  // namespace chat

#pragma once
// The one thread that writes every connection's outbound bytes.

#include "server/participant.hpp"

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace chat {

class Outbox;

/// One frame queued on one or more outboxes of a flusher. `queued` counts
/// the queue entries that point here and is guarded by the flusher's mutex,
/// so queuing a frame on a thousand outboxes costs no atomic operation per
/// outbox; the entry that brings it to zero deletes the share.
struct FrameShare {
    SharedFrame frame;
    std::size_t queued = 0;
};

/// An outbox's queue entry: the bytes to send and the share that keeps them.
struct QueuedFrame {
    const std::string* bytes = nullptr;
    FrameShare* share = nullptr;
};

/// Session threads only read; every write to a client socket happens here.
/// An outbox with new frames is scheduled once (however many frames arrive
/// before it is flushed); the flusher then sends what it has queued in one
/// system call, so under load many frames share one write. A socket that
/// would block is watched with epoll and flushed again when writable. One
/// thread suffices: a write never blocks, and it costs a few microseconds
/// whatever the number of frames it carries.
///
/// The flusher's mutex guards its ready list and the queue of every outbox
/// made with it, so a frame for a thousand members is queued under one lock
/// (post()). No socket is written while it is held.
class Flusher {
public:
    /// Starts the thread. Throws std::runtime_error if epoll or eventfd fail.
    Flusher();
    /// Stops and joins the thread; scheduled outboxes are dropped.
    ~Flusher();
    Flusher(const Flusher&) = delete;
    Flusher& operator=(const Flusher&) = delete;

    /// Any thread: queues `frame` on every participant in `to`, each of which
    /// must be an Outbox made with this flusher, taking the lock once and
    /// waking the thread at most once. Equivalent to deliver() on each.
    void post(const std::vector<ParticipantPtr>& to, const SharedFrame& frame);

private:
    friend class Outbox;
    /// With mutex_ held: puts `outbox` on the ready list. Returns true when
    /// the thread sleeps and must be woken with wake() once the lock is released.
    bool readyLocked(std::shared_ptr<Outbox> outbox);
    void wake();
    void run();
    void flushBatch(std::vector<std::shared_ptr<Outbox>>& batch);
    void collectWritable(int timeoutMs, std::vector<std::shared_ptr<Outbox>>& batch);

    const int epollFd_;
    const int wakeFd_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<Outbox>> ready_;  // guarded by mutex_
    bool sleeping_ = false;                        // guarded by mutex_: the thread waits in epoll
    bool stopping_ = false;                        // guarded by mutex_
    /// Outboxes waiting for their socket to become writable, by address (the
    /// epoll data); touched by the flusher thread only.
    std::unordered_map<const Outbox*, std::shared_ptr<Outbox>> waiting_;
    std::thread thread_;
};

}  // namespace chat

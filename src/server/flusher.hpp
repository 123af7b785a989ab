#pragma once
// The one thread that writes every connection's outbound bytes.

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace chat {

class Outbox;

/// Session threads only read; every write to a client socket happens here.
/// An outbox with new bytes is scheduled once (however many frames arrive
/// before it is flushed); the flusher then sends everything it has queued
/// in one system call, so under load many frames share one write. A socket
/// that would block is watched with epoll and flushed again when writable.
/// One thread suffices: a write never blocks, and it costs a few
/// microseconds whatever the number of frames it carries.
class Flusher {
public:
    /// Starts the thread. Throws std::runtime_error if epoll or eventfd fail.
    Flusher();
    /// Stops and joins the thread; scheduled outboxes are dropped.
    ~Flusher();
    Flusher(const Flusher&) = delete;
    Flusher& operator=(const Flusher&) = delete;

    /// Any thread: asks for `outbox` to be flushed soon. Cheap; wakes the
    /// thread only when it is asleep. Inside a Batch on this thread the
    /// request waits until the Batch ends.
    void schedule(std::shared_ptr<Outbox> outbox);

    /// While a Batch lives, schedule() calls made on its thread for its
    /// flusher are gathered and handed over together when it ends: one lock
    /// and at most one wake-up for a message to a thousand members, and the
    /// flusher does not start writing before the last of them is queued.
    /// Batches nest: requests go to the innermost one for the same flusher.
    /// Never wait for a flush inside a Batch: its requests are not handed
    /// over yet.
    class Batch {
    public:
        explicit Batch(Flusher& flusher);
        ~Batch();
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;

    private:
        Flusher& flusher_;
        Batch* outer_;
        std::vector<std::shared_ptr<Outbox>> scheduled_;
        friend class Flusher;
    };

private:
    void scheduleAll(std::vector<std::shared_ptr<Outbox>>& outboxes);
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

#pragma once
// The bounded outbound byte queue of one connection, and the hub's handle to it.

#include "server/flusher.hpp"
#include "server/participant.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace chat {

/// Any thread may deliver() (or the flusher's post() for many outboxes at
/// once); the Flusher alone writes the queue to the socket (flush()); the
/// owning session thread reads the state and calls waitUntilFlushed() and
/// detachSocket(). The queue holds the shared frames
/// themselves, never copies: a message to a thousand members is one frame
/// queued a thousand times, and a flush copies up to 64 KiB of queued frames
/// into one buffer for one send().
///
/// A delivery that would take the queued bytes past the limit is dropped
/// and marks the outbox overflowed; memory per connection is therefore
/// bounded by the limit. Overflow, closeAfterFlush() and a failed write
/// wake the session thread by shutting down the socket's read side, so a
/// session blocked in poll() on its socket needs no other wake-up channel.
class Outbox final : public Participant, public std::enable_shared_from_this<Outbox> {
public:
    /// `fd` is the connection's socket, which must stay open until
    /// detachSocket() has returned. The flusher must outlive the outbox's use.
    Outbox(int fd, std::size_t maxQueuedBytes, Flusher& flusher);
    /// Lets go of every frame still queued.
    ~Outbox() override;
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    void deliver(const SharedFrame& frame) override;

    /// From now until sendFirst(), deliveries wait behind a frame not yet
    /// known: the session holds events while it joins the hub, so that its
    /// welcome is the first thing the peer reads.
    void hold();
    /// Queues `frame`, then everything delivered since hold().
    void sendFirst(const SharedFrame& frame);
    /// Later deliveries are dropped; the session sends what is queued and ends.
    void closeAfterFlush(const std::string& reason) override;

    bool overflowed() const;
    /// True once a write to the socket failed (reset, broken pipe).
    bool peerGone() const;
    /// Empty unless closeAfterFlush() was called; then its reason.
    std::string closeReason() const;
    std::size_t queuedBytes() const;

    /// Waits until everything queued has been written, the peer is gone, or
    /// `deadline`. Returns true when nothing is left to write.
    bool waitUntilFlushed(std::chrono::steady_clock::time_point deadline);

    /// From now on the outbox never touches the socket; waits for a write in
    /// progress. The session calls this before the socket is closed, so a
    /// reused descriptor number can never be written or shut down by mistake.
    void detachSocket();

    enum class FlushResult { Done, WouldBlock, More };
    /// Flusher thread only: writes what the non-blocking socket takes.
    /// WouldBlock: the socket is full and has been registered for EPOLLOUT
    /// (one-shot) in `epollFd` with this outbox's address as its data.
    /// More: bytes are still queued after a few writes; flush again later
    /// (so that one busy connection cannot hold up the others). Done: the
    /// queue is empty, the peer is gone or the socket detached.
    FlushResult flush(int epollFd);

private:
    friend class Flusher;
    /// The body of deliver(), with the flusher's mutex held. Returns true
    /// when the flusher must be woken once the mutex is released.
    bool queueLocked(FrameShare& share);
    /// Queues a frame of its own (not shared with other outboxes); same return.
    bool queueOwnLocked(const SharedFrame& frame);
    /// Hands the outbox to the flusher unless it is already there; same return.
    bool scheduleLocked();
    void wakeSessionLocked();

    const std::size_t maxQueuedBytes_;
    Flusher& flusher_;

    /// Held by flush() across its writes and by detachSocket(); taken before
    /// mutex_ when both are needed. Private to this connection: a slow write
    /// here never holds up another connection or the hub.
    std::mutex writeMutex_;
    std::vector<QueuedFrame> writing_;  // guarded by writeMutex_ (the entries' shares by mutex_): taken from pending_
    std::size_t next_ = 0;              // guarded by writeMutex_: first frame of writing_ not wholly sent
    std::size_t offset_ = 0;            // guarded by writeMutex_: bytes of writing_[next_] already sent

    /// The flusher's mutex, shared by all its outboxes: it guards the fields
    /// below marked so, and lets post() queue one frame on many outboxes
    /// under one lock. Held only for queue bookkeeping, never across a write.
    std::mutex& mutex_;
    std::condition_variable flushed_;  // notified (mutex_ held) when the queue empties or the peer goes
    int fd_;                       // written under writeMutex_ and mutex_ both; read under either; -1 once detached
    std::vector<QueuedFrame> pending_;  // guarded by mutex_: frames queued and not yet taken by flush()
    std::size_t queuedBytes_ = 0;  // guarded by mutex_: bytes of pending_ plus the unsent part of writing_
    bool scheduled_ = false;       // guarded by mutex_: in the flusher's hands (queued or awaiting EPOLLOUT)
    bool overflowed_ = false;      // guarded by mutex_
    bool peerGone_ = false;        // guarded by mutex_
    std::string closeReason_;      // guarded by mutex_
    bool holding_ = false;         // guarded by mutex_
    std::vector<QueuedFrame> held_;  // guarded by mutex_: deliveries during hold()
};

}  // namespace chat

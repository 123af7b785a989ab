#pragma once
// The bounded outbound queue of one connection, whatever its transport, and
// the hub's handle to it.

#include "server/dispatcher.hpp"
#include "server/framing.hpp"
#include "server/link.hpp"
#include "server/participant.hpp"
#include "shared/mutex.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chat {

/// Any thread may deliver() (or the dispatcher's post() for many outboxes at
/// once); the Dispatcher's thread alone writes the queue to the Link
/// (flush()); the owning session thread reads the state, waits with
/// waitUntilFlushed() and ends with detachLink(). The queue holds shared
/// wire bytes, never copies: a message to a thousand members of one
/// transport is one FrameShare queued a thousand times.
///
/// Slow consumers: only bytes queued while the connection refuses them (its
/// socket is not writable) count against `maxQueuedBytes`; when they pass it
/// the outbox is marked overflowed and later deliveries are dropped. Bytes
/// that wait because the server is behind count toward the dispatcher's
/// backlog instead, which slows the senders. The refused count starts again
/// each time the queue empties.
///
/// Overflow, closeAfterFlush() and a failed write call `wake` (with the
/// dispatcher's mutex held, so it must only signal the session's thread),
/// so the session thread looks at the outbox.
class Outbox final : public Participant, public std::enable_shared_from_this<Outbox> {
public:
    /// `link` and `framing` must outlive the outbox's use (until detachLink()
    /// returns); so must the dispatcher.
    Outbox(Link& link, const Framing& framing, std::size_t maxQueuedBytes, Dispatcher& dispatcher,
           std::function<void()> wake);
    /// Lets go of every frame still queued.
    ~Outbox() override;
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    void deliver(const EventPtr& event) override EXCLUDES(dispatcher_.mutex_);
    bool queueInBatch(FanOutBatch& batch) override;
    /// Queues bytes already in this connection's wire format (a WebSocket
    /// pong) behind what is queued, with the same limits as deliver().
    void deliverWire(std::string bytes) EXCLUDES(dispatcher_.mutex_);
    /// Later deliveries are dropped; the session sends what is queued and ends.
    void closeAfterFlush(const std::string& reason) override EXCLUDES(dispatcher_.mutex_);
    void sendLastAndClose(const EventPtr& last, const std::string& reason) override EXCLUDES(dispatcher_.mutex_);

    /// What the session checks on every turn of its loop, read under one lock.
    struct Status {
        bool overflowed = false;
        bool peerGone = false;
        std::string closeReason;  ///< empty unless closeAfterFlush() was called
    };
    Status status() const EXCLUDES(dispatcher_.mutex_);

    bool overflowed() const EXCLUDES(dispatcher_.mutex_);
    /// True once a write failed (reset, broken pipe).
    bool peerGone() const EXCLUDES(dispatcher_.mutex_);
    /// Empty unless closeAfterFlush() was called; then its reason.
    std::string closeReason() const EXCLUDES(dispatcher_.mutex_);
    std::size_t queuedBytes() const EXCLUDES(dispatcher_.mutex_);

    /// Waits until everything queued has been written, the peer is gone, or
    /// `deadline`. Returns true when nothing is left to write.
    bool waitUntilFlushed(std::chrono::steady_clock::time_point deadline) EXCLUDES(dispatcher_.mutex_);

    /// From now on the outbox never touches the link; waits for a write in
    /// progress. The session calls this before the socket is closed, so a
    /// reused descriptor can never be written by mistake.
    void detachLink() EXCLUDES(writeMutex_, dispatcher_.mutex_);

    enum class FlushResult { Done, WouldBlock, More };
    /// Dispatcher thread only: writes what the link takes without blocking.
    /// WouldBlock: the link is full and its fd has been registered for
    /// EPOLLOUT (one-shot) in `epollFd` with this outbox's address as data;
    /// or the link waits for its own input, and retryWrite() will schedule
    /// the outbox again.
    /// More: bytes are still queued after a few writes; flush again later
    /// (so that one busy connection cannot hold up the others). Done: the
    /// queue is empty, the peer is gone or the link detached.
    FlushResult flush(int epollFd) EXCLUDES(writeMutex_, dispatcher_.mutex_);
    /// Dispatcher thread only: the link reported writable again.
    void writable() EXCLUDES(dispatcher_.mutex_);
    /// The session thread, when a read says the writer may retry
    /// (Link::Result::writerMayRetry): a flush that waited for the link's
    /// input (a TLS write before the handshake finished) is scheduled again.
    void retryWrite() EXCLUDES(dispatcher_.mutex_);

private:
    /// Encodes `event` for this outbox alone and queues it; then, when
    /// `thenClose` is given, closes under the same lock.
    void queueOwn(const EventPtr& event, const std::string* thenClose) EXCLUDES(dispatcher_.mutex_);
    /// Queues `share`; returns true when the dispatcher must be woken.
    bool queueLocked(FrameShare& share) REQUIRES(dispatcher_.mutex_);
    bool scheduleLocked() REQUIRES(dispatcher_.mutex_);
    void closeLocked(const std::string& reason) REQUIRES(dispatcher_.mutex_);
    /// Bytes this outbox adds to the dispatcher's backlog.
    std::size_t backlogShareLocked() const REQUIRES(dispatcher_.mutex_);
    void wakeSessionLocked() REQUIRES(dispatcher_.mutex_);
    /// flush(): releases the frames the last write completed (from
    /// `firstSent` up to next_) and takes its `sent` bytes off the counts;
    /// then both describe nothing left to account for.
    void accountSentLocked(std::size_t& firstSent, std::size_t& sent) REQUIRES(writeMutex_, dispatcher_.mutex_);

    Link& link_;
    const Framing& framing_;
    const std::size_t maxQueuedBytes_;
    Dispatcher& dispatcher_;
    const std::function<void()> wake_;

    /// Held by flush() across its writes and by detachLink(); taken before
    /// the dispatcher's mutex when both are needed. Private to this
    /// connection: a slow write here never holds up another connection.
    Mutex writeMutex_;
    std::vector<QueuedFrame> writing_ GUARDED_BY(writeMutex_);  // taken from pending_ (shares: dispatcher mutex)
    std::size_t next_ GUARDED_BY(writeMutex_) = 0;    // first frame of writing_ not wholly sent
    std::size_t offset_ GUARDED_BY(writeMutex_) = 0;  // bytes of writing_[next_] already sent

    CondVar flushed_;  // notified (dispatcher mutex held) when the queue empties or the peer goes
    bool attached_ GUARDED_BY(dispatcher_.mutex_) = true;  // false once detachLink() ran
    std::vector<QueuedFrame> pending_ GUARDED_BY(dispatcher_.mutex_);  // queued, not yet taken by flush()
    std::size_t queuedBytes_ GUARDED_BY(dispatcher_.mutex_) = 0;  // pending_ plus the unsent part of writing_
    std::size_t refusedBytes_ GUARDED_BY(dispatcher_.mutex_) = 0; // queued while blocked_, since the queue last emptied
    bool blocked_ GUARDED_BY(dispatcher_.mutex_) = false;    // the link refused a write; awaiting EPOLLOUT
    bool scheduled_ GUARDED_BY(dispatcher_.mutex_) = false;  // in the dispatcher's hands (ready or waiting)
    bool overflowed_ GUARDED_BY(dispatcher_.mutex_) = false;
    bool peerGone_ GUARDED_BY(dispatcher_.mutex_) = false;
    std::string closeReason_ GUARDED_BY(dispatcher_.mutex_);
};

}  // namespace chat

#pragma once
// The bounded outbound queue of one connection, and the hub's handle to it.

#include "server/participant.hpp"

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

namespace chat {

/// Any thread may deliver(); only the owning session thread calls
/// writeTo(), pending(), clearWake(). A delivery that would take the queued
/// bytes past the limit is dropped and marks the outbox overflowed: the
/// session then disconnects the peer as a slow consumer. Memory per
/// connection is therefore bounded by the limit plus one frame.
class Outbox final : public Participant {
public:
    explicit Outbox(std::size_t maxQueuedBytes);
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
    void closeAfterFlush(const std::string& reason) override;

    /// Readable (an eventfd) whenever there is something new for the session
    /// thread to look at: frames, a close request or an overflow.
    int wakeFd() const { return wakeFd_; }
    void clearWake();

    enum class WriteStatus { Ok, WouldBlock, PeerGone };
    /// Writes as much of the queue as the non-blocking socket `fd` takes,
    /// many frames per system call.
    WriteStatus writeTo(int fd);

    bool pending() const;
    bool overflowed() const;
    /// Empty unless closeAfterFlush() was called; then its reason.
    std::string closeReason() const;
    std::size_t queuedBytes() const;

private:
    void wake();

    const std::size_t maxQueuedBytes_;
    const int wakeFd_;
    mutable std::mutex mutex_;
    std::deque<SharedFrame> frames_;  // guarded by mutex_; only the session pops
    std::size_t headOffset_ = 0;      // guarded by mutex_: bytes of frames_.front() already sent
    std::size_t queuedBytes_ = 0;     // guarded by mutex_
    bool overflowed_ = false;         // guarded by mutex_
    std::string closeReason_;         // guarded by mutex_
    bool holding_ = false;            // guarded by mutex_
    std::deque<SharedFrame> held_;    // guarded by mutex_: deliveries during hold()
};

}  // namespace chat

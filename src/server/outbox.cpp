#include "server/outbox.hpp"

#include "server/flusher.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>

namespace chat {

namespace {
/// Writes per flush() before other connections get their turn.
constexpr int kWritesPerTurn = 4;
/// Bytes gathered into one send(), at least one whole frame.
constexpr std::size_t kBytesPerWrite = 64 * 1024;
/// An idle connection keeps room for at most this many queued frames.
constexpr std::size_t kKeptCapacity = 1024;

void armWritable(int epollFd, int fd, const void* key) {
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLONESHOT;
    event.data.ptr = const_cast<void*>(key);
    if (::epoll_ctl(epollFd, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT)
        ::epoll_ctl(epollFd, EPOLL_CTL_ADD, fd, &event);
}

void releaseIfLarge(std::vector<QueuedFrame>& frames) {
    if (frames.capacity() > kKeptCapacity) std::vector<QueuedFrame>().swap(frames);
}

/// With the flusher's mutex held: drops one queue entry's claim on its share.
void releaseLocked(QueuedFrame& entry) {
    if (entry.share && --entry.share->queued == 0) delete entry.share;
    entry = {};
}
}  // namespace

Outbox::Outbox(int fd, std::size_t maxQueuedBytes, Flusher& flusher)
    : maxQueuedBytes_(maxQueuedBytes), flusher_(flusher), mutex_(flusher.mutex_), fd_(fd) {}

Outbox::~Outbox() {
    std::lock_guard lock(mutex_);
    for (auto& entry : writing_) releaseLocked(entry);
    for (auto& entry : pending_) releaseLocked(entry);
    for (auto& entry : held_) releaseLocked(entry);
}

void Outbox::deliver(const SharedFrame& frame) {
    bool mustWake;
    {
        std::lock_guard lock(mutex_);
        mustWake = queueOwnLocked(frame);
    }
    if (mustWake) flusher_.wake();
}

bool Outbox::queueOwnLocked(const SharedFrame& frame) {
    auto* share = new FrameShare{frame};
    const bool mustWake = queueLocked(*share);
    if (share->queued == 0) delete share;
    return mustWake;
}

bool Outbox::queueLocked(FrameShare& share) {
    if (overflowed_ || peerGone_ || !closeReason_.empty() || fd_ < 0) return false;
    const std::size_t size = share.frame->size();
    if (queuedBytes_ + size > maxQueuedBytes_) {
        overflowed_ = true;
        wakeSessionLocked();
        return false;
    }
    queuedBytes_ += size;
    ++share.queued;
    const QueuedFrame entry{share.frame.get(), &share};
    if (holding_) {
        held_.push_back(entry);
        return false;
    }
    pending_.push_back(entry);
    return scheduleLocked();
}

void Outbox::hold() {
    std::lock_guard lock(mutex_);
    holding_ = true;
}

void Outbox::sendFirst(const SharedFrame& frame) {
    bool mustWake;
    {
        std::lock_guard lock(mutex_);
        holding_ = false;
        if (fd_ < 0 || peerGone_) return;
        auto* share = new FrameShare{frame, 1};
        pending_.push_back({frame.get(), share});
        pending_.insert(pending_.end(), held_.begin(), held_.end());
        queuedBytes_ += frame->size();
        std::vector<QueuedFrame>().swap(held_);
        mustWake = scheduleLocked();
    }
    if (mustWake) flusher_.wake();
}

bool Outbox::scheduleLocked() {
    if (scheduled_) return false;
    scheduled_ = true;
    return flusher_.readyLocked(shared_from_this());
}

void Outbox::closeAfterFlush(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (!closeReason_.empty()) return;
    closeReason_ = reason.empty() ? "closed" : reason;
    wakeSessionLocked();
}

void Outbox::wakeSessionLocked() {
    // poll() on the socket now reports it readable and recv() returns 0.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RD);
    flushed_.notify_all();
}

bool Outbox::overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
}

bool Outbox::peerGone() const {
    std::lock_guard lock(mutex_);
    return peerGone_;
}

std::string Outbox::closeReason() const {
    std::lock_guard lock(mutex_);
    return closeReason_;
}

std::size_t Outbox::queuedBytes() const {
    std::lock_guard lock(mutex_);
    return queuedBytes_;
}

bool Outbox::waitUntilFlushed(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    flushed_.wait_until(lock, deadline, [this] { return queuedBytes_ == 0 || peerGone_ || fd_ < 0; });
    return queuedBytes_ == 0;
}

void Outbox::detachSocket() {
    bool mustWake = false;
    {
        std::lock_guard writeLock(writeMutex_);
        std::lock_guard lock(mutex_);
        fd_ = -1;
        // If the flusher holds us waiting for EPOLLOUT, this lets it let go.
        if (scheduled_) mustWake = flusher_.readyLocked(shared_from_this());
        flushed_.notify_all();
    }
    if (mustWake) flusher_.wake();
}

Outbox::FlushResult Outbox::flush(int epollFd) {
    std::lock_guard writeLock(writeMutex_);
    for (int turn = 0;; ++turn) {
        if (next_ == writing_.size()) {
            writing_.clear();
            next_ = offset_ = 0;
            std::lock_guard lock(mutex_);
            if (pending_.empty() || fd_ < 0 || peerGone_) {
                scheduled_ = false;
                for (auto& entry : pending_) releaseLocked(entry);  // never to be sent when the peer is gone
                pending_.clear();
                releaseIfLarge(writing_);
                releaseIfLarge(pending_);
                flushed_.notify_all();
                return FlushResult::Done;
            }
            if (turn >= kWritesPerTurn) return FlushResult::More;
            writing_.swap(pending_);
        } else if (turn >= kWritesPerTurn) {
            return FlushResult::More;
        }
        // One contiguous buffer per write: the frames are hot in cache and a
        // memcpy here is far cheaper than the kernel walking many small iovecs.
        thread_local std::string scratch;
        scratch.clear();
        for (std::size_t i = next_; i < writing_.size() && scratch.size() < kBytesPerWrite; ++i) {
            const std::string& bytes = *writing_[i].bytes;
            const std::size_t skip = i == next_ ? offset_ : 0;
            scratch.append(bytes, skip, std::string::npos);
        }
        const ssize_t sent = ::send(fd_, scratch.data(), scratch.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                armWritable(epollFd, fd_, this);
                return FlushResult::WouldBlock;
            }
            std::lock_guard lock(mutex_);
            peerGone_ = true;
            scheduled_ = false;
            wakeSessionLocked();
            return FlushResult::Done;
        }
        const std::size_t firstSent = next_;
        for (std::size_t left = static_cast<std::size_t>(sent); left > 0;) {
            const std::size_t rest = writing_[next_].bytes->size() - offset_;
            if (left < rest) {
                offset_ += left;
                break;
            }
            left -= rest;
            ++next_;
            offset_ = 0;
        }
        std::lock_guard lock(mutex_);
        for (std::size_t i = firstSent; i < next_; ++i) releaseLocked(writing_[i]);  // sent: no need to wait for the rest
        queuedBytes_ -= static_cast<std::size_t>(sent);
        if (queuedBytes_ == 0) flushed_.notify_all();
    }
}

}  // namespace chat

#include "server/outbox.hpp"

#include <sys/epoll.h>

#include <cerrno>
#include <optional>
#include <stdexcept>

namespace chat {

namespace {
/// Writes per flush() before other connections get their turn.
constexpr int kWritesPerTurn = 4;
/// Bytes gathered into one write, at least one whole frame.
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

/// With the dispatcher's mutex held: drops one queue entry's claim on its share.
void release(QueuedFrame& entry) {
    if (entry.share && --entry.share->queued == 0) delete entry.share;
    entry = {};
}
}  // namespace

Outbox::Outbox(Link& link, const Framing& framing, std::size_t maxQueuedBytes, Dispatcher& dispatcher,
               std::function<void()> wake)
    : link_(link), framing_(framing), maxQueuedBytes_(maxQueuedBytes), dispatcher_(dispatcher), wake_(std::move(wake)) {}

Outbox::~Outbox() {
    MutexLock writeLock(writeMutex_);
    MutexLock lock(dispatcher_.mutex_);
    dispatcher_.addBacklogLocked(-static_cast<std::ptrdiff_t>(backlogShareLocked()));
    for (auto& entry : writing_) release(entry);
    for (auto& entry : pending_) release(entry);
}

void Outbox::deliver(const EventPtr& event) { queueOwn(event, nullptr); }

void Outbox::queueOwn(const EventPtr& event, const std::string* thenClose) {
    std::optional<std::string> bytes;
    try {
        bytes = framing_.encode(event->payload);
    } catch (const std::length_error&) {
        // never sent in part; the conversation measures its answers first
    }
    bool mustWake = false;
    {
        MutexLock lock(dispatcher_.mutex_);
        if (bytes) {
            auto* share = new FrameShare{std::move(*bytes)};
            mustWake = queueLocked(*share);
            if (share->queued == 0) delete share;
        }
        if (thenClose) closeLocked(*thenClose);
    }
    if (mustWake) dispatcher_.wake();
}

void Outbox::deliverWire(std::string bytes) {
    bool mustWake = false;
    {
        MutexLock lock(dispatcher_.mutex_);
        auto* share = new FrameShare{std::move(bytes)};
        mustWake = queueLocked(*share);
        if (share->queued == 0) delete share;
    }
    if (mustWake) dispatcher_.wake();
}

bool Outbox::queueInBatch(FanOutBatch& batch) {
    if (&batch.dispatcher() != &dispatcher_) return false;
    dispatcher_.mutex_.assertHeld();  // post() holds it: the batch is ours
    if (auto* share = batch.share(framing_)) batch.mustWake |= queueLocked(*share);
    return true;
}

std::size_t Outbox::backlogShareLocked() const {
    return attached_ && !blocked_ && !peerGone_ && !overflowed_ ? queuedBytes_ : 0;
}

bool Outbox::queueLocked(FrameShare& share) {
    if (overflowed_ || peerGone_ || !closeReason_.empty() || !attached_) return false;
    const std::size_t size = share.bytes.size();
    if (blocked_) {
        if (refusedBytes_ + size > maxQueuedBytes_) {
            overflowed_ = true;
            wakeSessionLocked();
            return false;
        }
        refusedBytes_ += size;
    } else {
        dispatcher_.addBacklogLocked(static_cast<std::ptrdiff_t>(size));
    }
    queuedBytes_ += size;
    ++share.queued;
    pending_.push_back({&share.bytes, &share});
    return scheduleLocked();
}

bool Outbox::scheduleLocked() {
    if (scheduled_) return false;
    scheduled_ = true;
    return dispatcher_.readyLocked(shared_from_this());
}

void Outbox::closeAfterFlush(const std::string& reason) {
    MutexLock lock(dispatcher_.mutex_);
    closeLocked(reason);
}

void Outbox::sendLastAndClose(const EventPtr& last, const std::string& reason) { queueOwn(last, &reason); }

void Outbox::closeLocked(const std::string& reason) {
    if (!closeReason_.empty()) return;
    closeReason_ = reason.empty() ? "closed" : reason;
    wakeSessionLocked();
}

void Outbox::wakeSessionLocked() {
    if (wake_ && attached_) wake_();  // after detachLink() the session (and what wake_ uses) may be gone
    flushed_.notifyAll();
}

Outbox::Status Outbox::status() const {
    MutexLock lock(dispatcher_.mutex_);
    return {overflowed_, peerGone_, closeReason_};
}

bool Outbox::overflowed() const {
    MutexLock lock(dispatcher_.mutex_);
    return overflowed_;
}

bool Outbox::peerGone() const {
    MutexLock lock(dispatcher_.mutex_);
    return peerGone_;
}

std::string Outbox::closeReason() const {
    MutexLock lock(dispatcher_.mutex_);
    return closeReason_;
}

std::size_t Outbox::queuedBytes() const {
    MutexLock lock(dispatcher_.mutex_);
    return queuedBytes_;
}

bool Outbox::waitUntilFlushed(std::chrono::steady_clock::time_point deadline) {
    MutexLock lock(dispatcher_.mutex_);
    while (queuedBytes_ != 0 && !peerGone_ && attached_)
        if (!flushed_.waitUntil(dispatcher_.mutex_, deadline)) break;
    return queuedBytes_ == 0;
}

void Outbox::detachLink() {
    bool mustWake = false;
    {
        MutexLock writeLock(writeMutex_);
        MutexLock lock(dispatcher_.mutex_);
        dispatcher_.addBacklogLocked(-static_cast<std::ptrdiff_t>(backlogShareLocked()));
        attached_ = false;
        // If the dispatcher holds us waiting for EPOLLOUT, this lets it let go.
        if (scheduled_) mustWake = dispatcher_.readyLocked(shared_from_this());
        flushed_.notifyAll();
    }
    if (mustWake) dispatcher_.wake();
}

void Outbox::writable() {
    MutexLock lock(dispatcher_.mutex_);
    if (!blocked_) return;
    const auto before = backlogShareLocked();
    blocked_ = false;
    dispatcher_.addBacklogLocked(static_cast<std::ptrdiff_t>(backlogShareLocked()) - static_cast<std::ptrdiff_t>(before));
}

void Outbox::retryWrite() {
    bool mustWake = false;
    {
        MutexLock lock(dispatcher_.mutex_);
        if (scheduled_ && attached_) mustWake = dispatcher_.readyLocked(shared_from_this());
    }
    if (mustWake) dispatcher_.wake();
}

Outbox::FlushResult Outbox::flush(int epollFd) {
    MutexLock writeLock(writeMutex_);
    // What the last write sent, accounted for at the next turn's lock: one
    // lock round per write, not two.
    std::size_t firstSent = next_, sent = 0;
    for (int turn = 0;; ++turn) {
        {
            MutexLock lock(dispatcher_.mutex_);
            accountSentLocked(firstSent, sent);
            // detachLink() needs writeMutex_, so what this sees holds until
            // the next turn: once detached, the link may already be
            // destroyed, and a frame left half-written must not be continued.
            if (!attached_ || peerGone_) {
                scheduled_ = false;
                for (auto& entry : pending_) release(entry);  // never to be sent
                pending_.clear();
                queuedBytes_ = refusedBytes_ = 0;
                flushed_.notifyAll();
                return FlushResult::Done;
            }
            if (next_ == writing_.size()) {
                writing_.clear();
                next_ = offset_ = 0;
                if (pending_.empty()) {
                    scheduled_ = false;
                    dispatcher_.addBacklogLocked(-static_cast<std::ptrdiff_t>(backlogShareLocked()));
                    queuedBytes_ = refusedBytes_ = 0;
                    releaseIfLarge(writing_);
                    releaseIfLarge(pending_);
                    flushed_.notifyAll();
                    return FlushResult::Done;
                }
                if (turn >= kWritesPerTurn) return FlushResult::More;
                writing_.swap(pending_);
            } else if (turn >= kWritesPerTurn) {
                return FlushResult::More;
            }
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
        const auto result = link_.write(scratch.data(), scratch.size());
        if (result.status == Link::Status::WouldBlock && result.wait == Link::Wait::Read) {
            // Not the peer refusing bytes: the link's reader will call
            // retryWrite(). The bytes stay in the backlog meanwhile.
            return FlushResult::WouldBlock;
        }
        if (result.status == Link::Status::WouldBlock) {
            armWritable(epollFd, link_.fd(), this);
            MutexLock lock(dispatcher_.mutex_);
            const auto before = backlogShareLocked();
            blocked_ = true;
            dispatcher_.addBacklogLocked(-static_cast<std::ptrdiff_t>(before));
            return FlushResult::WouldBlock;
        }
        if (result.status != Link::Status::Ok) {
            MutexLock lock(dispatcher_.mutex_);
            dispatcher_.addBacklogLocked(-static_cast<std::ptrdiff_t>(backlogShareLocked()));
            peerGone_ = true;
            scheduled_ = false;
            wakeSessionLocked();
            return FlushResult::Done;
        }
        sent = result.bytes;
        firstSent = next_;
        for (std::size_t left = sent; left > 0;) {
            const std::size_t rest = writing_[next_].bytes->size() - offset_;
            if (left < rest) {
                offset_ += left;
                break;
            }
            left -= rest;
            ++next_;
            offset_ = 0;
        }
    }
}

void Outbox::accountSentLocked(std::size_t& firstSent, std::size_t& sent) {
    if (sent == 0) return;
    for (std::size_t i = firstSent; i < next_; ++i) release(writing_[i]);  // sent: no need to wait for the rest
    dispatcher_.addBacklogLocked(-static_cast<std::ptrdiff_t>(blocked_ ? 0 : sent));
    queuedBytes_ -= sent;
    if (queuedBytes_ == 0) {
        refusedBytes_ = 0;
        flushed_.notifyAll();
    }
    firstSent = next_;
    sent = 0;
}

}  // namespace chat

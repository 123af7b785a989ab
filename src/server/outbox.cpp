#include "server/outbox.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace chat {

namespace {
constexpr std::size_t kMaxIovecs = 64;

int makeEventFd() {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::runtime_error("eventfd failed: out of file descriptors?");
    return fd;
}
}  // namespace

Outbox::Outbox(std::size_t maxQueuedBytes) : maxQueuedBytes_(maxQueuedBytes), wakeFd_(makeEventFd()) {}

Outbox::~Outbox() { ::close(wakeFd_); }

void Outbox::deliver(const SharedFrame& frame) {
    bool wasEmpty;
    {
        std::lock_guard lock(mutex_);
        if (overflowed_ || !closeReason_.empty()) return;
        if (queuedBytes_ + frame->size() > maxQueuedBytes_) {
            overflowed_ = true;
            wasEmpty = true;
        } else if (holding_) {
            held_.push_back(frame);
            queuedBytes_ += frame->size();
            return;
        } else {
            wasEmpty = frames_.empty();
            frames_.push_back(frame);
            queuedBytes_ += frame->size();
        }
    }
    if (wasEmpty) wake();
}

void Outbox::hold() {
    std::lock_guard lock(mutex_);
    holding_ = true;
}

void Outbox::sendFirst(const SharedFrame& frame) {
    {
        std::lock_guard lock(mutex_);
        holding_ = false;
        frames_.push_back(frame);
        queuedBytes_ += frame->size();
        for (auto& held : held_) frames_.push_back(std::move(held));
        held_.clear();
    }
    wake();
}

void Outbox::closeAfterFlush(const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (!closeReason_.empty()) return;
        closeReason_ = reason.empty() ? "closed" : reason;
    }
    wake();
}

void Outbox::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
}

void Outbox::clearWake() {
    std::uint64_t value;
    [[maybe_unused]] auto n = ::read(wakeFd_, &value, sizeof value);
}

Outbox::WriteStatus Outbox::writeTo(int fd) {
    for (;;) {
        std::array<iovec, kMaxIovecs> iov{};
        std::size_t count = 0;
        {
            std::lock_guard lock(mutex_);
            // deque::push_back keeps references valid, and only this thread
            // pops, so the pointers stay good after the lock is released.
            for (const auto& frame : frames_) {
                if (count == kMaxIovecs) break;
                const std::size_t skip = count == 0 ? headOffset_ : 0;
                iov[count].iov_base = const_cast<char*>(frame->data() + skip);
                iov[count].iov_len = frame->size() - skip;
                ++count;
            }
        }
        if (count == 0) return WriteStatus::Ok;
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = count;
        const ssize_t written = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteStatus::WouldBlock;
            return WriteStatus::PeerGone;
        }
        std::size_t left = static_cast<std::size_t>(written);
        std::lock_guard lock(mutex_);
        queuedBytes_ -= left;
        while (left > 0) {
            const std::size_t rest = frames_.front()->size() - headOffset_;
            if (left >= rest) {
                left -= rest;
                frames_.pop_front();
                headOffset_ = 0;
            } else {
                headOffset_ += left;
                left = 0;
            }
        }
    }
}

bool Outbox::pending() const {
    std::lock_guard lock(mutex_);
    return queuedBytes_ > 0;
}

bool Outbox::overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
}

std::string Outbox::closeReason() const {
    std::lock_guard lock(mutex_);
    return closeReason_;
}

std::size_t Outbox::queuedBytes() const {
    std::lock_guard lock(mutex_);
    return queuedBytes_;
}

}  // namespace chat

#include "server/flusher.hpp"

#include "server/outbox.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace chat {

namespace {
int makeEpoll() {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw std::runtime_error("epoll_create1 failed: out of file descriptors?");
    return fd;
}

int makeEventFd(int epollFd) {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::runtime_error("eventfd failed: out of file descriptors?");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;  // the wake-up; outboxes have their own address here
    ::epoll_ctl(epollFd, EPOLL_CTL_ADD, fd, &event);
    return fd;
}
}  // namespace

Flusher::Flusher() : epollFd_(makeEpoll()), wakeFd_(makeEventFd(epollFd_)), thread_([this] { run(); }) {}

Flusher::~Flusher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake();
    thread_.join();
    ::close(wakeFd_);
    ::close(epollFd_);
}

void Flusher::post(const std::vector<ParticipantPtr>& to, const SharedFrame& frame) {
    auto* share = new FrameShare{frame};
    bool mustWake = false;
    bool unused;
    {
        std::lock_guard lock(mutex_);
        for (const auto& participant : to) mustWake |= static_cast<Outbox&>(*participant).queueLocked(*share);
        unused = share->queued == 0;
    }
    if (unused) delete share;
    if (mustWake) wake();
}

bool Flusher::readyLocked(std::shared_ptr<Outbox> outbox) {
    ready_.push_back(std::move(outbox));
    if (!sleeping_) return false;
    sleeping_ = false;
    return true;
}

void Flusher::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
}

void Flusher::run() {
    std::vector<std::shared_ptr<Outbox>> batch;
    for (;;) {
        bool asleep;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            batch.swap(ready_);
            asleep = sleeping_ = batch.empty();
        }
        // Wait (-1) only when nothing is scheduled; otherwise just pick up the
        // sockets that have become writable since the last round.
        collectWritable(asleep ? -1 : 0, batch);
        if (asleep) {
            std::lock_guard lock(mutex_);
            sleeping_ = false;
        }
        flushBatch(batch);
        batch.clear();
    }
}

void Flusher::collectWritable(int timeoutMs, std::vector<std::shared_ptr<Outbox>>& batch) {
    std::array<epoll_event, 256> events;
    const int count = ::epoll_wait(epollFd_, events.data(), static_cast<int>(events.size()), timeoutMs);
    for (int i = 0; i < count; ++i) {
        const auto* key = static_cast<const Outbox*>(events[i].data.ptr);
        if (key == nullptr) {
            std::uint64_t value;
            [[maybe_unused]] auto n = ::read(wakeFd_, &value, sizeof value);
            continue;
        }
        auto found = waiting_.find(key);
        if (found == waiting_.end()) continue;  // a stale event for an outbox already done
        batch.push_back(std::move(found->second));
        waiting_.erase(found);
    }
}

void Flusher::flushBatch(std::vector<std::shared_ptr<Outbox>>& batch) {
    std::vector<std::shared_ptr<Outbox>> again;
    for (auto& outbox : batch) {
        switch (outbox->flush(epollFd_)) {
            case Outbox::FlushResult::WouldBlock:
                waiting_[outbox.get()] = outbox;
                break;
            case Outbox::FlushResult::More:
                again.push_back(std::move(outbox));
                break;
            case Outbox::FlushResult::Done:
                waiting_.erase(outbox.get());
                break;
        }
    }
    if (again.empty()) return;
    std::lock_guard lock(mutex_);
    for (auto& outbox : again) ready_.push_back(std::move(outbox));
}

}  // namespace chat

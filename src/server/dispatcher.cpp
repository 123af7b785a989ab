#include "server/dispatcher.hpp"

#include "server/outbox.hpp"

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

FrameShare* FanOutBatch::share(const Framing& framing) {
    const std::size_t i = framing.index();
    if (!tried_[i]) {
        tried_[i] = true;
        try {
            shares_[i] = new FrameShare{framing.encode(event_->payload)};
        } catch (const std::length_error&) {
            shares_[i] = nullptr;  // the hub never makes such events; nothing to send
        }
    }
    return shares_[i];
}

Dispatcher::Dispatcher(std::size_t backlogBudget)
    : backlogBudget_(backlogBudget), epollFd_(makeEpoll()), wakeFd_(makeEventFd(epollFd_)), thread_([this] { run(); }) {}

Dispatcher::~Dispatcher() {
    {
        MutexLock lock(mutex_);
        stopping_ = true;
        backlogDrained_.notifyAll();
    }
    wake();
    thread_.join();
    ::close(wakeFd_);
    ::close(epollFd_);
}

void Dispatcher::post(const std::vector<ParticipantPtr>& to, const EventPtr& event) {
    FanOutBatch batch(*this, event);
    std::vector<Participant*> others;
    {
        MutexLock lock(mutex_);
        for (const auto& participant : to)
            if (!participant->queueInBatch(batch)) others.push_back(participant.get());
        for (auto*& share : batch.shares_)
            if (share && share->queued == 0) delete share;
    }
    if (batch.mustWake) wake();
    for (auto* participant : others) participant->deliver(event);
}

bool Dispatcher::waitWhileBacklogged(std::chrono::steady_clock::time_point deadline) {
    if (!backlogged_.load(std::memory_order_relaxed)) return true;
    MutexLock lock(mutex_);
    if (backlogBytes_ <= backlogBudget_) return true;
    ++backlogWaiters_;
    while (backlogBytes_ > backlogBudget_ / 2 && !stopping_)
        if (!backlogDrained_.waitUntil(mutex_, deadline)) break;
    --backlogWaiters_;
    return backlogBytes_ <= backlogBudget_ / 2 || stopping_;
}

std::size_t Dispatcher::backlogBytes() const {
    MutexLock lock(mutex_);
    return backlogBytes_;
}

void Dispatcher::addBacklogLocked(std::ptrdiff_t bytes) {
    backlogBytes_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(backlogBytes_) + bytes);
    const bool over = backlogBytes_ > backlogBudget_;
    if (backlogged_.load(std::memory_order_relaxed) != over) backlogged_.store(over, std::memory_order_relaxed);
    if (bytes < 0 && backlogWaiters_ > 0 && backlogBytes_ <= backlogBudget_ / 2) backlogDrained_.notifyAll();
}

bool Dispatcher::readyLocked(std::shared_ptr<Outbox> outbox) {
    ready_.push_back(std::move(outbox));
    if (!sleeping_) return false;
    sleeping_ = false;
    return true;
}

void Dispatcher::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
}

void Dispatcher::run() {
    std::vector<std::shared_ptr<Outbox>> batch;
    for (;;) {
        bool asleep;
        {
            MutexLock lock(mutex_);
            if (stopping_) return;
            batch.swap(ready_);
            asleep = sleeping_ = batch.empty();
        }
        // Wait (-1) only when nothing is scheduled; otherwise just pick up the
        // connections that have become writable since the last round.
        collectWritable(asleep ? -1 : 0, batch);
        if (asleep) {
            MutexLock lock(mutex_);
            sleeping_ = false;
        }
        flushBatch(batch);
        batch.clear();
    }
}

void Dispatcher::collectWritable(int timeoutMs, std::vector<std::shared_ptr<Outbox>>& batch) {
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
        found->second->writable();
        batch.push_back(std::move(found->second));
        waiting_.erase(found);
    }
}

void Dispatcher::flushBatch(std::vector<std::shared_ptr<Outbox>>& batch) {
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
    MutexLock lock(mutex_);
    for (auto& outbox : again) ready_.push_back(std::move(outbox));
}

}  // namespace chat

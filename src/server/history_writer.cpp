#include "server/history_writer.hpp"

#include <spdlog/spdlog.h>

#include <iterator>

namespace chat {
namespace {

/// Failed ranges remembered for waitStored(); a long outage with one reason
/// is one range, so this is only reached by reasons that keep changing.
constexpr std::size_t kMaxFailures = 10000;

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

SqliteHistory::SqliteHistory(HistoryOptions options, HistoryTestHooks hooks)
    : options_(options),
      afterCommit_(std::move(hooks.afterCommit)),
      pruneInterval_(hooks.pruneInterval.count() > 0 ? std::chrono::steady_clock::duration(hooks.pruneInterval)
                                                     : std::chrono::steady_clock::duration(kPruneInterval)),
      gatherWindow_(hooks.gatherWindow.count() > 0 ? std::chrono::steady_clock::duration(hooks.gatherWindow)
                                                   : std::chrono::steady_clock::duration(kGatherWindow)),
      store_(std::move(options), hooks.store),
      nextPrune_(std::chrono::steady_clock::now() + pruneInterval_),
      writer_([this] { run(); }) {}

SqliteHistory::~SqliteHistory() {
    {
        MutexLock lock(mutex_);
        stopping_ = true;
    }
    workQueued_.notifyAll();
    writer_.join();
}

HistorySnapshot SqliteHistory::load(std::size_t recentPerRoom) {
    waitQueuedWork();
    MutexLock db(dbMutex_);
    return store_.load(recentPerRoom);
}

History::Ticket SqliteHistory::record(StoredEvent event) {
    Item item;
    item.event = std::move(event);
    return enqueue(std::move(item));
}

void SqliteHistory::markRead(const std::string& userKey, const std::string& roomKey, const ReadMark& mark) {
    Item item;
    item.kind = Item::Kind::Mark;
    item.mark = MarkUpdate{userKey, roomKey, mark};
    enqueue(std::move(item));
}

void SqliteHistory::mailboxDelivered(const std::string& accountKey, std::uint64_t throughId) {
    Item item;
    item.kind = Item::Kind::Clear;
    item.clear = MailboxClear{accountKey, throughId};
    enqueue(std::move(item));
}

History::Ticket SqliteHistory::enqueue(Item item) {
    Ticket ticket = 0;
    bool wake = false;
    {
        MutexLock lock(mutex_);
        ticket = ++lastTicket_;
        item.ticket = ticket;
        queue_.push_back(std::move(item));
        wake = !gathering_ || queue_.size() >= kMaxBatch;
    }
    if (wake) workQueued_.notifyOne();
    return ticket;
}

std::optional<std::string> SqliteHistory::waitStored(Ticket ticket) {
    MutexLock lock(mutex_);
    if (ticket == 0 || ticket > lastTicket_) {
        return "no such history ticket: " + std::to_string(ticket);
    }
    waitResolved(ticket);
    return failureOf(ticket);
}

std::optional<std::string> SqliteHistory::failureOf(Ticket ticket) {
    auto failure = failures_.upper_bound(ticket);
    if (failure != failures_.begin()) {
        --failure;
        if (ticket <= failure->second.last) {
            return failure->second.reason;
        }
    }
    return std::nullopt;
}

void SqliteHistory::whenStored(Ticket ticket, StoredCallback done) {
    std::optional<std::string> failure;
    {
        MutexLock lock(mutex_);
        if (ticket == 0 || ticket > lastTicket_) {
            failure = "no such history ticket: " + std::to_string(ticket);
        } else if (ticket > resolvedThrough_) {
            callbacks_.emplace(ticket, std::move(done));
            return;
        } else {
            failure = failureOf(ticket);
        }
    }
    // The writer may still be running the callbacks of earlier tickets (it
    // took callbackOrder_ when it resolved them, before this ticket was seen
    // resolved): wait for them, so that one connection's answers keep the
    // order of its tickets.
    MutexLock order(callbackOrder_);
    done(failure);
}

void SqliteHistory::flush() {
    MutexLock lock(mutex_);
    waitResolved(lastTicket_);
    while (callbacksRunning_ > 0) {
        workResolved_.wait(mutex_);
    }
}

void SqliteHistory::waitResolved(Ticket ticket) {
    if (resolvedThrough_ >= ticket) return;
    ++resolvedWaiters_;
    if (gathering_) workQueued_.notifyOne();
    while (resolvedThrough_ < ticket) {
        workResolved_.wait(mutex_);
    }
    --resolvedWaiters_;
}

void SqliteHistory::waitQueuedWork() {
    MutexLock lock(mutex_);
    waitResolved(lastTicket_);
}

HistoryPage SqliteHistory::page(const std::string& conversation, std::uint64_t before, std::size_t limit,
                                const std::vector<std::string>& readers) {
    waitQueuedWork();
    MutexLock db(dbMutex_);
    return store_.page(conversation, before, limit, &readers);
}

HistoryPage SqliteHistory::search(const std::vector<std::string>& conversations, const std::string& words,
                                  std::size_t limit, const std::vector<std::string>& readers) {
    waitQueuedWork();
    MutexLock db(dbMutex_);
    return store_.search(conversations, words, limit, &readers);
}

std::vector<StoredEvent> SqliteHistory::mailbox(const std::string& accountKey) {
    waitQueuedWork();
    MutexLock db(dbMutex_);
    return store_.mailbox(accountKey);
}

std::vector<std::string> SqliteHistory::directConversationsOf(const std::string& userKey) {
    waitQueuedWork();
    MutexLock db(dbMutex_);
    return store_.directConversationsOf(userKey);
}

std::uint64_t SqliteHistory::commits() {
    MutexLock db(dbMutex_);
    return store_.commits();
}

void SqliteHistory::run() {
    for (;;) {
        std::vector<Item> batch;
        {
            MutexLock lock(mutex_);
            while (queue_.empty() && !stopping_) {
                if (!workQueued_.waitUntil(mutex_, nextPrune_)) {
                    break;  // time for retention
                }
            }
            if (queue_.empty() && stopping_) {
                return;
            }
            const auto gatherUntil = lastCommit_ + gatherWindow_;
            gathering_ = true;
            while (!stopping_ && resolvedWaiters_ == 0 && queue_.size() < kMaxBatch)
                if (!workQueued_.waitUntil(mutex_, gatherUntil)) break;
            gathering_ = false;
            const auto take = static_cast<std::ptrdiff_t>(std::min(queue_.size(), kMaxBatch));
            batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + take));
            queue_.erase(queue_.begin(), queue_.begin() + take);
        }
        if (!batch.empty()) {
            const std::optional<std::string> failure = commit(batch);
            lastCommit_ = std::chrono::steady_clock::now();
            if (!failure && afterCommit_) {
                afterCommit_(batch.size());  // before publishing, so a test sees it once its waitStored returns
            }
            publish(batch.back().ticket, failure);
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= nextPrune_) {
            nextPrune_ = pruneStep() ? now : now + pruneInterval_;
        }
    }
}

std::optional<std::string> SqliteHistory::commit(std::vector<Item>& batch) {
    std::vector<StoredEvent> events;
    std::vector<MarkUpdate> marks;
    std::vector<MailboxClear> clears;
    for (Item& item : batch) {
        switch (item.kind) {
            case Item::Kind::Mark: marks.push_back(std::move(item.mark)); break;
            case Item::Kind::Clear: clears.push_back(std::move(item.clear)); break;
            case Item::Kind::Event: events.push_back(std::move(item.event)); break;
        }
    }
    std::optional<std::string> failure;
    try {
        MutexLock db(dbMutex_);
        store_.append(events, marks, clears);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (failure) {
        logFailure(lastCommitFailure_, "could not store " + std::to_string(events.size()) + " events and " +
                                           std::to_string(marks.size()) + " read marks",
                   *failure);
    } else if (!lastCommitFailure_.empty()) {
        spdlog::info("history: storing works again ({})", options_.path);
        lastCommitFailure_.clear();
    }
    return failure;
}

void SqliteHistory::publish(Ticket through, const std::optional<std::string>& failure) {
    std::vector<std::pair<Ticket, StoredCallback>> ready;
    {
        MutexLock lock(mutex_);
        if (failure) {
            const Ticket first = resolvedThrough_ + 1;
            Failure* previous = failures_.empty() ? nullptr : &std::prev(failures_.end())->second;
            if (previous != nullptr && previous->last + 1 == first && previous->reason == *failure) {
                previous->last = through;
            } else {
                failures_[first] = Failure{through, *failure};
                if (failures_.size() > kMaxFailures) {
                    failures_.erase(failures_.begin());
                }
            }
        }
        resolvedThrough_ = through;
        // Callbacks of the resolved tickets run below, outside the lock;
        // flush() waits for them.
        const auto end = callbacks_.upper_bound(through);
        for (auto it = callbacks_.begin(); it != end; ++it) ready.emplace_back(it->first, std::move(it->second));
        callbacks_.erase(callbacks_.begin(), end);
        if (!ready.empty()) {
            ++callbacksRunning_;
        }
        callbackOrder_.lock();  // taken before anyone can see these tickets resolved (see whenStored)
    }
    workResolved_.notifyAll();
    for (auto& entry : ready) {
        entry.second(failure);  // every ticket of this batch shares its outcome
    }
    callbackOrder_.unlock();
    if (ready.empty()) {
        return;
    }
    {
        MutexLock lock(mutex_);
        --callbacksRunning_;
    }
    workResolved_.notifyAll();
}

bool SqliteHistory::pruneStep() {
    if (options_.retentionDays <= 0 && options_.maxPerConversation == 0) {
        return false;
    }
    {
        MutexLock lock(mutex_);
        if (stopping_) {
            return false;  // retention can wait for the next start
        }
    }
    try {
        std::size_t deleted = 0;
        {
            MutexLock db(dbMutex_);
            deleted = store_.prune(kPruneBatch, nowMs());
        }
        lastPruneFailure_.clear();
        return deleted == kPruneBatch;
    } catch (const std::exception& e) {
        logFailure(lastPruneFailure_, "could not delete old history", e.what());
        return false;
    }
}

void SqliteHistory::logFailure(std::string& lastLogged, const std::string& what, const std::string& reason) {
    if (reason == lastLogged) {
        return;
    }
    lastLogged = reason;
    spdlog::warn("history: {}: {} (logged once until it changes)", what, reason);
}

}  // namespace chat

#pragma once
// SqliteHistory: the History the server runs with. It owns a
// SqliteHistoryStore and one writer thread that commits what record() and
// markRead() queue, many items per transaction (group commit).

#include "server/history.hpp"
#include "server/history_store.hpp"
#include "shared/mutex.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace chat {

/// Test-only hooks of a SqliteHistory.
struct HistoryTestHooks {
    StoreTestOptions store;
    /// Called by the writer thread after each successful commit, before the
    /// commit's tickets are resolved, with the number of queued items
    /// (events and marks) it held; outside every lock.
    std::function<void(std::size_t items)> afterCommit;
    /// How often the writer applies retention (SqliteHistory::kPruneInterval).
    std::chrono::milliseconds pruneInterval{0};
    /// The group commit window (SqliteHistory::kGatherWindow when 0).
    std::chrono::milliseconds gatherWindow{0};
};

/// History on SQLite (history.hpp has the contract).
///
/// Threads: record() and markRead() take `mutex_` for a push onto a queue
/// and never touch the disk. The writer thread takes everything queued (at
/// most kMaxBatch items), commits it in one transaction, then publishes the
/// outcome for waitStored(). Between batches, and every kPruneInterval when
/// idle, it applies retention in steps of kPruneBatch events.
///
/// Group commit: under load a commit starts no sooner than kGatherWindow
/// after the previous one ended, so a busy server commits about a hundred
/// times a second whatever its message rate (each commit writes every page
/// it touched to the WAL, so small batches cost far more per message). An
/// item after a quiet spell is committed at once, and a caller that waits
/// for the outcome (waitStored, flush, the reads) ends the gathering.
///
/// Connections: one. The writer and the readers (load, page, search) share
/// it under `dbMutex_`: commits are short, reads are rare and small, and
/// ":memory:" could not be shared by two connections anyway. A read waits
/// first for what was queued before it, so it sees every event the caller
/// knew of. Lock order: `dbMutex_` is never taken while holding `mutex_`.
class SqliteHistory final : public History {
public:
    static constexpr std::size_t kMaxBatch = 1000;
    static constexpr std::size_t kPruneBatch = 500;
    static constexpr std::chrono::seconds kPruneInterval{5};
    static constexpr std::chrono::milliseconds kGatherWindow{10};

    /// Opens the store (throws StorageError like SqliteHistoryStore) and
    /// starts the writer.
    explicit SqliteHistory(HistoryOptions options, HistoryTestHooks hooks = {});
    /// Stops accepting work, commits what is queued, joins the writer.
    /// Nothing may call record() or markRead() once destruction has begun.
    ~SqliteHistory() override;
    SqliteHistory(const SqliteHistory&) = delete;
    SqliteHistory& operator=(const SqliteHistory&) = delete;

    HistorySnapshot load(std::size_t recentPerRoom) override EXCLUDES(mutex_, dbMutex_);
    Ticket record(StoredEvent event) override EXCLUDES(mutex_);
    std::optional<std::string> waitStored(Ticket ticket) override EXCLUDES(mutex_);
    void whenStored(Ticket ticket, StoredCallback done) override EXCLUDES(mutex_);
    void flush() override EXCLUDES(mutex_);
    void markRead(const std::string& userKey, const std::string& roomKey, const ReadMark& mark) override
        EXCLUDES(mutex_);
    void mailboxDelivered(const std::string& accountKey, std::uint64_t throughId) override EXCLUDES(mutex_);
    HistoryPage page(const std::string& conversation, std::uint64_t before, std::size_t limit,
                     const std::vector<std::string>& readers) override EXCLUDES(mutex_, dbMutex_);
    HistoryPage search(const std::vector<std::string>& conversations, const std::string& words, std::size_t limit,
                       const std::vector<std::string>& readers) override EXCLUDES(mutex_, dbMutex_);
    std::vector<StoredEvent> mailbox(const std::string& accountKey) override EXCLUDES(mutex_, dbMutex_);
    std::vector<std::string> directConversationsOf(const std::string& userKey) override EXCLUDES(mutex_, dbMutex_);

    /// Transactions the writer has committed (for tests of group commit).
    std::uint64_t commits() EXCLUDES(dbMutex_);

private:
    /// One queued piece of work: an event, a read mark or a mailbox clear.
    struct Item {
        enum class Kind { Event, Mark, Clear };
        Ticket ticket = 0;
        Kind kind = Kind::Event;
        StoredEvent event;
        MarkUpdate mark;
        MailboxClear clear;
    };
    /// Tickets first..last (inclusive) whose batch failed, and why.
    struct Failure {
        Ticket last = 0;
        std::string reason;
    };

    Ticket enqueue(Item item) EXCLUDES(mutex_);
    /// Blocks until every ticket up to `ticket` is resolved.
    /// The failure recorded for a resolved ticket, if any.
    std::optional<std::string> failureOf(Ticket ticket) REQUIRES(mutex_);
    void waitResolved(Ticket ticket) REQUIRES(mutex_);
    void waitQueuedWork() EXCLUDES(mutex_);
    void run() EXCLUDES(mutex_, dbMutex_);
    /// Commits `batch` (moving its contents out); returns the failure
    /// reason, or nullopt.
    std::optional<std::string> commit(std::vector<Item>& batch) EXCLUDES(mutex_, dbMutex_);
    /// Resolves every ticket up to `through` and wakes the waiters.
    void publish(Ticket through, const std::optional<std::string>& failure) EXCLUDES(mutex_);
    /// One retention step; returns whether more may be waiting.
    bool pruneStep() EXCLUDES(mutex_, dbMutex_);
    /// Logs `reason` unless it equals `lastLogged` (then remembers it): once
    /// per distinct reason, not once per event.
    static void logFailure(std::string& lastLogged, const std::string& what, const std::string& reason);

    const HistoryOptions options_;
    const std::function<void(std::size_t)> afterCommit_;
    const std::chrono::steady_clock::duration pruneInterval_;
    const std::chrono::steady_clock::duration gatherWindow_;

    Mutex dbMutex_;
    SqliteHistoryStore store_ GUARDED_BY(dbMutex_);

    Mutex mutex_;
    CondVar workQueued_;    ///< the writer waits here for items or stopping_
    CondVar workResolved_;  ///< waitStored() and reads wait here for resolvedThrough_
    std::deque<Item> queue_ GUARDED_BY(mutex_);
    Ticket lastTicket_ GUARDED_BY(mutex_) = 0;       ///< the newest ticket given out
    Ticket resolvedThrough_ GUARDED_BY(mutex_) = 0;  ///< every ticket up to this one is committed or failed
    /// Failed ranges by their first ticket (adjacent ranges with one reason
    /// are merged; the oldest are forgotten beyond kMaxFailures).
    std::map<Ticket, Failure> failures_ GUARDED_BY(mutex_);
    bool stopping_ GUARDED_BY(mutex_) = false;
    /// The writer is gathering a batch (group commit): enqueue() wakes it only
    /// for a full batch. Threads in waitResolved() end the gathering.
    bool gathering_ GUARDED_BY(mutex_) = false;
    int resolvedWaiters_ GUARDED_BY(mutex_) = 0;
    /// whenStored() callbacks waiting for their ticket, and how many
    /// resolved ones the writer is running right now (flush() waits for 0).
    std::multimap<Ticket, StoredCallback> callbacks_ GUARDED_BY(mutex_);
    int callbacksRunning_ GUARDED_BY(mutex_) = 0;
    /// Held while callbacks run, so that they run in ticket order whichever
    /// thread runs them; taken with mutex_ held, never the other way round.
    Mutex callbackOrder_;

    // The writer thread's own state (and the constructor's, before it starts).
    std::chrono::steady_clock::time_point nextPrune_;
    std::chrono::steady_clock::time_point lastCommit_;  ///< when the last commit ended (epoch: none yet)
    std::string lastCommitFailure_;  ///< the reason last logged for a commit; "" after a success
    std::string lastPruneFailure_;

    std::thread writer_;  ///< last: started once everything above exists
};

}  // namespace chat

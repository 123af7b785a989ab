// SqliteHistory: the writer thread, group commit, and failures reported
// through waitStored().

#include "server/history_writer.hpp"

#include "support/temp_dir.hpp"
#include "unit/history_fixtures.hpp"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace chat;
using chat::test::directMessage;
using chat::test::roomMessage;
using chat::test::topicChange;
using chat::test::TempDir;

namespace {

HistoryOptions at(const std::string& path) {
    HistoryOptions options;
    options.path = path;
    return options;
}

/// Collects what spdlog logs while it exists.
class CapturedLog {
public:
    CapturedLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)), previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    /// Lines logged so far that contain `text`.
    std::size_t count(const std::string& text) const {
        std::size_t found = 0;
        for (const std::string& line : sink_->last_formatted()) {
            found += line.find(text) != std::string::npos ? 1 : 0;
        }
        return found;
    }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> previous_;
};

/// A one-shot signal between threads, waited for with a deadline.
class Latch {
public:
    void open() {
        {
            MutexLock lock(mutex_);
            open_ = true;
        }
        changed_.notifyAll();
    }
    /// False when `timeout` passed first.
    bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        MutexLock lock(mutex_);
        while (!open_) {
            if (!changed_.waitUntil(mutex_, deadline)) {
                return open_;
            }
        }
        return true;
    }

private:
    Mutex mutex_;
    CondVar changed_;
    bool open_ GUARDED_BY(mutex_) = false;
};

/// The item count of each commit, in order, as HistoryTestHooks::afterCommit
/// reports them (from the writer thread).
class CommitSizes {
public:
    /// Records one commit; returns how many are recorded, this one included.
    std::size_t add(std::size_t items) {
        MutexLock lock(mutex_);
        sizes_.push_back(items);
        return sizes_.size();
    }
    std::vector<std::size_t> get() const {
        MutexLock lock(mutex_);
        return sizes_;
    }

private:
    mutable Mutex mutex_;
    std::vector<std::size_t> sizes_ GUARDED_BY(mutex_);
};

}  // namespace

TEST_CASE("history writer: events recorded from many threads are all stored", "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    constexpr int kThreads = 8;
    constexpr int kPerThread = 150;
    std::uint64_t commits = 0;
    {
        SqliteHistory history(at(path));
        std::atomic<std::uint64_t> nextId{0};
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                std::vector<History::Ticket> tickets;
                for (int i = 0; i < kPerThread; ++i) {
                    // Ids and tickets are given out in one step, as the hub does under its lock.
                    const std::uint64_t id = ++nextId;
                    tickets.push_back(history.record(roomMessage(id, "#room" + std::to_string(t), "u", "text")));
                    if (i % 10 == 0) {
                        history.markRead("u" + std::to_string(t), "#room" + std::to_string(t), ReadMark{id, 0, 0});
                    }
                }
                for (History::Ticket ticket : tickets) {
                    if (history.waitStored(ticket)) {
                        ++failures;
                    }
                }
            });
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        CHECK(failures == 0);
        commits = history.commits();
        CHECK(commits >= 1);
        CHECK(commits <= static_cast<std::uint64_t>(kThreads * kPerThread));
    }
    SqliteHistoryStore store(at(path));
    const HistorySnapshot snapshot = store.load(1000);
    CHECK(snapshot.lastId == kThreads * kPerThread);
    REQUIRE(snapshot.rooms.size() == kThreads);
    std::set<std::uint64_t> seen;
    for (const StoredRoom& room : snapshot.rooms) {
        CHECK(room.messages == kPerThread);
        CHECK(room.recent.size() == kPerThread);
        for (const StoredEvent& e : room.recent) {
            seen.insert(e.id);
        }
    }
    CHECK(seen.size() == kThreads * kPerThread);
    CHECK(snapshot.readMarks.size() == kThreads);
}

TEST_CASE("history writer: what is queued while a commit runs goes in one transaction", "[history]") {
    TempDir dir;
    Latch firstCommitted;
    Latch carryOn;
    CommitSizes sizes;
    HistoryTestHooks hooks;
    hooks.afterCommit = [&](std::size_t items) {
        if (sizes.add(items) == 1) {
            firstCommitted.open();
            carryOn.wait();  // the writer is busy: everything recorded now queues up
        }
    };
    SqliteHistory history(at(dir.file("chat.db")), hooks);
    const History::Ticket first = history.record(roomMessage(1, "#dev", "alice", "first"));
    REQUIRE(firstCommitted.wait());
    History::Ticket last = 0;
    for (std::uint64_t id = 2; id <= 300; ++id) {
        last = history.record(roomMessage(id, "#dev", "alice", "queued"));
    }
    history.markRead("alice", "#dev", ReadMark{300, 300, 1});
    carryOn.open();
    CHECK_FALSE(history.waitStored(first));
    CHECK_FALSE(history.waitStored(last));
    CHECK(history.page("#dev", 0, 1000, {}).events.size() == 300);
    CHECK(history.commits() == 2);
    CHECK(sizes.get() == std::vector<std::size_t>{1, 300});
}

TEST_CASE("history writer: under load, what arrives within the gather window after a commit goes in one transaction",
          "[history]") {
    TempDir dir;
    CommitSizes sizes;
    HistoryTestHooks hooks;
    hooks.afterCommit = [&](std::size_t items) { sizes.add(items); };
    hooks.gatherWindow = std::chrono::seconds(3);
    SqliteHistory history(at(dir.file("chat.db")), hooks);
    // After a quiet spell a record is committed at once...
    CHECK_FALSE(history.waitStored(history.record(roomMessage(1, "#dev", "alice", "first"))));
    // ...and records that trickle in after that commit wait for the window
    // to close (without it, each would be a transaction of its own). Nobody
    // waits for them: a waiter would end the gathering.
    for (std::uint64_t id = 2; id <= 21; ++id) {
        history.record(roomMessage(id, "#dev", "alice", "trickled"));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the load's pace, not a synchronisation
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (sizes.get().size() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(sizes.get() == std::vector<std::size_t>{1, 20});
}

TEST_CASE("history writer: a caller waiting for its ticket ends the gathering at once", "[history]") {
    TempDir dir;
    HistoryTestHooks hooks;
    hooks.gatherWindow = std::chrono::seconds(60);
    SqliteHistory history(at(dir.file("chat.db")), hooks);
    CHECK_FALSE(history.waitStored(history.record(roomMessage(1, "#dev", "alice", "first"))));
    const auto start = std::chrono::steady_clock::now();
    const History::Ticket second = history.record(roomMessage(2, "#dev", "alice", "second"));
    CHECK_FALSE(history.waitStored(second));
    CHECK(history.page("#dev", 0, 10, {}).events.size() == 2);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));  // the window is 60 s
}

TEST_CASE("history writer: one batch with several rooms' messages and topics stores each room's last name, "
          "last topic and message count",
          "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    {
        Latch firstCommitted;
        Latch carryOn;
        std::atomic<int> commits{0};
        HistoryTestHooks hooks;
        hooks.afterCommit = [&](std::size_t) {
            if (++commits == 1) {
                firstCommitted.open();
                carryOn.wait();  // everything below queues up: one batch
            }
        };
        SqliteHistory history(at(path), hooks);
        history.record(topicChange(1, "#dev", "alice", "before"));
        REQUIRE(firstCommitted.wait());
        history.record(roomMessage(2, "#dev", "alice", "m"));
        history.record(topicChange(3, "#dev", "alice", "middle"));
        history.record(roomMessage(4, "#ops", "bob", "m"));
        history.record(roomMessage(5, "#Dev", "alice", "m"));
        history.record(topicChange(6, "#DEV", "alice", "last"));
        history.record(roomMessage(7, "#ops", "bob", "m"));
        const History::Ticket last = history.record(roomMessage(8, "#ops", "bob", "m"));
        carryOn.open();
        CHECK_FALSE(history.waitStored(last));
        CHECK(commits == 2);
    }
    SqliteHistoryStore store(at(path));
    const HistorySnapshot snapshot = store.load(0);
    REQUIRE(snapshot.rooms.size() == 2);
    const StoredRoom& dev = snapshot.rooms[0];
    const StoredRoom& ops = snapshot.rooms[1];
    CHECK(dev.name == "#DEV");
    CHECK(dev.topic == "last");
    CHECK(dev.messages == 2);
    CHECK(ops.name == "#ops");
    CHECK(ops.topic.empty());
    CHECK(ops.messages == 3);
}

TEST_CASE("history writer: a batch holds at most kMaxBatch items", "[history]") {
    TempDir dir;
    CommitSizes sizes;
    HistoryTestHooks hooks;
    hooks.afterCommit = [&](std::size_t items) { sizes.add(items); };
    SqliteHistory history(at(dir.file("chat.db")), hooks);
    // Nothing stops the writer here, so only the cap is certain.
    History::Ticket last = 0;
    for (std::uint64_t id = 1; id <= 2500; ++id) {
        last = history.record(roomMessage(id, "#dev", "alice", "m"));
    }
    CHECK_FALSE(history.waitStored(last));
    std::size_t total = 0;
    for (std::size_t size : sizes.get()) {
        CHECK(size <= SqliteHistory::kMaxBatch);
        total += size;
    }
    CHECK(total == 2500);
}

TEST_CASE("history writer: reads see everything recorded before them", "[history]") {
    TempDir dir;
    SqliteHistory history(at(dir.file("chat.db")));
    for (std::uint64_t id = 1; id <= 50; ++id) {
        history.record(id % 2 == 0 ? roomMessage(id, "#dev", "alice", "needle " + std::to_string(id))
                                   : directMessage(id, "alice", "bob", "needle"));
    }
    history.markRead("alice", "#dev", ReadMark{50, 25, 7});
    // No waitStored: page and search wait for the queue themselves.
    CHECK(history.page("#dev", 0, 100, {}).events.size() == 25);
    CHECK(history.page(directKey("bob", "alice"), 0, 100, {"a:bob"}).events.size() == 25);
    CHECK(history.search({"#dev", directKey("alice", "bob")}, "needle", 100, {"a:alice"}).events.size() == 50);
    history.record(roomMessage(51, "#dev", "bob", "needle"));
    const HistorySnapshot snapshot = history.load(5);
    CHECK(snapshot.lastId == 51);
    CHECK(snapshot.readMarks.at("alice").at("#dev").messages == 25);
}

TEST_CASE("history writer: a failed batch is reported to its waiters and the writer carries on", "[history]") {
    TempDir dir;
    SqliteHistory history(at(dir.file("chat.db")));
    CHECK_FALSE(history.waitStored(history.record(roomMessage(1, "#dev", "alice", "one"))));
    // The hub never reuses an id; doing so here makes a commit fail.
    const auto failure = history.waitStored(history.record(roomMessage(1, "#dev", "alice", "again")));
    REQUIRE(failure);
    CHECK(failure->find(dir.file("chat.db")) != std::string::npos);
    CHECK(failure->find("constraint") != std::string::npos);
    CHECK_FALSE(history.waitStored(history.record(roomMessage(2, "#dev", "alice", "two"))));
    CHECK(history.waitStored(0));     // never given out
    CHECK(history.waitStored(1000));  // not yet given out
    CHECK(history.page("#dev", 0, 10, {}).events.size() == 2);
}

TEST_CASE("history writer: writing to a read-only database reports why", "[history]") {
    TempDir dir;
    const std::string path = dir.file("chat.db");
    { SqliteHistoryStore create(at(path)); }
    HistoryTestHooks hooks;
    if (::geteuid() == 0) {
        hooks.store.readOnly = true;  // root ignores file modes
    } else {
        REQUIRE(::chmod(path.c_str(), 0444) == 0);
    }
    CapturedLog log;
    {
        SqliteHistory history(at(path), hooks);
        for (std::uint64_t id = 1; id <= 3; ++id) {
            const auto failure = history.waitStored(history.record(roomMessage(id, "#dev", "alice", "hi")));
            REQUIRE(failure);
            CHECK(*failure == path + ": the database is read-only");
        }
        CHECK(history.page("#dev", 0, 10, {}).events.empty());
    }
    CHECK(log.count("read-only") == 1);  // once per reason, not once per event
}

TEST_CASE("history writer: a full disk makes waitStored say so, and nothing crashes", "[history]") {
    TempDir dir;
    const std::string path = dir.file("full.db");
    std::fflush(nullptr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Exit codes: 0 the failure was reported with its cause, 1 no failure,
        // 2 a failure without the cause, 3 an exception. A hang ends by alarm.
        ::alarm(60);
        int code = 1;
        try {
            std::signal(SIGXFSZ, SIG_IGN);  // else the write that passes the limit kills the process
            SqliteHistory history(at(path));
            const rlimit limit{256 * 1024, 256 * 1024};
            ::setrlimit(RLIMIT_FSIZE, &limit);
            const std::string text(3000, 'x');
            std::uint64_t id = 1;
            for (; id <= 5000; ++id) {
                const auto failure = history.waitStored(history.record(roomMessage(id, "#dev", "alice", text)));
                if (failure) {
                    std::fprintf(stderr, "full disk: %s\n", failure->c_str());
                    const bool named = failure->find(path) != std::string::npos;
                    const bool why = failure->find("file size limit") != std::string::npos;
                    code = named && why ? 0 : 2;
                    break;
                }
            }
            // It keeps going: later records are answered too (stored or not).
            for (int i = 1; i <= 3; ++i) {
                history.waitStored(history.record(roomMessage(id + static_cast<std::uint64_t>(i), "#dev", "bob", "small")));
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "full disk: exception %s\n", e.what());
            code = 3;
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("history writer: retention runs by itself between commits", "[history]") {
    TempDir dir;
    HistoryOptions options = at(dir.file("chat.db"));
    options.maxPerConversation = 5;
    HistoryTestHooks hooks;
    hooks.pruneInterval = std::chrono::milliseconds(20);
    SqliteHistory history(options, hooks);
    History::Ticket last = 0;
    for (std::uint64_t id = 1; id <= 20; ++id) {
        last = history.record(roomMessage(id, "#dev", "alice", "m"));
    }
    REQUIRE_FALSE(history.waitStored(last));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t stored = 0;
    do {
        stored = history.page("#dev", 0, 100, {}).events.size();
    } while (stored > 5 && std::chrono::steady_clock::now() < deadline && (std::this_thread::yield(), true));
    CHECK(stored == 5);
    CHECK(history.load(10).lastId == 20);
}

TEST_CASE("history writer: whenStored calls back once per ticket, after its commit, with its batch's outcome; flush waits for the callbacks",
          "[history]") {
    TempDir dir;
    std::atomic<bool> release{false};
    std::atomic<int> commits{0};
    HistoryTestHooks hooks;
    hooks.afterCommit = [&](std::size_t) {
        ++commits;
        while (!release) std::this_thread::yield();  // hold the first commit: later tickets stay queued
    };
    SqliteHistory history(at(dir.file("chat.db")), hooks);
    std::mutex mutex;
    std::vector<std::pair<History::Ticket, std::optional<std::string>>> calls;
    auto note = [&](History::Ticket ticket) {
        return [&, ticket](const std::optional<std::string>& failure) {
            std::lock_guard lock(mutex);
            calls.emplace_back(ticket, failure);
        };
    };
    const auto first = history.record(roomMessage(1, "#dev", "alice", "one"));
    history.whenStored(first, note(first));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (commits == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    REQUIRE(commits == 1);  // the writer holds the first batch, alone
    const auto second = history.record(roomMessage(2, "#dev", "alice", "two"));
    const auto duplicate = history.record(roomMessage(2, "#dev", "alice", "same id: this batch fails"));
    history.whenStored(second, note(second));
    history.whenStored(duplicate, note(duplicate));
    {
        std::lock_guard lock(mutex);
        CHECK(calls.empty());  // nothing is committed yet
    }
    release = true;
    history.flush();
    {
        // Not held across whenStored() below: callbacks take this lock under the history's.
        std::lock_guard lock(mutex);
        REQUIRE(calls.size() == 3);
        CHECK(calls[0] == std::make_pair(first, std::optional<std::string>()));
        // The second and the duplicate were queued behind the held commit and went in one failing batch.
        CHECK(calls[1].first == second);
        CHECK(calls[1].second);
        CHECK(calls[2].first == duplicate);
        CHECK(calls[2].second);
    }
    // Resolved tickets call back at once, on the caller's thread.
    bool called = false;
    history.whenStored(first, [&](const std::optional<std::string>& failure) { called = !failure; });
    CHECK(called);
}

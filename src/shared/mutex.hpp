#pragma once
// A mutex, a scoped lock and a condition variable that Clang's thread-safety
// analysis understands (-Wthread-safety), with the attribute macros used to
// say what guards what. Under GCC the attributes compile to nothing; the CI
// build with clang turns every violation into an error.

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CHAT_THREAD_ATTRIBUTE(x) __attribute__((x))
#else
#define CHAT_THREAD_ATTRIBUTE(x)
#endif

#define CAPABILITY(x) CHAT_THREAD_ATTRIBUTE(capability(x))
#define SCOPED_CAPABILITY CHAT_THREAD_ATTRIBUTE(scoped_lockable)
#define GUARDED_BY(x) CHAT_THREAD_ATTRIBUTE(guarded_by(x))
#define PT_GUARDED_BY(x) CHAT_THREAD_ATTRIBUTE(pt_guarded_by(x))
#define REQUIRES(...) CHAT_THREAD_ATTRIBUTE(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) CHAT_THREAD_ATTRIBUTE(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) CHAT_THREAD_ATTRIBUTE(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CHAT_THREAD_ATTRIBUTE(release_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) CHAT_THREAD_ATTRIBUTE(assert_capability(x))
#define RETURN_CAPABILITY(x) CHAT_THREAD_ATTRIBUTE(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS CHAT_THREAD_ATTRIBUTE(no_thread_safety_analysis)

namespace chat {

/// std::mutex as a capability the analysis tracks.
class CAPABILITY("mutex") Mutex {
public:
    void lock() ACQUIRE() { mutex_.lock(); }
    void unlock() RELEASE() { mutex_.unlock(); }
    /// Tells the analysis the caller holds this mutex, where it cannot see
    /// it (the caller proved it another way, e.g. two names for one mutex).
    void assertHeld() const ASSERT_CAPABILITY(this) {}

private:
    friend class CondVar;
    std::mutex mutex_;
};

/// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
public:
    explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
    ~MutexLock() RELEASE() { mutex_.unlock(); }
    MutexLock(const MutexLock&) = delete;
    MutexLock& operator=(const MutexLock&) = delete;

private:
    Mutex& mutex_;
};

/// A condition variable for a Mutex the caller holds.
class CondVar {
public:
    void notifyAll() { cv_.notify_all(); }
    void notifyOne() { cv_.notify_one(); }

    /// Releases `mutex` while waiting; holds it again on return.
    void wait(Mutex& mutex) REQUIRES(mutex) {
        std::unique_lock<std::mutex> lock(mutex.mutex_, std::adopt_lock);
        cv_.wait(lock);
        lock.release();
    }

    /// As wait(), until `deadline`. Returns false on time-out.
    template <class Clock, class Duration>
    bool waitUntil(Mutex& mutex, std::chrono::time_point<Clock, Duration> deadline) REQUIRES(mutex) {
        std::unique_lock<std::mutex> lock(mutex.mutex_, std::adopt_lock);
        const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
        lock.release();
        return woken;
    }

private:
    std::condition_variable cv_;
};

}  // namespace chat

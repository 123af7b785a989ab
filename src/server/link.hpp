#pragma once
// The byte stream of one connection, under whatever security layer it has.

#include "shared/mutex.hpp"

#include <cstddef>
#include <string>

namespace chat {

/// One connection's bytes, moved without blocking. A session thread reads
/// and the dispatcher thread writes; the Link serialises the two with its
/// own stream mutex, so a stream object that allows one caller at a time (a
/// TLS engine: one SSL per connection) can sit underneath without redesign.
/// Subclasses implement the *Locked methods; each runs with the stream
/// mutex held and must not block.
class Link {
public:
    enum class Status {
        Ok,          ///< `bytes` moved (at least one)
        WouldBlock,  ///< nothing can move now; wait for fd() to be ready
        Closed,      ///< read: orderly end of stream
        Failed,      ///< reset, broken pipe, or a protocol error underneath
    };
    /// What a WouldBlock waits for. A TLS read can need the socket to be
    /// writable (a handshake flight) and a TLS write readable (a write before
    /// the handshake is done); plain TCP always waits in its own direction.
    enum class Wait { Read, Write };
    struct Result {
        Status status;
        std::size_t bytes = 0;
        Wait wait = Wait::Read;  ///< with WouldBlock: poll for this
        /// read() only: a write had returned WouldBlock waiting for input, and
        /// this read moved the stream on; the writer should try again now
        /// (nothing else will tell it, as the reader consumed the readiness).
        bool writerMayRetry = false;
        /// read() only: more input is already off the socket (decrypted, not
        /// yet returned), which the fd will not poll readable for: read again.
        bool moreBuffered = false;
    };

    virtual ~Link() = default;

    Result read(char* buffer, std::size_t size) EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        auto result = readLocked(buffer, size);
        result.writerMayRetry = writerWaitsForRead_;
        writerWaitsForRead_ = false;
        return result;
    }
    Result write(const char* data, std::size_t size) EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        auto result = writeLocked(data, size);
        if (result.status == Status::WouldBlock && result.wait == Wait::Read) writerWaitsForRead_ = true;
        return result;
    }
    /// False until the security layer's handshake has completed (always true
    /// for plain TCP). Frames written before then wait.
    bool established() EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        return establishedLocked();
    }
    /// After a Failed read: why, in words for the log ("TLS handshake failed:
    /// ..."); empty when the reason is the usual reset.
    std::string failure() EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        return failureLocked();
    }
    /// Ends the sending direction after what was written (a TCP FIN, or a
    /// TLS close_notify then FIN). Reading stays possible.
    void shutdownWrite() EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        shutdownWriteLocked();
    }

    /// The descriptor to wait on (poll/epoll); constant for the Link's life.
    virtual int fd() const = 0;

protected:
    virtual Result readLocked(char* buffer, std::size_t size) REQUIRES(streamMutex_) = 0;
    virtual Result writeLocked(const char* data, std::size_t size) REQUIRES(streamMutex_) = 0;
    virtual void shutdownWriteLocked() REQUIRES(streamMutex_) = 0;
    virtual bool establishedLocked() REQUIRES(streamMutex_) { return true; }
    virtual std::string failureLocked() REQUIRES(streamMutex_) { return {}; }

    Mutex streamMutex_;

private:
    bool writerWaitsForRead_ GUARDED_BY(streamMutex_) = false;
};

/// Plain TCP on a socket the caller owns and keeps open while the Link is used.
class PlainLink final : public Link {
public:
    explicit PlainLink(int fd) : fd_(fd) {}
    int fd() const override { return fd_; }

protected:
    Result readLocked(char* buffer, std::size_t size) override REQUIRES(streamMutex_);
    Result writeLocked(const char* data, std::size_t size) override REQUIRES(streamMutex_);
    void shutdownWriteLocked() override REQUIRES(streamMutex_);

private:
    const int fd_;
};

}  // namespace chat

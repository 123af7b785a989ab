#pragma once
// The byte stream of one connection, under whatever security layer it has.

#include "shared/mutex.hpp"

#include <cstddef>

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
    struct Result {
        Status status;
        std::size_t bytes = 0;
    };

    virtual ~Link() = default;

    Result read(char* buffer, std::size_t size) EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        return readLocked(buffer, size);
    }
    Result write(const char* data, std::size_t size) EXCLUDES(streamMutex_) {
        MutexLock lock(streamMutex_);
        return writeLocked(data, size);
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

    Mutex streamMutex_;
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

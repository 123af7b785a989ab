#pragma once
// The main loop every connection-reading transport runs (TCP, TLS,
// WebSocket), and its drain to the peer's EOF before close. A transport
// supplies only a FrameReader: how its bytes become frames.

#include "server/conversation.hpp"
#include "server/dispatcher.hpp"
#include "server/link.hpp"
#include "server/outbox.hpp"
#include "server/session_support.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace chat {

/// Reads per FrameReader::readAvailable() at most, so that backpressure and
/// the outbox's state are looked at between bursts of a fast sender.
constexpr int kReadsPerTurn = 4;

/// Where a FrameReader reads into. It starts as a small buffer inside the
/// reader (so an idle connection's thread touches no stack page beyond its
/// hello: the 16 KiB buffer that used to live on the stack cost each idle
/// connection one page) and becomes a 16 KiB heap buffer once a read fills
/// it: a busy peer is read in large pieces. Owned by one session thread.
class ReadBuffer {
public:
    char* data() { return large_ ? large_.get() : small_; }
    std::size_t size() const { return large_ ? kLarge : sizeof small_; }
    /// After a read of `bytes`: grows when that read filled the buffer.
    void filled(std::size_t bytes) {
        if (!large_ && bytes == sizeof small_) large_.reset(new char[kLarge]);
    }

private:
    static constexpr std::size_t kLarge = 16 * 1024;
    char small_[1024];
    std::unique_ptr<char[]> large_;
};

/// One connection's bytes in, whole frames out, into its Conversation. Each
/// transport implements it over its Link and decoder; the session loop
/// decides when to call it. Called only on the session thread; it holds
/// references to the link and conversation, which the session owns.
class FrameReader {
public:
    using Clock = std::chrono::steady_clock;

    virtual ~FrameReader() = default;

    /// Once, inside the loop's error handling, before its first turn: feeds
    /// input the transport already holds (WebSocket: the bytes that came
    /// with the upgrade request). Nothing by default.
    virtual void begin(Clock::time_point /*now*/) {}
    /// Reads what is there (kReadsPerTurn reads at most) and feeds whole
    /// frames to the conversation; ends it on EOF, reset or a framing error.
    virtual void readAvailable(Clock::time_point now) = 0;
    /// Input is waiting inside the link (decrypted, not on the socket): read
    /// again without polling.
    virtual bool moreBuffered() const = 0;
    /// What to poll the socket for before reading again (POLLIN, or POLLOUT
    /// while a TLS link waits to write).
    virtual short pollEvents() const = 0;
    /// When the frame in progress must be complete; nullopt when none is.
    virtual std::optional<Clock::time_point> frameDeadline() const = 0;
};

/// What the session loop drives for one connection; every reference is
/// owned by the session and outlives the loop.
struct SessionLoopParts {
    Conversation& conversation;  ///< opened: Conversation::open() returned true
    FrameReader& reader;
    Outbox& outbox;            ///< the connection's; its wake-up calls waker.wake()
    Dispatcher& dispatcher;    ///< for backpressure (waitWhileBacklogged)
    const ThreadWaker& waker;  ///< made on this thread
    int fd;                    ///< the socket that is polled
    const std::string& peer;   ///< "ip:port", for the log
    std::size_t maxQueuedBytes;  ///< the outbox's limit, for the slow-consumer warning
};

/// On the session thread: runs the conversation until it ends (the peer
/// closed or broke the protocol, the outbox overflowed or lost its peer,
/// the hub asked to close, a frame missed its deadline, poll failed, or an
/// exception: "internal error", logged). Between reads it waits out the
/// dispatcher's backlog, ticks the conversation and polls the socket until
/// the next tick, the frame deadline, input or a wake-up. Returns whether
/// the session should flush what is queued before closing: false for a slow
/// consumer or a peer that is gone.
bool runSessionLoop(const SessionLoopParts& parts);

/// On the session thread, after the write side is shut down: reads and
/// discards until the peer's EOF, an error, a peer quiet for 100 ms, or
/// `timeout`, so that unread input never turns the close into a reset that
/// would discard the frames just sent.
void drainUntilPeerCloses(Link& link, std::chrono::milliseconds timeout);

}  // namespace chat

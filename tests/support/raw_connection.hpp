#pragma once
// A plain TCP connection to 127.0.0.1 for tests that speak raw bytes: it
// sends exactly the bytes it is given and reads frames without any client
// logic, for peers that break the protocol, stall, vanish mid-frame or reset
// the connection. Plus the frame pieces such tests build their bytes from.

#include "support/deadline.hpp"
#include "support/test_client.hpp"

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chat::test {

/// The 4-byte big-endian frame header announcing `length` bytes.
std::string frameHeader(std::uint32_t length);

/// A framed hello as `user` (protocol version 1, no id).
std::string helloFrame(const std::string& user);

/// Text that a failing wait of a RawConnection adds to its message (e.g. what
/// the server logged); empty to add nothing. Process-wide.
void setRawFailureContext(std::function<std::string()> context);

/// A non-blocking TCP connection to 127.0.0.1:port with TCP_NODELAY, made
/// within 5 s (a failed REQUIRE otherwise). The caller owns the descriptor.
int connectLoopback(std::uint16_t port);

class RawConnection {
public:
    /// Connects to 127.0.0.1:port; the socket is non-blocking from then on.
    explicit RawConnection(std::uint16_t port);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    /// A connection that has said hello as `user` and read its welcome.
    static std::unique_ptr<RawConnection> joined(std::uint16_t port, const std::string& user);

    int fd() const { return fd_; }

    // --- Sending -----------------------------------------------------------

    /// Sends all of `bytes`, reading whatever arrives meanwhile so that
    /// neither side can block the other. Fails the test on an error or after `wait`.
    void send(std::string_view bytes, std::chrono::milliseconds wait = kWait);
    /// send() of one frame with `json` as its payload.
    void sendJson(const std::string& json);

    /// Sends until everything is sent, the server stops taking bytes because
    /// it closed or reset the connection (sendFailed()), or `deadline` passes;
    /// reads nothing. Returns how many bytes went out.
    std::size_t sendSome(std::string_view bytes, Clock::time_point deadline);

    /// One send() call without waiting; false unless all of `bytes` went out
    /// (the server has closed or reset the connection, or the buffers are full).
    bool trySend(std::string_view bytes);

    // --- Reading -----------------------------------------------------------

    /// The next frame's payload, raw; nullopt on time-out, or once the server
    /// has closed the connection and every complete frame has been returned.
    /// Every frame is checked to fit kMaxFramePayload.
    std::optional<std::string> nextPayload(std::chrono::milliseconds wait = kWait);

    /// The next message (a frame that must parse); nullopt as nextPayload.
    std::optional<Poco::JSON::Object::Ptr> next(std::chrono::milliseconds wait = kWait);

    /// The type of the next message, or "closed" or "time-out".
    std::string nextType(std::chrono::milliseconds wait = kWait);

    /// The first message that matches; fails the test if the connection
    /// closes or nothing matches within `wait`.
    Poco::JSON::Object::Ptr waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match,
                                    std::chrono::milliseconds wait = kWait);
    Poco::JSON::Object::Ptr waitForType(const std::string& type, std::chrono::milliseconds wait = kWait);

    /// The answer (ok, error, pong, welcome) carrying `id`; fails the test when
    /// the connection closes or nothing comes within `wait`. Pings are answered.
    Poco::JSON::Object::Ptr answer(std::int64_t id, std::chrono::milliseconds wait = kWait);

    /// Sends a ping and requires its pong: the connection is open and served.
    void requireServed(std::int64_t id);

    /// Reads until end of stream, a reset or `wait`; returns the bytes not yet
    /// returned as frames and how it ended: "eof", "error: <strerror>" or "time-out".
    std::pair<std::string, std::string> readToEnd(std::chrono::milliseconds wait = kWait);

    // --- The end of the connection -----------------------------------------

    /// True once the server has closed the connection, within `wait`;
    /// messages before the close are read and dropped.
    bool closedWithin(std::chrono::milliseconds wait = kWait);
    /// Reads what has arrived without waiting; true if the server closed.
    bool pollClosed();

    bool closed() const { return closed_; }
    /// How the server ended the stream once closed(): "eof" or "error: <strerror>".
    const std::string& howClosed() const { return end_; }
    bool sendFailed() const { return sendFailed_; }
    std::size_t bytesReceived() const { return received_; }

    /// Closes with a RST instead of a FIN, as a crashed peer's kernel would.
    void reset();
    void close();

private:
    /// Sends until everything is sent, a send fails (sendFailed()) or
    /// `deadline` passes; returns how many bytes went out.
    std::size_t sendUntil(std::string_view bytes, Clock::time_point deadline, bool readMeanwhile);
    /// Reads whatever has arrived into the inbox, without waiting.
    void readAvailable();
    /// Waits up to `deadline` for bytes (or the close); false on time-out.
    bool awaitInput(Clock::time_point deadline);
    /// A complete frame's payload from the inbox, if there is one.
    std::optional<std::string> takeFrame();

    int fd_ = -1;
    std::string inbox_;         // received; what is before inboxPos_ has been returned as frames
    std::size_t inboxPos_ = 0;
    bool closed_ = false;
    std::string end_;
    bool sendFailed_ = false;
    std::string sendError_;
    std::size_t received_ = 0;
};

}  // namespace chat::test

#include "server/session.hpp"

#include "shared/protocol.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

namespace chat {

Session::Session(const Poco::Net::StreamSocket& socket, Hub& hub, Flusher& flusher, SessionLimits limits)
    : Poco::Net::TCPServerConnection(socket),
      hub_(hub),
      limits_(limits),
      outbox_(std::make_shared<Outbox>(socket.impl()->sockfd(), limits.maxQueuedBytes, flusher)) {}

void Session::run() {
    std::string ip;
    try {
        const auto address = socket().peerAddress();
        peer_ = address.toString();
        ip = address.host().toString();
    } catch (const Poco::Exception&) {
        return;  // the peer is already gone
    }
    if (const auto refused = hub_.attach(outbox_, ip)) {
        outbox_->detachSocket();
        refuse(*refused);
        return;
    }
    spdlog::info("connection from {}", peer_);
    try {
        serveConnection();
    } catch (const std::exception& e) {
        spdlog::error("internal error on {} ({}): {}", peer_, who(), e.what());
        fail("internal error");
    }
    hub_.detach(outbox_, endReason_);
    outbox_->detachSocket();
    try {
        socket().shutdownSend();
    } catch (const Poco::Exception&) {
    }
    spdlog::info("disconnected {} ({}): {}", peer_, who(), endReason_);
}

void Session::serveConnection() {
    socket().setBlocking(false);
    const int fd = socket().impl()->sockfd();
    const auto helloDeadline = Clock::now() + limits_.helloTimeout;
    lastHeard_ = Clock::now();
    bool pingSent = false;

    while (endReason_.empty()) {
        if (outbox_->overflowed()) {
            spdlog::warn("disconnecting {} ({}): slow consumer, outbound queue over {} bytes", peer_, who(),
                         limits_.maxQueuedBytes);
            fail("slow consumer");
            break;
        }
        if (outbox_->peerGone()) {
            fail("connection reset by peer");
            break;
        }
        if (const std::string closeReason = outbox_->closeReason(); !closeReason.empty()) {
            outbox_->waitUntilFlushed(Clock::now() + limits_.flushTimeout);
            fail(closeReason);
            break;
        }
        const auto now = Clock::now();
        if (user_.empty() && now >= helloDeadline) {
            spdlog::warn("disconnecting {}: no hello within {} ms", peer_, limits_.helloTimeout.count());
            fail("hello timeout");
            break;
        }
        if (!user_.empty() && now >= lastHeard_ + 2 * limits_.pingInterval) {
            spdlog::warn("disconnecting {} ({}): ping timeout, silent for {} ms", peer_, who(),
                         std::chrono::duration_cast<std::chrono::milliseconds>(now - lastHeard_).count());
            fail("ping timeout");
            break;
        }
        if (user_.empty() || now < lastHeard_ + limits_.pingInterval) {
            pingSent = false;
        } else if (!pingSent) {
            reply(makeMessage("ping"));
            pingSent = true;
        }

        const auto wakeAt = user_.empty() ? helloDeadline : lastHeard_ + (pingSent ? 2 : 1) * limits_.pingInterval;
        const auto timeoutMs = static_cast<int>(
            std::max<long long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wakeAt - now).count() + 1));

        // Only reading happens here: the Flusher writes, and the Outbox wakes
        // this poll (by shutting down the read side) when the session must end.
        pollfd fds[1] = {{fd, POLLIN, 0}};
        const int ready = ::poll(fds, 1, timeoutMs);
        if (ready < 0 && errno != EINTR) {
            fail("poll failed");
            break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) readAvailable();
    }
}

void Session::refuse(ErrorCode why) {
    std::string text;
    if (why == ErrorCode::ServerFull)
        text = "the server is full (" + std::to_string(hub_.config().maxClients) + " clients); try again later";
    else if (why == ErrorCode::TooManyConnections)
        text = "too many connections from your address (at most " + std::to_string(hub_.config().maxPerIp) + ")";
    else
        text = "the server is shutting down";
    spdlog::warn("refused {} (-): {}", peer_, text);
    try {
        socket().setSendTimeout(Poco::Timespan(1, 0));
        const auto frame = toFrame(makeError(why, text));
        socket().sendBytes(frame.data(), static_cast<int>(frame.size()));
        socket().shutdownSend();
    } catch (const Poco::Exception&) {
    }
}

void Session::readAvailable() {
    char buffer[16 * 1024];
    for (;;) {
        const ssize_t n = ::recv(socket().impl()->sockfd(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0) {
            // Also what the Outbox's wake-up looks like; the loop says why.
            if (!outbox_->overflowed() && !outbox_->peerGone() && outbox_->closeReason().empty())
                fail("client closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && outbox_->closeReason().empty() && !outbox_->overflowed())
                fail("connection reset by peer");
            return;
        }
        lastHeard_ = Clock::now();
        decoder_.feed(buffer, static_cast<std::size_t>(n));
        for (;;) {
            auto result = decoder_.next();
            if (result.status == FrameDecoder::Status::NeedMore) break;
            if (result.status == FrameDecoder::Status::Invalid) {
                spdlog::warn("protocol error from {} ({}): frame length {} exceeds {}", peer_, who(),
                             result.declaredLength, kMaxFramePayload);
                reply(makeError(ErrorCode::FrameTooLarge,
                                "frame length " + std::to_string(result.declaredLength) +
                                    " exceeds the maximum of " + std::to_string(kMaxFramePayload) + " bytes"));
                outbox_->closeAfterFlush("protocol error: frame too large");
                return;
            }
            handleFrame(result.payload);
            if (!outbox_->closeReason().empty()) return;
        }
        if (static_cast<std::size_t>(n) < sizeof buffer) return;
    }
}

}  // namespace chat

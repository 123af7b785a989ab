#include "server/tcp_session.hpp"

#include "server/framing.hpp"
#include "server/ip_group.hpp"
#include "server/link.hpp"
#include "server/tls_link.hpp"
#include "server/session_support.hpp"
#include "server/outbox.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <optional>
#include <poll.h>
#include <csignal>
#include <mutex>
#include <pthread.h>

namespace chat {

namespace {
using Clock = std::chrono::steady_clock;

/// Reads per turn of the loop, so that backpressure and the outbox's state
/// are looked at between bursts of a fast sender.
constexpr int kReadsPerTurn = 4;
/// Longest wait for the backlog before looking at the connection again.
constexpr std::chrono::milliseconds kBacklogRecheck{50};
/// While draining before close: a peer silent this long has nothing more to send.
constexpr int kQuietPeerMillis = 100;

/// For a connection refused at open() (server full, too many from one
/// address) whose link has a handshake: completes it, within `deadline`, so
/// that the refusal already queued can be written (a write waiting for the
/// handshake is retried through the outbox). Whatever the peer sends after
/// the handshake is dropped.
void completeHandshake(Link& link, Outbox& outbox, int fd, Clock::time_point deadline) {
    char sink[4096];
    for (;;) {
        const auto result = link.read(sink, sizeof sink);
        if (result.writerMayRetry) outbox.retryWrite();
        if (link.established() || result.status == Link::Status::Closed || result.status == Link::Status::Failed)
            return;
        if (result.status == Link::Status::Ok) continue;
        const auto now = Clock::now();
        if (now >= deadline) return;
        pollfd pfd{fd, static_cast<short>(result.wait == Link::Wait::Write ? POLLOUT : POLLIN), 0};
        if (::poll(&pfd, 1, millisUntil(deadline, now)) <= 0) return;
    }
}

/// The first bytes of a TLS ClientHello: a handshake record, version 3.x.
bool looksLikeTlsHello(const char* bytes, std::size_t size) {
    return size >= 1 && static_cast<unsigned char>(bytes[0]) == 0x16 &&
           (size < 2 || static_cast<unsigned char>(bytes[1]) == 0x03);
}

/// One connection's bytes in, frames out, into the conversation.
class Reader {
public:
    /// `onWriterRetry` runs when a read unblocks a waiting write (TLS);
    /// `onEstablished` once the link's handshake (if any) has completed.
    Reader(Link& link, Conversation& conversation, std::chrono::milliseconds frameDeadline, bool plaintextPort,
           std::function<void()> onWriterRetry, std::function<void()> onEstablished)
        : link_(link),
          conversation_(conversation),
          frameDeadline_(frameDeadline),
          plaintextPort_(plaintextPort),
          onWriterRetry_(std::move(onWriterRetry)),
          onEstablished_(std::move(onEstablished)),
          established_(plaintextPort) {}

    /// Reads what is there (a few reads at most) and feeds whole frames.
    void readAvailable(Clock::time_point now) {
        char buffer[16 * 1024];
        moreBuffered_ = false;
        for (int turn = 0; turn < kReadsPerTurn && conversation_.endReason().empty(); ++turn) {
            const auto result = link_.read(buffer, sizeof buffer);
            if (result.writerMayRetry) onWriterRetry_();
            if (!established_ && link_.established()) {
                established_ = true;
                onEstablished_();
            }
            moreBuffered_ = result.moreBuffered;
            wait_ = result.status == Link::Status::WouldBlock ? result.wait : Link::Wait::Read;
            if (result.status == Link::Status::WouldBlock) break;
            if (result.status == Link::Status::Closed) return conversation_.end("client closed the connection");
            if (result.status == Link::Status::Failed) {
                transportFailure_ = link_.failure();
                return conversation_.end(transportFailure_.empty() ? "connection reset by peer" : transportFailure_);
            }
            if (plaintextPort_ && firstBytes_ && looksLikeTlsHello(buffer, result.bytes)) {
                transportFailure_ = "TLS handshake on the plaintext port";
                return conversation_.end(transportFailure_);
            }
            firstBytes_ = false;
            conversation_.heard(now);
            decoder_.feed(buffer, result.bytes);
            if (!drainFrames(now)) return;
            if (result.bytes < sizeof buffer && !result.moreBuffered) break;
        }
        if (decoder_.buffered() == 0) frameStarted_.reset();
        else if (!frameStarted_) frameStarted_ = now;
    }

    /// Input is waiting inside the link (not on the socket): read without polling.
    bool moreBuffered() const { return moreBuffered_; }
    /// What to poll the socket for before reading again.
    short pollEvents() const { return wait_ == Link::Wait::Write ? POLLOUT : POLLIN; }
    /// Non-empty when the connection ended because it spoke the wrong
    /// protocol or its handshake failed: why, for the log.
    const std::string& transportFailure() const { return transportFailure_; }

    /// When the frame in progress must be complete; nullopt when none is.
    std::optional<Clock::time_point> frameDeadline() const {
        if (!frameStarted_) return std::nullopt;
        return *frameStarted_ + frameDeadline_;
    }

private:
    bool drainFrames(Clock::time_point now) {
        while (conversation_.endReason().empty()) {
            auto result = decoder_.next();
            if (result.status == FrameDecoder::Status::NeedMore) return true;
            if (result.status == FrameDecoder::Status::Invalid) {
                conversation_.frameTooLarge(result.declaredLength);
                return false;
            }
            frameStarted_.reset();
            conversation_.receive(result.payload, now);
        }
        return false;
    }

    Link& link_;
    Conversation& conversation_;
    const std::chrono::milliseconds frameDeadline_;
    const bool plaintextPort_;
    const std::function<void()> onWriterRetry_;
    const std::function<void()> onEstablished_;
    bool established_;
    bool firstBytes_ = true;
    bool moreBuffered_ = false;
    Link::Wait wait_ = Link::Wait::Read;
    std::string transportFailure_;
    FrameDecoder decoder_;
    std::optional<Clock::time_point> frameStarted_;
};
}  // namespace

TcpSession::TcpSession(const Poco::Net::StreamSocket& socket, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
                       SessionLimits limits, std::shared_ptr<const TlsServerContext> tls)
    : Poco::Net::TCPServerConnection(socket),
      hub_(hub),
      dispatcher_(dispatcher),
      logs_(logs),
      limits_(limits),
      tls_(std::move(tls)) {}

void TcpSession::run() {
    std::string peer, ip;
    try {
        const auto address = socket().peerAddress();
        peer = address.toString();
        ip = address.host().toString();
    } catch (const Poco::Exception&) {
        return;  // the peer is already gone
    }
    const ThreadWaker waker;
    socket().setBlocking(false);
    const int fd = socket().impl()->sockfd();
    std::unique_ptr<Link> linkOwner;
    TlsLink* tlsLink = nullptr;
    if (tls_) {
        static const std::string refusal =
            toFrame(makeError(ErrorCode::TlsRequired, "this port speaks TLS: connect with --tls"));
        auto made = std::make_unique<TlsLink>(fd, tls_->current().get(), refusal);
        tlsLink = made.get();
        linkOwner = std::move(made);
    } else {
        linkOwner = std::make_unique<PlainLink>(fd);
    }
    Link& link = *linkOwner;
    auto outbox = std::make_shared<Outbox>(link, LengthPrefixFraming::instance(), limits_.maxQueuedBytes, dispatcher_,
                                           [&waker] { waker.wake(); });
    Conversation conversation(hub_, outbox, limits_.conversation, peer, &logs_);
    conversation.setSecureTransport(tlsLink != nullptr || isLoopbackAddress(ip));
    bool flushAtEnd = true;
    Reader reader(
        link, conversation, limits_.conversation.pingInterval, tlsLink == nullptr, [&outbox] { outbox->retryWrite(); },
        [&] { spdlog::info("TLS connection from {} ({})", peer, tlsLink->description()); });
    if (conversation.open(ip, Clock::now())) {
        if (!tlsLink) spdlog::info("connection from {}", peer);
        try {
            while (conversation.endReason().empty()) {
                const auto status = outbox->status();
                if (status.overflowed) {
                    spdlog::warn("disconnecting {} ({}): slow consumer, it left more than {} bytes unread", peer,
                                 conversation.user().empty() ? "-" : conversation.user(), limits_.maxQueuedBytes);
                    conversation.end("slow consumer");
                    flushAtEnd = false;
                    break;
                }
                if (status.peerGone) {
                    conversation.end("connection reset by peer");
                    flushAtEnd = false;
                    break;
                }
                if (!status.closeReason.empty()) {
                    conversation.end(status.closeReason);
                    break;
                }
                auto now = Clock::now();
                if (const auto deadline = reader.frameDeadline(); deadline && now >= *deadline) {
                    conversation.frameIncomplete();
                    continue;
                }
                // Backpressure: while the server is behind, read nothing more.
                if (!dispatcher_.waitWhileBacklogged(now + kBacklogRecheck)) {
                    conversation.heard(Clock::now());  // its silence is ours
                    continue;
                }
                now = Clock::now();
                auto wakeAt = conversation.tick(now);
                if (!conversation.endReason().empty()) continue;
                if (const auto deadline = reader.frameDeadline()) wakeAt = std::min(wakeAt, *deadline);
                pollfd fds[1] = {{fd, reader.pollEvents(), 0}};
                const int timeout = reader.moreBuffered() ? 0 : millisUntil(wakeAt, now);
                if (waker.poll(fds, 1, timeout) < 0 && errno != EINTR) {
                    conversation.end("poll failed");
                    break;
                }
                if (reader.moreBuffered() || (fds[0].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)))
                    reader.readAvailable(Clock::now());
            }
        } catch (const std::exception& e) {
            spdlog::error("internal error on {} ({}): {}", peer, conversation.user(), e.what());
            conversation.end("internal error");
        }
    } else if (tlsLink) {
        completeHandshake(link, *outbox, fd, Clock::now() + limits_.flushTimeout);
    }
    conversation.close();  // no more events from the hub
    const bool established = link.established();
    if (!established) flushAtEnd = false;  // nothing can be sent without a handshake
    if (!reader.transportFailure().empty()) {
        logs_.warn(ip, "transport", fmt::format("{} from {}", reader.transportFailure(), peer));
        flushAtEnd = tlsLink != nullptr;  // a refused plaintext peer: read to its EOF (below)
    }
    if (flushAtEnd) outbox->waitUntilFlushed(Clock::now() + limits_.flushTimeout);
    outbox->detachLink();
    link.shutdownWrite();
    // Read to the peer's EOF before closing, so unread input never turns our
    // close into a reset that would discard the frames just sent. A peer that
    // has gone quiet (or is cut off) is not waited for.
    if (flushAtEnd) {
        const auto drainUntil = Clock::now() + limits_.drainTimeout;
        for (char sink[4096];;) {
            const auto now = Clock::now();
            if (now >= drainUntil) break;
            pollfd pfd{fd, POLLIN, 0};
            if (::poll(&pfd, 1, std::min(millisUntil(drainUntil, now), kQuietPeerMillis)) <= 0) break;
            const auto result = link.read(sink, sizeof sink);
            if (result.status != Link::Status::Ok && result.status != Link::Status::WouldBlock) break;
        }
    }
    const bool quiet = !established || !reader.transportFailure().empty();  // logged above, or by the conversation
    if (!quiet && (!conversation.user().empty() || conversation.endReason() != "server_full"))
        spdlog::info("disconnected {} ({}): {}", peer, conversation.user().empty() ? "-" : conversation.user(),
                     conversation.endReason());
}

}  // namespace chat

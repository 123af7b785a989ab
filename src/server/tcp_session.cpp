#include "server/tcp_session.hpp"

#include "server/framing.hpp"
#include "server/ip_group.hpp"
#include "server/link.hpp"
#include "server/tls_link.hpp"
#include "server/session_loop.hpp"
#include "server/session_support.hpp"
#include "server/outbox.hpp"
#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>
#include <poll.h>

namespace chat {

namespace {
using Clock = std::chrono::steady_clock;

/// For a connection refused at open() (server full, too many from one
/// address) whose link has a handshake: completes it, within `deadline`, so
/// that the refusal already queued can be written (a write waiting for the
/// handshake is retried through the outbox). Whatever the peer sends after
/// the handshake is dropped.
// Not inlined: its 4 KiB sink would enlarge every session thread's stack frame
// (and so every idle connection's resident stack) for a path only refused
// TLS connections take.
[[gnu::noinline]] void completeHandshake(Link& link, Outbox& outbox, int fd, Clock::time_point deadline) {
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

/// One connection's bytes in, length-prefixed frames out, into the conversation.
class Reader final : public FrameReader {
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

    void readAvailable(Clock::time_point now) override {
        moreBuffered_ = false;
        for (int turn = 0; turn < kReadsPerTurn && conversation_.endReason().empty(); ++turn) {
            char* const buffer = buffer_.data();
            const std::size_t capacity = buffer_.size();
            const auto result = link_.read(buffer, capacity);
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
            buffer_.filled(result.bytes);
            if (result.bytes < capacity && !result.moreBuffered) break;
        }
        if (decoder_.buffered() == 0) frameStarted_.reset();
        else if (!frameStarted_) frameStarted_ = now;
    }

    bool moreBuffered() const override { return moreBuffered_; }
    short pollEvents() const override { return wait_ == Link::Wait::Write ? POLLOUT : POLLIN; }
    /// Non-empty when the connection ended because it spoke the wrong
    /// protocol or its handshake failed: why, for the log.
    const std::string& transportFailure() const { return transportFailure_; }

    std::optional<Clock::time_point> frameDeadline() const override {
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

    ReadBuffer buffer_;
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
        flushAtEnd = runSessionLoop(
            {conversation, reader, *outbox, dispatcher_, waker, fd, peer, limits_.maxQueuedBytes});
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
    if (flushAtEnd) drainUntilPeerCloses(link, limits_.drainTimeout);
    const bool quiet = !established || !reader.transportFailure().empty();  // logged above, or by the conversation
    if (!quiet && (!conversation.user().empty() || conversation.endReason() != "server_full"))
        spdlog::info("disconnected {} ({}): {}", peer, conversation.user().empty() ? "-" : conversation.user(),
                     conversation.endReason());
}

}  // namespace chat

#include "server/websocket_session.hpp"

#include "server/conversation.hpp"
#include "server/framing.hpp"
#include "server/ip_group.hpp"
#include "server/link.hpp"
#include "server/tls_link.hpp"
#include "server/outbox.hpp"
#include "server/session_loop.hpp"
#include "server/session_support.hpp"
#include "shared/frame_codec.hpp"
#include "shared/websocket_codec.hpp"

#include <Poco/Runnable.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <poll.h>

namespace chat {

namespace {
using Clock = std::chrono::steady_clock;

/// Hub::shutdown's close reason.
const std::string kShutdownReason = "server shutting down";

/// The close frame the session sends last: its code and reason.
struct Closing {
    std::uint16_t code = ws::kNormal;
    std::string reason;
};

/// One connection's bytes in, WebSocket messages out, into the conversation.
class Reader final : public FrameReader {
public:
    /// `early`: the bytes that came after the upgrade request (see begin()).
    Reader(Link& link, Conversation& conversation, Outbox& outbox, std::chrono::milliseconds frameDeadline,
           const std::string& early)
        : link_(link),
          conversation_(conversation),
          outbox_(outbox),
          frameDeadline_(frameDeadline),
          early_(early),
          decoder_(/*expectMasked=*/true, kMaxFramePayload) {}

    /// Feeds the bytes the HTTP server read past the upgrade request.
    void begin(Clock::time_point now) override {
        if (early_.empty()) return;
        decoder_.feed(early_);
        drain(now);
        noteProgress(now);
    }

    void readAvailable(Clock::time_point now) override {
        moreBuffered_ = false;
        for (int turn = 0; turn < kReadsPerTurn && conversation_.endReason().empty(); ++turn) {
            char* const buffer = buffer_.data();
            const std::size_t capacity = buffer_.size();
            const auto result = link_.read(buffer, capacity);
            if (result.writerMayRetry) outbox_.retryWrite();
            moreBuffered_ = result.moreBuffered;
            wait_ = result.status == Link::Status::WouldBlock ? result.wait : Link::Wait::Read;
            if (result.status == Link::Status::WouldBlock) break;
            if (result.status == Link::Status::Closed) return conversation_.end("client closed the connection");
            if (result.status == Link::Status::Failed) return conversation_.end("connection reset by peer");
            conversation_.heard(now);
            decoder_.feed(buffer, result.bytes);
            if (!drain(now)) return;
            buffer_.filled(result.bytes);
            if (result.bytes < capacity && !result.moreBuffered) break;
        }
        noteProgress(now);
    }

    bool moreBuffered() const override { return moreBuffered_; }
    short pollEvents() const override { return wait_ == Link::Wait::Write ? POLLOUT : POLLIN; }

    std::optional<Clock::time_point> frameDeadline() const override {
        if (!frameStarted_) return std::nullopt;
        return *frameStarted_ + frameDeadline_;
    }
    /// Set when the peer closed or broke the framing: the close frame to send.
    const std::optional<Closing>& closing() const { return closing_; }

private:
    void noteProgress(Clock::time_point now) {
        if (decoder_.pending() == 0) frameStarted_.reset();
        else if (!frameStarted_) frameStarted_ = now;
    }

    bool drain(Clock::time_point now) {
        while (conversation_.endReason().empty()) {
            auto result = decoder_.next();
            switch (result.status) {
                case ws::Decoder::Status::NeedMore:
                    return true;
                case ws::Decoder::Status::Text:
                    frameStarted_.reset();
                    conversation_.receive(result.payload, now);
                    break;
                case ws::Decoder::Status::Binary:
                    closing_ = Closing{ws::kUnsupportedData, "binary messages are not accepted"};
                    conversation_.transportViolation(
                        "binary WebSocket messages are not accepted: send each request as a text message");
                    return false;
                case ws::Decoder::Status::Ping:
                    outbox_.deliverWire(ws::encodeFrame(ws::Opcode::Pong, result.payload));
                    break;
                case ws::Decoder::Status::Pong:
                    break;
                case ws::Decoder::Status::Close:
                    closing_ = Closing{ws::kNormal, ""};
                    conversation_.end("client closed the connection");
                    return false;
                case ws::Decoder::Status::Error:
                    closing_ = Closing{result.closeCode, result.error};
                    if (result.closeCode == ws::kMessageTooBig)
                        conversation_.frameTooLarge(result.declaredLength);
                    else
                        conversation_.transportViolation(result.error);
                    return false;
            }
        }
        return false;
    }

    ReadBuffer buffer_;
    Link& link_;
    Conversation& conversation_;
    Outbox& outbox_;
    const std::chrono::milliseconds frameDeadline_;
    const std::string& early_;
    ws::Decoder decoder_;
    std::optional<Clock::time_point> frameStarted_;
    std::optional<Closing> closing_;
    bool moreBuffered_ = false;
    Link::Wait wait_ = Link::Wait::Read;
};

/// The close frame for a conversation that ended for `endReason`.
Closing closingFor(const std::string& endReason) {
    if (endReason == kShutdownReason) return {ws::kGoingAway, "the server is shutting down"};
    if (endReason == "server_full" || endReason == "too_many_connections") return {ws::kTryAgainLater, endReason};
    if (endReason == "shutting_down") return {ws::kGoingAway, endReason};
    if (endReason.rfind("protocol error", 0) == 0) return {ws::kPolicyViolation, endReason};
    return {ws::kNormal, endReason};
}

/// Writes `bytes` (a close frame) straight to the link, after the outbox has
/// let go of it, within `deadline`. Returns true when all of it went out.
bool writeDirect(Link& link, int fd, const std::string& bytes, Clock::time_point deadline) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const auto result = link.write(bytes.data() + sent, bytes.size() - sent);
        if (result.status == Link::Status::Ok) {
            sent += result.bytes;
            continue;
        }
        if (result.status != Link::Status::WouldBlock) return false;
        const auto now = Clock::now();
        if (now >= deadline) return false;
        pollfd pfd{fd, static_cast<short>(result.wait == Link::Wait::Read ? POLLIN : POLLOUT), 0};
        if (::poll(&pfd, 1, millisUntil(deadline, now)) <= 0) return false;
    }
    return true;
}

class SessionTask final : public Poco::Runnable {
public:
    explicit SessionTask(std::unique_ptr<WebSocketSession> session) : session_(std::move(session)) {}
    void run() override {
        try {
            session_->run();
        } catch (const std::exception& e) {
            spdlog::error("WebSocket session: {}", e.what());
        }
        delete this;
    }

private:
    std::unique_ptr<WebSocketSession> session_;
};
}  // namespace

WebSocketSession::WebSocketSession(const Poco::Net::StreamSocket& socket, std::unique_ptr<Link> link,
                                   std::string leftover, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
                                   SessionLimits limits)
    : socket_(socket),
      link_(std::move(link)),
      leftover_(std::move(leftover)),
      hub_(hub),
      dispatcher_(dispatcher),
      logs_(logs),
      limits_(limits) {}

void WebSocketSession::start(Poco::ThreadPool& pool, const Poco::Net::StreamSocket& socket,
                             std::unique_ptr<Link> link, std::string leftover, Hub& hub, Dispatcher& dispatcher,
                             LogThrottle& logs, SessionLimits limits) {
    auto* task = new SessionTask(std::make_unique<WebSocketSession>(socket, std::move(link), std::move(leftover), hub,
                                                                    dispatcher, logs, limits));
    try {
        pool.start(*task, "websocket");
    } catch (...) {
        delete task;
        throw;
    }
}

void WebSocketSession::run() {
    std::string peer, ip;
    try {
        const auto address = socket_.peerAddress();
        peer = address.toString();
        ip = address.host().toString();
    } catch (const Poco::Exception&) {
        return;
    }
    const ThreadWaker waker;
    Link& link = *link_;
    const int fd = link.fd();
    const bool encrypted = dynamic_cast<const TlsLink*>(&link) != nullptr;
    auto outbox = std::make_shared<Outbox>(link, WebSocketFraming::instance(), limits_.maxQueuedBytes, dispatcher_,
                                           [&waker] { waker.wake(); });
    Conversation conversation(hub_, outbox, limits_.conversation, peer, &logs_);
    conversation.setSecureTransport(encrypted || isLoopbackAddress(ip));
    Reader reader(link, conversation, *outbox, limits_.conversation.pingInterval, leftover_);
    bool flushAtEnd = true;
    if (conversation.open(ip, Clock::now())) {
        spdlog::info("WebSocket connection from {}{}", peer, encrypted ? " (wss)" : "");
        flushAtEnd = runSessionLoop(
            {conversation, reader, *outbox, dispatcher_, waker, fd, peer, limits_.maxQueuedBytes});
    }
    conversation.close();
    const bool peerReset = conversation.endReason() == "connection reset by peer";
    bool flushed = false;
    if (flushAtEnd && !peerReset) flushed = outbox->waitUntilFlushed(Clock::now() + limits_.flushTimeout);
    outbox->detachLink();
    // The close frame goes out only behind whole frames: after a flush that
    // left nothing half-written.
    if (flushed) {
        const Closing closing = reader.closing() ? *reader.closing() : closingFor(conversation.endReason());
        writeDirect(link, fd, ws::encodeFrame(ws::Opcode::Close, ws::closePayload(closing.code, closing.reason)),
                    Clock::now() + limits_.flushTimeout);
    }
    link.shutdownWrite();
    if (flushed) drainUntilPeerCloses(link, limits_.drainTimeout);
    if (!conversation.user().empty() || conversation.endReason() != "server_full")
        spdlog::info("disconnected {} ({}): {}", peer, conversation.user().empty() ? "-" : conversation.user(),
                     conversation.endReason());
    try {
        socket_.close();
    } catch (const Poco::Exception&) {
    }
}

}  // namespace chat

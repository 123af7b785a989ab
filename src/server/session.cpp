#include "server/session.hpp"

#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <Poco/JSON/Array.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

namespace chat {

namespace {
Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& names) {
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    for (const auto& name : names) array->add(name);
    return array;
}
}  // namespace

Session::Session(const Poco::Net::StreamSocket& socket, Hub& hub, SessionLimits limits)
    : Poco::Net::TCPServerConnection(socket),
      hub_(hub),
      limits_(limits),
      outbox_(std::make_shared<Outbox>(limits.maxQueuedBytes)) {}

void Session::run() {
    try {
        peer_ = socket().peerAddress().toString();
    } catch (const Poco::Exception&) {
        return;  // the peer is already gone
    }
    if (const auto refused = hub_.attach(outbox_)) {
        refuse(*refused);
        return;
    }
    spdlog::info("connection from {}", peer_);
    socket().setBlocking(false);
    const int fd = socket().impl()->sockfd();
    const auto helloDeadline = Clock::now() + limits_.helloTimeout;
    std::optional<Clock::time_point> closeDeadline;

    while (endReason_.empty()) {
        const auto now = Clock::now();
        const std::string closeReason = outbox_->closeReason();
        if (!closeReason.empty() && !closeDeadline) closeDeadline = now + limits_.flushTimeout;
        if (closeDeadline && (!outbox_->pending() || now >= *closeDeadline)) {
            fail(closeReason);
            break;
        }
        if (outbox_->overflowed()) {
            spdlog::warn("disconnecting {} ({}): slow consumer, outbound queue over {} bytes", peer_,
                         user_.empty() ? "-" : user_, limits_.maxQueuedBytes);
            fail("slow consumer");
            break;
        }
        if (user_.empty() && now >= helloDeadline) {
            spdlog::warn("disconnecting {}: no hello within {} ms", peer_, limits_.helloTimeout.count());
            fail("hello timeout");
            break;
        }
        Clock::time_point wakeAt = closeDeadline ? *closeDeadline : helloDeadline;
        int timeoutMs = -1;
        if (closeDeadline || user_.empty())
            timeoutMs = static_cast<int>(
                std::max<long long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wakeAt - now).count()));

        pollfd fds[2] = {{fd, static_cast<short>(POLLIN | (outbox_->pending() ? POLLOUT : 0)), 0},
                         {outbox_->wakeFd(), POLLIN, 0}};
        const int ready = ::poll(fds, 2, timeoutMs);
        if (ready < 0 && errno != EINTR) {
            fail("poll failed");
            break;
        }
        if (fds[1].revents & POLLIN) outbox_->clearWake();
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) readAvailable();
        if (outbox_->pending() && outbox_->writeTo(fd) == Outbox::WriteStatus::PeerGone)
            fail("connection reset by peer");
    }

    hub_.detach(outbox_, endReason_);
    try {
        socket().shutdownSend();
    } catch (const Poco::Exception&) {
    }
    spdlog::info("disconnected {} ({}): {}", peer_, user_.empty() ? "-" : user_, endReason_);
}

void Session::refuse(ErrorCode why) {
    const bool full = why == ErrorCode::ServerFull;
    if (full)
        spdlog::warn("refused {}: server full ({} clients)", peer_, hub_.config().maxClients);
    else
        spdlog::info("refused {}: shutting down", peer_);
    try {
        socket().setSendTimeout(Poco::Timespan(1, 0));
        const auto frame = toFrame(makeError(
            why, full ? "the server is full (" + std::to_string(hub_.config().maxClients) + " clients); try again later"
                      : "the server is shutting down"));
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
            fail("client closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) fail("connection reset by peer");
            return;
        }
        decoder_.feed(buffer, static_cast<std::size_t>(n));
        for (;;) {
            auto result = decoder_.next();
            if (result.status == FrameDecoder::Status::NeedMore) break;
            if (result.status == FrameDecoder::Status::Invalid) {
                spdlog::warn("protocol error from {} ({}): frame length {} exceeds {}", peer_,
                             user_.empty() ? "-" : user_, result.declaredLength, kMaxFramePayload);
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

void Session::reply(const Poco::JSON::Object::Ptr& message) {
    outbox_->deliver(std::make_shared<const std::string>(toFrame(message)));
}

void Session::handleFrame(const std::string& payload) {
    auto parsed = parseMessage(payload);
    if (!parsed) {
        spdlog::warn("protocol error from {} ({}): {}", peer_, user_.empty() ? "-" : user_, parsed.error);
        reply(makeError(ErrorCode::BadRequest, parsed.error));
        return;
    }
    const auto& request = parsed.message;
    const auto id = requestId(request);
    if (parsed.type == "hello") return handleHello(request);
    if (user_.empty()) {
        reply(makeError(ErrorCode::BadRequest, "send hello first", id));
        return;
    }
    if (parsed.type == "send") return handleSend(request);
    if (parsed.type == "who") {
        auto ok = makeOk(id);
        ok->set("users", toArray(hub_.online()));
        return reply(ok);
    }
    if (parsed.type == "ping") {
        auto pong = makeMessage("pong");
        if (!id.isEmpty()) pong->set("id", id);
        return reply(pong);
    }
    if (parsed.type == "quit") {
        reply(makeOk(id));
        outbox_->closeAfterFlush("quit");
        return;
    }
    reply(makeError(ErrorCode::BadRequest, "unknown message type '" + parsed.type + "'", id));
}

void Session::handleHello(const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    if (!user_.empty()) return reply(makeError(ErrorCode::BadRequest, "already said hello as " + user_, id));
    const auto version = intField(request, "version");
    if (!version)
        return reply(makeError(ErrorCode::BadRequest, "hello needs an integer field \"version\"", id));
    if (*version != kProtocolVersion) {
        reply(makeError(ErrorCode::VersionUnsupported,
                        "this server speaks protocol version " + std::to_string(kProtocolVersion) +
                            "; the client asked for version " + std::to_string(*version),
                        id));
        spdlog::warn("protocol error from {}: unsupported version {}", peer_, *version);
        outbox_->closeAfterFlush("unsupported protocol version");
        return;
    }
    const auto name = stringField(request, "user");
    if (!name) return reply(makeError(ErrorCode::BadRequest, "hello needs a string field \"user\"", id));
    if (request->has("announce") && !boolField(request, "announce"))
        return reply(makeError(ErrorCode::BadRequest, "\"announce\" must be true or false", id));
    const bool announce = boolField(request, "announce").value_or(true);
    std::string displayName;
    auto joined = hub_.join(outbox_, *name, announce, displayName);
    if (!joined) {
        reply(makeError(*joined.error, joined.errorText, id));
        return;
    }
    user_ = displayName;
    const auto client = stringField(request, "client").value_or("unknown");
    spdlog::info("{} is {} (client {})", peer_, user_, client);
    auto welcome = makeMessage("welcome");
    if (!id.isEmpty()) welcome->set("id", id);
    welcome->set("version", kProtocolVersion);
    welcome->set("server", hub_.config().serverName);
    welcome->set("motd", hub_.config().motd);
    welcome->set("user", user_);
    welcome->set("room", hub_.config().room);
    welcome->set("online", toArray(hub_.online()));
    welcome->set("max_text", static_cast<std::uint64_t>(hub_.config().maxTextBytes));
    reply(welcome);
}

void Session::handleSend(const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    const auto text = stringField(request, "text");
    if (!text) return reply(makeError(ErrorCode::BadRequest, "send needs a string field \"text\"", id));
    if (request->has("to") && !stringField(request, "to"))
        return reply(makeError(ErrorCode::BadRequest, "\"to\" must be a string", id));
    const auto to = stringField(request, "to").value_or(hub_.config().room);
    HubResult result;
    if (!to.empty() && to[0] == '@') {
        result = hub_.sendDirect(outbox_, to.substr(1), *text);
    } else if (nameKey(to) == nameKey(hub_.config().room)) {
        result = hub_.sendToRoom(outbox_, *text);
    } else {
        result = {ErrorCode::BadRequest, "unknown destination '" + to + "': use @user or " + hub_.config().room, 0};
    }
    if (!result) return reply(makeError(*result.error, result.errorText, id));
    auto ok = makeOk(id);
    ok->set("msg_id", result.messageId);
    reply(ok);
}

}  // namespace chat

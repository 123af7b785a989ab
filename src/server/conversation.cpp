#include "server/conversation.hpp"

#include "shared/frame_codec.hpp"
#include "shared/quoting.hpp"

#include <spdlog/spdlog.h>

namespace chat {

Conversation::Conversation(Hub& hub, ParticipantPtr out, ConversationLimits limits, std::string peer,
                           LogThrottle* logs)
    : hub_(hub),
      logs_(logs),
      out_(std::move(out)),
      limits_(limits),
      peer_(std::move(peer)),
      requests_(limits.requestsPerSecond, limits.requestBurst, Clock::now()) {}

bool Conversation::open(const std::string& ip, Clock::time_point now) {
    opened_ = lastHeard_ = now;
    ip_ = ip;
    const auto refused = hub_.attach(out_, ip);
    if (!refused) {
        attached_ = true;
        return true;
    }
    std::string text;
    if (*refused == ErrorCode::ServerFull)
        text = "the server is full (" + std::to_string(hub_.config().maxClients) + " clients); try again later";
    else if (*refused == ErrorCode::TooManyConnections)
        text = "too many connections from your address (at most " + std::to_string(hub_.config().maxPerIp) + ")";
    else
        text = "the server is shutting down";
    const auto line = fmt::format("refused {} (-): {}", peer_, text);
    if (logs_)
        logs_->warn(ip, "refused", line);  // by address: a flood of connections logs a few lines and a count
    else
        spdlog::warn("{}", line);
    out_->deliver(makeEvent(makeError(*refused, text)));
    end(std::string(errorCodeName(*refused)));
    return false;
}

void Conversation::receive(std::string_view payload, Clock::time_point now) {
    lastHeard_ = now;
    if (!endReason_.empty()) return;
    auto parsed = parseMessage(payload);
    if (!parsed) {
        warn("protocol error", fmt::format("protocol error from {} ({}): {}", peer_, who(), parsed.error));
        return refuse(ErrorCode::BadRequest, parsed.error);
    }
    dispatch(parsed.type, parsed.message);
}

void Conversation::frameTooLarge(std::uint64_t declaredLength) {
    warn("protocol error", fmt::format("protocol error from {} ({}): frame length {} exceeds {}", peer_, who(),
                                       declaredLength, kMaxFramePayload));
    refuse(ErrorCode::FrameTooLarge, "frame length " + std::to_string(declaredLength) + " exceeds the maximum of " +
                                         std::to_string(kMaxFramePayload) + " bytes");
    closeAfterReply("protocol error: frame too large");
}

void Conversation::frameIncomplete() {
    spdlog::warn("disconnecting {} ({}): a frame was started and not finished within {} ms", peer_, who(),
                 limits_.pingInterval.count());
    refuse(ErrorCode::BadRequest, "a frame was started and not finished within " +
                                      std::to_string(limits_.pingInterval.count()) + " ms");
    closeAfterReply("protocol error: incomplete frame");
}

void Conversation::transportViolation(const std::string& what) {
    warn("protocol error", fmt::format("protocol error from {} ({}): {}", peer_, who(), what));
    refuse(ErrorCode::BadRequest, what);
    closeAfterReply("protocol error: " + what);
}

Conversation::Clock::time_point Conversation::tick(Clock::time_point now) {
    if (!endReason_.empty()) return now + limits_.pingInterval;
    if (user_.empty()) {
        const auto deadline = opened_ + limits_.helloTimeout;
        if (now < deadline) return deadline;
        spdlog::warn("disconnecting {}: no hello within {} ms", peer_, limits_.helloTimeout.count());
        closeAfterReply("hello timeout");  // silently, as before hello nothing is sent unasked
        return now + limits_.pingInterval;
    }
    if (now >= lastHeard_ + 2 * limits_.pingInterval) {
        spdlog::warn("disconnecting {} ({}): ping timeout, silent for {} ms", peer_, who(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - lastHeard_).count());
        closeAfterReply("ping timeout");
        return now + limits_.pingInterval;
    }
    if (now < lastHeard_ + limits_.pingInterval) {
        pingSent_ = false;
        return lastHeard_ + limits_.pingInterval;
    }
    if (!pingSent_) {
        reply(makeMessage("ping"));
        pingSent_ = true;
    }
    return lastHeard_ + 2 * limits_.pingInterval;
}

void Conversation::end(const std::string& reason) {
    if (endReason_.empty()) endReason_ = reason.empty() ? "closed" : reason;
}

void Conversation::closeAfterReply(const std::string& reason) {
    end(reason);
    out_->closeAfterFlush(reason);
}

void Conversation::close() {
    if (logs_)
        for (const auto& summary : logs_->forget(peer_)) spdlog::warn("{}", summary);
    if (!attached_) return;
    attached_ = false;
    hub_.detach(out_, endReason_.empty() ? "closed" : endReason_);
}

void Conversation::warn(std::string_view kind, const std::string& line) {
    if (logs_)
        logs_->warn(peer_, kind, line);
    else
        spdlog::warn("{}", line);
}

void Conversation::reply(const Poco::JSON::Object::Ptr& message) {
    auto event = makeEvent(message);
    if (event->payload.size() > kMaxFramePayload) {
        // Answers measure their lists; this is the last guard, never a disconnect.
        spdlog::error("answer to {} ({}) of {} bytes does not fit a frame; sent an error instead", peer_, who(),
                      event->payload.size());
        auto error = makeError(ErrorCode::BadRequest, "the answer was too large to send");
        if (message->has("id")) error->set("id", message->get("id"));
        event = makeEvent(error);
    }
    out_->deliver(event);
}

void Conversation::refuse(ErrorCode code, const std::string& text, const Poco::Dynamic::Var& id) {
    reply(makeError(code, text, id));
}

bool Conversation::spendRequest(const Poco::Dynamic::Var& id) {
    const auto wait = requests_.take(Clock::now());
    if (!wait) return true;
    warn("rate limited", fmt::format("request budget spent by {} ({}): retry in {} ms", peer_, who(), wait->count()));
    auto error = makeError(ErrorCode::RateLimited,
                           "too many requests; try again in " + std::to_string(wait->count()) + " ms", id);
    error->set("retry_after_ms", static_cast<std::int64_t>(wait->count()));
    reply(error);
    return false;
}

}  // namespace chat

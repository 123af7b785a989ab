#include "server/session_loop.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <poll.h>

namespace chat {

namespace {
using Clock = std::chrono::steady_clock;

/// Longest wait for the backlog before looking at the connection again.
constexpr std::chrono::milliseconds kBacklogRecheck{50};
/// While draining before close: a peer silent this long has nothing more to send.
constexpr int kQuietPeerMillis = 100;

bool loop(const SessionLoopParts& parts) {
    Conversation& conversation = parts.conversation;
    FrameReader& reader = parts.reader;
    while (conversation.endReason().empty()) {
        const auto status = parts.outbox.status();
        if (status.overflowed) {
            spdlog::warn("disconnecting {} ({}): slow consumer, it left more than {} bytes unread", parts.peer,
                         conversation.user().empty() ? "-" : conversation.user(), parts.maxQueuedBytes);
            conversation.end("slow consumer");
            return false;
        }
        if (status.peerGone) {
            conversation.end("connection reset by peer");
            return false;
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
        if (!parts.dispatcher.waitWhileBacklogged(now + kBacklogRecheck)) {
            conversation.heard(Clock::now());  // its silence is ours
            continue;
        }
        now = Clock::now();
        auto wakeAt = conversation.tick(now);
        if (!conversation.endReason().empty()) continue;
        if (const auto deadline = reader.frameDeadline()) wakeAt = std::min(wakeAt, *deadline);
        pollfd fds[1] = {{parts.fd, reader.pollEvents(), 0}};
        const int timeout = reader.moreBuffered() ? 0 : millisUntil(wakeAt, now);
        if (parts.waker.poll(fds, 1, timeout) < 0 && errno != EINTR) {
            conversation.end("poll failed");
            break;
        }
        if (reader.moreBuffered() || (fds[0].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)))
            reader.readAvailable(Clock::now());
    }
    return true;
}
}  // namespace

bool runSessionLoop(const SessionLoopParts& parts) {
    try {
        parts.reader.begin(Clock::now());
        return loop(parts);
    } catch (const std::exception& e) {
        spdlog::error("internal error on {} ({}): {}", parts.peer, parts.conversation.user(), e.what());
        parts.conversation.end("internal error");
    }
    return true;
}

void drainUntilPeerCloses(Link& link, std::chrono::milliseconds timeout) {
    const auto drainUntil = Clock::now() + timeout;
    for (char sink[4096];;) {
        const auto now = Clock::now();
        if (now >= drainUntil) break;
        pollfd pfd{link.fd(), POLLIN, 0};
        if (::poll(&pfd, 1, std::min(millisUntil(drainUntil, now), kQuietPeerMillis)) <= 0) break;
        const auto result = link.read(sink, sizeof sink);
        if (result.status != Link::Status::Ok && result.status != Link::Status::WouldBlock) break;
    }
}

}  // namespace chat

#include "server/tls_web_connection.hpp"

#include "server/session_support.hpp"
#include "server/tls_link.hpp"
#include "server/web_responses.hpp"
#include "server/websocket_session.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <poll.h>
#include <sstream>

namespace chat {

namespace {
using Clock = std::chrono::steady_clock;
using Poco::Net::HTTPResponse;

/// Longest single wait, so that a stopping server is noticed.
constexpr int kPollSliceMillis = 200;
/// While draining before close: a peer silent this long has nothing more to send.
constexpr int kQuietPeerMillis = 100;

const std::string kPlaintextBody = "bad request: this port speaks HTTPS only; use https:// (and wss://)\n";
const std::string kPlaintextRefusal = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                      "Content-Length: " +
                                      std::to_string(kPlaintextBody.size()) +
                                      "\r\nConnection: close\r\n\r\n" + kPlaintextBody;

short pollFor(Link::Wait wait) { return wait == Link::Wait::Write ? POLLOUT : POLLIN; }

/// Waits for `events` on `fd` until `deadline`, in slices. False on time-out,
/// a poll error, or when the server stops.
bool await(int fd, short events, Clock::time_point deadline, const std::atomic<bool>& stopping) {
    for (;;) {
        if (stopping) return false;
        const auto now = Clock::now();
        if (now >= deadline) return false;
        pollfd pfd{fd, events, 0};
        const int ready = ::poll(&pfd, 1, std::min(millisUntil(deadline, now), kPollSliceMillis));
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) return false;
    }
}

/// Writes all of `bytes` through `link` within `deadline`.
bool writeAll(Link& link, const std::string& bytes, Clock::time_point deadline, const std::atomic<bool>& stopping) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const auto result = link.write(bytes.data() + sent, bytes.size() - sent);
        if (result.status == Link::Status::Ok) {
            sent += result.bytes;
            continue;
        }
        if (result.status != Link::Status::WouldBlock) return false;
        if (!await(link.fd(), pollFor(result.wait), deadline, stopping)) return false;
    }
    return true;
}

/// What reading the request came to.
struct Received {
    std::string bytes;                     ///< decrypted input so far
    std::size_t headEnd = std::string::npos;  ///< just past the blank line
    bool tooLarge = false;
    std::string failure;  ///< non-empty: why the connection ends unanswered (for the log)
    bool refused = false;  ///< a plaintext client, already answered by the link
};
}  // namespace

TlsWebConnection::TlsWebConnection(const Poco::Net::StreamSocket& socket, const TlsWebShared& shared)
    : Poco::Net::TCPServerConnection(socket), shared_(shared) {}

void TlsWebConnection::run() {
    std::string peer, ip;
    try {
        const auto address = socket().peerAddress();
        peer = address.toString();
        ip = address.host().toString();
        socket().setBlocking(false);
        socket().setNoDelay(true);
    } catch (const Poco::Exception&) {
        return;  // the peer is already gone
    }
    const int fd = socket().impl()->sockfd();
    auto link = std::make_unique<TlsLink>(fd, shared_.tls->current().get(), kPlaintextRefusal);
    const auto& limits = shared_.limits;
    const auto handshakeDeadline = Clock::now() + limits.conversation.helloTimeout;
    std::optional<Clock::time_point> requestDeadline;

    // The handshake, then the request head.
    Received in;
    char buffer[16 * 1024];
    for (bool peerClosed = false; !peerClosed && in.headEnd == std::string::npos && !in.tooLarge &&
                                  in.failure.empty();) {
        const auto result = link->read(buffer, sizeof buffer);
        if (!requestDeadline && link->established())
            requestDeadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(shared_.requestTimeout);
        switch (result.status) {
            case Link::Status::Ok: {
                const auto searchFrom = in.bytes.size() < 3 ? 0 : in.bytes.size() - 3;
                in.bytes.append(buffer, result.bytes);
                const auto end = in.bytes.find("\r\n\r\n", searchFrom);
                if (end != std::string::npos) in.headEnd = end + 4;
                else if (in.bytes.size() > TlsWebConnection::kMaxRequestHead) in.tooLarge = true;
                break;
            }
            case Link::Status::Closed:
                peerClosed = true;  // went away without a (whole) request: nothing to say
                break;
            case Link::Status::Failed:
                in.failure = link->failure();
                if (in.failure.empty()) in.failure = "connection reset by peer";
                in.refused = in.failure.rfind("plaintext", 0) == 0;
                break;
            case Link::Status::WouldBlock: {
                const auto deadline = requestDeadline ? *requestDeadline : handshakeDeadline;
                if (!await(fd, pollFor(result.wait), deadline, shared_.stopping)) {
                    if (shared_.stopping) return;
                    in.failure = requestDeadline ? "no whole HTTP request within the request time-out"
                                                 : "TLS handshake not finished within the hello timeout";
                }
                break;
            }
        }
        if (peerClosed) return;
    }
    if (!in.failure.empty()) {
        shared_.logs.warn(ip, "transport", fmt::format("{} from {} (web port)", in.failure, peer));
        if (in.refused) {  // the link answered 400 in plaintext and shut its side: read to the peer's EOF
            const auto drainUntil = Clock::now() + limits.drainTimeout;
            while (await(fd, POLLIN, drainUntil, shared_.stopping)) {
                const auto result = link->read(buffer, sizeof buffer);
                if (result.status != Link::Status::Ok && result.status != Link::Status::WouldBlock) break;
            }
        }
        return;
    }

    // The answer: the same as plain HTTP's.
    Poco::Net::HTTPRequest request;
    HTTPResponse response;
    WebAnswer answer;
    if (in.tooLarge) {
        answer = textAnswer(request, response, HTTPResponse::HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "request header fields too large\n");
    } else {
        bool parsed = true;
        try {
            std::istringstream head(in.bytes.substr(0, in.headEnd));
            request.read(head);
        } catch (const Poco::Exception&) {
            parsed = false;
        }
        if (parsed) {
            const WebRequestContext context{shared_.origins, shared_.logs, "https", peer, ip,
                                            shared_.sessions.available() == 0};
            answer = answerWebRequest(request, response, context);
        } else {
            request = Poco::Net::HTTPRequest();
            response = HTTPResponse();
            answer = textAnswer(request, response, HTTPResponse::HTTP_BAD_REQUEST, "bad request: unreadable request\n");
        }
    }
    if (!answer.upgrade) response.setKeepAlive(false);  // Connection: close
    std::ostringstream out;
    response.write(out);
    std::string bytes = out.str();
    if (!answer.upgrade && request.getMethod() != Poco::Net::HTTPRequest::HTTP_HEAD) bytes.append(answer.body);
    const auto writeDeadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(shared_.requestTimeout);
    if (!writeAll(*link, bytes, writeDeadline, shared_.stopping)) return;

    if (answer.upgrade) {
        try {
            WebSocketSession::start(shared_.sessions, socket(), std::move(link), in.bytes.substr(in.headEnd),
                                    shared_.hub, shared_.dispatcher, shared_.logs, limits);
            return;
        } catch (const Poco::Exception& e) {
            // The pool filled between the check and now (the link went with
            // the session that could not start): the socket just closes.
            spdlog::warn("refused a WebSocket from {}: {}", ip, e.displayText());
            return;
        }
    }
    // Connection: close. close_notify and FIN, then read to the peer's EOF
    // so that unread input does not turn the close into a reset.
    link->shutdownWrite();
    const auto drainUntil = Clock::now() + limits.drainTimeout;
    for (auto lastHeard = Clock::now();;) {
        const auto quietUntil = std::min(drainUntil, lastHeard + std::chrono::milliseconds(kQuietPeerMillis));
        if (!await(fd, POLLIN, quietUntil, shared_.stopping)) break;
        const auto result = link->read(buffer, sizeof buffer);
        if (result.status != Link::Status::Ok && result.status != Link::Status::WouldBlock) break;
        lastHeard = Clock::now();
    }
}

}  // namespace chat

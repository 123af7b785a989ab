#pragma once
// The socket transport: one client connection, plain TCP or TLS, from accept
// to close, on its own Poco pool thread. It only moves bytes and frames; the
// Conversation does everything else.

#include "server/conversation.hpp"
#include "server/dispatcher.hpp"
#include "server/hub.hpp"
#include "server/log_throttle.hpp"
#include "server/tls_context.hpp"

#include <Poco/Net/TCPServerConnection.h>

#include <chrono>
#include <memory>
#include <string>

namespace chat {

struct SessionLimits {
    std::size_t maxQueuedBytes = 1024 * 1024;  ///< bytes the peer may refuse before it is cut as a slow consumer
    std::chrono::milliseconds flushTimeout{1'000};  ///< for answers still queued when a connection ends
    std::chrono::milliseconds drainTimeout{1'000};  ///< reading to EOF after our FIN, before closing
    ConversationLimits conversation;
};

/// run() reads bytes through a Link (a PlainLink, or a TlsLink when the
/// session is made with a TLS context: the same conversation either way),
/// splits them into frames and feeds
/// the Conversation; answers and events reach the peer through the session's
/// Outbox, which the Dispatcher's thread writes. The session ends when the
/// conversation does: the peer closed, broke the protocol, overflowed its
/// queue, or the hub asked it to close. It then leaves the hub, sends what
/// is queued, shuts down its sending side, and reads until the peer's EOF
/// (or drainTimeout) before the socket closes, so the peer receives the last
/// frames instead of a reset. The loop and the drain are session_loop.hpp's,
/// shared with WebSocketSession; this class supplies the length-prefix
/// FrameReader, the TLS handshake and the wrong-protocol checks.
///
/// Wrong-protocol peers: on a plaintext session, a first frame that starts
/// like a TLS ClientHello (0x16 0x03) is closed without an answer; on a TLS
/// session a plaintext peer is answered tls_required in plaintext (see
/// TlsLink). Either, and a failed handshake, logs one throttled warning.
class TcpSession final : public Poco::Net::TCPServerConnection {
public:
    /// `logs` throttles the warnings a peer can cause; it is shared by every
    /// session. `tls` null: plain TCP; otherwise TLS with its current context.
    TcpSession(const Poco::Net::StreamSocket& socket, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
               SessionLimits limits, std::shared_ptr<const TlsServerContext> tls = nullptr);
    void run() override;

private:
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
    const SessionLimits limits_;
    const std::shared_ptr<const TlsServerContext> tls_;
};

}  // namespace chat

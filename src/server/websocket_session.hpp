#pragma once
// The WebSocket transport: one upgraded connection from the web port, from
// the end of its HTTP handshake to close, on a session pool thread. Like
// TcpSession it only moves bytes and frames; the Conversation does the rest.

#include "server/dispatcher.hpp"
#include "server/hub.hpp"
#include "server/link.hpp"
#include "server/log_throttle.hpp"
#include "server/tcp_session.hpp"

#include <Poco/Net/StreamSocket.h>
#include <Poco/ThreadPool.h>

#include <memory>
#include <string>

namespace chat {

/// Runs on the chat server's session pool, not on the HTTP server's threads:
/// a long-lived chat connection must neither use up the threads that serve
/// files nor be starved by an HTTP flood. The bytes move through a Link: a
/// PlainLink for ws://, the connection's TlsLink (handshake already done) for
/// wss://, as TcpSession's do; client frames are
/// decoded with ws::Decoder, answers and events leave through an Outbox with
/// WebSocketFraming (one text frame per protocol object), written by the
/// Dispatcher like every other connection's.
///
/// Frames: a text message is one request; a binary message closes with 1003,
/// bad UTF-8 with 1007, a message over kMaxFramePayload with 1009 (after the
/// frame_too_large answer TCP would get), any other framing error with 1002.
/// Pings are answered with pongs through the outbox. When the conversation
/// ends the session flushes what is queued, sends a close frame (1000; 1001
/// on shutdown; 1013 when refused for capacity; the error's code above),
/// shuts its sending side and reads until the peer closes (or drainTimeout).
/// A slow consumer is cut without a close frame, as a TCP one is.
/// The loop and the drain are session_loop.hpp's, shared with TcpSession;
/// this class supplies the WebSocket FrameReader and the close frame.
class WebSocketSession {
public:
    /// `socket`: non-blocking, kept open while the session runs; `link`
    /// moves its bytes (fd() is the socket's). `leftover`: bytes that came
    /// after the upgrade request, already read (and decrypted) by the HTTP
    /// side (frames the client sent early). A TlsLink counts as a secure
    /// transport (passwords allowed), as does a loopback peer.
    WebSocketSession(const Poco::Net::StreamSocket& socket, std::unique_ptr<Link> link, std::string leftover,
                     Hub& hub, Dispatcher& dispatcher, LogThrottle& logs, SessionLimits limits);

    /// Runs a session for `socket` on `pool`; the session deletes itself when
    /// it ends. Throws Poco::NoThreadAvailableException when the pool is full
    /// (the caller closes the socket).
    static void start(Poco::ThreadPool& pool, const Poco::Net::StreamSocket& socket, std::unique_ptr<Link> link,
                      std::string leftover, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
                      SessionLimits limits);

    void run();

private:
    Poco::Net::StreamSocket socket_;
    const std::unique_ptr<Link> link_;
    const std::string leftover_;
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
    const SessionLimits limits_;
};

}  // namespace chat

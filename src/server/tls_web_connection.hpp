#pragma once
// One connection to the web port when it speaks TLS: the handshake, one
// HTTP request, its answer, and for an upgrade the hand-over to a
// WebSocketSession on the same TlsLink.

#include "server/dispatcher.hpp"
#include "server/hub.hpp"
#include "server/log_throttle.hpp"
#include "server/origin_policy.hpp"
#include "server/tcp_session.hpp"
#include "server/tls_context.hpp"

#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <chrono>
#include <memory>

namespace chat {

/// What every TLS web connection shares; all of it outlives the connections
/// (the WebServer owns or references it and joins its HTTP pool first).
struct TlsWebShared {
    std::shared_ptr<const TlsServerContext> tls;
    const OriginPolicy& origins;
    Hub& hub;
    Dispatcher& dispatcher;
    LogThrottle& logs;
    Poco::ThreadPool& sessions;
    SessionLimits limits;
    std::chrono::seconds requestTimeout;  ///< for the request head once the handshake is done
    const std::atomic<bool>& stopping;    ///< set when the server stops: give up at once
};

/// Runs on the web port's HTTP pool. The TLS handshake (with the context
/// current at accept, so a SIGHUP reload applies to new connections) must
/// finish within the hello timeout; then the request head (at most
/// kMaxRequestHead bytes, else 431) within requestTimeout; it is parsed by
/// Poco::Net::HTTPRequest::read (unparseable: 400). The answer is
/// answerWebRequest's, for scheme https, with Connection: close: the
/// connection then shuts its sending side (close_notify) and reads to the
/// peer's EOF (drainTimeout at most). A 101 hands the socket, its TlsLink
/// and the bytes after the head to a WebSocketSession on the session pool.
/// A plaintext client gets a 400 in plaintext ("this port speaks HTTPS")
/// and a FIN; it, and a failed or unfinished handshake, log one throttled
/// warning. Nothing here blocks past those deadlines.
class TlsWebConnection final : public Poco::Net::TCPServerConnection {
public:
    static constexpr std::size_t kMaxRequestHead = 16 * 1024;

    TlsWebConnection(const Poco::Net::StreamSocket& socket, const TlsWebShared& shared);
    void run() override;

private:
    const TlsWebShared& shared_;
};

class TlsWebConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
public:
    explicit TlsWebConnectionFactory(TlsWebShared shared) : shared_(std::move(shared)) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        return new TlsWebConnection(socket, shared_);
    }

private:
    const TlsWebShared shared_;
};

}  // namespace chat

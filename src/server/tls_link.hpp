#pragma once
// TLS over one non-blocking socket, as a Link.

#include "server/link.hpp"

#include <openssl/ssl.h>

#include <string>

namespace chat {

/// One server-side TLS connection: an OpenSSL SSL on the socket the caller
/// owns (and keeps open while the link is used). The handshake happens inside
/// read(): until it completes, read() returns WouldBlock (waiting for
/// whichever direction OpenSSL needs) and write() returns WouldBlock waiting
/// for Read, so that queued frames go out once the handshake is done. A
/// session's hello timeout therefore also bounds the handshake.
///
/// Why the OpenSSL C API and not Poco NetSSL: Poco's SecureStreamSocket does
/// its handshake and record I/O in blocking calls on its own socket object,
/// while a Link is driven by a session thread reading and the dispatcher
/// thread writing, each without blocking, serialised by the stream mutex.
/// One SSL per connection under that mutex is what OpenSSL supports.
///
/// Edges: when the first byte the peer sends is not a TLS handshake record
/// (0x16) the peer speaks plaintext: `plaintextRefusal` is written to it
/// unencrypted, the sending side is shut, read() returns Failed with
/// failure() saying so, and later reads just discard input (so the peer
/// gets the refusal and a FIN, not a reset). A failed handshake returns
/// Failed with OpenSSL's reason in failure().
class TlsLink final : public Link {
public:
    /// `context` is only used here (SSL_new keeps its own reference).
    TlsLink(int fd, SSL_CTX* context, std::string plaintextRefusal);
    ~TlsLink() override;
    TlsLink(const TlsLink&) = delete;
    TlsLink& operator=(const TlsLink&) = delete;

    int fd() const override { return fd_; }
    /// "TLSv1.3 TLS_AES_256_GCM_SHA384" once established; for the log.
    std::string description() EXCLUDES(streamMutex_);

protected:
    Result readLocked(char* buffer, std::size_t size) override REQUIRES(streamMutex_);
    Result writeLocked(const char* data, std::size_t size) override REQUIRES(streamMutex_);
    void shutdownWriteLocked() override REQUIRES(streamMutex_);
    bool establishedLocked() override REQUIRES(streamMutex_) { return state_ == State::Established; }
    std::string failureLocked() override REQUIRES(streamMutex_) { return failure_; }

private:
    enum class State { Fresh, Handshaking, Established, Refused, Failed };
    /// Maps an SSL call's return to a Result, recording failures.
    Result outcome(int ret, const char* during) REQUIRES(streamMutex_);
    Result refusePlaintext() REQUIRES(streamMutex_);

    const int fd_;
    SSL* const ssl_;
    const std::string plaintextRefusal_;
    State state_ GUARDED_BY(streamMutex_) = State::Fresh;
    std::string failure_ GUARDED_BY(streamMutex_);
    bool shutDown_ GUARDED_BY(streamMutex_) = false;
};

}  // namespace chat

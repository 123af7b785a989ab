#pragma once
// The client's TLS layer: OpenSSL's SSL object directly on the connected
// socket's file descriptor, non-blocking, so that the poll loops that
// already watch the descriptor keep working. (Poco's SecureStreamSocket
// decides trust inside its certificate-handler callbacks during the
// handshake, with one process-wide handler; trust on first use needs the
// verification result, the certificate and the pin together after the
// handshake, per connection, which the plain OpenSSL API gives directly.)

#include "client/server_address.hpp"
#include "client/server_connection_error.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace chat {

/// How a client decides to trust a TLS server (see server_trust.hpp).
struct TlsSettings {
    std::string caFile;                      ///< --ca-file; empty: the system store
    std::optional<std::string> fingerprint;  ///< --fingerprint, canonical
    bool insecure = false;                   ///< --insecure: no verification at all
    std::string knownServersPath;            ///< pins; empty: none are read
    bool canAsk = false;                     ///< a person could be asked (see UntrustedServer)
};

/// The server's certificate is not trusted: exit 77. When `askable`, a
/// person at a terminal may be asked (TlsSettings::canAsk was true and the
/// certificate is merely self-signed); what() is then the question's
/// preamble, and fingerprint() the value to pin.
class UntrustedServer : public ClientError {
public:
    UntrustedServer(const std::string& message, std::string fingerprint, bool askable);
    const std::string& fingerprint() const { return fingerprint_; }
    bool askable() const { return askable_; }

private:
    std::string fingerprint_;
    bool askable_;
};

/// One TLS session over a connected socket. Not thread-safe. Does not own
/// the descriptor, which it switches to non-blocking mode.
class TlsStream {
public:
    using Clock = std::chrono::steady_clock;

    /// Performs the handshake by `deadline` and decides trust. Throws
    /// ClientError: 75 on time-out, 69 when the handshake fails (with "did
    /// not answer with TLS (is it the plaintext port?)" when no TLS record
    /// ever came back), 64 for an unreadable --ca-file; UntrustedServer (77)
    /// when the certificate is not trusted.
    TlsStream(int fd, const ServerAddress& address, const TlsSettings& settings, Clock::time_point deadline);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    /// Writes all of `size` bytes, waiting for the socket as needed. Throws
    /// ClientError(69) when the connection is gone.
    void write(const char* data, std::size_t size);

    enum class Read { Data, WouldBlock, Closed };
    /// One non-blocking read of decrypted bytes into `buffer`; Data sets `got`.
    Read read(char* buffer, std::size_t size, std::size_t& got);

    /// True when decrypted bytes wait inside OpenSSL (read() takes them).
    bool pending() const;

    /// Sends close_notify, without waiting.
    void shutdown();

    /// SHA-256 fingerprint of the server's certificate ("AB:CD:...").
    const std::string& fingerprint() const { return fingerprint_; }

private:
    SSL_CTX* context_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_;
    std::string fingerprint_;
};

}  // namespace chat

#pragma once
// The load generator's TLS: one client SSL_CTX per run and non-blocking
// steps (handshake, read, write) over one SSL* per connection, for the
// engine's epoll loop. OpenSSL 3 C API; nothing here blocks or polls.
//
// Every handshake is a full one: no session cache and no tickets, so a run
// measures what a server pays for a new client. Verification is off unless
// a CA file is given: the benchmark measures the server, and it only ever
// talks to a server it started on loopback.

#include <cstddef>
#include <memory>
#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace bench {

struct TlsOptions {
    bool enabled = false;
    /// PEM file of trusted certificates; when set, the server's chain and its
    /// address (an IP literal: the engine only connects to 127.x.x.x) are
    /// verified and a failure ends the handshake. Empty: no verification.
    std::string caFile;
};

/// What one non-blocking TLS step did.
enum class TlsStatus {
    Done,       ///< handshake finished, or `bytes` moved
    WantRead,   ///< call again when the socket is readable
    WantWrite,  ///< call again when the socket is writable
    Closed,     ///< the peer closed (close_notify or EOF)
    Failed,     ///< a fatal error; `error` says which
};

struct TlsStep {
    TlsStatus status = TlsStatus::Done;
    std::size_t bytes = 0;
    std::string error;
};

/// The client context: TLS 1.2 and 1.3, OpenSSL's default ciphers, no
/// compression, no renegotiation, no session resumption, partial writes
/// with a moving write buffer (the engine's queue may be reallocated between
/// retries) and buffers released while idle (2,000 mostly idle connections
/// would otherwise hold two 16 KiB+ buffers each).
class TlsContext {
public:
    /// Throws std::runtime_error when the context or the CA file cannot be set up.
    explicit TlsContext(const TlsOptions& options);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    /// A client SSL* over the connected (or connecting) socket `fd`, for a
    /// server at the IP literal `host`. The caller owns it (SSL_free); it does
    /// not close `fd`. nullptr, with `error` set, when OpenSSL refuses.
    SSL* attach(int fd, const std::string& host, std::string& error) const;

    bool verifying() const { return verify_; }

private:
    SSL_CTX* ctx_ = nullptr;
    bool verify_ = false;
};

/// One step of the client handshake (SSL_connect).
TlsStep tlsHandshake(SSL* ssl);
/// Up to `n` decrypted bytes into `into`.
TlsStep tlsRead(SSL* ssl, char* into, std::size_t n);
/// Encrypts and sends at least one record from `data` (up to `n` bytes):
/// `bytes` says how many were taken. After WantRead/WantWrite the caller
/// must retry with the same bytes at the start (it may add more after them).
TlsStep tlsWrite(SSL* ssl, const char* data, std::size_t n);
/// "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519": protocol, cipher and key
/// exchange group of a connection whose handshake finished.
std::string tlsDescribe(SSL* ssl);
/// Sends close_notify without waiting for the peer's; for a connection
/// whose handshake finished and which had no fatal error.
void tlsNotifyClose(SSL* ssl);

}  // namespace bench

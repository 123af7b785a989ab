#pragma once
// A TLS client connection to 127.0.0.1 for tests, on the OpenSSL C API: it
// verifies (or not) the server's certificate as told, then reads and writes
// frames like RawConnection does in plaintext. Plus certificate fixtures
// made at test time (nothing secret is committed).

#include "support/deadline.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

#include "shared/tls_certificates.hpp"

#include <Poco/JSON/Object.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat::test {

/// A CA and a server certificate it signed for localhost and 127.0.0.1,
/// written as PEM files into a temporary directory.
struct TlsFixture {
    TlsFixture();
    TempDir dir;
    tls::PemPair ca;
    tls::PemPair server;
    std::string caFile;    ///< dir/ca.pem
    std::string certFile;  ///< dir/cert.pem (the server's)
    std::string keyFile;   ///< dir/key.pem
    /// --tls-cert, --tls-key and --tls-port 0 for `chat serve`.
    std::vector<std::string> serveArgs() const;
};

struct TlsClientOptions {
    std::string caPem;             ///< trusted (PEM); empty: verify nothing (any certificate passes)
    std::string host = "localhost";  ///< checked against the certificate and sent as SNI; an IP literal is checked as one
};

class TlsConnection {
public:
    /// Connects TCP to 127.0.0.1:port; the handshake is handshake()'s job.
    explicit TlsConnection(std::uint16_t port, TlsClientOptions options = {});
    ~TlsConnection();
    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    /// Runs the handshake until done or `wait`. Returns "" on success, else
    /// why: OpenSSL's reason, the verification error, "eof", or "time-out".
    std::string handshake(std::chrono::milliseconds wait = kWait);

    /// A connection whose handshake succeeded (trusting `options`), that has
    /// said hello as `user` and read its welcome.
    static std::unique_ptr<TlsConnection> joined(std::uint16_t port, const std::string& user,
                                                 TlsClientOptions options);

    /// The server certificate's SHA-256 fingerprint, once handshaken.
    std::string peerFingerprint() const;
    int fd() const { return fd_; }

    /// Encrypts and sends all of `bytes` (fails the test on error or after `wait`).
    void send(std::string_view bytes, std::chrono::milliseconds wait = kWait);
    void sendJson(const std::string& json);
    /// Writes `bytes` to the socket as they are, under TLS (a torn record).
    void sendUnencrypted(std::string_view bytes);

    /// Decrypted bytes as they come, unframed (for HTTP and WebSocket over
    /// TLS): at least one byte, or nullopt on time-out or once the server closed.
    std::optional<std::string> receiveRaw(std::chrono::milliseconds wait = kWait);
    /// The next frame's payload; nullopt on time-out or once the server closed.
    std::optional<std::string> nextPayload(std::chrono::milliseconds wait = kWait);
    std::optional<Poco::JSON::Object::Ptr> next(std::chrono::milliseconds wait = kWait);
    /// The first message of `type`; fails the test if none comes within `wait`.
    Poco::JSON::Object::Ptr waitForType(const std::string& type, std::chrono::milliseconds wait = kWait);
    /// True once the server has ended the stream (close_notify, EOF or reset)
    /// within `wait`; messages before that are dropped.
    bool closedWithin(std::chrono::milliseconds wait = kWait);
    bool closed() const { return closed_; }

private:
    /// Reads decrypted bytes into the inbox until one frame or `deadline`.
    bool fillUntil(Clock::time_point deadline);

    int fd_ = -1;
    SSL_CTX* context_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string inbox_;
    bool closed_ = false;
};

}  // namespace chat::test

#include "support/tls_connection.hpp"

#include "shared/frame_codec.hpp"
#include "support/raw_connection.hpp"

#include <Poco/JSON/Parser.h>
#include <catch2/catch.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace chat::test {

namespace {
void writeText(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    REQUIRE(out.good());
}

std::string sslReason() {
    const unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) return "unknown";
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "unknown";
}

/// Waits for the direction `error` (SSL_ERROR_WANT_*) asks for; false on time-out.
bool awaitDirection(int fd, int error, Clock::time_point deadline) {
    pollfd p{fd, static_cast<short>(error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
    return ::poll(&p, 1, millisUntil(deadline)) > 0;
}
}  // namespace

TlsFixture::TlsFixture() {
    ca = tls::makeSelfSigned({{"chat test CA"}, std::chrono::seconds(-3600), std::chrono::hours(24), true});
    server = tls::makeSignedBy({{"localhost", "127.0.0.1"}}, ca);
    caFile = dir.file("ca.pem");
    certFile = dir.file("cert.pem");
    keyFile = dir.file("key.pem");
    writeText(caFile, ca.certificate);
    tls::writePemFiles(server, certFile, keyFile);
}

std::vector<std::string> TlsFixture::serveArgs() const {
    return {"--tls-cert", certFile, "--tls-key", keyFile, "--tls-port", "0"};
}

TlsConnection::TlsConnection(std::uint16_t port, TlsClientOptions options) : fd_(connectLoopback(port)) {
    context_ = SSL_CTX_new(TLS_client_method());
    REQUIRE(context_);
    SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
    if (!options.caPem.empty()) {
        BIO* bio = BIO_new_mem_buf(options.caPem.data(), static_cast<int>(options.caPem.size()));
        X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        REQUIRE(ca);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(context_), ca);
        X509_free(ca);
        SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(context_);
    REQUIRE(ssl_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_connect_state(ssl_);
    if (!options.caPem.empty()) {
        unsigned char ip[16];
        if (::inet_pton(AF_INET, options.host.c_str(), ip) == 1) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), options.host.c_str());
        } else {
            SSL_set1_host(ssl_, options.host.c_str());
            SSL_set_tlsext_host_name(ssl_, options.host.c_str());
        }
    }
}

TlsConnection::~TlsConnection() {
    if (ssl_) SSL_free(ssl_);
    if (context_) SSL_CTX_free(context_);
    if (fd_ >= 0) ::close(fd_);
}

std::string TlsConnection::handshake(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        ERR_clear_error();
        const int ret = SSL_do_handshake(ssl_);
        if (ret == 1) return "";
        const int error = SSL_get_error(ssl_, ret);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            if (!awaitDirection(fd_, error, deadline)) return "time-out";
            continue;
        }
        if (SSL_get_verify_result(ssl_) != X509_V_OK)
            return X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
        if (error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN) {
            const auto reason = sslReason();
            return reason == "unknown" ? "eof" : reason;
        }
        return sslReason();
    }
}

std::unique_ptr<TlsConnection> TlsConnection::joined(std::uint16_t port, const std::string& user,
                                                     TlsClientOptions options) {
    auto connection = std::make_unique<TlsConnection>(port, std::move(options));
    REQUIRE(connection->handshake() == "");
    connection->send(helloFrame(user));
    auto welcome = connection->waitForType("welcome");
    REQUIRE(welcome->getValue<std::string>("user") == user);
    return connection;
}

std::string TlsConnection::peerFingerprint() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    REQUIRE(cert);
    auto fingerprint = tls::fingerprintSha256(cert);
    X509_free(cert);
    return fingerprint;
}

void TlsConnection::send(std::string_view bytes, std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (!bytes.empty()) {
        ERR_clear_error();
        std::size_t written = 0;
        const int ret = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
        if (ret == 1) {
            bytes.remove_prefix(written);
            continue;
        }
        const int error = SSL_get_error(ssl_, ret);
        INFO("SSL_write: " << error << " " << sslReason());
        REQUIRE((error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ));
        REQUIRE(awaitDirection(fd_, error, deadline));
    }
}

void TlsConnection::sendJson(const std::string& json) { send(encodeFrame(json)); }

void TlsConnection::sendUnencrypted(std::string_view bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

bool TlsConnection::fillUntil(Clock::time_point deadline) {
    char buffer[16 * 1024];
    for (;;) {
        if (inbox_.size() >= 4) {
            const auto length = (static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[0])) << 24) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[1])) << 16) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[2])) << 8) |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[3]));
            REQUIRE(length <= kMaxFramePayload);
            if (inbox_.size() >= 4 + length) return true;
        }
        if (closed_) return false;
        ERR_clear_error();
        std::size_t got = 0;
        const int ret = SSL_read_ex(ssl_, buffer, sizeof buffer, &got);
        if (ret == 1) {
            inbox_.append(buffer, got);
            continue;
        }
        const int error = SSL_get_error(ssl_, ret);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            if (!awaitDirection(fd_, error, deadline)) return false;
            continue;
        }
        closed_ = true;  // close_notify, EOF or an error: the stream is over
        ERR_clear_error();
    }
}

std::optional<std::string> TlsConnection::receiveRaw(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    char buffer[16 * 1024];
    while (inbox_.empty() && !closed_) {
        ERR_clear_error();
        std::size_t got = 0;
        const int ret = SSL_read_ex(ssl_, buffer, sizeof buffer, &got);
        if (ret == 1) {
            inbox_.append(buffer, got);
            break;
        }
        const int error = SSL_get_error(ssl_, ret);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            if (!awaitDirection(fd_, error, deadline)) return std::nullopt;
            continue;
        }
        closed_ = true;
        ERR_clear_error();
    }
    if (inbox_.empty()) return std::nullopt;
    std::string bytes;
    bytes.swap(inbox_);
    return bytes;
}

std::optional<std::string> TlsConnection::nextPayload(std::chrono::milliseconds wait) {
    if (!fillUntil(Clock::now() + wait)) return std::nullopt;
    const auto length = (static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[0])) << 24) |
                        (static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[1])) << 16) |
                        (static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[2])) << 8) |
                        static_cast<std::uint32_t>(static_cast<unsigned char>(inbox_[3]));
    std::string payload = inbox_.substr(4, length);
    inbox_.erase(0, 4 + length);
    return payload;
}

std::optional<Poco::JSON::Object::Ptr> TlsConnection::next(std::chrono::milliseconds wait) {
    auto payload = nextPayload(wait);
    if (!payload) return std::nullopt;
    Poco::JSON::Parser parser;
    return parser.parse(*payload).extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr TlsConnection::waitForType(const std::string& type, std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        auto message = next(std::chrono::milliseconds(millisUntil(deadline)));
        INFO("waiting for a '" << type << "' over TLS; closed: " << closed_);
        REQUIRE(message);
        if ((*message)->getValue<std::string>("type") == type) return *message;
    }
}

bool TlsConnection::closedWithin(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (!closed_) {
        if (!fillUntil(deadline) && !closed_) return false;
        if (!closed_) nextPayload(std::chrono::milliseconds(0));
    }
    return true;
}

}  // namespace chat::test

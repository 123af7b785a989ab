#include "client/tls_stream.hpp"

#include "client/known_servers.hpp"
#include "client/server_trust.hpp"
#include "shared/exit_codes.hpp"
#include "shared/tls_certificates.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>

namespace chat {

namespace {
/// Set by the message callback once the peer sent anything TLS understood.
struct HandshakeWatch {
    bool sawTls = false;
};

void watchMessages(int writeP, int, int contentType, const void*, std::size_t, SSL* ssl, void*) {
    if (writeP != 0 || (contentType != SSL3_RT_HANDSHAKE && contentType != SSL3_RT_ALERT)) return;
    if (auto* watch = static_cast<HandshakeWatch*>(SSL_get_app_data(ssl))) watch->sawTls = true;
}

std::string lastSslError() {
    const unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) return "the connection was closed";
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "error " + std::to_string(code);
}

bool isIpLiteral(const std::string& host) {
    unsigned char buffer[16];
    return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

int millisUntil(TlsStream::Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - TlsStream::Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}
}  // namespace

UntrustedServer::UntrustedServer(const std::string& message, std::string fingerprint, bool askable)
    : ClientError(exit_code::kUntrusted, message), fingerprint_(std::move(fingerprint)), askable_(askable) {}

TlsStream::TlsStream(int fd, const ServerAddress& address, const TlsSettings& settings, Clock::time_point deadline)
    : fd_(fd) {
    const std::string where = address.name();
    ERR_clear_error();
    context_ = SSL_CTX_new(TLS_client_method());
    if (!context_) throw ClientError(exit_code::kSoftware, "cannot set up TLS: " + lastSslError());
    SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
    SSL_CTX_set_options(context_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // Verified, but not enforced during the handshake: the result is
    // weighed afterwards together with the pins (server_trust.hpp).
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
    if (!settings.caFile.empty()) {
        if (SSL_CTX_load_verify_locations(context_, settings.caFile.c_str(), nullptr) != 1) {
            const auto why = lastSslError();
            SSL_CTX_free(context_);
            throw ClientError(exit_code::kUsage, "cannot use --ca-file " + settings.caFile + ": " + why);
        }
    } else {
        SSL_CTX_set_default_verify_paths(context_);
    }
    SSL_CTX_set_msg_callback(context_, watchMessages);
    ssl_ = SSL_new(context_);
    if (!ssl_ || SSL_set_fd(ssl_, fd) != 1) {
        const auto why = lastSslError();
        if (ssl_) SSL_free(ssl_);
        SSL_CTX_free(context_);
        throw ClientError(exit_code::kSoftware, "cannot set up TLS: " + why);
    }
    HandshakeWatch watch;
    SSL_set_app_data(ssl_, &watch);
    if (isIpLiteral(address.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), address.host.c_str());
    } else {
        SSL_set1_host(ssl_, address.host.c_str());
        SSL_set_tlsext_host_name(ssl_, address.host.c_str());
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

    auto fail = [this](int code, const std::string& message) {
        SSL_free(ssl_);
        SSL_CTX_free(context_);
        throw ClientError(code, message);
    };
    for (;;) {
        ERR_clear_error();
        const int result = SSL_connect(ssl_);
        if (result == 1) break;
        const int error = SSL_get_error(ssl_, result);
        short events = 0;
        if (error == SSL_ERROR_WANT_READ) events = POLLIN;
        else if (error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
        else if (error == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        if (events == 0) {
            if (!watch.sawTls) fail(exit_code::kUnavailable, where + " did not answer with TLS (is it the plaintext port?)");
            fail(exit_code::kUnavailable, "the TLS handshake with " + where + " failed: " + lastSslError());
        }
        pollfd p{fd, events, 0};
        const int ready = ::poll(&p, 1, millisUntil(deadline));
        if (ready == 0) fail(exit_code::kTempFail, "timed out during the TLS handshake with " + where);
        if (ready < 0 && errno != EINTR) fail(exit_code::kUnavailable, "the TLS handshake with " + where + " failed");
    }
    SSL_set_app_data(ssl_, nullptr);

    X509* certificate = SSL_get1_peer_certificate(ssl_);
    if (!certificate) fail(exit_code::kUntrusted, where + " presented no certificate");
    fingerprint_ = tls::fingerprintSha256(certificate);
    X509_free(certificate);
    if (settings.insecure) return;

    TrustFacts facts;
    facts.server = where;
    facts.fingerprint = fingerprint_;
    facts.verify.error = static_cast<int>(SSL_get_verify_result(ssl_));
    facts.verify.errorText = X509_verify_cert_error_string(facts.verify.error);
    if (!settings.knownServersPath.empty()) {
        facts.pin = KnownServers::load(settings.knownServersPath).find(where);
        facts.knownServersPath = settings.knownServersPath;
    }
    facts.expected = settings.fingerprint;
    facts.canAsk = settings.canAsk;
    const auto decision = decideTrust(facts);
    if (decision.verdict == TrustDecision::Verdict::Accept) return;
    SSL_free(ssl_);
    SSL_CTX_free(context_);
    throw UntrustedServer(decision.message, fingerprint_, decision.verdict == TrustDecision::Verdict::Ask);
}

TlsStream::~TlsStream() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
}

void TlsStream::write(const char* data, std::size_t size) {
    std::size_t sent = 0;
    while (sent < size) {
        ERR_clear_error();
        std::size_t written = 0;
        const int result = SSL_write_ex(ssl_, data + sent, size - sent, &written);
        if (result == 1) {
            sent += written;
            continue;
        }
        const int error = SSL_get_error(ssl_, result);
        short events = 0;
        if (error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
        else if (error == SSL_ERROR_WANT_READ) events = POLLIN;
        else if (error == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        else {
            ERR_clear_error();
            throw ClientError(exit_code::kUnavailable, "connection to server lost");
        }
        pollfd p{fd_, events, 0};
        ::poll(&p, 1, 1000);
    }
}

TlsStream::Read TlsStream::read(char* buffer, std::size_t size, std::size_t& got) {
    for (;;) {
        ERR_clear_error();
        const int result = SSL_read_ex(ssl_, buffer, size, &got);
        if (result == 1) return Read::Data;
        const int error = SSL_get_error(ssl_, result);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return Read::WouldBlock;
        if (error == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        ERR_clear_error();
        return Read::Closed;
    }
}

bool TlsStream::pending() const { return SSL_pending(ssl_) > 0; }

void TlsStream::shutdown() {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

}  // namespace chat

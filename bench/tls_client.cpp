#include "tls_client.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdexcept>

namespace bench {

namespace {
/// The oldest error OpenSSL queued on this thread (the cause, usually),
/// with the verification result when that was the failure; empties the queue.
std::string takeErrors(const SSL* ssl) {
    std::string text;
    if (const unsigned long code = ERR_peek_error(); code != 0) {
        const char* reason = ERR_reason_error_string(code);
        text = reason ? reason : "error " + std::to_string(code);
    }
    ERR_clear_error();
    if (ssl && SSL_get_verify_result(ssl) != X509_V_OK)
        text += std::string(text.empty() ? "" : ": ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    return text.empty() ? "unknown TLS error" : text;
}

/// Turns an SSL_* call's return value into a step.
TlsStep classify(SSL* ssl, int ret, const char* what) {
    TlsStep step;
    if (ret > 0) {
        step.bytes = static_cast<std::size_t>(ret);
        return step;
    }
    const int savedErrno = errno;
    switch (SSL_get_error(ssl, ret)) {
        case SSL_ERROR_WANT_READ:
            step.status = TlsStatus::WantRead;
            return step;
        case SSL_ERROR_WANT_WRITE:
            step.status = TlsStatus::WantWrite;
            return step;
        case SSL_ERROR_ZERO_RETURN:
            step.status = TlsStatus::Closed;
            step.error = "closed by server (TLS close_notify)";
            return step;
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                // EOF without close_notify, or a socket error.
                step.status = savedErrno == 0 ? TlsStatus::Closed : TlsStatus::Failed;
                step.error = savedErrno == 0 ? std::string("closed by server")
                                             : std::string(what) + ": " + std::strerror(savedErrno);
                return step;
            }
            [[fallthrough]];
        default:
            step.status = TlsStatus::Failed;
            step.error = std::string(what) + ": " + takeErrors(ssl);
            return step;
    }
}
}  // namespace

TlsContext::TlsContext(const TlsOptions& options) : verify_(!options.caFile.empty()) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) throw std::runtime_error("SSL_CTX_new: " + takeErrors(nullptr));
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
    if (verify_) {
        if (SSL_CTX_load_verify_locations(ctx_, options.caFile.c_str(), nullptr) != 1) {
            const std::string why = takeErrors(nullptr);
            SSL_CTX_free(ctx_);
            throw std::runtime_error("cannot load CA file " + options.caFile + ": " + why);
        }
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SSL* TlsContext::attach(int fd, const std::string& host, std::string& error) const {
    SSL* ssl = SSL_new(ctx_);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        error = "SSL_new: " + takeErrors(nullptr);
        SSL_free(ssl);
        return nullptr;
    }
    if (verify_ && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
        error = "cannot check the certificate against " + host + ": " + takeErrors(nullptr);
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

TlsStep tlsHandshake(SSL* ssl) {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_connect(ssl);
    if (ret == 1) return {};
    auto step = classify(ssl, ret, "TLS handshake");
    if (step.status == TlsStatus::Closed) step.error = "TLS handshake: the server closed the connection";
    return step;
}

TlsStep tlsRead(SSL* ssl, char* into, std::size_t n) {
    ERR_clear_error();
    errno = 0;
    return classify(ssl, SSL_read(ssl, into, static_cast<int>(std::min<std::size_t>(n, INT_MAX))), "TLS read");
}

TlsStep tlsWrite(SSL* ssl, const char* data, std::size_t n) {
    ERR_clear_error();
    errno = 0;
    return classify(ssl, SSL_write(ssl, data, static_cast<int>(std::min<std::size_t>(n, INT_MAX))), "TLS write");
}

std::string tlsDescribe(SSL* ssl) {
    std::string text = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
    const int group = SSL_get_negotiated_group(ssl);
    if (group != 0) {
        const char* name = SSL_group_to_name(ssl, group);
        if (name) text += std::string(" ") + name;
    }
    return text;
}

void tlsNotifyClose(SSL* ssl) {
    ERR_clear_error();
    SSL_shutdown(ssl);  // one call: close_notify goes out; the peer's answer is not awaited
    ERR_clear_error();
}

}  // namespace bench

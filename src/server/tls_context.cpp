#include "server/tls_context.hpp"

#include "shared/tls_certificates.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace chat {

namespace {
/// OpenSSL's reason for the first failure on this thread's queue (the
/// root cause: "no start line", not the "PEM lib" wrapped around it), and
/// clears the queue.
std::string openSslReason() {
    const unsigned long code = ERR_peek_error();
    ERR_clear_error();
    if (code == 0) return "unknown error";
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "unknown error";
}

void requireReadable(const std::string& path, const char* what) {
    if (::access(path.c_str(), R_OK) != 0)
        throw TlsSetupError(std::string("cannot read the TLS ") + what + " " + path + ": " + std::strerror(errno), true);
}
}  // namespace

TlsServerContext::TlsServerContext(std::string certPath, std::string keyPath)
    : certPath_(std::move(certPath)), keyPath_(std::move(keyPath)) {
    auto loaded = load(certPath_, keyPath_);
    MutexLock lock(mutex_);
    loaded_ = std::move(loaded);
}

TlsServerContext::Loaded TlsServerContext::load(const std::string& certPath, const std::string& keyPath) {
    requireReadable(certPath, "certificate");
    requireReadable(keyPath, "key");
    ERR_clear_error();
    ContextPtr context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!context) throw TlsSetupError("cannot make a TLS context: " + openSslReason(), false);
    SSL_CTX* ctx = context.get();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Outbox retries a refused write from a rebuilt buffer holding the same bytes.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, certPath.c_str()) != 1)
        throw TlsSetupError("the TLS certificate " + certPath + " is not a usable PEM certificate: " + openSslReason(),
                            false);
    if (SSL_CTX_use_PrivateKey_file(ctx, keyPath.c_str(), SSL_FILETYPE_PEM) != 1) {
        const bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;
        const auto reason = openSslReason();
        if (mismatch)
            throw TlsSetupError("the TLS key " + keyPath + " does not belong to the certificate " + certPath, false);
        throw TlsSetupError("the TLS key " + keyPath + " is not a usable PEM private key: " + reason, false);
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        throw TlsSetupError("the TLS key " + keyPath + " does not belong to the certificate " + certPath + ": " +
                                openSslReason(),
                            false);
    return {std::move(context), tls::fingerprintSha256(SSL_CTX_get0_certificate(ctx))};
}

TlsServerContext::ContextPtr TlsServerContext::current() const {
    MutexLock lock(mutex_);
    return loaded_.context;
}

std::string TlsServerContext::fingerprint() const {
    MutexLock lock(mutex_);
    return loaded_.fingerprint;
}

void TlsServerContext::reload() {
    auto loaded = load(certPath_, keyPath_);  // throws, leaving the old one
    MutexLock lock(mutex_);
    loaded_ = std::move(loaded);
}

}  // namespace chat

#pragma once
// The server's TLS configuration: one SSL_CTX (certificate chain, key,
// protocol floor), swappable at run time for SIGHUP.

#include "shared/mutex.hpp"

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace chat {

/// A certificate or key file that cannot be used; what() says which file and
/// why. `unreadable` tells a missing or unreadable file from a bad one.
class TlsSetupError : public std::runtime_error {
public:
    TlsSetupError(const std::string& message, bool unreadable) : std::runtime_error(message), unreadable_(unreadable) {}
    bool unreadable() const { return unreadable_; }

private:
    bool unreadable_;
};

/// Holds the SSL_CTX new TLS connections are made with. Every context it
/// makes speaks TLS 1.2 and 1.3 only, with OpenSSL's default cipher lists,
/// no compression, no renegotiation, and no wait for a close_notify the
/// peer never sends. SNI is accepted and ignored: one certificate.
///
/// Thread-safe: session threads take current() while the signal thread
/// reload()s. An SSL made from a context keeps that context alive (OpenSSL
/// counts references), so a reload never touches an existing connection.
class TlsServerContext {
public:
    using ContextPtr = std::shared_ptr<SSL_CTX>;

    /// Loads `certPath` (PEM, the leaf first, then any chain) and `keyPath`
    /// (PEM). Throws TlsSetupError when a file cannot be read, is not PEM, or
    /// the key does not belong to the certificate.
    TlsServerContext(std::string certPath, std::string keyPath);

    /// The context for a new connection.
    ContextPtr current() const EXCLUDES(mutex_);
    /// The SHA-256 fingerprint of the current leaf certificate ("AB:CD:...").
    std::string fingerprint() const EXCLUDES(mutex_);

    /// Reads both files again. On success new connections use them; on
    /// failure the old ones stay and the TlsSetupError is thrown.
    void reload() EXCLUDES(mutex_);

    const std::string& certPath() const { return certPath_; }
    const std::string& keyPath() const { return keyPath_; }

private:
    struct Loaded {
        ContextPtr context;
        std::string fingerprint;
    };
    static Loaded load(const std::string& certPath, const std::string& keyPath);

    const std::string certPath_;
    const std::string keyPath_;
    mutable Mutex mutex_;
    Loaded loaded_ GUARDED_BY(mutex_);
};

}  // namespace chat

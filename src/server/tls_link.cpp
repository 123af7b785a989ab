#include "server/tls_link.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/socket.h>

namespace chat {

namespace {
constexpr unsigned char kHandshakeRecord = 0x16;

/// OpenSSL's reason for the newest error on this thread's queue.
std::string openSslReason() {
    const unsigned long code = ERR_peek_last_error();
    if (code == 0) return {};
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "error " + std::to_string(ERR_GET_REASON(code));
}
}  // namespace

TlsLink::TlsLink(int fd, SSL_CTX* context, std::string plaintextRefusal)
    : fd_(fd), ssl_(SSL_new(context)), plaintextRefusal_(std::move(plaintextRefusal)) {
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
        if (ssl_) SSL_free(ssl_);
        throw std::runtime_error("cannot make a TLS connection object");
    }
    SSL_set_accept_state(ssl_);
}

TlsLink::~TlsLink() { SSL_free(ssl_); }

std::string TlsLink::description() {
    MutexLock lock(streamMutex_);
    if (state_ != State::Established) return "not established";
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

Link::Result TlsLink::outcome(int ret, const char* during) {
    const int error = SSL_get_error(ssl_, ret);
    switch (error) {
        case SSL_ERROR_WANT_READ:
            return {Status::WouldBlock, 0, Wait::Read};
        case SSL_ERROR_WANT_WRITE:
            return {Status::WouldBlock, 0, Wait::Write};
        case SSL_ERROR_ZERO_RETURN:
            return {Status::Closed};
        case SSL_ERROR_SYSCALL: {
            const int saved = errno;
            const bool handshaking = state_ == State::Handshaking;
            if (saved == 0 && !handshaking) return {Status::Closed};
            state_ = State::Failed;
            if (handshaking)
                failure_ = std::string("TLS handshake failed: ") +
                           (saved == 0 ? "the peer closed the connection" : std::strerror(saved));
            return {Status::Failed};
        }
        default: {
            const std::string reason = openSslReason();
            const bool handshaking = state_ == State::Handshaking;
            state_ = State::Failed;
            failure_ = std::string(handshaking ? "TLS handshake failed: " : "TLS error while ") +
                       (handshaking ? "" : std::string(during) + ": ") + (reason.empty() ? "unknown error" : reason);
            return {Status::Failed};
        }
    }
}

Link::Result TlsLink::refusePlaintext() {
    // The socket's send buffer is empty: the refusal (one short frame) fits.
    [[maybe_unused]] auto sent =
        ::send(fd_, plaintextRefusal_.data(), plaintextRefusal_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd_, SHUT_WR);
    shutDown_ = true;
    state_ = State::Refused;
    failure_ = "plaintext client on the TLS port";
    return {Status::Failed};
}

Link::Result TlsLink::readLocked(char* buffer, std::size_t size) {
    if (state_ == State::Failed) return {Status::Failed};
    if (state_ == State::Refused) {
        // Discards what the plaintext peer still sends, until its EOF.
        const ssize_t n = ::recv(fd_, buffer, size, MSG_DONTWAIT);
        if (n > 0) return {Status::Ok, static_cast<std::size_t>(n)};
        if (n == 0) return {Status::Closed};
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {Status::WouldBlock};
        return {Status::Failed};
    }
    if (state_ == State::Fresh) {
        unsigned char first = 0;
        const ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return {Status::Closed};
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {Status::WouldBlock};
            return {Status::Failed};
        }
        if (first != kHandshakeRecord) return refusePlaintext();
        state_ = State::Handshaking;
    }
    ERR_clear_error();  // SSL_get_error reads this thread's queue
    if (state_ == State::Handshaking) {
        const int ret = SSL_do_handshake(ssl_);
        if (ret != 1) return outcome(ret, "handshaking");
        state_ = State::Established;
    }
    // One call returns at most one record's bytes. moreBuffered makes the
    // caller read again, so nothing decrypted waits unnoticed.
    std::size_t got = 0;
    const int ret = SSL_read_ex(ssl_, buffer, size, &got);
    if (ret == 1) {
        Result result{Status::Ok, got};
        result.moreBuffered = SSL_pending(ssl_) > 0;
        return result;
    }
    return outcome(ret, "reading");
}

Link::Result TlsLink::writeLocked(const char* data, std::size_t size) {
    if (state_ == State::Failed || state_ == State::Refused || shutDown_) return {Status::Failed};
    if (state_ != State::Established) return {Status::WouldBlock, 0, Wait::Read};  // read() finishes the handshake
    ERR_clear_error();
    std::size_t written = 0;
    const int ret = SSL_write_ex(ssl_, data, size, &written);
    if (ret == 1) return {Status::Ok, written};
    const auto result = outcome(ret, "writing");
    return result.status == Status::Closed ? Result{Status::Failed} : result;
}

void TlsLink::shutdownWriteLocked() {
    if (shutDown_) return;
    shutDown_ = true;
    if (state_ == State::Established) {
        ERR_clear_error();
        SSL_shutdown(ssl_);  // close_notify; a full send buffer loses it, the FIN still follows
        ERR_clear_error();
    }
    ::shutdown(fd_, SHUT_WR);
}

}  // namespace chat

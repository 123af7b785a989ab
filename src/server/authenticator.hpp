#pragma once
// The server's rules for passwords: where they may travel, how failures are
// throttled and logged, and what a client is told.

#include "server/account_store.hpp"
#include "server/auth_throttle.hpp"
#include "server/log_throttle.hpp"
#include "server/token_sessions.hpp"
#include "server/token_store.hpp"
#include "shared/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace chat {

struct AuthOptions {
    bool requireAccount = false;      ///< chat serve --require-account: no guests
    bool allowPlaintextAuth = false;  ///< chat serve --allow-plaintext-auth
};

/// An authentication's outcome: nothing, or the error to answer with.
struct AuthOutcome {
    std::optional<ErrorCode> error;
    std::string text;
    std::int64_t retryAfterMs = 0;  ///< for AuthThrottled
    explicit operator bool() const { return !error; }
};

/// Passwords may travel over this connection: it is secure (TLS), or the
/// peer is on loopback (127.0.0.0/8, ::1, ::ffff:127.x.x.x), or the server
/// allows plaintext. The one place that decides; the conversation passes
/// its Conversation::secureTransport() (TLS, or a loopback peer).
bool passwordsMayTravel(const std::string& peerIp, bool secureTransport, bool allowPlaintext);

/// Thread-safe; called from session threads, never under the hub's lock
/// (authenticate and the others hash: tens of milliseconds each).
class Authenticator {
public:
    using Clock = AuthThrottle::Clock;
    static constexpr std::size_t kMinPasswordBytes = 8;
    static constexpr std::size_t kMaxPasswordBytes = 1024;

    /// `store`, `logs` and `tokens` (both optional) must outlive it.
    /// Without `tokens` the server has no tokens (a hello's "token" fails).
    Authenticator(AccountStore& store, AuthOptions options, LogThrottle* logs = nullptr,
                  TokenStore* tokens = nullptr);

    const AuthOptions& options() const { return options_; }
    AccountStore& store() { return store_; }
    bool isRegistered(const std::string& name) const { return store_.isRegistered(name); }
    /// The token store; null when the server keeps none.
    TokenStore* tokens() { return tokens_; }
    /// The connections logged in with each token (closed when it is revoked).
    TokenSessions& tokenSessions() { return tokenSessions_; }

    /// AuthInsecure unless passwordsMayTravel().
    AuthOutcome transportAllows(const std::string& peerIp, bool secureTransport = false) const;

    /// Checks `password` for account `name` from `peerIp`: AuthThrottled
    /// (without hashing) while the address or the account is barred, else
    /// AuthFailed for a wrong password and an unknown name alike.
    AuthOutcome authenticate(const std::string& name, const std::string& password, const std::string& peerIp,
                             Clock::time_point now = Clock::now());

    /// Checks `token` for account `name` as authenticate() checks a
    /// password, in the same throttle (a wrong token counts as a wrong
    /// password): AuthThrottled, or AuthFailed for a wrong or revoked token
    /// and an unknown name alike. On success `tokenId` is the token's id.
    AuthOutcome authenticateToken(const std::string& name, const std::string& token, const std::string& peerIp,
                                  std::int64_t& tokenId, Clock::time_point now = Clock::now());

    /// Registers `name`: BadRequest for a password outside 8..1024 bytes or
    /// a name already registered; StorageUnavailable when it cannot be stored.
    AuthOutcome registerName(const std::string& name, const std::string& password);

    /// authenticate(name, oldPassword), then the new password (8..1024 bytes).
    AuthOutcome changePassword(const std::string& name, const std::string& oldPassword,
                               const std::string& newPassword, const std::string& peerIp,
                               Clock::time_point now = Clock::now());

private:
    /// AuthThrottled while `peerIp` or account `name` is barred; else nothing.
    AuthOutcome barred(const std::string& name, const std::string& peerIp, Clock::time_point now) const;
    /// Counts, logs and answers a failed authentication (AuthFailed).
    AuthOutcome failed(const std::string& name, const std::string& peerIp, Clock::time_point now, const char* what);

    AccountStore& store_;
    const AuthOptions options_;
    LogThrottle* const logs_;
    TokenStore* const tokens_;
    TokenSessions tokenSessions_;
    AuthThrottle throttle_;
};

}  // namespace chat

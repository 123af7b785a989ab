#pragma once
// The server's rules for passwords: where they may travel, how failures are
// throttled and logged, and what a client is told.

#include "server/account_store.hpp"
#include "server/auth_throttle.hpp"
#include "server/log_throttle.hpp"
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

    /// `store` and `logs` (optional) must outlive it.
    Authenticator(AccountStore& store, AuthOptions options, LogThrottle* logs = nullptr);

    const AuthOptions& options() const { return options_; }
    AccountStore& store() { return store_; }
    bool isRegistered(const std::string& name) const { return store_.isRegistered(name); }

    /// AuthInsecure unless passwordsMayTravel().
    AuthOutcome transportAllows(const std::string& peerIp, bool secureTransport = false) const;

    /// Checks `password` for account `name` from `peerIp`: AuthThrottled
    /// (without hashing) while the address or the account is barred, else
    /// AuthFailed for a wrong password and an unknown name alike.
    AuthOutcome authenticate(const std::string& name, const std::string& password, const std::string& peerIp,
                             Clock::time_point now = Clock::now());

    /// Registers `name`: BadRequest for a password outside 8..1024 bytes or
    /// a name already registered; StorageUnavailable when it cannot be stored.
    AuthOutcome registerName(const std::string& name, const std::string& password);

    /// authenticate(name, oldPassword), then the new password (8..1024 bytes).
    AuthOutcome changePassword(const std::string& name, const std::string& oldPassword,
                               const std::string& newPassword, const std::string& peerIp,
                               Clock::time_point now = Clock::now());

private:
    AccountStore& store_;
    const AuthOptions options_;
    LogThrottle* const logs_;
    AuthThrottle throttle_;
};

}  // namespace chat

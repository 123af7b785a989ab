#include "server/authenticator.hpp"

#include "server/history.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <Poco/Net/IPAddress.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace chat {

bool passwordsMayTravel(const std::string& peerIp, bool secureTransport, bool allowPlaintext) {
    if (secureTransport || allowPlaintext) return true;
    std::string ip = peerIp;
    if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);  // IPv4-mapped
    Poco::Net::IPAddress address;
    return Poco::Net::IPAddress::tryParse(ip, address) && address.isLoopback();  // 127.0.0.0/8, ::1
}

Authenticator::Authenticator(AccountStore& store, AuthOptions options, LogThrottle* logs, TokenStore* tokens)
    : store_(store), options_(options), logs_(logs), tokens_(tokens) {}

AuthOutcome Authenticator::transportAllows(const std::string& peerIp, bool secureTransport) const {
    if (passwordsMayTravel(peerIp, secureTransport, options_.allowPlaintextAuth)) return {};
    return {ErrorCode::AuthInsecure,
            "passwords are only accepted over TLS or from this machine (loopback); this connection is neither, so "
            "your password was not checked (the server can be started with --allow-plaintext-auth)",
            0};
}

AuthOutcome Authenticator::barred(const std::string& name, const std::string& peerIp, Clock::time_point now) const {
    const auto account = "@" + nameKey(name);  // apart from addresses, whatever they look like
    const auto wait = std::max(throttle_.wait(peerIp, now), throttle_.wait(account, now));
    if (wait.count() <= 0) return {};
    return {ErrorCode::AuthThrottled,
            "too many failed logins; try again in " + std::to_string((wait.count() + 999) / 1000) + " s",
            static_cast<std::int64_t>(wait.count())};
}

AuthOutcome Authenticator::failed(const std::string& name, const std::string& peerIp, Clock::time_point now,
                                  const char* what) {
    const int byAddress = throttle_.failed(peerIp, now);
    const int byAccount = throttle_.failed("@" + nameKey(name), now);
    const auto line = fmt::format("{} failed for {} from {} ({} failures from the address, {} for the name)", what,
                                  quoteForError(name), peerIp, byAddress, byAccount);
    if (logs_)
        logs_->warn(peerIp, "authentication failed", line);  // once per burst, then a count
    else
        spdlog::warn("{}", line);
    return {ErrorCode::AuthFailed, "wrong name or password", 0};
}

AuthOutcome Authenticator::authenticate(const std::string& name, const std::string& password,
                                        const std::string& peerIp, Clock::time_point now) {
    if (auto bar = barred(name, peerIp, now); !bar) return bar;
    const bool ok = password.size() <= kMaxPasswordBytes && store_.verify(name, password);
    if (ok) {
        throttle_.succeeded("@" + nameKey(name));
        return {};
    }
    if (password.size() > kMaxPasswordBytes) store_.verify(name, std::string());  // the same time
    return failed(name, peerIp, now, "authentication");
}

AuthOutcome Authenticator::authenticateToken(const std::string& name, const std::string& token,
                                             const std::string& peerIp, std::int64_t& tokenId, Clock::time_point now) {
    if (auto bar = barred(name, peerIp, now); !bar) return bar;
    std::optional<std::int64_t> id;
    if (tokens_ && token.size() <= TokenStore::kMaxTokenBytes && store_.isRegistered(name)) {
        try {
            id = tokens_->verify(name, token, nowMillis());
        } catch (const StorageError& e) {
            spdlog::error("cannot check a token of {}: {}", quoteForError(name), e.what());
            return {ErrorCode::StorageUnavailable, std::string("the token could not be checked: ") + e.what(), 0};
        }
    }
    if (!id) {
        auto refused = failed(name, peerIp, now, "token authentication");
        refused.text = "wrong name or token (revoked, or never issued for this name)";
        return refused;
    }
    throttle_.succeeded("@" + nameKey(name));
    tokenId = *id;
    return {};
}

namespace {
std::optional<std::string> passwordProblem(const std::string& password) {
    if (password.size() < Authenticator::kMinPasswordBytes)
        return "a password needs at least " + std::to_string(Authenticator::kMinPasswordBytes) + " bytes";
    if (password.size() > Authenticator::kMaxPasswordBytes)
        return "a password may have at most " + std::to_string(Authenticator::kMaxPasswordBytes) + " bytes";
    return std::nullopt;
}
}  // namespace

AuthOutcome Authenticator::registerName(const std::string& name, const std::string& password) {
    if (auto problem = passwordProblem(password)) return {ErrorCode::BadRequest, *problem, 0};
    try {
        if (!store_.create(name, password))
            return {ErrorCode::BadRequest, "'" + name + "' is registered already; use passwd to change its password", 0};
    } catch (const StorageError& e) {
        spdlog::error("cannot register {}: {}", quoteForError(name), e.what());
        return {ErrorCode::StorageUnavailable, std::string("the account could not be stored: ") + e.what(), 0};
    }
    spdlog::info("registered the account {}", name);
    return {};
}

AuthOutcome Authenticator::changePassword(const std::string& name, const std::string& oldPassword,
                                          const std::string& newPassword, const std::string& peerIp,
                                          Clock::time_point now) {
    if (auto problem = passwordProblem(newPassword)) return {ErrorCode::BadRequest, "new password: " + *problem, 0};
    if (auto checked = authenticate(name, oldPassword, peerIp, now); !checked) return checked;
    try {
        if (!store_.change(name, oldPassword, newPassword)) return {ErrorCode::AuthFailed, "wrong name or password", 0};
    } catch (const StorageError& e) {
        spdlog::error("cannot change the password of {}: {}", quoteForError(name), e.what());
        return {ErrorCode::StorageUnavailable, std::string("the new password could not be stored: ") + e.what(), 0};
    }
    spdlog::info("changed the password of {}", name);
    return {};
}

}  // namespace chat

// Conversation: passwords in hello and nick, and the register and passwd
// requests (docs/protocol.md, "Accounts").

#include "server/authenticator.hpp"
#include "server/conversation.hpp"

#include <spdlog/spdlog.h>

namespace chat {

void Conversation::refuseAuth(const AuthOutcome& outcome, const Poco::Dynamic::Var& id) {
    auto error = makeError(*outcome.error, outcome.text, id);
    if (outcome.error == ErrorCode::AuthThrottled) error->set("retry_after_ms", outcome.retryAfterMs);
    reply(error);
}

bool Conversation::checkPassword(const Poco::JSON::Object::Ptr& request, const std::string& name,
                                 bool& authenticated) {
    const auto id = requestId(request);
    authenticated = false;
    auto* auth = hub_.config().auth;
    if (!request->has("password")) {
        // The hub refuses a registered name without a password (AuthRequired):
        // checked there again, under its lock, in case it was registered meanwhile.
        return true;
    }
    const auto password = stringField(request, "password");
    if (!password) {
        refuse(ErrorCode::BadRequest, "\"password\" must be a string", id);
        return false;
    }
    if (!auth) {
        refuse(ErrorCode::BadRequest, "this server keeps no accounts; leave out \"password\"", id);
        return false;
    }
    if (auto allowed = auth->transportAllows(ip_, secureTransport()); !allowed) {
        refuseAuth(allowed, id);
        return false;
    }
    const auto outcome = auth->authenticate(name, *password, ip_);
    if (!outcome) {
        refuseAuth(outcome, id);
        return false;
    }
    authenticated = true;
    return true;
}

void Conversation::handleAccountRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    auto* auth = hub_.config().auth;
    if (!auth) return refuse(ErrorCode::BadRequest, "this server keeps no accounts", id);
    if (auto allowed = auth->transportAllows(ip_, secureTransport()); !allowed) return refuseAuth(allowed, id);
    const std::string name = user_;  // the session's current name
    if (type == "register") {
        const auto password = stringField(request, "password");
        if (!password) return refuse(ErrorCode::BadRequest, "register needs a string field \"password\"", id);
        const auto outcome = auth->registerName(name, *password);
        if (!outcome) return refuseAuth(outcome, id);
        hub_.becameAccount(out_, name);
        account_ = true;
        auto ok = makeOk(id);
        ok->set("user", name);
        ok->set("account", true);
        return reply(ok);
    }
    const auto oldPassword = stringField(request, "old");
    const auto newPassword = stringField(request, "new");
    if (!oldPassword || !newPassword)
        return refuse(ErrorCode::BadRequest, "passwd needs string fields \"old\" and \"new\"", id);
    if (!auth->isRegistered(name))
        return refuse(ErrorCode::BadRequest, "'" + name + "' is not registered; use register first", id);
    const auto outcome = auth->changePassword(name, *oldPassword, *newPassword, ip_);
    if (!outcome) return refuseAuth(outcome, id);
    auto ok = makeOk(id);
    ok->set("user", name);
    reply(ok);
}

}  // namespace chat

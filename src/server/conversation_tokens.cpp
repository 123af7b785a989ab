// Conversation: tokens for scripts: a token in hello, and the token_create,
// tokens and token_revoke requests (docs/protocol.md, "Tokens").

#include "server/authenticator.hpp"
#include "server/conversation.hpp"
#include "server/history.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <spdlog/spdlog.h>

namespace chat {

bool Conversation::checkToken(const Poco::JSON::Object::Ptr& request, const std::string& name, std::int64_t& tokenId) {
    const auto id = requestId(request);
    const auto token = stringField(request, "token");
    if (!token) {
        refuse(ErrorCode::BadRequest, "\"token\" must be a string", id);
        return false;
    }
    auto* auth = hub_.config().auth;
    if (!auth) {
        refuse(ErrorCode::BadRequest, "this server keeps no accounts; leave out \"token\"", id);
        return false;
    }
    if (auto allowed = auth->transportAllows(ip_, secureTransport()); !allowed) {
        refuseAuth(allowed, id);
        return false;
    }
    const auto outcome = auth->authenticateToken(name, *token, ip_, tokenId);
    if (!outcome) {
        refuseAuth(outcome, id);
        return false;
    }
    return true;
}

void Conversation::loggedInWithToken(std::int64_t tokenId) {
    auto* auth = hub_.config().auth;
    tokenId_ = tokenId;
    auth->tokenSessions().add(tokenId, out_);
    // Revoked between the check and now: token_revoke took the sessions
    // before this one was added, so this one closes itself.
    bool exists = false;
    try {
        exists = auth->tokens() && auth->tokens()->exists(tokenId);
    } catch (const std::exception& e) {
        spdlog::error("cannot check token {}: {}", tokenId, e.what());
    }
    if (!exists) closeAfterReply("token revoked");
}

namespace {
Poco::JSON::Object::Ptr revokedNotice() {
    return makeError(ErrorCode::AuthFailed,
                     "the token this session logged in with was revoked; log in again (chat login)");
}
}  // namespace

void Conversation::handleTokenRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    auto* auth = hub_.config().auth;
    if (!auth || !auth->tokens()) return refuse(ErrorCode::BadRequest, "this server keeps no accounts or tokens", id);
    if (!account_)
        return refuse(ErrorCode::BadRequest,
                      "tokens belong to accounts: log in with the password of a registered name (or /register) first",
                      id);
    auto& tokens = *auth->tokens();
    try {
        if (type == "token_create") {
            // A token is as good as a password: it travels by the same rule.
            if (auto allowed = auth->transportAllows(ip_, secureTransport()); !allowed) return refuseAuth(allowed, id);
            if (request->has("label") && !stringField(request, "label"))
                return refuse(ErrorCode::BadRequest, "\"label\" must be a string", id);
            const auto label = stringField(request, "label").value_or("");
            if (checkText(label, TokenStore::kMaxLabelBytes) != TextProblem::None)
                return refuse(ErrorCode::BadRequest,
                              "a token's \"label\" is 1 to " + std::to_string(TokenStore::kMaxLabelBytes) +
                                  " bytes of printable UTF-8",
                              id);
            const auto created = tokens.create(user_, label);
            if (!created)
                return refuse(ErrorCode::BadRequest,
                              "an account may hold at most " + std::to_string(TokenStore::kMaxPerAccount) +
                                  " tokens; revoke some first",
                              id);
            spdlog::info("{} ({}) created token {} ({})", peer_, user_, created->id, quoteForError(label));
            auto ok = makeOk(id);
            ok->set("token_id", created->id);
            ok->set("token", created->token);
            ok->set("label", label);
            return reply(ok);
        }
        if (type == "tokens") {
            Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
            for (const auto& token : tokens.list(user_)) {
                Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
                entry->set("token_id", token.id);
                entry->set("label", token.label);
                entry->set("created", token.createdMillis);
                entry->set("last_used", token.lastUsedMillis);
                list->add(entry);
            }
            auto ok = makeOk(id);
            ok->set("tokens", list);
            return reply(ok);
        }
        const auto which = intField(request, "token_id");
        if (!which) return refuse(ErrorCode::BadRequest, "token_revoke needs an integer field \"token_id\"", id);
        if (!tokens.revoke(user_, *which))
            return refuse(ErrorCode::BadRequest, "your account has no token " + std::to_string(*which), id);
        spdlog::info("{} ({}) revoked token {}", peer_, user_, *which);
        auto ok = makeOk(id);
        ok->set("token_id", *which);
        reply(ok);
        // Sessions that logged in with it end, this one too (after its ok).
        const auto notice = makeEvent(revokedNotice());
        for (const auto& session : auth->tokenSessions().take(*which)) session->sendLastAndClose(notice, "token revoked");
    } catch (const StorageError& e) {
        spdlog::error("token request {} of {}: {}", type, quoteForError(user_), e.what());
        refuse(ErrorCode::StorageUnavailable, std::string("the tokens could not be read or stored: ") + e.what(), id);
    }
}

}  // namespace chat

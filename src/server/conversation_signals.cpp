// Conversation: the typing and read requests (docs/protocol.md, `typing`
// and `read`). Both spend the connection's request budget; the hub
// coalesces typing to one event per user and conversation per 3 s.

#include "server/conversation.hpp"
#include "shared/validation.hpp"

namespace chat {

void Conversation::handleSignal(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    const auto to = stringField(request, "to");
    if (!to) return refuse(ErrorCode::BadRequest, type + " needs a string field \"to\" (#room or @user)", id);
    HubResult result;
    if (type == "typing") {
        result = hub_.typing(out_, *to);
    } else {
        const auto msgId = intField(request, "msg_id");
        if (!msgId) return refuse(ErrorCode::BadRequest, "read needs an integer field \"msg_id\"", id);
        result = hub_.markRead(out_, *to, *msgId);
    }
    if (!result) return refuse(*result.error, result.errorText, id);
    reply(makeOk(id));
}

}  // namespace chat

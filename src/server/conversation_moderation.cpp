// Conversation: the moderation requests (docs/protocol.md, "Moderation"):
// reading them off the wire, asking the hub, storing what changed.

#include "server/conversation.hpp"
#include "server/history.hpp"
#include "server/moderation_store.hpp"
#include "shared/duration.hpp"
#include "shared/quoting.hpp"

#include <spdlog/spdlog.h>

namespace chat {

bool Conversation::storeModeration(const std::vector<ModerationChange>& changes, std::string& failure) {
    auto* store = hub_.config().moderation;
    if (!store || changes.empty()) return true;
    try {
        store->apply(changes);
        return true;
    } catch (const StorageError& e) {
        failure = e.what();
        spdlog::error("moderation by {} ({}) applied but not stored: {}", who(), peer_, failure);
        return false;
    }
}

void Conversation::handleModerationRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    for (const char* member : {"room", "user", "address", "duration", "reason", "mode"})
        if (request->has(member) && !stringField(request, member))
            return refuse(ErrorCode::BadRequest, "\"" + std::string(member) + "\" must be a string", id);
    ModerationRequest moderation;
    moderation.action = type;
    moderation.room = stringField(request, "room");
    moderation.user = stringField(request, "user").value_or("");
    moderation.address = stringField(request, "address").value_or("");
    moderation.reason = stringField(request, "reason").value_or("");
    moderation.mode = stringField(request, "mode").value_or("");
    if (!moderation.user.empty() && !moderation.address.empty())
        return refuse(ErrorCode::BadRequest, "give \"user\" or \"address\", not both", id);
    if (const auto duration = stringField(request, "duration")) {
        moderation.durationMs = parseDuration(*duration);
        if (!moderation.durationMs)
            return refuse(ErrorCode::BadRequest,
                          "\"duration\" " + quoteForError(*duration) +
                              " is not a duration: a whole number and s, m, h, d or w (10m, 2h, 7d), at most 3650d",
                          id);
    }
    std::string mode;
    const auto result = hub_.moderate(out_, moderation, mode);
    if (!result) return refuse(*result.error, result.errorText, id);
    spdlog::info("{} ({}): {}{}{}{}", peer_, who(), type, moderation.room ? " " + *moderation.room : std::string(),
                 moderation.user.empty() ? std::string() : " " + moderation.user,
                 moderation.address.empty() ? std::string() : " " + moderation.address);
    std::string failure;
    if (!storeModeration(result.moderation, failure))
        return refuse(ErrorCode::StorageUnavailable,
                      type + " applies now but could not be stored, so it will not survive a restart: " + failure, id);
    auto ok = makeOk(id);
    if (type == "mode") {
        ok->set("room", *moderation.room);
        ok->set("mode", mode);
    }
    reply(ok);
}

}  // namespace chat

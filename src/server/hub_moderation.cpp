// Hub: moderation (docs/protocol.md, "Moderation"). Who may enter a room,
// and the moderation requests: op, deop, kick, ban, unban, mute, unmute,
// mode, invite and kill. Every action is a `moderation` event in the room,
// stored in its history; changes to the rules go back to the caller to be
// stored (the hub never touches the disk).

#include "server/answer_lists.hpp"
#include "server/authenticator.hpp"
#include "server/hub.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <algorithm>

namespace chat {

namespace {
/// The default time an invite lets its name in.
constexpr std::int64_t kInviteMs = 24LL * 3600 * 1000;
constexpr std::size_t kMaxReasonBytes = 300;

HubResult refuse(ErrorCode code, std::string text) {
    HubResult result;
    result.error = code;
    result.errorText = std::move(text);
    return result;
}

Poco::JSON::Object::Ptr moderationEvent(const std::string& action, const std::string& by, const std::string& room,
                                        const std::string& target, const std::string& reason, std::int64_t until) {
    auto event = makeMessage("moderation");
    event->set("msg_id", std::uint64_t{0});  // numbered by publishLocked()
    event->set("ts", nowMillis());
    event->set("action", action);
    event->set("by", by);
    if (!room.empty()) event->set("room", room);
    if (!target.empty()) event->set("target", target);
    if (!reason.empty()) event->set("reason", reason);
    if (until != 0) event->set("until", until);
    return event;
}

/// "kicked by alice: spam" for a `left` event's reason.
std::string leftReason(const std::string& what, const std::string& by, const std::string& reason) {
    return what + " by " + by + (reason.empty() ? std::string() : ": " + reason);
}
}  // namespace

std::optional<HubResult> Hub::entryRefusalLocked(const std::string& userKey, bool account, const std::string& roomKey,
                                                 const std::string& ip, std::int64_t now) const {
    const auto room = rooms_.find(roomKey);
    const std::string name = room == rooms_.end() ? roomKey : room->second.name();
    if (moderation_.isAdmin(userKey, account)) return std::nullopt;
    if (const auto* ban = moderation_.ban(roomKey, userKey, ip, now))
        return refuse(ErrorCode::Banned,
                      "you are banned from " + name + (ban->reason.empty() ? std::string() : ": " + ban->reason));
    if (moderation_.inviteOnly(roomKey) && !moderation_.mayModerate(roomKey, userKey, account) &&
        !moderation_.invited(roomKey, userKey, now))
        return refuse(ErrorCode::InviteOnly, name + " is invite-only: an operator must /invite you first");
    return std::nullopt;
}

std::vector<ParticipantPtr> Hub::allSessionsLocked(const std::string& userKey) const {
    auto it = users_.find(userKey);
    if (it == users_.end()) return {};
    auto all = it->second.sessions;
    all.insert(all.end(), it->second.quietSessions.begin(), it->second.quietSessions.end());
    return all;
}

void Hub::publishModerationLocked(Room* room, Poco::JSON::Object::Ptr event, const std::vector<ParticipantPtr>& extra) {
    std::vector<ParticipantPtr> to;
    if (room) to = *roomRecipientsLocked(*room);
    for (const auto& p : extra)
        if (std::find(to.begin(), to.end(), p) == to.end()) to.push_back(p);
    const auto published = publishLocked(event, to);
    if (!room) return;
    room->recordEvent(published.id);
    storeRoomEventLocked(*room, published, "moderation", event->getValue<std::string>("by"),
                         event->has("reason") ? event->getValue<std::string>("reason") : std::string(), false);
}

void Hub::expelLocked(const std::string& userKey, const std::string& roomKey, const std::string& reason) {
    auto user = users_.find(userKey);
    if (user == users_.end() || !user->second.rooms.count(roomKey)) return;
    removeMemberLocked(userKey, roomKey, reason);
    const auto defaultKey = nameKey(config_.defaultRoom);
    if (!user->second.rooms.empty() || roomKey == defaultKey || user->second.sessions.empty()) return;
    // Like a leave of one's last room: back to the default room, if the user may enter it.
    for (const auto& [ptr, connection] : connections_)
        if (connection.userKey == userKey && connection.announce &&
            entryRefusalLocked(userKey, user->second.account, defaultKey, connection.ip, nowMillis()))
            return;
    addMemberLocked(userKey, defaultKey, config_.defaultRoom, nullptr);
    fanOut_.post(user->second.sessions, backlogLocked(rooms_.at(defaultKey), nullptr, kListBudgetBytes));
}

void Hub::disconnectLocked(const std::string& userKey, const std::string& reason) {
    auto user = users_.find(userKey);
    if (user == users_.end()) return;
    const auto rooms = user->second.rooms;
    for (const auto& roomKey : rooms) removeMemberLocked(userKey, roomKey, reason);
    for (const auto& session : allSessionsLocked(userKey)) session->closeAfterFlush(reason);
}

HubResult Hub::moderate(const ParticipantPtr& connection, const ModerationRequest& request, std::string& mode) {
    static const std::vector<std::string> kActions{"op",   "deop",   "kick", "ban",    "unban",
                                                   "mute", "unmute", "mode", "invite", "kill"};
    if (std::find(kActions.begin(), kActions.end(), request.action) == kActions.end())
        return refuse(ErrorCode::BadRequest, "unknown moderation request " + quoteForError(request.action));
    if (request.room && !isValidRoomName(*request.room))
        return refuse(ErrorCode::RoomInvalid, "invalid room name " + quoteForError(*request.room) +
                                                  ": use # and 1-32 characters of A-Z a-z 0-9 _ . -");
    const bool byAddress = !request.address.empty();
    const bool needsUser = request.action != "mode" && !(byAddress && (request.action == "ban" || request.action == "unban"));
    if (byAddress && request.action != "ban" && request.action != "unban")
        return refuse(ErrorCode::BadRequest, request.action + " takes a \"user\", not an \"address\"");
    if (needsUser && request.user.empty())
        return refuse(ErrorCode::BadRequest, request.action + " needs a \"user\"" +
                                                 (request.action == "ban" || request.action == "unban"
                                                      ? std::string(" or an \"address\"")
                                                      : std::string()));
    if (needsUser && !isValidName(request.user))
        return refuse(ErrorCode::NameInvalid, "invalid user name " + quoteForError(request.user) +
                                                  ": use 1-32 characters of A-Z a-z 0-9 _ . -");
    std::optional<std::string> address;
    if (byAddress) {
        address = normalizeAddress(request.address);
        if (!address) return refuse(ErrorCode::BadRequest, quoteForError(request.address) + " is not an IP address");
    }
    if (!request.reason.empty()) {
        const auto problem = chat::checkText(request.reason, kMaxReasonBytes);
        if (problem != TextProblem::None)
            return refuse(problem == TextProblem::TooLong ? ErrorCode::TextTooLong : ErrorCode::TextInvalid,
                          "reason: " + describeTextProblem(problem, request.reason, kMaxReasonBytes));
    }
    if (request.action == "kill" && request.room) return refuse(ErrorCode::BadRequest, "kill is server-wide: no \"room\"");
    if (!request.room && request.action != "ban" && request.action != "unban" && request.action != "kill")
        return refuse(ErrorCode::BadRequest, request.action + " needs a \"room\"");
    if (request.action == "mode" && !request.mode.empty() && request.mode != "+i" && request.mode != "-i")
        return refuse(ErrorCode::BadRequest, "the only mode is +i (invite-only) or -i, not " + quoteForError(request.mode));
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey.empty()) return refuse(ErrorCode::BadRequest, "send hello first");
    return moderateLocked(entry->userKey, request, address, mode);
}

HubResult Hub::moderateLocked(const std::string& actorKey, const ModerationRequest& request,
                              const std::optional<std::string>& address, std::string& mode) {
    const auto now = nowMillis();
    const User& actor = users_.at(actorKey);
    const std::string by = actor.displayName;
    const auto& action = request.action;
    if (!actor.account)
        return refuse(ErrorCode::NotOperator,
                      "a guest holds no rights: only a registered account can be an operator (/register first)");
    const bool admin = moderation_.isAdmin(actorKey, true);
    const auto targetKey = nameKey(request.user);
    const auto targetUser = users_.find(targetKey);
    const bool targetOnline = targetUser != users_.end();
    const std::string targetName =
        address ? *address : targetOnline ? targetUser->second.displayName : request.user;
    const bool targetAdmin = !request.user.empty() && moderation_.isAdmin(targetKey, registeredLocked(targetKey));
    const auto actorSessions = allSessionsLocked(actorKey);
    HubResult result;
    auto change = [&](bool remove, ModerationEntry e) REQUIRES(mutex_) {
        ModerationChange c{remove, std::move(e)};
        moderation_.apply(c);
        result.moderation.push_back(std::move(c));
    };
    const std::int64_t until = request.durationMs ? now + *request.durationMs : 0;

    if (!request.room) {  // server-wide: ban, unban, kill
        if (!admin) return refuse(ErrorCode::NotOperator, "only a server administrator can " + action + " server-wide");
        if (action == "kill" && !targetOnline)
            return refuse(ErrorCode::NoSuchUser, "no user named '" + request.user + "' is online");
        if (targetAdmin && targetKey != actorKey && action != "unban")
            return refuse(ErrorCode::NotOperator, targetName + " is a server administrator");
        const auto kind = address ? ModerationEntry::kBanAddress : ModerationEntry::kBan;
        const auto target = address ? *address : targetKey;
        if (action == "unban") {
            if (!moderation_.find("", kind, target))
                return refuse(ErrorCode::BadRequest, targetName + " is not banned from the server");
            change(true, {"", kind, target, 0, by, ""});
        } else if (action == "ban") {
            change(false, {"", kind, target, until, by, request.reason});
        }
        // Told in every room the target is in (stored there), and the actor in any case.
        std::vector<std::string> told;
        bool actorTold = false;
        if (targetOnline && !address) told.assign(targetUser->second.rooms.begin(), targetUser->second.rooms.end());
        for (const auto& roomKey : told) {
            auto& room = rooms_.at(roomKey);
            actorTold = actorTold || room.has(actorKey);
            publishModerationLocked(&room,
                                    moderationEvent(action, by, room.name(), targetName, request.reason,
                                                    action == "unban" ? 0 : until),
                                    {});
        }
        if (!actorTold || told.empty()) {
            auto extra = actorSessions;
            if (told.empty() && targetOnline && !address)
                for (const auto& p : allSessionsLocked(targetKey)) extra.push_back(p);
            publishModerationLocked(
                nullptr, moderationEvent(action, by, "", targetName, request.reason, action == "unban" ? 0 : until),
                extra);
        }
        if (action == "unban") return result;
        const auto reason = leftReason(action == "kill" ? "disconnected" : "banned from the server", by, request.reason);
        if (!address) {
            disconnectLocked(targetKey, reason);
            return result;
        }
        std::set<std::string> hit;  // every user with a connection from the address
        for (const auto& [ptr, connection] : connections_)
            if (!connection.userKey.empty() && normalizeAddress(connection.ip) == address) hit.insert(connection.userKey);
        for (const auto& key : hit)
            if (!moderation_.isAdmin(key, users_.at(key).account)) disconnectLocked(key, reason);
        return result;
    }

    const auto roomKey = nameKey(*request.room);
    auto roomIt = rooms_.find(roomKey);
    if (roomIt == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + *request.room);
    Room& room = roomIt->second;
    if (!moderation_.mayModerate(roomKey, actorKey, true))
        return refuse(ErrorCode::NotOperator, "you are not an operator of " + room.name());
    if (targetAdmin && !admin && targetKey != actorKey &&
        (action == "kick" || action == "ban" || action == "mute" || action == "deop"))
        return refuse(ErrorCode::NotOperator, targetName + " is a server administrator");
    auto tell = [&](const std::string& target, std::int64_t when, const std::vector<ParticipantPtr>& extra = {})
                    REQUIRES(mutex_) {
        publishModerationLocked(&room, moderationEvent(action, by, room.name(), target, request.reason, when), extra);
    };

    if (action == "mode") {
        if (!request.mode.empty()) {
            const bool on = request.mode == "+i";
            if (on != moderation_.inviteOnly(roomKey)) {
                change(!on, {roomKey, ModerationEntry::kInviteOnly, "", 0, by, ""});
                auto event = moderationEvent("mode", by, room.name(), "", request.reason, 0);
                event->set("mode", request.mode);
                publishModerationLocked(&room, event, {});
            }
        }
        mode = moderation_.inviteOnly(roomKey) ? "+i" : "";
        return result;
    }
    if (action == "op") {
        if (!registeredLocked(targetKey))
            return refuse(ErrorCode::BadRequest, "'" + request.user + "' is not a registered account: a guest cannot be an operator");
        if (moderation_.isOperator(roomKey, targetKey)) return result;  // already: nothing to tell
        change(false, {roomKey, ModerationEntry::kOp, targetKey, 0, by, request.reason});
        tell(targetName, 0, targetOnline ? allSessionsLocked(targetKey) : std::vector<ParticipantPtr>{});
        return result;
    }
    if (action == "deop") {
        if (!moderation_.isOperator(roomKey, targetKey))
            return refuse(ErrorCode::BadRequest, "'" + request.user + "' is not an operator of " + room.name());
        change(true, {roomKey, ModerationEntry::kOp, targetKey, 0, by, ""});
        tell(targetName, 0, targetOnline ? allSessionsLocked(targetKey) : std::vector<ParticipantPtr>{});
        return result;
    }
    if (action == "kick") {
        if (!room.has(targetKey))
            return refuse(ErrorCode::NoSuchUser, "'" + request.user + "' is not in " + room.name());
        tell(targetName, 0);
        expelLocked(targetKey, roomKey, leftReason("kicked", by, request.reason));
        return result;
    }
    if (action == "ban" || action == "unban") {
        const auto kind = address ? ModerationEntry::kBanAddress : ModerationEntry::kBan;
        const auto target = address ? *address : targetKey;
        if (action == "unban") {
            if (!moderation_.find(roomKey, kind, target))
                return refuse(ErrorCode::BadRequest, targetName + " is not banned from " + room.name());
            change(true, {roomKey, kind, target, 0, by, ""});
            tell(targetName, 0);
            return result;
        }
        change(false, {roomKey, kind, target, until, by, request.reason});
        tell(targetName, until, targetOnline && !address ? allSessionsLocked(targetKey) : std::vector<ParticipantPtr>{});
        const auto reason = leftReason("banned", by, request.reason);
        if (!address) {
            expelLocked(targetKey, roomKey, reason);
            return result;
        }
        std::set<std::string> hit;  // members with a connection from the address
        for (const auto& [ptr, connection] : connections_)
            if (room.has(connection.userKey) && normalizeAddress(connection.ip) == address) hit.insert(connection.userKey);
        for (const auto& key : hit)
            if (!moderation_.isAdmin(key, users_.at(key).account)) expelLocked(key, roomKey, reason);
        return result;
    }
    if (action == "mute" || action == "unmute") {
        if (action == "unmute") {
            if (!moderation_.find(roomKey, ModerationEntry::kMute, targetKey))
                return refuse(ErrorCode::BadRequest, "'" + request.user + "' is not muted in " + room.name());
            change(true, {roomKey, ModerationEntry::kMute, targetKey, 0, by, ""});
            tell(targetName, 0, targetOnline ? allSessionsLocked(targetKey) : std::vector<ParticipantPtr>{});
            return result;
        }
        change(false, {roomKey, ModerationEntry::kMute, targetKey, until, by, request.reason});
        tell(targetName, until, targetOnline ? allSessionsLocked(targetKey) : std::vector<ParticipantPtr>{});
        return result;
    }
    // invite
    const std::int64_t inviteUntil = now + request.durationMs.value_or(kInviteMs);
    change(false, {roomKey, ModerationEntry::kInvite, targetKey, inviteUntil, by, request.reason});
    tell(targetName, inviteUntil, targetOnline ? allSessionsLocked(targetKey) : std::vector<ParticipantPtr>{});
    return result;
}

}  // namespace chat

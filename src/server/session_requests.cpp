// Session: answering requests. Each handler replies exactly once with ok or
// error carrying the request's id (docs/protocol.md, "Requests").

#include "server/session.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <Poco/JSON/Array.h>
#include <spdlog/spdlog.h>

namespace chat {

namespace {
/// Lists in answers are cut to this many bytes of JSON so that every answer
/// fits in one frame (kMaxFramePayload) whatever the number of users or rooms.
constexpr std::size_t kListBudgetBytes = 48 * 1024;

/// The names as a JSON array, cut short at kListBudgetBytes; `complete` says
/// whether all of them fit.
Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& names, bool* complete = nullptr) {
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    std::size_t bytes = 0;
    for (const auto& name : names) {
        bytes += name.size() + 3;
        if (bytes > kListBudgetBytes) break;
        array->add(name);
    }
    if (complete) *complete = array->size() == names.size();
    return array;
}

/// Marks an answer whose list was cut short, with the full count.
void noteTruncation(Poco::JSON::Object::Ptr answer, bool complete, std::size_t total) {
    if (complete) return;
    answer->set("truncated", true);
    answer->set("total", static_cast<std::uint64_t>(total));
}

/// Printable ASCII only, at most 64 characters: what a peer may put in our log.
std::string loggable(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (out.size() == 64) break;
        out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
    }
    return out;
}

Poco::JSON::Object::Ptr withId(Poco::JSON::Object::Ptr message, const Poco::Dynamic::Var& id) {
    if (!id.isEmpty()) message->set("id", id);
    return message;
}

void setRoomDetails(Poco::JSON::Object::Ptr answer, const RoomDetails& details) {
    answer->set("room", details.name);
    answer->set("topic", details.topic);
    bool complete = true;
    answer->set("members", toArray(details.members, &complete));
    noteTruncation(answer, complete, details.members.size());
}
}  // namespace

void Session::reply(const Poco::JSON::Object::Ptr& message) {
    outbox_->deliver(std::make_shared<const std::string>(toFrame(message)));
}

void Session::handleFrame(const std::string& payload) {
    auto parsed = parseMessage(payload);
    if (!parsed) {
        spdlog::warn("protocol error from {} ({}): {}", peer_, who(), parsed.error);
        reply(makeError(ErrorCode::BadRequest, parsed.error));
        return;
    }
    const auto& request = parsed.message;
    const auto& type = parsed.type;
    const auto id = requestId(request);
    if (type == "hello") return handleHello(request);
    if (type == "ping") return reply(withId(makeMessage("pong"), id));
    if (type == "pong") return;  // an answer to our ping; lastHeard_ is already updated
    if (user_.empty()) return reply(makeError(ErrorCode::BadRequest, "send hello first", id));
    if (type == "send") return handleSend(request);
    if (type == "quit") {
        reply(makeOk(id));
        outbox_->closeAfterFlush("quit");
        return;
    }
    if (type == "join" || type == "leave" || type == "topic" || type == "rooms") return handleRoomRequest(type, request);
    if (type == "who" || type == "whois" || type == "nick" || type == "away" || type == "back")
        return handleUserRequest(type, request);
    reply(makeError(ErrorCode::BadRequest, "unknown message type '" + type + "'", id));
}

void Session::handleHello(const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    if (!user_.empty()) return reply(makeError(ErrorCode::BadRequest, "already said hello as " + user_, id));
    const auto version = intField(request, "version");
    if (!version) return reply(makeError(ErrorCode::BadRequest, "hello needs an integer field \"version\"", id));
    if (*version != kProtocolVersion) {
        reply(makeError(ErrorCode::VersionUnsupported,
                        "this server speaks protocol version " + std::to_string(kProtocolVersion) +
                            "; the client asked for version " + std::to_string(*version),
                        id));
        spdlog::warn("protocol error from {}: unsupported version {}", peer_, *version);
        outbox_->closeAfterFlush("unsupported protocol version");
        return;
    }
    const auto name = stringField(request, "user");
    if (!name) return reply(makeError(ErrorCode::BadRequest, "hello needs a string field \"user\"", id));
    if (request->has("announce") && !boolField(request, "announce"))
        return reply(makeError(ErrorCode::BadRequest, "\"announce\" must be true or false", id));
    const bool announce = boolField(request, "announce").value_or(true);
    std::string displayName;
    outbox_->hold();  // events routed to us while joining wait behind the welcome
    auto joined = hub_.join(outbox_, *name, announce, displayName);
    if (!joined) {
        outbox_->sendFirst(std::make_shared<const std::string>(toFrame(makeError(*joined.error, joined.errorText, id))));
        return;
    }
    user_ = displayName;
    spdlog::info("{} is {} (client {})", peer_, user_, loggable(stringField(request, "client").value_or("unknown")));
    auto welcome = withId(makeMessage("welcome"), id);
    welcome->set("version", kProtocolVersion);
    welcome->set("server", hub_.config().serverName);
    welcome->set("motd", hub_.config().motd);
    welcome->set("user", user_);
    welcome->set("room", hub_.config().defaultRoom);
    welcome->set("rooms", toArray(hub_.roomsOf(outbox_)));
    const auto online = hub_.online();
    bool complete = true;
    welcome->set("online", toArray(online, &complete));
    noteTruncation(welcome, complete, online.size());
    welcome->set("max_text", static_cast<std::uint64_t>(hub_.config().maxTextBytes));
    welcome->set("rate_per_second", hub_.config().ratePerSecond);
    welcome->set("rate_burst", hub_.config().rateBurst);
    outbox_->sendFirst(std::make_shared<const std::string>(toFrame(welcome)));
}

void Session::handleSend(const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    const auto text = stringField(request, "text");
    if (!text) return reply(makeError(ErrorCode::BadRequest, "send needs a string field \"text\"", id));
    if (request->has("to") && !stringField(request, "to"))
        return reply(makeError(ErrorCode::BadRequest, "\"to\" must be a string", id));
    if (request->has("action") && !boolField(request, "action"))
        return reply(makeError(ErrorCode::BadRequest, "\"action\" must be true or false", id));
    const bool action = boolField(request, "action").value_or(false);
    const auto to = stringField(request, "to").value_or(hub_.config().defaultRoom);
    HubResult result;
    if (!to.empty() && to[0] == '@')
        result = hub_.sendDirect(outbox_, to.substr(1), *text, action);
    else if (!to.empty() && to[0] == '#')
        result = hub_.sendToRoom(outbox_, to, *text, action);
    else
        result = {ErrorCode::BadRequest, "\"to\" must be @user or #room, not '" + to + "'", 0, {}, 0};
    if (result.error == ErrorCode::RateLimited) {
        spdlog::warn("rate limited {} ({}): retry in {} ms", peer_, who(), result.retryAfterMs);
        auto error = makeError(*result.error, result.errorText, id);
        error->set("retry_after_ms", result.retryAfterMs);
        return reply(error);
    }
    if (!result) return reply(makeError(*result.error, result.errorText, id));
    auto ok = makeOk(id);
    ok->set("msg_id", result.messageId);
    if (!result.away.empty()) ok->set("away", result.away);
    reply(ok);
}

void Session::handleRoomRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    if (type == "rooms") {
        Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
        const auto rooms = hub_.rooms();
        std::size_t bytes = 0;
        for (const auto& room : rooms) {
            bytes += room.name.size() + room.topic.size() + 48;
            if (bytes > kListBudgetBytes) break;
            Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
            entry->set("room", room.name);
            entry->set("members", static_cast<std::uint64_t>(room.members));
            entry->set("topic", room.topic);
            list->add(entry);
        }
        auto ok = makeOk(id);
        ok->set("rooms", list);
        noteTruncation(ok, list->size() == rooms.size(), rooms.size());
        return reply(ok);
    }
    const auto room = stringField(request, "room");
    if (!room) return reply(makeError(ErrorCode::BadRequest, type + " needs a string field \"room\"", id));
    RoomDetails details;
    HubResult result;
    auto ok = makeOk(id);
    if (type == "join") {
        result = hub_.joinRoom(outbox_, *room, details);
        if (result) setRoomDetails(ok, details);
    } else if (type == "leave") {
        std::string nowIn;
        result = hub_.leaveRoom(outbox_, *room, nowIn);
        ok->set("left", *room);
        ok->set("room", nowIn);
    } else if (request->has("topic")) {
        const auto topic = stringField(request, "topic");
        if (!topic) return reply(makeError(ErrorCode::BadRequest, "\"topic\" must be a string", id));
        result = hub_.setTopic(outbox_, *room, *topic);
    } else {
        result = hub_.roomDetails(*room, details);
        ok->set("room", details.name);
        ok->set("topic", details.topic);
    }
    if (!result) return reply(makeError(*result.error, result.errorText, id));
    reply(ok);
}

void Session::handleUserRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    auto ok = makeOk(id);
    HubResult result;
    if (type == "who") {
        if (request->has("room") && !stringField(request, "room"))
            return reply(makeError(ErrorCode::BadRequest, "\"room\" must be a string", id));
        std::vector<UserSummary> users;
        result = hub_.who(stringField(request, "room"), users);
        Poco::JSON::Array::Ptr names = new Poco::JSON::Array;
        Poco::JSON::Object::Ptr away = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        std::size_t bytes = 0;
        for (const auto& u : users) {
            bytes += u.name.size() + 3 + (u.away.empty() ? 0 : u.name.size() + u.away.size() + 6);
            if (bytes > kListBudgetBytes) break;
            names->add(u.name);
            if (!u.away.empty()) away->set(u.name, u.away);
        }
        if (request->has("room")) ok->set("room", *stringField(request, "room"));
        ok->set("users", names);
        ok->set("away", away);
        noteTruncation(ok, names->size() == users.size(), users.size());
    } else if (type == "whois") {
        const auto name = stringField(request, "user");
        if (!name) return reply(makeError(ErrorCode::BadRequest, "whois needs a string field \"user\"", id));
        WhoisDetails details;
        result = hub_.whois(*name, details);
        ok->set("user", details.name);
        ok->set("rooms", toArray(details.rooms));
        ok->set("since", details.sinceMillis);
        ok->set("idle_ms", details.idleMillis);
        ok->set("away", details.away);
    } else if (type == "nick") {
        const auto name = stringField(request, "user");
        if (!name) return reply(makeError(ErrorCode::BadRequest, "nick needs a string field \"user\"", id));
        std::string displayName;
        result = hub_.rename(outbox_, *name, displayName);
        if (result) {
            spdlog::info("{} ({}) is now {}", peer_, user_, displayName);
            user_ = displayName;
        }
        ok->set("user", displayName);
    } else {  // away, back
        if (request->has("message") && !stringField(request, "message"))
            return reply(makeError(ErrorCode::BadRequest, "\"message\" must be a string", id));
        const auto message = type == "back" ? std::string() : stringField(request, "message").value_or("");
        result = hub_.setAway(outbox_, message);
        ok->set("away", message);
    }
    if (!result) return reply(makeError(*result.error, result.errorText, id));
    reply(ok);
}

}  // namespace chat

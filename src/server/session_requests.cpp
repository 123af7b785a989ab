// Session: answering requests. Each handler replies exactly once with ok or
// error carrying the request's id (docs/protocol.md, "Requests").

#include "server/session.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <Poco/JSON/Array.h>
#include <spdlog/spdlog.h>

namespace chat {

namespace {
Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& names) {
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    for (const auto& name : names) array->add(name);
    return array;
}

Poco::JSON::Object::Ptr withId(Poco::JSON::Object::Ptr message, const Poco::Dynamic::Var& id) {
    if (!id.isEmpty()) message->set("id", id);
    return message;
}

Poco::JSON::Object::Ptr roomObject(const RoomDetails& details) {
    Poco::JSON::Object::Ptr room = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    room->set("room", details.name);
    room->set("topic", details.topic);
    room->set("members", toArray(details.members));
    return room;
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
    if (user_.empty()) return reply(makeError(ErrorCode::BadRequest, "send hello first", id));
    if (type == "send") return handleSend(request);
    if (type == "ping") return reply(withId(makeMessage("pong"), id));
    if (type == "pong") return;  // an answer to our ping; lastHeard_ is already updated
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
    auto joined = hub_.join(outbox_, *name, announce, displayName);
    if (!joined) return reply(makeError(*joined.error, joined.errorText, id));
    user_ = displayName;
    spdlog::info("{} is {} (client {})", peer_, user_, stringField(request, "client").value_or("unknown"));
    auto welcome = withId(makeMessage("welcome"), id);
    welcome->set("version", kProtocolVersion);
    welcome->set("server", hub_.config().serverName);
    welcome->set("motd", hub_.config().motd);
    welcome->set("user", user_);
    welcome->set("room", hub_.config().defaultRoom);
    welcome->set("rooms", toArray(hub_.roomsOf(outbox_)));
    welcome->set("online", toArray(hub_.online()));
    welcome->set("max_text", static_cast<std::uint64_t>(hub_.config().maxTextBytes));
    welcome->set("rate_per_second", hub_.config().ratePerSecond);
    welcome->set("rate_burst", hub_.config().rateBurst);
    reply(welcome);
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
        for (const auto& room : hub_.rooms()) {
            Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
            entry->set("room", room.name);
            entry->set("members", static_cast<std::uint64_t>(room.members));
            entry->set("topic", room.topic);
            list->add(entry);
        }
        auto ok = makeOk(id);
        ok->set("rooms", list);
        return reply(ok);
    }
    const auto room = stringField(request, "room");
    if (!room) return reply(makeError(ErrorCode::BadRequest, type + " needs a string field \"room\"", id));
    RoomDetails details;
    HubResult result;
    auto ok = makeOk(id);
    if (type == "join") {
        result = hub_.joinRoom(outbox_, *room, details);
        if (result) ok = withId(roomObject(details), id), ok->set("type", "ok");
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
        for (const auto& u : users) {
            names->add(u.name);
            if (!u.away.empty()) away->set(u.name, u.away);
        }
        if (request->has("room")) ok->set("room", *stringField(request, "room"));
        ok->set("users", names);
        ok->set("away", away);
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

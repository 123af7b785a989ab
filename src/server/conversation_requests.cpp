// Conversation: answering requests. Each handler replies exactly once with ok
// or error carrying the request's id (docs/protocol.md, "Requests").

#include "server/answer_lists.hpp"
#include "server/conversation.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <spdlog/spdlog.h>

namespace chat {

namespace {
Poco::JSON::Object::Ptr withId(Poco::JSON::Object::Ptr message, const Poco::Dynamic::Var& id) {
    if (!id.isEmpty()) message->set("id", id);
    return message;
}

void setRoomDetails(Poco::JSON::Object::Ptr answer, const RoomDetails& details) {
    answer->set("room", details.name);
    answer->set("topic", details.topic);
    std::size_t budget = kListBudgetBytes;
    setStringList(answer, "members", details.members, budget);
}

HubResult badRequest(std::string text) { return {ErrorCode::BadRequest, std::move(text), 0, {}, 0}; }
}  // namespace

void Conversation::dispatch(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    if (type == "hello") return handleHello(request);
    if (type == "ping") return reply(withId(makeMessage("pong"), id));
    if (user_.empty()) return refuse(ErrorCode::BadRequest, "send hello first", id);
    if (type == "pong") return;  // an answer to our ping; heard() already noted it
    if (type == "send") return handleSend(request);
    if (type == "quit") {
        reply(makeOk(id));
        closeAfterReply("quit");
        return;
    }
    if (type == "join" || type == "leave" || type == "topic" || type == "rooms") {
        if (spendRequest(id)) handleRoomRequest(type, request);
        return;
    }
    if (type == "history" || type == "search") {
        if (spendRequest(id)) handleHistoryRequest(type, request);
        return;
    }
    if (type == "typing" || type == "read") {
        if (spendRequest(id)) handleSignal(type, request);
        return;
    }
    if (type == "register" || type == "passwd") {
        if (spendRequest(id)) handleAccountRequest(type, request);
        return;
    }
    if (type == "who" || type == "whois" || type == "nick" || type == "away" || type == "back") {
        if (spendRequest(id)) handleUserRequest(type, request);
        return;
    }
    refuse(ErrorCode::BadRequest, "unknown message type " + quoteForError(type), id);
}

void Conversation::handleHello(const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    if (!user_.empty()) return refuse(ErrorCode::BadRequest, "already said hello as " + user_, id);
    const auto version = intField(request, "version");
    if (!version)
        return refuse(ErrorCode::BadRequest,
                      "hello needs an integer field \"version\" (in range -2^63 to 2^63-1); this server speaks 1", id);
    if (*version != kProtocolVersion) {
        refuse(ErrorCode::VersionUnsupported,
               "this server speaks protocol version " + std::to_string(kProtocolVersion) +
                   "; the client asked for version " + std::to_string(*version),
               id);
        warn("protocol error", fmt::format("protocol error from {}: unsupported version {}", peer_, *version));
        closeAfterReply("unsupported protocol version");
        return;
    }
    const auto name = stringField(request, "user");
    if (!name) return refuse(ErrorCode::BadRequest, "hello needs a string field \"user\"", id);
    if (request->has("announce") && !boolField(request, "announce"))
        return refuse(ErrorCode::BadRequest, "\"announce\" must be true or false", id);
    const bool announce = boolField(request, "announce").value_or(true);
    if (request->has("key") && !stringField(request, "key"))
        return refuse(ErrorCode::BadRequest, "\"key\" must be a string", id);
    JoinAuth auth;
    auth.key = stringField(request, "key").value_or("");
    auth.ip = ip_;
    if (!checkPassword(request, *name, auth.authenticated)) return;
    const auto& config = hub_.config();
    std::string displayName;
    auto joined = hub_.join(out_, *name, announce, displayName, [&](const JoinedState& state) {
        auto welcome = withId(makeMessage("welcome"), id);
        welcome->set("version", kProtocolVersion);
        welcome->set("server", config.serverName);
        welcome->set("motd", config.motd);
        welcome->set("user", state.displayName);
        welcome->set("room", config.defaultRoom);
        std::size_t budget = kListBudgetBytes;
        AnswerList rooms(budget);
        for (const auto& room : state.rooms)
            if (!rooms.add(room)) break;
        welcome->set("rooms", rooms.array());
        if (!rooms.complete(state.rooms.size())) {
            welcome->set("rooms_truncated", true);
            welcome->set("rooms_total", static_cast<std::uint64_t>(state.rooms.size()));
        }
        setStringList(welcome, "online", state.online, budget);
        welcome->set("max_text", static_cast<std::uint64_t>(config.maxTextBytes));
        welcome->set("rate_per_second", config.ratePerSecond);
        welcome->set("rate_burst", config.rateBurst);
        welcome->set("account", state.account);
        if (!state.key.empty()) welcome->set("key", state.key);
        return makeEvent(welcome);
    }, auth);
    if (!joined) return refuse(*joined.error, joined.errorText, id);
    user_ = displayName;
    spdlog::info("{} is {} (client {})", peer_, user_, quoteForError(stringField(request, "client").value_or("unknown")));
}

void Conversation::handleSend(const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    const auto text = stringField(request, "text");
    if (!text) return refuse(ErrorCode::BadRequest, "send needs a string field \"text\"", id);
    if (request->has("to") && !stringField(request, "to"))
        return refuse(ErrorCode::BadRequest, "\"to\" must be a string", id);
    if (request->has("action") && !boolField(request, "action"))
        return refuse(ErrorCode::BadRequest, "\"action\" must be true or false", id);
    const bool action = boolField(request, "action").value_or(false);
    const auto to = stringField(request, "to").value_or(hub_.config().defaultRoom);
    HubResult result;
    if (!to.empty() && to[0] == '@')
        result = hub_.sendDirect(out_, to.substr(1), *text, action);
    else if (!to.empty() && to[0] == '#')
        result = hub_.sendToRoom(out_, to, *text, action);
    else
        result = badRequest("\"to\" must be @user or #room, not " + quoteForError(to));
    if (result.error == ErrorCode::RateLimited) {
        warn("rate limited", fmt::format("rate limited {} ({}): retry in {} ms", peer_, who(), result.retryAfterMs));
        auto error = makeError(*result.error, result.errorText, id);
        error->set("retry_after_ms", result.retryAfterMs);
        return reply(error);
    }
    if (!result) return refuse(*result.error, result.errorText, id);
    // The ok promises the message is stored, so it goes out once the writer
    // has committed it (with other senders' messages, in one transaction).
    // The connection does not wait: its next requests are read meanwhile,
    // and their answers may come before this ok (answers carry their ids).
    auto ok = makeOk(id);
    ok->set("msg_id", result.messageId);
    if (!result.away.empty()) ok->set("away", result.away);
    hub_.whenStored(result.ticket, [out = out_, answer = makeEvent(ok), id, messageId = result.messageId](
                                       const std::optional<std::string>& unstored) {
        if (!unstored) return out->deliver(answer);  // the writer logs why storing failed, once per cause
        auto error = makeError(ErrorCode::StorageUnavailable,
                               "your message was delivered but could not be stored: " + *unstored, id);
        error->set("msg_id", messageId);
        out->deliver(makeEvent(error));
    });
}

void Conversation::handleRoomRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    if (type == "rooms") {
        const auto rooms = hub_.rooms();
        std::size_t budget = kListBudgetBytes;
        AnswerList list(budget);
        for (const auto& room : rooms) {
            Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
            entry->set("room", room.name);
            entry->set("members", static_cast<std::uint64_t>(room.members));
            entry->set("topic", room.topic);
            if (!list.add(entry)) break;
        }
        auto ok = makeOk(id);
        ok->set("rooms", list.array());
        noteTruncation(ok, list.complete(rooms.size()), rooms.size());
        return reply(ok);
    }
    const auto room = stringField(request, "room");
    if (!room) return refuse(ErrorCode::BadRequest, type + " needs a string field \"room\"", id);
    RoomDetails details;
    HubResult result;
    auto ok = makeOk(id);
    if (type == "join") {
        result = hub_.joinRoom(out_, *room, details);
        if (result) setRoomDetails(ok, details);
    } else if (type == "leave") {
        std::string left, nowIn;
        result = hub_.leaveRoom(out_, *room, left, nowIn);
        ok->set("left", left);
        ok->set("room", nowIn);
    } else if (request->has("topic")) {
        const auto topic = stringField(request, "topic");
        if (!topic) return refuse(ErrorCode::BadRequest, "\"topic\" must be a string", id);
        result = hub_.setTopic(out_, *room, *topic);
    } else {
        result = hub_.roomDetails(*room, details);
        ok->set("room", details.name);
        ok->set("topic", details.topic);
    }
    if (!result) return refuse(*result.error, result.errorText, id);
    reply(ok);
}

void Conversation::handleUserRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    auto ok = makeOk(id);
    HubResult result;
    if (type == "who") {
        if (request->has("room") && !stringField(request, "room"))
            return refuse(ErrorCode::BadRequest, "\"room\" must be a string", id);
        std::vector<UserSummary> users;
        result = hub_.who(stringField(request, "room"), users);
        std::size_t budget = kListBudgetBytes;
        AnswerList names(budget);
        Poco::JSON::Object::Ptr away = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        for (const auto& u : users) {
            // An away entry costs its name, its message and the ":" and ",".
            const std::size_t awayBytes =
                u.away.empty() ? 0 : AnswerList::jsonBytes(u.name) + AnswerList::jsonBytes(u.away) + 2;
            if (!names.add(u.name, awayBytes)) break;
            if (!u.away.empty()) away->set(u.name, u.away);
        }
        if (request->has("room")) ok->set("room", *stringField(request, "room"));
        ok->set("users", names.array());
        ok->set("away", away);
        noteTruncation(ok, names.complete(users.size()), users.size());
    } else if (type == "whois") {
        const auto name = stringField(request, "user");
        if (!name) return refuse(ErrorCode::BadRequest, "whois needs a string field \"user\"", id);
        WhoisDetails details;
        result = hub_.whois(*name, details);
        ok->set("user", details.name);
        std::size_t budget = kListBudgetBytes - AnswerList::jsonBytes(details.away);
        setStringList(ok, "rooms", details.rooms, budget);
        ok->set("since", details.sinceMillis);
        ok->set("idle_ms", details.idleMillis);
        ok->set("away", details.away);
    } else if (type == "nick") {
        const auto name = stringField(request, "user");
        if (!name) return refuse(ErrorCode::BadRequest, "nick needs a string field \"user\"", id);
        bool authenticated = false;
        if (!checkPassword(request, *name, authenticated)) return;
        std::string displayName;
        result = hub_.rename(out_, *name, displayName, authenticated);
        if (result) {
            spdlog::info("{} ({}) is now {}", peer_, user_, displayName);
            user_ = displayName;
        }
        ok->set("user", displayName);
        if (result) {
            ok->set("account", result.key.empty());
            if (!result.key.empty()) ok->set("key", result.key);
        }
    } else {  // away, back
        if (request->has("message") && !stringField(request, "message"))
            return refuse(ErrorCode::BadRequest, "\"message\" must be a string", id);
        const auto message = type == "back" ? std::string() : stringField(request, "message").value_or("");
        result = hub_.setAway(out_, message);
        ok->set("away", message);
    }
    if (!result) return refuse(*result.error, result.errorText, id);
    reply(ok);
}

}  // namespace chat

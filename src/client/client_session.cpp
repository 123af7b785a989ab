#include "client/client_session.hpp"

#include "client/input_parser.hpp"
#include "shared/validation.hpp"

#include <Poco/JSON/Array.h>

namespace chat {

namespace {
using Kind = InputCommand::Kind;

std::vector<std::string> strings(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    std::vector<std::string> out;
    Poco::JSON::Object::Ptr m = message;
    if (auto array = m->getArray(key))
        for (std::size_t i = 0; i < array->size(); ++i) out.push_back(array->getElement<std::string>(i));
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

std::string field(const Poco::JSON::Object::Ptr& m, const std::string& key) { return stringField(m, key).value_or(""); }

std::string duration(std::int64_t millis) {
    const auto s = millis / 1000;
    if (s < 60) return std::to_string(s) + "s";
    if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
    return std::to_string(s / 3600) + "h" + std::to_string(s / 60 % 60) + "m";
}
}  // namespace

ClientSession::ClientSession(const Welcome& welcome, Send send, ClientOutput& output, RenderOptions render)
    : send_(std::move(send)),
      output_(output),
      render_(std::move(render)),
      pace_(welcome.ratePerSecond > 0 ? welcome.ratePerSecond : 1e9,
            welcome.rateBurst >= 1 ? welcome.rateBurst : 1e9, Clock::now()) {
    render_.self = welcome.user;
    render_.currentRoom = welcome.room;
    rooms_.insert(welcome.rooms.begin(), welcome.rooms.end());
    if (!welcome.room.empty()) rooms_.insert(welcome.room);
}

std::string ClientSession::prompt() const { return "[" + render_.currentRoom + "] " + render_.self + "> "; }

void ClientSession::request(Poco::JSON::Object::Ptr message, Pending pending) {
    const auto id = ++lastId_;
    message->set("id", id);
    const bool paced = pending.kind == "send";
    pending.message = message;
    pending_[id] = std::move(pending);
    if (!paced) return send_(message);
    held_[id] = message;
    retryDue(Clock::now());
}

void ClientSession::retryDue(Clock::time_point now) {
    if (retryAt_ && now < *retryAt_) return;
    retryAt_.reset();
    while (!held_.empty()) {
        if (const auto wait = pace_.take(now)) {
            retryAt_ = now + *wait;
            return;
        }
        send_(held_.begin()->second);
        held_.erase(held_.begin());
    }
}

void ClientSession::sendText(const std::string& to, const std::string& text, bool action) {
    auto send = makeMessage("send");
    send->set("to", to);
    send->set("text", text);
    if (action) send->set("action", true);
    request(send, {"send", to});
}

bool ClientSession::handleLine(const std::string& line) {
    const auto c = parseInput(line);
    auto simple = [&](const std::string& type) {
        auto m = makeMessage(type);
        return m;
    };
    switch (c.kind) {
    case Kind::Empty: return true;
    case Kind::Quit: return false;
    case Kind::Invalid: output_.error(c.error); return true;
    case Kind::Help: {
        const auto help = inputHelp(c.target);
        std::size_t start = 0;
        while (start < help.size()) {
            const auto nl = help.find('\n', start);
            output_.line(help.substr(start, nl - start));
            start = nl == std::string::npos ? help.size() : nl + 1;
        }
        return true;
    }
    case Kind::Say: sendText(c.room.empty() ? render_.currentRoom : c.room, c.text, false); return true;
    case Kind::Action: sendText(render_.currentRoom, c.text, true); return true;
    case Kind::Direct: sendText("@" + c.target, c.text, false); return true;
    case Kind::Reply:
        if (lastDmFrom_.empty()) {
            output_.error("nobody has sent you a private message yet");
            return true;
        }
        sendText("@" + lastDmFrom_, c.text, false);
        return true;
    case Kind::Join: {
        auto m = simple("join");
        m->set("room", c.room);
        request(m, {"join", c.room});
        return true;
    }
    case Kind::Leave: {
        auto m = simple("leave");
        m->set("room", c.room.empty() ? render_.currentRoom : c.room);
        request(m, {"leave", c.room});
        return true;
    }
    case Kind::Rooms: request(simple("rooms"), {"rooms", {}}); return true;
    case Kind::Topic: {
        auto m = simple("topic");
        const auto room = c.room.empty() ? render_.currentRoom : c.room;
        m->set("room", room);
        if (!c.text.empty()) m->set("topic", c.text);
        request(m, {c.text.empty() ? "topic?" : "topic", room});
        return true;
    }
    case Kind::Who: {
        auto m = simple("who");
        if (!c.room.empty()) m->set("room", c.room);
        request(m, {"who", c.room});
        return true;
    }
    case Kind::Whois: {
        auto m = simple("whois");
        m->set("user", c.target);
        request(m, {"whois", c.target});
        return true;
    }
    case Kind::Nick: {
        auto m = simple("nick");
        m->set("user", c.target);
        request(m, {"nick", c.target});
        return true;
    }
    case Kind::Away: {
        auto m = simple("away");
        if (!c.text.empty()) m->set("message", c.text);
        request(m, {c.text.empty() ? "back" : "away", c.text});
        return true;
    }
    case Kind::Back: request(simple("back"), {"back", {}}); return true;
    }
    return true;
}

void ClientSession::handleMessage(const Poco::JSON::Object::Ptr& message) {
    const auto type = field(message, "type");
    if (type == "ping") {
        send_(makeMessage("pong"));
        return;
    }
    if (type == "ok" || type == "error") {
        Pending pending;
        if (auto id = intField(message, "id")) {
            auto it = pending_.find(*id);
            if (it != pending_.end() && type == "error" && field(message, "code") == "rate_limited" &&
                it->second.message) {
                const auto wait = std::chrono::milliseconds(intField(message, "retry_after_ms").value_or(200));
                held_[*id] = it->second.message;
                const auto at = Clock::now() + wait;
                if (!retryAt_ || *retryAt_ < at) retryAt_ = at;
                return;
            }
            if (it != pending_.end()) {
                pending = it->second;
                pending_.erase(it);
            }
        }
        if (type == "error")
            output_.error(field(message, "message") + " (" + field(message, "code") + ")");
        else
            answered(pending, message);
        return;
    }
    noteEvent(message);
    if (auto line = renderEvent(message, render_)) output_.line(*line);
}

void ClientSession::noteEvent(const Poco::JSON::Object::Ptr& event) {
    const auto type = field(event, "type");
    if (type == "message") {
        const auto to = field(event, "to");
        const auto from = field(event, "from");
        if (!to.empty() && to[0] == '@' && nameKey(from) != nameKey(render_.self)) lastDmFrom_ = from;
    } else if (type == "nick") {
        if (nameKey(field(event, "old")) == nameKey(render_.self)) render_.self = field(event, "new");
        if (nameKey(field(event, "old")) == nameKey(lastDmFrom_)) lastDmFrom_ = field(event, "new");
    } else if ((type == "joined" || type == "left") && nameKey(field(event, "user")) == nameKey(render_.self)) {
        // another of our sessions joined or left a room
        if (type == "joined") rooms_.insert(field(event, "room"));
        else rooms_.erase(field(event, "room"));
    }
}

void ClientSession::answered(const Pending& pending, const Poco::JSON::Object::Ptr& ok) {
    const auto& kind = pending.kind;
    if (kind == "send") {
        if (const auto away = field(ok, "away"); !away.empty())
            output_.line("* " + pending.detail.substr(1) + " is away: " + away);
    } else if (kind == "join") {
        const auto room = field(ok, "room");
        rooms_.insert(room);
        render_.currentRoom = room;
        const auto topic = field(ok, "topic");
        output_.line("* you are now in " + room + (topic.empty() ? "" : " (topic: " + topic + ")") + " with " +
                     join(strings(ok, "members")));
    } else if (kind == "leave") {
        const auto left = field(ok, "left");
        const auto nowIn = field(ok, "room");
        for (auto it = rooms_.begin(); it != rooms_.end();)
            it = nameKey(*it) == nameKey(left) ? rooms_.erase(it) : std::next(it);
        rooms_.insert(nowIn);
        if (nameKey(left) == nameKey(render_.currentRoom) || rooms_.size() == 1) render_.currentRoom = nowIn;
        output_.line("* you left " + left + "; current room is " + render_.currentRoom);
    } else if (kind == "rooms") {
        Poco::JSON::Object::Ptr m = ok;
        auto list = m->getArray("rooms");
        output_.line("Rooms (" + std::to_string(list ? list->size() : 0) + "):");
        for (std::size_t i = 0; list && i < list->size(); ++i) {
            auto room = list->getObject(i);
            const auto topic = field(room, "topic");
            output_.line("  " + field(room, "room") + " (" + std::to_string(intField(room, "members").value_or(0)) +
                         ")" + (topic.empty() ? "" : " " + topic));
        }
    } else if (kind == "topic?") {
        const auto topic = field(ok, "topic");
        output_.line("* topic of " + field(ok, "room") + ": " + (topic.empty() ? "(none)" : topic));
    } else if (kind == "who") {
        Poco::JSON::Object::Ptr m = ok;
        auto away = m->getObject("away");
        std::vector<std::string> names;
        for (const auto& name : strings(ok, "users"))
            names.push_back(away && away->has(name) ? name + " (away)" : name);
        output_.line((pending.detail.empty() ? "Online" : pending.detail) + " (" + std::to_string(names.size()) +
                     "): " + join(names));
    } else if (kind == "whois") {
        const auto away = field(ok, "away");
        output_.line("* " + field(ok, "user") + ": in " + join(strings(ok, "rooms")) + "; connected " +
                     duration(nowMillis() - intField(ok, "since").value_or(0)) + " ago; idle " +
                     duration(intField(ok, "idle_ms").value_or(0)) + (away.empty() ? "" : "; away: " + away));
    } else if (kind == "nick") {
        render_.self = field(ok, "user");
    } else if (kind == "away") {
        output_.line("* you are marked away: " + pending.detail);
    } else if (kind == "back") {
        output_.line("* you are back");
    }
}

}  // namespace chat

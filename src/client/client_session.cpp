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
    for (const auto& room : rooms_) noteRoom(room);
    for (const auto& user : welcome.online) noteUser(user);
}

std::vector<std::string> ClientSession::knownUsers() const {
    std::vector<std::string> out;
    for (const auto& [key, name] : users_)
        if (key != nameKey(render_.self)) out.push_back(name);
    return out;
}

std::vector<std::string> ClientSession::knownRooms() const {
    std::map<std::string, std::string> all = seenRooms_;
    for (const auto& room : rooms_) all[nameKey(room)] = room;
    std::vector<std::string> out;
    for (const auto& [key, name] : all) out.push_back(name);
    return out;
}

void ClientSession::noteUser(const std::string& name) {
    if (!name.empty()) users_[nameKey(name)] = name;
}

void ClientSession::noteRoom(const std::string& room) {
    if (!room.empty() && room[0] == '#') seenRooms_[nameKey(room)] = room;
}

void ClientSession::notice(const std::string& text) { output_.line(paint(text, style::kNotice, render_.color)); }

std::string ClientSession::prompt() const {
    return "[" + render_.currentRoom + "] " + render_.self + (connected_ ? "" : " (offline)") + "> ";
}

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
    if (!connected_ || restore_) return;  // held until the connection and its rooms are back
    retryAt_.reset();
    if (held_.empty()) return;
    if (refusedUntil_ && now < *refusedUntil_) {
        retryAt_ = refusedUntil_;
        return;
    }
    refusedUntil_.reset();
    while (!held_.empty()) {
        if (!pace_.take(now)) {
            retryAt_ = pace_.nextChance(now);  // nullopt: the next answer makes room
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

void ClientSession::sendRequest(const Poco::JSON::Object::Ptr& message) {
    Pending pending;
    pending.kind = field(message, "type");
    pending.detail = field(message, pending.kind == "send" ? "to" : pending.kind == "whois" ? "user" : "room");
    if (message->has("id")) pending.originalId = message->get("id");
    request(message, std::move(pending));
}

void ClientSession::say(const std::string& text) { sendText(render_.currentRoom, text, false); }

void ClientSession::connectionLost() {
    connected_ = false;
    if (!restore_) restore_ = Restore{rooms_, render_.currentRoom, 0};
    restore_->waiting = 0;
    std::size_t unanswered = 0;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (held_.count(it->first)) {  // never reached the server: sent after reconnecting
            ++it;
            continue;
        }
        if (it->second.kind == "send") ++unanswered;
        it = pending_.erase(it);
    }
    pace_.forgetInFlight();
    retryAt_.reset();
    refusedUntil_.reset();
    if (unanswered == 1) output_.error("1 message may not have been delivered");
    if (unanswered > 1) output_.error(std::to_string(unanswered) + " messages may not have been delivered");
}

void ClientSession::reconnected(const Welcome& welcome) {
    connected_ = true;
    pace_ = SendPacer(welcome.ratePerSecond > 0 ? welcome.ratePerSecond : 1e9,
                      welcome.rateBurst >= 1 ? welcome.rateBurst : 1e9, Clock::now());
    render_.self = welcome.user;
    rooms_.clear();
    rooms_.insert(welcome.rooms.begin(), welcome.rooms.end());
    if (!welcome.room.empty()) rooms_.insert(welcome.room);
    for (const auto& user : welcome.online) noteUser(user);
    if (!restore_) restore_ = Restore{rooms_, render_.currentRoom, 0};
    restore_->waiting = 0;
    restoreLeaving_ = false;
    const auto in = [](const std::set<std::string>& rooms, const std::string& room) {
        for (const auto& r : rooms)
            if (nameKey(r) == nameKey(room)) return true;
        return false;
    };
    for (const auto& room : restore_->rooms) {
        if (in(rooms_, room)) continue;
        auto join = makeMessage("join");
        join->set("room", room);
        ++restore_->waiting;
        request(join, {"rejoin", room});
    }
    if (restore_->waiting == 0) restoreStep();
}

void ClientSession::restoreStep() {
    if (!restore_) return;
    if (restore_->waiting > 0 && --restore_->waiting > 0) return;
    if (!restoreLeaving_) {
        // Joined again where we were; now leave the rooms the server put us
        // in that we had left (the default room), unless none would be left.
        restoreLeaving_ = true;
        std::vector<std::string> extra;
        for (const auto& room : rooms_) {
            bool wanted = false;
            for (const auto& r : restore_->rooms) wanted = wanted || nameKey(r) == nameKey(room);
            if (!wanted) extra.push_back(room);
        }
        if (extra.size() < rooms_.size()) {
            for (const auto& room : extra) {
                auto leave = makeMessage("leave");
                leave->set("room", room);
                ++restore_->waiting;
                request(leave, {"unjoin", room});
            }
        }
        if (restore_->waiting > 0) return;
    }
    restored();
}

void ClientSession::restored() {
    const auto wanted = restore_->currentRoom;
    restore_.reset();
    restoreLeaving_ = false;
    render_.currentRoom = rooms_.empty() ? wanted : *rooms_.begin();
    for (const auto& room : rooms_)
        if (nameKey(room) == nameKey(wanted)) render_.currentRoom = room;
    std::vector<std::string> rooms(rooms_.begin(), rooms_.end());
    notice("* reconnected as " + render_.self + ": in " + join(rooms) + "; current room " + render_.currentRoom);
    retryDue(Clock::now());
}

bool ClientSession::handleLine(const std::string& line) {
    const auto c = parseInput(line);
    auto simple = [&](const std::string& type) {
        auto m = makeMessage(type);
        return m;
    };
    const bool local = c.kind == Kind::Empty || c.kind == Kind::Quit || c.kind == Kind::Invalid ||
                       c.kind == Kind::Help || c.kind == Kind::Bell || c.kind == Kind::Timestamps;
    if (!connected_ && !local) {
        output_.error("not connected to the server, so that was not sent (Up brings it back)");
        return true;
    }
    switch (c.kind) {
    case Kind::Empty: return true;
    case Kind::Quit: return false;
    case Kind::Invalid: output_.error(c.error); return true;
    case Kind::Bell:
        if (!c.text.empty()) {
            render_.bell = parseBell(c.text).value_or(render_.bell);
            notice("* bell set to " + std::string(bellName(render_.bell)));
        } else {
            notice("* bell: " + std::string(bellName(render_.bell)) + " (/bell off, mention or all)");
        }
        return true;
    case Kind::Timestamps:
        if (!c.text.empty()) {
            render_.timestamps = parseTimestamps(c.text).value_or(render_.timestamps);
            notice("* timestamps set to " + std::string(timestampsName(render_.timestamps)));
        } else {
            notice("* timestamps: " + std::string(timestampsName(render_.timestamps)) +
                   " (/timestamps off, short or long)");
        }
        return true;
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
        const auto message = c.text.empty() ? std::string("away") : c.text;
        m->set("message", message);
        request(m, {"away", message});
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
        bool known = false;
        if (auto id = intField(message, "id")) {
            auto it = pending_.find(*id);
            const bool paced = it != pending_.end() && it->second.kind == "send" && it->second.message &&
                               !held_.count(*id);
            if (paced && type == "error" && field(message, "code") == "rate_limited") {
                pace_.answered();
                const auto wait = std::chrono::milliseconds(intField(message, "retry_after_ms").value_or(200));
                held_[*id] = it->second.message;
                const auto at = Clock::now() + wait;
                if (!refusedUntil_ || *refusedUntil_ < at) refusedUntil_ = at;
                retryDue(Clock::now());
                return;
            }
            if (paced) {
                if (type == "ok") pace_.accepted(Clock::now());
                else pace_.answered();
            }
            if (it != pending_.end()) {
                pending = it->second;
                pending_.erase(it);
                known = true;
            }
            if (paced) retryDue(Clock::now());
        }
        if (known && !pending.originalId.isEmpty()) {
            Poco::JSON::Object::Ptr answer = message;
            answer->set("id", pending.originalId);
        }
        output_.message(message);
        if (type == "error" && (pending.kind == "rejoin" || pending.kind == "unjoin")) {
            output_.error("could not " + std::string(pending.kind == "rejoin" ? "rejoin " : "leave ") + pending.detail +
                          ": " + field(message, "message"));
            restoreStep();
        } else if (type == "error") {
            output_.error(field(message, "message") + " (" + field(message, "code") + ")");
        } else {
            answered(pending, message);
        }
        return;
    }
    output_.message(message);
    noteEvent(message);
    if (auto line = renderEvent(message, render_)) {
        output_.line(*line);
        if (ringsBell(message, render_)) output_.bell();
    }
}

void ClientSession::noteEvent(const Poco::JSON::Object::Ptr& event) {
    const auto type = field(event, "type");
    if (type == "message") {
        const auto to = field(event, "to");
        const auto from = field(event, "from");
        if (!to.empty() && to[0] == '@' && nameKey(from) != nameKey(render_.self)) lastDmFrom_ = from;
        noteUser(from);
        noteRoom(to);
    } else if (type == "nick") {
        if (nameKey(field(event, "old")) == nameKey(render_.self)) render_.self = field(event, "new");
        if (nameKey(field(event, "old")) == nameKey(lastDmFrom_)) lastDmFrom_ = field(event, "new");
        users_.erase(nameKey(field(event, "old")));
        noteUser(field(event, "new"));
    } else if (type == "topic") {
        noteRoom(field(event, "room"));
    } else if (type == "joined" || type == "left") {
        noteRoom(field(event, "room"));
        const auto reason = field(event, "reason");
        if (type == "joined") noteUser(field(event, "user"));
        else if (!reason.empty() && reason != "left") users_.erase(nameKey(field(event, "user")));  // went offline
        if (nameKey(field(event, "user")) == nameKey(render_.self)) {
            // another of our sessions joined or left a room
            if (type == "joined") rooms_.insert(field(event, "room"));
            else rooms_.erase(field(event, "room"));
        }
    }
}

void ClientSession::answered(const Pending& pending, const Poco::JSON::Object::Ptr& ok) {
    const auto& kind = pending.kind;
    if (kind == "send") {
        if (const auto away = field(ok, "away"); !away.empty() && pending.detail.size() > 1)
            notice("* " + pending.detail.substr(1) + " is away: " + away);
    } else if (kind == "rejoin") {
        rooms_.insert(field(ok, "room"));
        for (const auto& member : strings(ok, "members")) noteUser(member);
        restoreStep();
    } else if (kind == "unjoin") {
        const auto left = field(ok, "left");
        for (auto it = rooms_.begin(); it != rooms_.end();)
            it = nameKey(*it) == nameKey(left) ? rooms_.erase(it) : std::next(it);
        restoreStep();
    } else if (kind == "join") {
        const auto room = field(ok, "room");
        rooms_.insert(room);
        noteRoom(room);
        for (const auto& member : strings(ok, "members")) noteUser(member);
        render_.currentRoom = room;
        const auto topic = field(ok, "topic");
        notice("* you are now in " + room + (topic.empty() ? "" : " (topic: " + topic + ")") + " with " +
               join(strings(ok, "members")));
    } else if (kind == "leave") {
        const auto left = field(ok, "left");
        const auto nowIn = field(ok, "room");
        for (auto it = rooms_.begin(); it != rooms_.end();)
            it = nameKey(*it) == nameKey(left) ? rooms_.erase(it) : std::next(it);
        rooms_.insert(nowIn);
        if (nameKey(left) == nameKey(render_.currentRoom) || rooms_.size() == 1) render_.currentRoom = nowIn;
        notice("* you left " + left + "; current room is " + render_.currentRoom);
    } else if (kind == "rooms") {
        Poco::JSON::Object::Ptr m = ok;
        auto list = m->getArray("rooms");
        output_.line("Rooms (" + std::to_string(list ? list->size() : 0) + "):");
        for (std::size_t i = 0; list && i < list->size(); ++i) {
            auto room = list->getObject(i);
            const auto topic = field(room, "topic");
            noteRoom(field(room, "room"));
            output_.line("  " + field(room, "room") + " (" + std::to_string(intField(room, "members").value_or(0)) +
                         ")" + (topic.empty() ? "" : " " + topic));
        }
    } else if (kind == "topic?") {
        const auto topic = field(ok, "topic");
        notice("* topic of " + field(ok, "room") + ": " + (topic.empty() ? "(none)" : topic));
    } else if (kind == "who") {
        Poco::JSON::Object::Ptr m = ok;
        auto away = m->getObject("away");
        std::vector<std::string> names;
        for (const auto& name : strings(ok, "users")) {
            noteUser(name);
            names.push_back(away && away->has(name) ? name + " (away)" : name);
        }
        output_.line((pending.detail.empty() ? "Online" : pending.detail) + " (" + std::to_string(names.size()) +
                     "): " + join(names));
    } else if (kind == "whois") {
        const auto away = field(ok, "away");
        notice("* " + field(ok, "user") + ": in " + join(strings(ok, "rooms")) + "; connected " +
               duration(nowMillis() - intField(ok, "since").value_or(0)) + " ago; idle " +
               duration(intField(ok, "idle_ms").value_or(0)) + (away.empty() ? "" : "; away: " + away));
    } else if (kind == "nick") {
        render_.self = field(ok, "user");
    } else if (kind == "away") {
        notice("* you are marked away: " + pending.detail);
    } else if (kind == "back") {
        notice("* you are back");
    }
}

}  // namespace chat

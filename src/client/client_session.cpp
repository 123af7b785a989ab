#include "client/client_session.hpp"

#include "client/input_parser.hpp"
#include "client/terminal_text.hpp"
#include "shared/exit_codes.hpp"
#include "shared/validation.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>

#include <algorithm>
#include <cctype>

namespace chat {

namespace {
using Kind = InputCommand::Kind;

/// A message that breaks the protocol: the session cannot go on.
[[noreturn]] void violation(const std::string& type, const std::string& what) {
    throw ClientError(exit_code::kProtocol,
                      "the server sent a '" + visibleText(type) + "' message " + what + "; disconnecting");
}

/// A string member: "" when absent; a member of another type breaks the protocol.
std::string field(const Poco::JSON::Object::Ptr& m, const std::string& key) {
    if (!m->has(key) || m->isNull(key)) return "";
    const auto value = stringField(m, key);
    if (!value) violation(stringField(m, "type").value_or("?"), "whose \"" + key + "\" is not a string");
    return *value;
}

/// field() as it may be printed.
std::string shown(const Poco::JSON::Object::Ptr& m, const std::string& key) { return visibleText(field(m, key)); }

/// An array of strings: empty when absent; anything else breaks the protocol.
std::vector<std::string> strings(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    std::vector<std::string> out;
    if (!message->has(key) || message->isNull(key)) return out;
    auto array = message->getArray(key);
    const auto bad = [&] { violation(field(message, "type"), "whose \"" + key + "\" is not a list of strings"); };
    if (!array) bad();
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto item = array->get(i);
        if (!item.isString()) bad();
        out.push_back(item.extract<std::string>());
    }
    return out;
}

/// strings() as they may be printed.
std::vector<std::string> shownAll(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    auto out = strings(message, key);
    for (auto& item : out) item = visibleText(item);
    return out;
}

/// An array of objects (stored events): empty when absent; anything else breaks the protocol.
std::vector<Poco::JSON::Object::Ptr> objects(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    std::vector<Poco::JSON::Object::Ptr> out;
    if (!message->has(key) || message->isNull(key)) return out;
    auto array = message->getArray(key);
    const auto bad = [&] { violation(field(message, "type"), "whose \"" + key + "\" is not a list of objects"); };
    if (!array) bad();
    for (std::size_t i = 0; i < array->size(); ++i) {
        auto item = array->getObject(i);
        if (!item) bad();
        out.push_back(item);
    }
    return out;
}

/// An integer member, when present; another type breaks the protocol.
std::optional<std::int64_t> integer(const Poco::JSON::Object::Ptr& m, const std::string& key) {
    if (!m->has(key) || m->isNull(key)) return std::nullopt;
    const auto value = intField(m, key);
    if (!value) violation(field(m, "type"), "whose \"" + key + "\" is not an integer");
    return value;
}

/// A boolean member, false when absent; another type breaks the protocol.
bool flag(const Poco::JSON::Object::Ptr& m, const std::string& key) {
    if (!m->has(key) || m->isNull(key)) return false;
    const auto value = boolField(m, key);
    if (!value) violation(field(m, "type"), "whose \"" + key + "\" is not true or false");
    return *value;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

/// Checks the members of an event that the client reads; throws ClientError(76).
void checkEvent(const Poco::JSON::Object::Ptr& event) {
    const auto type = field(event, "type");
    auto need = [&](std::initializer_list<const char*> keys) {
        for (const char* key : keys)
            if (field(event, key).empty()) violation(type, "without a \"" + std::string(key) + "\"");
    };
    for (const char* key : {"from", "to", "text", "user", "room", "reason", "topic", "by", "old", "new", "message"})
        field(event, key);
    for (const char* key : {"ts", "msg_id"})
        if (event->has(key) && !intField(event, key)) violation(type, "whose \"" + std::string(key) + "\" is not an integer");
    if (event->has("action") && !boolField(event, "action")) violation(type, "whose \"action\" is not true or false");
    if (type == "message") need({"from", "to"});
    else if (type == "joined" || type == "left") need({"user", "room"});
    else if (type == "topic") need({"room"});
    else if (type == "nick") need({"old", "new"});
}

/// Checks a list of stored events (backlog, history, search) and the members
/// around it that the client reads; throws ClientError(76).
std::vector<Poco::JSON::Object::Ptr> storedEvents(const Poco::JSON::Object::Ptr& message, const std::string& key) {
    auto events = objects(message, key);
    for (const auto& event : events) checkEvent(event);
    flag(message, "more");
    for (const char* member : {"unread", "unread_since", "first_unread"}) integer(message, member);
    return events;
}

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
    guestKey_ = welcome.key;
    render_.currentRoom = welcome.room;
    rooms_.insert(welcome.rooms.begin(), welcome.rooms.end());
    if (!welcome.room.empty()) rooms_.insert(welcome.room);
    for (const auto& room : rooms_) noteRoom(room);
    for (const auto& user : welcome.online) noteUser(user);
    noteMembers(welcome.room, welcome.online);  // a guess: everyone starts in the default room
    maxText_ = welcome.maxText > 0 ? welcome.maxText : kDefaultMaxTextBytes;
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
    if (isValidName(name)) users_[nameKey(name)] = name;
}

void ClientSession::noteRoom(const std::string& room) {
    if (isValidRoomName(room)) seenRooms_[nameKey(room)] = room;
}

std::string ClientSession::displayName(const std::string& user) const {
    const auto it = users_.find(nameKey(user));
    return it == users_.end() ? user : it->second;
}

std::string ClientSession::clockPrefix() const {
    const auto clock = render_.terminal ? formatTimestamp(nowMillis(), render_.timestamps) : std::string();
    return clock.empty() ? std::string() : paint(clock, style::kNotice, render_.color) + " ";
}

void ClientSession::notice(const std::string& text) {
    const auto stamp = clockPrefix();
    output_.indented(stamp + paint(text, style::kNotice, render_.color), displayWidth(stamp) + 2);
}

std::string ClientSession::prompt() const {
    std::string status = connected_ ? "" : "offline";
    for (const auto& [key, context] : contexts_)
        if (context.unread > 0)
            status += (status.empty() ? "" : ", ") + visibleText(context.name) + " " + std::to_string(context.unread);
    const auto current = currentContext();
    if (const auto typing = signals_.typingText(current, now_()); !typing.empty())
        status += (status.empty() ? "" : ", ") + visibleText(typing);
    if (!query_.empty() && signals_.seen(current)) status += (status.empty() ? "" : ", ") + std::string("seen");
    return "[" + visibleText(currentContext()) + "] " + visibleText(render_.self) +
           (status.empty() ? "" : " (" + status + ")") + "> ";
}

std::string ClientSession::currentContext() const { return query_.empty() ? render_.currentRoom : "@" + query_; }

RenderOptions ClientSession::view() const {
    auto options = render_;
    options.currentRoom = currentContext();
    return options;
}

std::string ClientSession::contextOf(const Poco::JSON::Object::Ptr& message) const {
    const auto to = field(message, "to");
    if (to.empty() || to[0] != '@') return to;
    return nameKey(field(message, "from")) == nameKey(render_.self) ? to : "@" + field(message, "from");
}

void ClientSession::track(const Poco::JSON::Object::Ptr& message) {
    const auto name = contextOf(message);
    auto& context = contexts_[nameKey(name)];
    context.name = name;
    context.lines.push_back(message);
    if (context.lines.size() > kScrollback) context.lines.pop_front();
    const bool mine = nameKey(field(message, "from")) == nameKey(render_.self);
    if (!mine && nameKey(name) != nameKey(currentContext())) ++context.unread;
    if (context.unread > 0) ++context.missed;  // from the first unread on, ours included
}

void ClientSession::switchTo(const std::string& name) {
    if (!name.empty() && name[0] == '@') {
        query_ = displayName(name.substr(1));
        if (std::none_of(queries_.begin(), queries_.end(), [&](const auto& q) { return nameKey(q) == nameKey(query_); }))
            queries_.push_back(query_);
    } else {
        query_.clear();
        render_.currentRoom = name;
    }
    const auto current = currentContext();
    auto it = contexts_.find(nameKey(current));
    const std::size_t unread = it == contexts_.end() ? 0 : it->second.unread;
    const std::string where = "* now in " + visibleText(current) +
                              (query_.empty() ? "" : " (plain lines go there; /query alone: back to " +
                                                         visibleText(render_.currentRoom) + ")");
    receiptForShown(current);
    if (unread == 0) {
        notice(where);
        return;
    }
    // What was missed there, from our own scrollback.
    auto& lines = it->second.lines;
    const auto shown = std::min(it->second.missed, lines.size());
    it->second.unread = 0;
    it->second.missed = 0;
    notice(where + "; " + std::to_string(unread) + " unread:");
    const auto options = view();
    for (auto line = lines.end() - static_cast<std::ptrdiff_t>(shown); line != lines.end(); ++line)
        if (auto rendered = renderEventLine(*line, options)) output_.indented(rendered->text, rendered->indent);
}

std::string ClientSession::nextContext(bool backwards) const {
    const auto current = nameKey(currentContext());
    if (!backwards)
        for (const auto& [key, context] : contexts_)
            if (context.unread > 0 && key != current) return context.name;
    std::vector<std::string> all(rooms_.begin(), rooms_.end());
    for (const auto& q : queries_) all.push_back("@" + q);
    const std::size_t n = all.size();
    for (std::size_t i = 0; i < n; ++i)
        if (nameKey(all[i]) == current) return all[backwards ? (i + n - 1) % n : (i + 1) % n];
    return all.empty() ? std::string() : all.front();
}

bool ClientSession::localCommand(const InputCommand& c) {
    switch (c.kind) {
    case Kind::Query:
        if (!c.target.empty()) switchTo("@" + c.target);
        else if (query_.empty()) notice("* no query to close (/query user starts one)");
        else switchTo(render_.currentRoom);
        return true;
    case Kind::Switch: {
        if (!c.target.empty()) {
            switchTo("@" + c.target);
            return true;
        }
        std::string target = c.room;
        if (!target.empty()) {
            const auto in = std::find_if(rooms_.begin(), rooms_.end(),
                                         [&](const auto& r) { return nameKey(r) == nameKey(target); });
            if (in == rooms_.end()) {
                output_.error("you are not in " + target + " (/join " + target + ")");
                return true;
            }
            target = *in;
        } else if (!c.text.empty() && std::isdigit(static_cast<unsigned char>(c.text[0]))) {
            // The Nth of the rooms (in order) and then the queries, as /switch lists them.
            std::vector<std::string> all(rooms_.begin(), rooms_.end());
            for (const auto& q : queries_) all.push_back("@" + q);
            const auto n = static_cast<std::size_t>(std::stoul(c.text));
            if (n == 0 || n > all.size()) {
                std::string list;
                for (std::size_t i = 0; i < all.size(); ++i)
                    list += (i ? ", " : "") + std::to_string(i + 1) + " " + visibleText(all[i]);
                output_.error("there is no " + c.text + ": " + list);
                return true;
            }
            target = all[n - 1];
        } else {
            target = nextContext(c.text == "previous");
        }
        if (target.empty() || nameKey(target) == nameKey(currentContext())) notice("* nothing else to switch to");
        else switchTo(target);
        return true;
    }
    case Kind::Ignore:
        if (c.target.empty()) {
            const auto names = ignore_.names();
            notice(names.empty() ? "* nobody is ignored (/ignore user hides their messages)" : "* ignored: " + join(names));
        } else if (nameKey(c.target) == nameKey(render_.self)) {
            output_.error("you cannot ignore yourself");
        } else {
            const auto name = displayName(c.target);
            notice(ignore_.add(name) ? "* ignoring " + name + ": their messages and DMs are hidden (/unignore " + name + ")"
                                     : "* " + name + " is already ignored");
        }
        return true;
    case Kind::Unignore:
        notice(ignore_.remove(c.target) ? "* no longer ignoring " + displayName(c.target)
                                        : "* " + c.target + " is not ignored");
        return true;
    default: return false;
    }
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
    // Longer than the server takes: several messages, split between words, and said so.
    const auto parts = splitMessage(text, maxText_);
    if (parts.size() > 1)
        notice("* that line is longer than the server's " + std::to_string(maxText_) + " bytes: sent as " +
               std::to_string(parts.size()) + " messages, split between words");
    for (const auto& part : parts) {
        auto send = makeMessage("send");
        send->set("to", to);
        send->set("text", part);
        if (action) send->set("action", true);
        request(send, {"send", to});
    }
}

void ClientSession::sendRequest(const Poco::JSON::Object::Ptr& message) {
    Pending pending;
    pending.kind = stringField(message, "type").value_or("");
    pending.detail = stringField(message, pending.kind == "send" ? "to" : pending.kind == "whois" ? "user" : "room")
                         .value_or("");
    if (pending.kind == "history" && pending.detail.empty() && stringField(message, "user"))
        pending.detail = "@" + *stringField(message, "user");
    if (message->has("id")) pending.originalId = message->get("id");
    request(message, std::move(pending));
}

void ClientSession::say(const std::string& text) { sendText(currentContext(), text, false); }

void ClientSession::connectionLost() {
    if (connected_) lostAt_ = Clock::now();
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
    signals_.clearTyping();
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
    guestKey_ = welcome.key;
    if (welcome.maxText > 0) maxText_ = welcome.maxText;
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
    std::vector<std::string> rooms;
    for (const auto& room : rooms_) rooms.push_back(visibleText(room));
    const auto seconds =
        lostAt_ == Clock::time_point{} ? 0 : std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - lostAt_).count();
    notice("* reconnected after " + std::to_string(seconds) + " s as " + visibleText(render_.self) + ": in " +
           join(rooms) + "; current room " + visibleText(render_.currentRoom));
    quietUntil_ = Clock::now() + std::chrono::seconds(30);
    retryDue(Clock::now());
}

bool ClientSession::handleLine(const std::string& line) {
    const auto c = parseInput(line);
    auto simple = [&](const std::string& type) {
        auto m = makeMessage(type);
        return m;
    };
    if (localCommand(c)) return true;
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
    case Kind::Say: sendText(c.room.empty() ? currentContext() : c.room, c.text, false); return true;
    case Kind::Action: sendText(currentContext(), c.text, true); return true;
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
        const auto room = c.room.empty() && c.text == "here" ? render_.currentRoom : c.room;
        if (!room.empty()) m->set("room", room);
        request(m, {"who", room});
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
    case Kind::Register:  // the terminal client asks the password and sends register itself
        output_.error("/register needs a terminal to ask the password on (or send {\"type\":\"register\"} with --json)");
        return true;
    case Kind::History: {
        auto m = simple("history");
        const auto target = !c.room.empty() ? c.room : !c.target.empty() ? "@" + c.target : currentContext();
        if (target.empty()) {
            output_.error("no room or query to show the history of (/history #room or /history @user)");
            return true;
        }
        if (target[0] == '@') m->set("user", target.substr(1));
        else m->set("room", target);
        if (const auto oldest = oldest_.find(nameKey(target)); oldest != oldest_.end()) m->set("before", oldest->second);
        m->set("limit", static_cast<Poco::Int64>(c.limit ? c.limit : kHistoryDefault));
        request(m, {"history", target});
        return true;
    }
    case Kind::Search: {
        auto m = simple("search");
        m->set("text", c.text);
        if (!c.room.empty()) m->set("room", c.room);
        m->set("limit", static_cast<Poco::Int64>(kSearchLimit));
        request(m, {"search", c.text});
        return true;
    }
    case Kind::Query:
    case Kind::Switch:
    case Kind::Ignore:
    case Kind::Unignore: return true;  // localCommand took them
    }
    return true;
}

void ClientSession::handleMessage(const Poco::JSON::Object::Ptr& message) {
    try {
        handle(message);
    } catch (const ClientError&) {
        throw;
    } catch (const std::exception& e) {
        // A member of an unexpected type (Poco's BadCastException and the like).
        throw ClientError(exit_code::kProtocol, "the server sent a message the client cannot read (" +
                                                    visibleText(e.what()) + "); disconnecting");
    }
}

void ClientSession::handle(const Poco::JSON::Object::Ptr& message) {
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
                // At most a minute, whatever the server says (and no overflow).
                const auto wait = std::chrono::milliseconds(
                    std::clamp<std::int64_t>(intField(message, "retry_after_ms").value_or(200), 0, 60'000));
                held_[*id] = it->second.message;
                const auto at = Clock::now() + wait;
                if (!refusedUntil_ || *refusedUntil_ < at) refusedUntil_ = at;
                retryDue(Clock::now());
                return;
            }
            if (paced) {
                // storage_unavailable: the server accepted the message (and took its token).
                if (type == "ok" || field(message, "code") == "storage_unavailable") pace_.accepted(Clock::now());
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
                          ": " + shown(message, "message"));
            restoreStep();
        } else if (type == "error" && pending.kind == "send" && field(message, "code") == "storage_unavailable") {
            // Delivered live but not stored: sending it again would deliver it twice.
            output_.error("message to " + visibleText(displayName(pending.detail)) +
                          " delivered but not saved to history: " + shown(message, "message"));
        } else if (type == "error" && (pending.kind == "typing" || pending.kind == "read")) {
            // Best effort, unasked for by the user: a refusal is not worth a line.
        } else if (type == "error") {
            output_.error(shown(message, "message") + " (" + shown(message, "code") + ")");
        } else {
            answered(pending, message);
        }
        return;
    }
    checkEvent(message);
    if (type == "backlog") {
        if (field(message, "room").empty()) violation(type, "without a \"room\"");
        storedEvents(message, "events");
    }
    output_.message(message);
    if (type == "backlog") return showBacklog(message);
    if (type == "typing" || type == "read") return handleSignal(type, message);
    if (repeatedJoin(message)) return;  // someone rejoining after an outage: not news
    const bool chat = type == "message";
    if (chat && nameKey(field(message, "from")) != nameKey(render_.self) && ignore_.contains(field(message, "from")))
        return;  // /ignore
    noteEvent(message);
    if (chat) track(message);
    if (chat) noteSignals(message);
    if (chat || type == "topic") noteShown(chat ? field(message, "to") : field(message, "room"), message);
    if (auto line = renderEventLine(message, view())) {
        output_.indented(line->text, line->indent);
        if (ringsBell(message, render_)) output_.bell();
    }
}

bool ClientSession::repeatedJoin(const Poco::JSON::Object::Ptr& event) const {
    if (field(event, "type") != "joined") return false;
    if (!restore_ && !(quietUntil_ && Clock::now() < *quietUntil_)) return false;
    const auto room = members_.find(nameKey(field(event, "room")));
    return room != members_.end() && room->second.count(nameKey(field(event, "user")));
}

void ClientSession::noteMembers(const std::string& room, const std::vector<std::string>& members) {
    auto& known = members_[nameKey(room)];
    known.clear();
    for (const auto& member : members) known.insert(nameKey(member));
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
        auto& members = members_[nameKey(field(event, "room"))];
        if (type == "joined") members.insert(nameKey(field(event, "user")));
        else members.erase(nameKey(field(event, "user")));
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
        if (const auto away = shown(ok, "away"); !away.empty() && pending.detail.size() > 1)
            notice("* " + visibleText(displayName(pending.detail.substr(1))) + " is away: " + away);
    } else if (kind == "rejoin") {
        rooms_.insert(field(ok, "room"));
        for (const auto& member : strings(ok, "members")) noteUser(member);
        noteMembers(field(ok, "room"), strings(ok, "members"));
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
        query_.clear();
        noteMembers(room, strings(ok, "members"));
        const auto topic = shown(ok, "topic");
        notice("* you are now in " + visibleText(room) + (topic.empty() ? "" : " (topic: " + topic + ")") + " with " +
               join(shownAll(ok, "members")));
    } else if (kind == "leave") {
        const auto left = field(ok, "left");
        const auto nowIn = field(ok, "room");
        std::string leftName = left;  // as we know it, not as typed
        for (auto it = rooms_.begin(); it != rooms_.end();) {
            if (nameKey(*it) == nameKey(left)) leftName = *it;
            it = nameKey(*it) == nameKey(left) ? rooms_.erase(it) : std::next(it);
        }
        rooms_.insert(nowIn);
        if (nameKey(left) == nameKey(render_.currentRoom) || rooms_.size() == 1) render_.currentRoom = nowIn;
        notice("* you left " + visibleText(leftName) + "; current room is " + visibleText(render_.currentRoom));
    } else if (kind == "rooms") {
        Poco::JSON::Object::Ptr m = ok;
        auto list = m->has("rooms") ? m->getArray("rooms") : Poco::JSON::Array::Ptr();
        if (m->has("rooms") && !list) violation("ok", "whose \"rooms\" is not a list");
        output_.line("Rooms (" + std::to_string(list ? list->size() : 0) + "):");
        for (std::size_t i = 0; list && i < list->size(); ++i) {
            auto room = list->getObject(i);
            if (!room) violation("ok", "whose \"rooms\" holds something other than objects");
            const auto topic = shown(room, "topic");
            noteRoom(field(room, "room"));
            output_.line("  " + shown(room, "room") + " (" + std::to_string(intField(room, "members").value_or(0)) +
                         ")" + (topic.empty() ? "" : " " + topic));
        }
    } else if (kind == "topic?") {
        const auto topic = shown(ok, "topic");
        notice("* topic of " + shown(ok, "room") + ": " + (topic.empty() ? "(none)" : topic));
    } else if (kind == "who") {
        Poco::JSON::Object::Ptr m = ok;
        auto away = m->has("away") ? m->getObject("away") : Poco::JSON::Object::Ptr();
        if (m->has("away") && !away) violation("ok", "whose \"away\" is not an object");
        std::vector<std::string> names;
        for (const auto& name : strings(ok, "users")) {
            noteUser(name);
            names.push_back(visibleText(name) + (away && away->has(name) ? " (away)" : ""));
        }
        output_.line((pending.detail.empty() ? "Online" : visibleText(pending.detail)) + " (" +
                     std::to_string(names.size()) + "): " + join(names));
    } else if (kind == "whois") {
        const auto away = shown(ok, "away");
        notice("* " + shown(ok, "user") + ": in " + join(shownAll(ok, "rooms")) + "; connected " +
               duration(nowMillis() - std::clamp<std::int64_t>(intField(ok, "since").value_or(0), 0, nowMillis())) +
               " ago; idle " + duration(std::max<std::int64_t>(0, intField(ok, "idle_ms").value_or(0))) + (away.empty() ? "" : "; away: " + away));
    } else if (kind == "nick") {
        render_.self = field(ok, "user");
        guestKey_ = field(ok, "key");  // a new guest name's key, or none for an account
    } else if (kind == "away") {
        notice("* you are marked away: " + visibleText(pending.detail));
    } else if (kind == "back") {
        notice("* you are back");
    } else if (kind == "register") {
        guestKey_.clear();
        notice("* " + shown(ok, "user") + " is now a registered account; log in with its password from now on");
    } else if (kind == "history") {
        showHistory(pending.detail, ok);
    } else if (kind == "search") {
        showSearch(pending.detail, ok);
    }
}

// Not line(): a frame belongs to the stored lines it surrounds, which carry their own times.
void ClientSession::frame(const std::string& text, const char* sgr) { output_.indented(paint(text, sgr, render_.color), 2); }

void ClientSession::showStored(const std::vector<Poco::JSON::Object::Ptr>& events, const std::string& target,
                               std::int64_t firstUnread) {
    const auto options = view();
    const auto now = nowMillis();
    bool marked = firstUnread <= 0;
    for (const auto& event : events) {
        const auto id = intField(event, "msg_id");
        if (id && !target.empty()) {
            auto [oldest, fresh] = oldest_.emplace(nameKey(target), *id);
            if (!fresh && *id < oldest->second) oldest->second = *id;
        }
        const auto from = field(event, "from");
        if (field(event, "type") == "message" && nameKey(from) != nameKey(render_.self) && ignore_.contains(from))
            continue;  // /ignore hides the past too
        auto line = renderStoredLine(event, options, now);
        if (!line) continue;
        if (!marked && id && *id >= firstUnread) {
            frame("-- new --", style::kMarker);
            marked = true;
        }
        output_.indented(line->text, line->indent);
    }
}

void ClientSession::noteShown(const std::string& room, const Poco::JSON::Object::Ptr& event) {
    const auto id = intField(event, "msg_id");
    if (!id || room.empty() || room[0] != '#') return;
    auto& newest = newest_[nameKey(room)];
    newest = std::max(newest, *id);
}

void ClientSession::showBacklog(const Poco::JSON::Object::Ptr& backlog) {
    const auto room = field(backlog, "room");
    std::vector<Poco::JSON::Object::Ptr> events;
    const auto seen = newest_.find(nameKey(room));
    for (const auto& event : objects(backlog, "events")) {
        // After a reconnection: only what was not shown before (msg_ids are server-wide and increase).
        const auto id = intField(event, "msg_id");
        if (seen == newest_.end() || !id || *id > seen->second) events.push_back(event);
    }
    for (const auto& event : events) noteShown(room, event);
    const auto unread = integer(backlog, "unread").value_or(0);
    if (events.empty() && unread <= 0) return;  // a room without a past, or nothing new: nothing to say
    const auto shownRoom = visibleText(room);
    const auto topic = shown(backlog, "topic");
    frame("-- " + shownRoom + (topic.empty() ? "" : ": topic: " + topic) + " --");
    if (flag(backlog, "more")) frame("-- older messages: /history " + shownRoom + " --");
    std::int64_t firstUnread = 0;
    if (unread > 0) {
        const auto since = integer(backlog, "unread_since");
        const auto when = since ? formatStoredTime(*since, render_.timestamps == Timestamps::Long ? Timestamps::Long
                                                                                                 : Timestamps::Short,
                                                   nowMillis())
                                : std::string();
        frame("-- " + std::to_string(unread) + " unread in " + shownRoom + (when.empty() ? "" : " since " + when) + " --");
        const auto first = integer(backlog, "first_unread").value_or(0);
        if (std::any_of(events.begin(), events.end(), [&](const auto& e) { return intField(e, "msg_id") == first; }))
            firstUnread = first;
    }
    showStored(events, room, firstUnread);
}

void ClientSession::showHistory(const std::string& target, const Poco::JSON::Object::Ptr& ok) {
    const auto events = storedEvents(ok, "events");
    const auto room = field(ok, "room");
    const auto user = field(ok, "user");
    const auto name = visibleText(!room.empty() ? room : !user.empty() ? "@" + user : target);
    if (events.empty()) {
        frame("-- no " + std::string(oldest_.count(nameKey(target)) ? "older " : "") + "history of " + name + " --");
        return;
    }
    frame("-- history of " + name + ": " + std::to_string(events.size()) + " event" + (events.size() == 1 ? "" : "s") +
          " --");
    showStored(events, target);
    if (flag(ok, "more")) frame("-- more: /history again --");
    frame("-- end of history --");
}

void ClientSession::showSearch(const std::string& words, const Poco::JSON::Object::Ptr& ok) {
    const auto results = storedEvents(ok, "results");
    const auto now = nowMillis();
    const auto timestamps = render_.timestamps == Timestamps::Long ? Timestamps::Long : Timestamps::Short;
    const bool color = render_.color;
    for (const auto& result : results) {
        if (field(result, "type") != "message") continue;
        const auto from = field(result, "from");
        const auto ts = intField(result, "ts");
        const auto where = visibleText(contextOf(result));
        const auto tag = "[" + where + (ts ? " " + formatStoredTime(*ts, timestamps, now) : "") + "] ";
        const auto name = paint(visibleText(from), nameKey(from) == nameKey(render_.self) ? style::kSelf
                                                                                         : style::nameColor(from, render_.palette),
                                color);
        const bool action = boolField(result, "action").value_or(false);
        const auto prefix = paint(tag, style::kNotice, color) + (action ? "* " + name + " " : name + ": ");
        const auto id = intField(result, "msg_id");
        output_.indented(prefix + shown(result, "text") +
                             (id ? paint("  (id " + std::to_string(*id) + ")", style::kNotice, color) : ""),
                         displayWidth(prefix));
    }
    const auto n = results.size();
    if (n == 0) frame("-- no messages with \"" + visibleText(words) + "\" --");
    else
        frame("-- " + std::to_string(n) + " result" + (n == 1 ? "" : "s") +
              (flag(ok, "more") ? " (more: narrow the words)" : "") + " --");
}

}  // namespace chat

namespace chat {

void ClientSession::userTyping(const std::string& line) {
    if (!sendTyping_ || !connected_ || restore_ || line.empty() || line[0] == '/') return;
    const auto context = currentContext();
    if (context.empty() || !signals_.mayTellTyping(context, now_())) return;
    auto typing = makeMessage("typing");
    typing->set("to", context);
    request(typing, {"typing", context});
}

std::optional<ClientSession::Clock::time_point> ClientSession::nextSignal() const {
    if (!connected_ || restore_) return std::nullopt;  // receipts wait for the connection
    return signals_.nextChange(now_());
}

void ClientSession::signalsDue() {
    if (!connected_ || restore_) return;
    for (const auto& [context, msgId] : signals_.takeDueReceipts(now_())) {
        auto read = makeMessage("read");
        read->set("to", context);
        read->set("msg_id", msgId);
        request(read, {"read", context});
    }
}

void ClientSession::handleSignal(const std::string& type, const Poco::JSON::Object::Ptr& event) {
    const auto from = field(event, "from");
    const auto to = field(event, "to");
    if (from.empty() || to.empty()) violation(type, from.empty() ? "without a \"from\"" : "without a \"to\"");
    if (nameKey(from) == nameKey(render_.self)) return;  // another session of ours
    if (type == "typing") {
        if (ignore_.contains(from)) return;
        const auto ttl = integer(event, "ttl_ms").value_or(6000);
        const auto context = to[0] == '@' ? "@" + from : to;
        signals_.typing(context, from, std::chrono::milliseconds(std::clamp<std::int64_t>(ttl, 0, 60'000)), now_());
        return;
    }
    const auto msgId = integer(event, "msg_id");
    if (!msgId) violation(type, "without a \"msg_id\"");
    if (to[0] == '@') signals_.readUpTo("@" + from, *msgId);
}

void ClientSession::noteSignals(const Poco::JSON::Object::Ptr& message) {
    const auto from = field(message, "from");
    const auto to = field(message, "to");
    const auto context = contextOf(message);
    signals_.messageFrom(context, from);
    if (to.empty() || to[0] != '@') return;
    const auto msgId = integer(message, "msg_id").value_or(0);
    if (msgId <= 0) return;
    if (nameKey(from) == nameKey(render_.self)) {
        if (nameKey(to.substr(1)) != nameKey(render_.self)) signals_.ownMessage(context, msgId);
        return;
    }
    if (sendReceipts_ && nameKey(context) == nameKey(currentContext())) signals_.shown(context, msgId, now_());
}

void ClientSession::receiptForShown(const std::string& context) {
    if (!sendReceipts_ || context.empty() || context[0] != '@') return;
    const auto found = contexts_.find(nameKey(context));
    if (found == contexts_.end()) return;
    const auto& lines = found->second.lines;
    for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
        if (nameKey(field(*line, "from")) == nameKey(render_.self)) continue;
        if (const auto msgId = integer(*line, "msg_id").value_or(0); msgId > 0) {
            signals_.shown(context, msgId, now_());
            return;
        }
    }
}

}  // namespace chat

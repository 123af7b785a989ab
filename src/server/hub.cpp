#include "server/hub.hpp"

#include "shared/validation.hpp"

#include <algorithm>

namespace chat {

namespace {
constexpr std::size_t kMaxTopicBytes = 300;

Poco::JSON::Object::Ptr makeEvent(std::string_view type, std::uint64_t messageId) {
    auto event = makeMessage(type);
    event->set("msg_id", messageId);
    event->set("ts", nowMillis());
    return event;
}

void append(std::vector<ParticipantPtr>& to, const std::vector<ParticipantPtr>& more) {
    to.insert(to.end(), more.begin(), more.end());
}

void removeOne(std::vector<ParticipantPtr>& from, const ParticipantPtr& p) {
    from.erase(std::remove(from.begin(), from.end(), p), from.end());
}

std::shared_ptr<const std::vector<ParticipantPtr>> share(std::vector<ParticipantPtr> list) {
    return std::make_shared<const std::vector<ParticipantPtr>>(std::move(list));
}

HubResult refuse(ErrorCode code, std::string text) { return {code, std::move(text), 0, {}, 0}; }

HubResult invalidRoom(const std::string& room) {
    return refuse(ErrorCode::RoomInvalid, "invalid room name '" + room + "': use # and 1-32 characters of A-Z a-z 0-9 _ . -");
}
}  // namespace

Hub::Hub(HubConfig config, FanOut fanOut) : config_(std::move(config)), fanOut_(std::move(fanOut)) {
    auto add = [this](const std::string& name) {
        auto& room = rooms_[nameKey(name)];
        room.name = name;
        room.permanent = true;
    };
    add(config_.defaultRoom);
    for (const auto& name : config_.permanentRooms) add(name);
}

std::optional<ErrorCode> Hub::attach(const ParticipantPtr& connection, const std::string& ip) {
    std::lock_guard lock(mutex_);
    if (shuttingDown_) return ErrorCode::ShuttingDown;
    if (connections_.size() >= config_.maxClients) return ErrorCode::ServerFull;
    auto& fromIp = perIp_[ip];
    if (fromIp >= config_.maxPerIp) return ErrorCode::TooManyConnections;
    ++fromIp;
    connections_.emplace(connection.get(), Connection{connection, {}, false, ip});
    return std::nullopt;
}

void Hub::detach(const ParticipantPtr& connection, const std::string& reason) {
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(connection.get());
        if (it == connections_.end()) return;
        const Connection entry = it->second;
        connections_.erase(it);
        if (auto ip = perIp_.find(entry.ip); ip != perIp_.end() && --ip->second == 0) perIp_.erase(ip);
        if (connections_.empty()) emptied_.notify_all();
        auto user = users_.find(entry.userKey);
        if (user == users_.end()) return;
        removeOne(user->second.sessions, connection);
        removeOne(user->second.quietSessions, connection);
        if (entry.announce) invalidateRoomsLocked(user->second);
        if (entry.announce && user->second.sessions.empty()) {
            const auto rooms = user->second.rooms;
            for (const auto& roomKey : rooms) removeMemberLocked(entry.userKey, roomKey, reason, out);
        }
        if (user->second.sessions.empty() && user->second.quietSessions.empty()) users_.erase(user);
        if (shuttingDown_) out.clear();
    }
    deliver(out);
}

HubResult Hub::join(const ParticipantPtr& connection, const std::string& name, bool announce,
                    std::string& displayName) {
    if (!isValidName(name))
        return refuse(ErrorCode::NameInvalid, "invalid user name '" + name + "': use 1-32 characters of A-Z a-z 0-9 _ . -");
    const std::string key = nameKey(name);
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(connection.get());
        if (it == connections_.end() || shuttingDown_) return refuse(ErrorCode::ShuttingDown, "the server is shutting down");
        if (!it->second.userKey.empty())
            return refuse(ErrorCode::BadRequest, "already joined as " + users_[it->second.userKey].displayName);
        it->second.userKey = key;
        it->second.announce = announce;
        auto& user = users_[key];
        if (user.sessions.empty() && user.quietSessions.empty()) {
            user.displayName = name;
            user.sinceMillis = user.lastActiveMillis = nowMillis();
            user.bucket.emplace(config_.ratePerSecond, config_.rateBurst, TokenBucket::Clock::now());
        }
        (announce ? user.sessions : user.quietSessions).push_back(connection);
        if (announce) invalidateRoomsLocked(user);
        displayName = user.displayName;
        if (announce && user.sessions.size() == 1)
            addMemberLocked(key, nameKey(config_.defaultRoom), config_.defaultRoom, connection, out);
    }
    deliver(out);
    return {};
}

HubResult Hub::joinRoom(const ParticipantPtr& connection, const std::string& room, RoomDetails& details) {
    if (!isValidRoomName(room)) return invalidRoom(room);
    const auto roomKey = nameKey(room);
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(connection.get());
        if (it == connections_.end() || !it->second.announce)
            return refuse(ErrorCode::BadRequest, "only an announced session can join rooms");
        auto& user = users_[it->second.userKey];
        if (!user.rooms.count(roomKey)) {
            if (user.rooms.size() >= config_.maxRoomsPerUser)
                return refuse(ErrorCode::TooManyRooms, "you are in " + std::to_string(user.rooms.size()) +
                                                           " rooms, the most allowed; /leave one first");
            addMemberLocked(it->second.userKey, roomKey, room, connection, out);
        }
        details = detailsLocked(rooms_.at(roomKey));
    }
    deliver(out);
    return {};
}

HubResult Hub::leaveRoom(const ParticipantPtr& connection, const std::string& room, std::string& nowIn) {
    if (!isValidRoomName(room)) return invalidRoom(room);
    const auto roomKey = nameKey(room);
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        auto* user = senderLocked(connection);
        if (!user) return refuse(ErrorCode::BadRequest, "send hello first");
        if (!user->rooms.count(roomKey)) return refuse(ErrorCode::NotInRoom, "you are not in " + room);
        const auto defaultKey = nameKey(config_.defaultRoom);
        if (user->rooms.size() == 1 && roomKey == defaultKey)
            return refuse(ErrorCode::BadRequest, config_.defaultRoom + " is your last room; join another room first");
        const auto userKey = connections_.at(connection.get()).userKey;
        removeMemberLocked(userKey, roomKey, "left", out);
        if (users_[userKey].rooms.empty()) addMemberLocked(userKey, defaultKey, config_.defaultRoom, nullptr, out);
        nowIn = rooms_.at(*users_[userKey].rooms.begin()).name;
    }
    deliver(out);
    return {};
}

HubResult Hub::setTopic(const ParticipantPtr& connection, const std::string& room, const std::string& topic) {
    if (!isValidRoomName(room)) return invalidRoom(room);
    if (const auto problem = chat::checkText(topic, kMaxTopicBytes); problem != TextProblem::None && !topic.empty())
        return refuse(problem == TextProblem::TooLong ? ErrorCode::TextTooLong : ErrorCode::TextInvalid,
                      "topic: " + describeTextProblem(problem, topic, kMaxTopicBytes));
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        const auto* user = senderLocked(connection);
        if (!user) return refuse(ErrorCode::BadRequest, "send hello first");
        auto it = rooms_.find(nameKey(room));
        if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
        if (!user->rooms.count(it->first)) return refuse(ErrorCode::NotInRoom, "you are not in " + it->second.name);
        it->second.topic = topic;
        auto event = makeEvent("topic", nextMessageId());
        event->set("room", it->second.name);
        event->set("topic", topic);
        event->set("by", user->displayName);
        out.push_back({roomSessionsLocked(it->second), event});
    }
    deliver(out);
    return {};
}

HubResult Hub::roomDetails(const std::string& room, RoomDetails& details) const {
    if (!isValidRoomName(room)) return invalidRoom(room);
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(nameKey(room));
    if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
    details = detailsLocked(it->second);
    return {};
}

std::vector<RoomSummary> Hub::rooms() const {
    std::lock_guard lock(mutex_);
    std::vector<RoomSummary> list;
    for (const auto& [key, room] : rooms_) list.push_back({room.name, room.topic, room.members.size()});
    return list;
}

HubResult Hub::checkText(const std::string& text) const {
    const auto problem = chat::checkText(text, config_.maxTextBytes);
    if (problem == TextProblem::None) return {};
    const auto code = problem == TextProblem::TooLong ? ErrorCode::TextTooLong : ErrorCode::TextInvalid;
    return refuse(code, describeTextProblem(problem, text, config_.maxTextBytes));
}

std::optional<HubResult> Hub::rateLimitedLocked(User& user) {
    const auto wait = user.bucket->take(TokenBucket::Clock::now());
    if (!wait) return std::nullopt;
    auto result = refuse(ErrorCode::RateLimited,
                         "you are sending too fast; try again in " + std::to_string(wait->count()) + " ms");
    result.retryAfterMs = wait->count();
    return result;
}

HubResult Hub::sendToRoom(const ParticipantPtr& from, const std::string& room, const std::string& text, bool action) {
    if (auto bad = checkText(text); !bad) return bad;
    if (!isValidRoomName(room)) return invalidRoom(room);
    std::vector<Outgoing> out;
    const auto id = nextMessageId();
    {
        std::lock_guard lock(mutex_);
        auto* user = senderLocked(from);
        if (!user) return refuse(ErrorCode::BadRequest, "send hello first");
        auto it = rooms_.find(nameKey(room));
        if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
        const bool announced = connections_.at(from.get()).announce;
        if (announced && !user->rooms.count(it->first))
            return refuse(ErrorCode::NotInRoom, "you are not in " + it->second.name + "; /join it first");
        if (auto limited = rateLimitedLocked(*user)) return *limited;
        user->lastActiveMillis = nowMillis();
        auto event = makeEvent("message", id);
        event->set("from", user->displayName);
        event->set("to", it->second.name);
        event->set("text", text);
        if (action) event->set("action", true);
        out.push_back({roomSessionsLocked(it->second), event});
    }
    deliver(out);
    return {std::nullopt, {}, id, {}, 0};
}

HubResult Hub::sendDirect(const ParticipantPtr& from, const std::string& to, const std::string& text, bool action) {
    if (auto bad = checkText(text); !bad) return bad;
    if (!isValidName(to)) return refuse(ErrorCode::NameInvalid, "invalid user name '" + to + "'");
    std::vector<Outgoing> out;
    const auto id = nextMessageId();
    std::string away;
    {
        std::lock_guard lock(mutex_);
        auto* sender = senderLocked(from);
        if (!sender) return refuse(ErrorCode::BadRequest, "send hello first");
        auto dest = users_.find(nameKey(to));
        if (dest == users_.end() || dest->second.sessions.empty())
            return refuse(ErrorCode::NoSuchUser, "no user named '" + to + "' is online");
        if (auto limited = rateLimitedLocked(*sender)) return *limited;
        sender->lastActiveMillis = nowMillis();
        away = dest->second.away;
        auto event = makeEvent("message", id);
        event->set("from", sender->displayName);
        event->set("to", "@" + dest->second.displayName);
        event->set("text", text);
        if (action) event->set("action", true);
        auto to = dest->second.sessions;
        append(to, dest->second.quietSessions);
        if (sender != &dest->second) {
            append(to, sender->sessions);
            append(to, sender->quietSessions);
        }
        out.push_back({share(std::move(to)), event});
    }
    deliver(out);
    return {std::nullopt, {}, id, away, 0};
}

HubResult Hub::rename(const ParticipantPtr& connection, const std::string& newName, std::string& displayName) {
    if (!isValidName(newName))
        return refuse(ErrorCode::NameInvalid, "invalid user name '" + newName + "': use 1-32 characters of A-Z a-z 0-9 _ . -");
    const auto newKey = nameKey(newName);
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(connection.get());
        if (it == connections_.end() || it->second.userKey.empty()) return refuse(ErrorCode::BadRequest, "send hello first");
        const auto oldKey = it->second.userKey;
        if (users_.at(oldKey).displayName == newName) {
            displayName = newName;
            return {};
        }
        if (newKey != oldKey && users_.count(newKey))
            return refuse(ErrorCode::NameInUse, "the name '" + newName + "' is in use by someone else");
        User moved = std::move(users_.at(oldKey));
        users_.erase(oldKey);
        auto& user = users_.emplace(newKey, std::move(moved)).first->second;
        const auto oldName = user.displayName;
        user.displayName = newName;
        displayName = newName;
        for (auto& [ptr, entry] : connections_)
            if (entry.userKey == oldKey) entry.userKey = newKey;
        for (const auto& roomKey : user.rooms) {
            auto& members = rooms_.at(roomKey).members;
            members.erase(oldKey);
            members.insert(newKey);
        }
        std::set<const Participant*> seen;
        auto event = makeEvent("nick", nextMessageId());
        event->set("old", oldName);
        event->set("new", newName);
        std::vector<ParticipantPtr> to;
        auto add = [&](const std::vector<ParticipantPtr>& sessions) {
            for (const auto& s : sessions)
                if (seen.insert(s.get()).second) to.push_back(s);
        };
        add(user.sessions);
        add(user.quietSessions);
        for (const auto& roomKey : user.rooms) add(*roomSessionsLocked(rooms_.at(roomKey)));
        out.push_back({share(std::move(to)), event});
    }
    deliver(out);
    return {};
}

HubResult Hub::setAway(const ParticipantPtr& connection, const std::string& message) {
    if (!message.empty())
        if (auto bad = checkText(message); !bad) return bad;
    std::lock_guard lock(mutex_);
    auto* user = senderLocked(connection);
    if (!user) return refuse(ErrorCode::BadRequest, "send hello first");
    user->away = message;
    return {};
}

HubResult Hub::who(const std::optional<std::string>& room, std::vector<UserSummary>& users) const {
    if (room && !isValidRoomName(*room)) return invalidRoom(*room);
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    if (room) {
        auto it = rooms_.find(nameKey(*room));
        if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + *room);
        names = sortedNamesLocked(it->second.members);
    } else {
        names = onlineLocked();
    }
    users.clear();
    for (const auto& name : names) users.push_back({name, users_.at(nameKey(name)).away});
    return {};
}

HubResult Hub::whois(const std::string& name, WhoisDetails& details) const {
    if (!isValidName(name)) return refuse(ErrorCode::NameInvalid, "invalid user name '" + name + "'");
    std::lock_guard lock(mutex_);
    auto it = users_.find(nameKey(name));
    if (it == users_.end() || it->second.sessions.empty())
        return refuse(ErrorCode::NoSuchUser, "no user named '" + name + "' is online");
    const auto& user = it->second;
    details.name = user.displayName;
    details.rooms.clear();
    for (const auto& roomKey : user.rooms) details.rooms.push_back(rooms_.at(roomKey).name);
    details.sinceMillis = user.sinceMillis;
    details.idleMillis = nowMillis() - user.lastActiveMillis;
    details.away = user.away;
    return {};
}

std::vector<std::string> Hub::online() const {
    std::lock_guard lock(mutex_);
    return onlineLocked();
}

std::vector<std::string> Hub::roomsOf(const ParticipantPtr& connection) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    if (const auto* user = senderLocked(connection))
        for (const auto& key : user->rooms) names.push_back(rooms_.at(key).name);
    return names;
}

std::size_t Hub::connectionCount() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

void Hub::shutdown(const std::string& notice) {
    std::vector<ParticipantPtr> everyone;
    {
        std::lock_guard lock(mutex_);
        shuttingDown_ = true;
        for (const auto& [ptr, entry] : connections_) everyone.push_back(entry.participant);
    }
    auto event = makeMessage("shutdown");
    event->set("ts", nowMillis());
    event->set("message", notice);
    const auto frame = std::make_shared<const std::string>(toFrame(event));
    for (const auto& p : everyone) {
        p->deliver(frame);
        p->closeAfterFlush("server shutting down");
    }
}

bool Hub::waitUntilEmpty(std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(mutex_);
    return emptied_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

const Hub::User* Hub::senderLocked(const ParticipantPtr& connection) const {
    auto it = connections_.find(connection.get());
    if (it == connections_.end() || it->second.userKey.empty()) return nullptr;
    auto user = users_.find(it->second.userKey);
    return user == users_.end() ? nullptr : &user->second;
}

Hub::User* Hub::senderLocked(const ParticipantPtr& connection) {
    return const_cast<User*>(static_cast<const Hub*>(this)->senderLocked(connection));
}

void Hub::addMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& roomName,
                          const ParticipantPtr& except, std::vector<Outgoing>& out) {
    auto& room = rooms_[roomKey];
    if (room.name.empty()) room.name = roomName;
    auto& user = users_.at(userKey);
    room.members.insert(userKey);
    room.sessions.reset();
    user.rooms.insert(roomKey);
    auto event = makeEvent("joined", nextMessageId());
    event->set("user", user.displayName);
    event->set("room", room.name);
    auto to = roomSessionsLocked(room);
    if (except) {
        auto without = *to;
        removeOne(without, except);
        to = share(std::move(without));
    }
    out.push_back({std::move(to), event});
}

void Hub::removeMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& reason,
                             std::vector<Outgoing>& out) {
    auto it = rooms_.find(roomKey);
    if (it == rooms_.end()) return;
    auto& user = users_.at(userKey);
    auto event = makeEvent("left", nextMessageId());
    event->set("user", user.displayName);
    event->set("room", it->second.name);
    event->set("reason", reason);
    out.push_back({roomSessionsLocked(it->second), event});  // the leaver's own sessions see it too
    it->second.members.erase(userKey);
    it->second.sessions.reset();
    user.rooms.erase(roomKey);
    if (it->second.members.empty() && !it->second.permanent) rooms_.erase(it);
}

Hub::Recipients Hub::roomSessionsLocked(const Room& room) const {
    if (!room.sessions) {
        std::vector<ParticipantPtr> sessions;
        sessions.reserve(room.members.size());
        for (const auto& key : room.members) append(sessions, users_.at(key).sessions);
        room.sessions = share(std::move(sessions));
    }
    return room.sessions;
}

void Hub::invalidateRoomsLocked(const User& user) {
    for (const auto& roomKey : user.rooms)
        if (auto it = rooms_.find(roomKey); it != rooms_.end()) it->second.sessions.reset();
}

RoomDetails Hub::detailsLocked(const Room& room) const {
    return {room.name, room.topic, sortedNamesLocked(room.members)};
}

std::vector<std::string> Hub::sortedNamesLocked(const std::set<std::string>& userKeys) const {
    std::vector<std::string> names;  // std::set of keys is already in case-insensitive order
    for (const auto& key : userKeys) names.push_back(users_.at(key).displayName);
    return names;
}

std::vector<std::string> Hub::onlineLocked() const {
    std::set<std::string> keys;
    for (const auto& [key, user] : users_)
        if (!user.sessions.empty()) keys.insert(key);
    return sortedNamesLocked(keys);
}

void Hub::deliver(const std::vector<Outgoing>& out) const {
    for (const auto& item : out) {
        if (!item.to || item.to->empty()) continue;
        const auto frame = std::make_shared<const std::string>(toFrame(item.event));
        if (fanOut_) {
            fanOut_(*item.to, frame);
        } else {
            for (const auto& p : *item.to) p->deliver(frame);
        }
    }
}

}  // namespace chat

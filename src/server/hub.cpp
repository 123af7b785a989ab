#include "server/hub.hpp"

#include "server/answer_lists.hpp"
#include "server/authenticator.hpp"
#include "server/event_list.hpp"
#include "server/ip_group.hpp"
#include "server/moderation_store.hpp"
#include "server/password_hash.hpp"
#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <algorithm>

namespace chat {

namespace {
constexpr std::size_t kMaxTopicBytes = 300;
/// The bytes of events all the backlogs after one welcome may take together.
constexpr std::size_t kWelcomeBacklogBytes = 256 * 1024;

Poco::JSON::Object::Ptr makeEventMessage(std::string_view type) {
    auto event = makeMessage(type);
    event->set("msg_id", std::uint64_t{0});  // numbered by publishLocked()
    event->set("ts", nowMillis());
    return event;
}

void append(std::vector<ParticipantPtr>& to, const std::vector<ParticipantPtr>& more) {
    to.insert(to.end(), more.begin(), more.end());
}

void removeOne(std::vector<ParticipantPtr>& from, const ParticipantPtr& p) {
    from.erase(std::remove(from.begin(), from.end(), p), from.end());
}

HubResult refuse(ErrorCode code, std::string text) { return {code, std::move(text), 0, {}, 0}; }

HubResult invalidName(const std::string& name) {
    return refuse(ErrorCode::NameInvalid,
                  "invalid user name " + quoteForError(name) + ": use 1-32 characters of A-Z a-z 0-9 _ . -");
}

HubResult invalidRoom(const std::string& room) {
    return refuse(ErrorCode::RoomInvalid,
                  "invalid room name " + quoteForError(room) + ": use # and 1-32 characters of A-Z a-z 0-9 _ . -");
}

HubResult notGreeted() { return refuse(ErrorCode::BadRequest, "send hello first"); }

const std::vector<ParticipantPtr> kNoSessions;
}  // namespace

Hub::Hub(HubConfig config, FanOut* fanOut, History* history)
    : config_(std::move(config)), fanOut_(fanOut ? *fanOut : directFanOut_), history_(history) {
    MutexLock lock(mutex_);
    auto add = [this](const std::string& name) REQUIRES(mutex_) {
        rooms_.try_emplace(nameKey(name), name, true);
    };
    add(config_.defaultRoom);
    for (const auto& name : config_.permanentRooms) add(name);
    if (history_) restoreLocked();
    std::set<std::string> admins;
    for (const auto& name : config_.admins) admins.insert(nameKey(name));
    moderation_.setAdmins(std::move(admins));
    if (config_.moderation) moderation_.load(config_.moderation->load(nowMillis()));
}

void Hub::restoreLocked() {
    auto snapshot = history_->load(config_.backlog);
    lastMessageId_ = snapshot.lastId;
    for (auto& stored : snapshot.rooms) {
        if (!isValidRoomName(stored.name)) continue;  // written by no version of this server
        auto& room = rooms_.try_emplace(nameKey(stored.name), stored.name, false).first->second;
        room.setTopic(stored.topic);
        for (auto& event : stored.recent)
            room.remember({event.id, event.kind == "message", std::make_shared<const Event>(std::move(event.payload))},
                          config_.backlog);
        room.setMessages(stored.messages);
        room.setRemembered();
        if (!stored.recent.empty()) room.recordEvent(stored.recent.back().id);
    }
    readMarks_.clear();
    for (auto& [user, marks] : snapshot.readMarks) readMarks_[user] = std::move(marks);
    restoreReceiptsLocked();
    mailboxCounts_.clear();
    for (const auto& [account, count] : snapshot.mailboxCounts) mailboxCounts_[account] = count;
}

std::optional<ErrorCode> Hub::attach(const ParticipantPtr& connection, const std::string& ip) {
    const auto group = ipGroup(ip);
    const std::size_t maxPending =
        config_.maxPendingHello ? config_.maxPendingHello
                                : std::min(config_.maxClients, std::max<std::size_t>(16, config_.maxClients / 4));
    MutexLock lock(mutex_);
    if (shuttingDown_) return ErrorCode::ShuttingDown;
    if (connections_.size() >= config_.maxClients || pendingHello_ >= maxPending) return ErrorCode::ServerFull;
    auto& fromGroup = perIpGroup_[group];
    if (fromGroup >= config_.maxPerIp) return ErrorCode::TooManyConnections;
    ++fromGroup;
    ++pendingHello_;
    connections_.emplace(connection.get(), Connection{connection, {}, false, group, ip});
    return std::nullopt;
}

void Hub::detach(const ParticipantPtr& connection, const std::string& reason) {
    MutexLock lock(mutex_);
    auto it = connections_.find(connection.get());
    if (it == connections_.end()) return;
    const Connection entry = it->second;
    connections_.erase(it);
    if (entry.userKey.empty()) --pendingHello_;
    if (auto group = perIpGroup_.find(entry.ipGroup); group != perIpGroup_.end() && --group->second == 0)
        perIpGroup_.erase(group);
    if (connections_.empty()) emptied_.notifyAll();
    auto user = users_.find(entry.userKey);
    if (user == users_.end()) return;
    removeOne(user->second.sessions, connection);
    removeOne(user->second.quietSessions, connection);
    if (entry.announce) sessionsChangedLocked(user->second);
    if (entry.announce && user->second.sessions.empty() && !shuttingDown_) {
        const auto rooms = user->second.rooms;
        for (const auto& roomKey : rooms) removeMemberLocked(entry.userKey, roomKey, reason);
    }
    if (user->second.sessions.empty() && user->second.quietSessions.empty()) {
        for (const auto& roomKey : user->second.rooms)  // shutting down: no events, but no dangling members
            if (auto room = rooms_.find(roomKey); room != rooms_.end()) room->second.remove(entry.userKey);
        if (!user->second.account) forgetReceiptsLocked(entry.userKey);  // a later guest of the name gets none
        users_.erase(user);
    }
}

bool Hub::registeredLocked(const std::string& key) const { return config_.auth && config_.auth->isRegistered(key); }

HubResult Hub::join(const ParticipantPtr& connection, const std::string& name, bool announce,
                    std::string& displayName, const WelcomeBuilder& welcome, const JoinAuth& auth) {
    if (!isValidName(name)) return invalidName(name);
    const std::string key = nameKey(name);
    const std::string freshKey = randomHex(16);  // 128 bits; made outside the lock, used if the name is free
    const std::string freshId = randomHex(16);   // the identity of a new guest (User::identities)
    MutexLock lock(mutex_);
    auto it = connections_.find(connection.get());
    if (it == connections_.end() || shuttingDown_) return refuse(ErrorCode::ShuttingDown, "the server is shutting down");
    if (!it->second.userKey.empty())
        return refuse(ErrorCode::BadRequest, "already joined as " + users_[it->second.userKey].displayName);
    const bool registered = registeredLocked(key);
    if (registered && !auth.authenticated)
        return refuse(ErrorCode::AuthRequired, "'" + name + "' is a registered name: hello needs its password");
    if (!registered && config_.auth && config_.auth->options().requireAccount)
        return refuse(ErrorCode::AuthRequired,
                      "this server admits registered accounts only, and '" + name + "' is not registered");
    if (const auto* ban = moderation_.isAdmin(key, registered && auth.authenticated)
                              ? nullptr  // an administrator cannot lock itself out
                              : moderation_.ban("", key, it->second.ip, nowMillis()))
        return refuse(ErrorCode::Banned, "you are banned from this server" +
                                             (ban->reason.empty() ? std::string() : ": " + ban->reason));
    const auto existing = users_.find(key);
    const bool online =
        existing != users_.end() && (!existing->second.sessions.empty() || !existing->second.quietSessions.empty());
    if (online && !registered && !existing->second.account && !equalSecrets(auth.key, existing->second.guestKey))
        return refuse(ErrorCode::NameInUse, "the name '" + existing->second.displayName +
                                                "' is in use; a further session of it needs the key its first "
                                                "session received");
    it->second.userKey = key;
    it->second.announce = announce;
    --pendingHello_;
    auto& user = users_[key];
    std::vector<ParticipantPtr> others = user.sessions;
    append(others, user.quietSessions);
    if (!online) {
        user.displayName = name;
        user.sinceMillis = user.lastActiveMillis = nowMillis();
        user.bucket.emplace(config_.ratePerSecond, config_.rateBurst, TokenBucket::Clock::now());
        user.account = registered;
        user.guestKey = registered ? std::string() : freshKey;
        user.identities = freshIdentities(key, registered, freshId);
    } else if (registered && !user.account) {
        user.account = true;  // registered meanwhile by one of its sessions
        user.guestKey.clear();
        user.identities.push_back("a:" + key);
    }
    (announce ? user.sessions : user.quietSessions).push_back(connection);
    if (announce) sessionsChangedLocked(user);
    displayName = user.displayName;
    const bool firstSession = announce && user.sessions.size() == 1;
    // The joined event goes to the others only. A user banned from the
    // default room (or kept out by its invite-only mode) starts in no room.
    if (firstSession &&
        !entryRefusalLocked(key, user.account, nameKey(config_.defaultRoom), it->second.ip, nowMillis()))
        addMemberLocked(key, nameKey(config_.defaultRoom), config_.defaultRoom, connection);
    // Queued under the lock that also queues every event: nothing can come before it.
    if (welcome)
        connection->deliver(welcome(
            JoinedState{user.displayName, roomNamesLocked(user), onlineLocked(), user.account, user.guestKey}));
    if (user.account && !others.empty()) {
        auto event = makeEventMessage("session");
        event->set("user", user.displayName);
        event->set("from", auth.ip);
        event->set("announce", announce);
        event->set("text", "another session of " + user.displayName + " joined from " +
                               (auth.ip.empty() ? std::string("an unknown address") : auth.ip));
        publishLocked(event, others);
    }
    if (announce && !user.rooms.empty()) {
        // Each room's backlog, then its live events: the same lock queues both.
        // Unread counts only for a user coming back, not for a further session.
        const auto budget = std::min(kListBudgetBytes, kWelcomeBacklogBytes / user.rooms.size());
        for (const auto& roomKey : user.rooms)
            connection->deliver(
                backlogLocked(rooms_.at(roomKey), firstSession ? readMarkLocked(key, roomKey) : nullptr, budget));
    }
    // The receipts others sent for their private conversations with this
    // user, so that a client coming back can show "seen" (docs/protocol.md, `read`).
    if (announce)
        for (const auto& receipt : receiptsForLocked(key)) connection->deliver(receipt);
    HubResult result;
    result.key = user.guestKey;
    return result;
}

HubResult Hub::joinRoom(const ParticipantPtr& connection, const std::string& room, RoomDetails& details) {
    if (!isValidRoomName(room)) return invalidRoom(room);
    const auto roomKey = nameKey(room);
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey.empty()) return notGreeted();
    if (!entry->announce)
        return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) cannot join rooms");
    auto& user = users_.at(entry->userKey);
    HubResult result;
    if (!user.rooms.count(roomKey)) {
        if (user.rooms.size() >= config_.maxRoomsPerUser)
            return refuse(ErrorCode::TooManyRooms, "you are in " + std::to_string(user.rooms.size()) +
                                                       " rooms, the most allowed; /leave one first");
        if (auto refused = entryRefusalLocked(entry->userKey, user.account, roomKey, entry->ip, nowMillis()))
            return *refused;
        const bool created = !rooms_.count(roomKey);
        addMemberLocked(entry->userKey, roomKey, room, connection);
        // The creator of a room is its operator when it is an account (a
        // guest never is) and the room has none yet (docs/protocol.md, "Moderation").
        if (created && user.account && !moderation_.hasOperators(roomKey)) {
            ModerationChange op{false, {roomKey, ModerationEntry::kOp, entry->userKey, 0, user.displayName, "created"}};
            moderation_.apply(op);
            result.moderation.push_back(op);
        }
        // Every session of the user is now a member: each gets the backlog.
        fanOut_.post(user.sessions,
                     backlogLocked(rooms_.at(roomKey), readMarkLocked(entry->userKey, roomKey), kListBudgetBytes));
    }
    details = detailsLocked(rooms_.at(roomKey));
    return result;
}

HubResult Hub::leaveRoom(const ParticipantPtr& connection, const std::string& room, std::string& left,
                         std::string& nowIn) {
    if (!isValidRoomName(room)) return invalidRoom(room);
    const auto roomKey = nameKey(room);
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey.empty()) return notGreeted();
    if (!entry->announce)
        return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) is in no room");
    const auto userKey = entry->userKey;
    auto& user = users_.at(userKey);
    if (!user.rooms.count(roomKey)) return refuse(ErrorCode::NotInRoom, "you are not in " + room);
    const auto defaultKey = nameKey(config_.defaultRoom);
    if (user.rooms.size() == 1 && roomKey == defaultKey)
        return refuse(ErrorCode::BadRequest, config_.defaultRoom + " is your last room; join another room first");
    left = rooms_.at(roomKey).name();
    removeMemberLocked(userKey, roomKey, "left");
    if (user.rooms.empty() && !entryRefusalLocked(userKey, user.account, defaultKey, entry->ip, nowMillis())) {
        addMemberLocked(userKey, defaultKey, config_.defaultRoom, nullptr);
        fanOut_.post(user.sessions, backlogLocked(rooms_.at(defaultKey), nullptr, kListBudgetBytes));
    }
    nowIn = user.rooms.empty() ? std::string() : rooms_.at(*user.rooms.begin()).name();
    return {};
}

HubResult Hub::setTopic(const ParticipantPtr& connection, const std::string& room, const std::string& topic) {
    if (!isValidRoomName(room)) return invalidRoom(room);
    if (const auto problem = chat::checkText(topic, kMaxTopicBytes); problem != TextProblem::None && !topic.empty())
        return refuse(problem == TextProblem::TooLong ? ErrorCode::TextTooLong : ErrorCode::TextInvalid,
                      "topic: " + describeTextProblem(problem, topic, kMaxTopicBytes));
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey.empty()) return notGreeted();
    if (!entry->announce)
        return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) cannot set topics");
    const auto& user = users_.at(entry->userKey);
    auto it = rooms_.find(nameKey(room));
    if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
    if (!user.rooms.count(it->first)) return refuse(ErrorCode::NotInRoom, "you are not in " + it->second.name());
    it->second.setTopic(topic);
    auto event = makeEventMessage("topic");
    event->set("room", it->second.name());
    event->set("topic", topic);
    event->set("by", user.displayName);
    const auto published = publishLocked(event, *roomRecipientsLocked(it->second));
    it->second.recordEvent(published.id);
    storeRoomEventLocked(it->second, published, "topic", user.displayName, topic, false);
    return {};
}

HubResult Hub::roomDetails(const std::string& room, RoomDetails& details) const {
    if (!isValidRoomName(room)) return invalidRoom(room);
    MutexLock lock(mutex_);
    auto it = rooms_.find(nameKey(room));
    if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
    details = detailsLocked(it->second);
    return {};
}

std::vector<RoomSummary> Hub::rooms() const {
    MutexLock lock(mutex_);
    std::vector<RoomSummary> list;
    for (const auto& [key, room] : rooms_) list.push_back({room.name(), room.topic(), room.members().size()});
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
    MutexLock lock(mutex_);
    auto* user = senderLocked(from);
    if (!user) return notGreeted();
    auto it = rooms_.find(nameKey(room));
    if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
    const auto& connection = connections_.at(from.get());
    if (connection.announce && !user->rooms.count(it->first))
        return refuse(ErrorCode::NotInRoom, "you are not in " + it->second.name() + "; /join it first");
    const auto now = nowMillis();
    if (!connection.announce && moderation_.ban(it->first, connection.userKey, connection.ip, now))
        return refuse(ErrorCode::Banned, "you are banned from " + it->second.name());
    if (const auto* mute = moderation_.mute(it->first, connection.userKey, now))
        return refuse(ErrorCode::Muted, "you are muted in " + it->second.name() +
                                            (mute->until ? " for " + std::to_string((mute->until - now + 59'999) / 60'000) + " more minute(s)" : "") +
                                            "; you can still read it");
    if (auto limited = rateLimitedLocked(*user)) return *limited;
    user->lastActiveMillis = nowMillis();
    auto event = makeEventMessage("message");
    event->set("from", user->displayName);
    event->set("to", it->second.name());
    event->set("text", text);
    if (action) event->set("action", true);
    const auto published = publishLocked(event, *roomRecipientsLocked(it->second));
    it->second.recordEvent(published.id);
    HubResult result{std::nullopt, {}, published.id, {}, 0};
    result.ticket = storeRoomEventLocked(it->second, published, "message", user->displayName, text, action);
    return result;
}

HubResult Hub::sendDirect(const ParticipantPtr& from, const std::string& to, const std::string& text, bool action) {
    if (auto bad = checkText(text); !bad) return bad;
    if (!isValidName(to)) return invalidName(to);
    MutexLock lock(mutex_);
    auto* sender = senderLocked(from);
    if (!sender) return notGreeted();
    auto dest = users_.find(nameKey(to));
    if (dest == users_.end() || dest->second.sessions.empty()) {
        if (history_ && registeredLocked(nameKey(to))) return sendOfflineLocked(*sender, nameKey(to), to, text, action);
        return refuse(ErrorCode::NoSuchUser, "no user named '" + to + "' is online");
    }
    if (auto limited = rateLimitedLocked(*sender)) return *limited;
    sender->lastActiveMillis = nowMillis();
    auto event = makeEventMessage("message");
    event->set("from", sender->displayName);
    event->set("to", "@" + dest->second.displayName);
    event->set("text", text);
    if (action) event->set("action", true);
    auto recipients = dest->second.sessions;
    append(recipients, dest->second.quietSessions);
    if (sender != &dest->second) {
        append(recipients, sender->sessions);
        append(recipients, sender->quietSessions);
    }
    const auto published = publishLocked(event, recipients);
    HubResult result{std::nullopt, {}, published.id, dest->second.away, 0};
    if (history_) {
        const auto& senderKey = connections_.at(from.get()).userKey;
        result.ticket = history_->record(StoredEvent{
            published.id, published.ts, "message", directKey(senderKey, dest->first), "", sender->displayName,
            dest->second.displayName, text, action, published.event->payload, sender->identities.back(),
            dest->second.identities.back(), {}});
    }
    return result;
}

void Hub::becameAccount(const ParticipantPtr& connection, const std::string& name) {
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey != nameKey(name)) return;  // renamed meanwhile: the account waits for a login
    auto& user = users_.at(entry->userKey);
    if (!user.account) user.identities.push_back("a:" + entry->userKey);
    user.account = true;
    user.guestKey.clear();
    user.sessionMarks.clear();  // from now on its marks are stored
}

HubResult Hub::rename(const ParticipantPtr& connection, const std::string& newName, std::string& displayName,
                      bool authenticated) {
    if (!isValidName(newName)) return invalidName(newName);
    const auto newKey = nameKey(newName);
    const std::string freshKey = randomHex(16);
    const std::string freshId = randomHex(16);
    MutexLock lock(mutex_);
    auto it = connections_.find(connection.get());
    if (it == connections_.end() || it->second.userKey.empty()) return notGreeted();
    if (!it->second.announce)
        return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) cannot rename its user");
    const auto oldKey = it->second.userKey;
    if (users_.at(oldKey).displayName == newName) {
        displayName = newName;
        HubResult same;
        same.key = users_.at(oldKey).guestKey;
        return same;
    }
    if (newKey != oldKey && users_.count(newKey))
        return refuse(ErrorCode::NameInUse, "the name '" + newName + "' is in use by someone else");
    const bool registered = registeredLocked(newKey);
    if (newKey != oldKey && registered && !authenticated)
        return refuse(ErrorCode::AuthRequired, "'" + newName + "' is a registered name: nick needs its password");
    if (newKey != oldKey && !registered && config_.auth && config_.auth->options().requireAccount)
        return refuse(ErrorCode::AuthRequired,
                      "this server admits registered accounts only, and '" + newName + "' is not registered");
    if (newKey != oldKey && !moderation_.isAdmin(newKey, registered && authenticated) &&
        moderation_.ban("", newKey, "", nowMillis()))  // a server-banned name cannot be taken by a rename either
        return refuse(ErrorCode::Banned, "the name '" + newName + "' is banned from this server");
    HubResult result;
    User moved = std::move(users_.at(oldKey));
    const bool wasAccount = moved.account;
    if (newKey != oldKey) {
        moved.account = registered;
        moved.guestKey = registered ? std::string() : freshKey;
        moved.identities = freshIdentities(newKey, registered, freshId);
        moved.sessionMarks.clear();
    }
    result.key = moved.guestKey;
    if (newKey != oldKey && !wasAccount) forgetReceiptsLocked(oldKey);
    users_.erase(oldKey);
    auto& user = users_.emplace(newKey, std::move(moved)).first->second;
    const auto oldName = user.displayName;
    user.displayName = newName;
    displayName = newName;
    for (auto& [ptr, entry] : connections_)
        if (entry.userKey == oldKey) entry.userKey = newKey;
    for (const auto& roomKey : user.rooms) {
        rooms_.at(roomKey).rename(oldKey, newKey);
        rooms_.at(roomKey).sessionsChanged();
    }
    std::set<const Participant*> seen;
    std::vector<ParticipantPtr> recipients;
    auto add = [&](const std::vector<ParticipantPtr>& sessions) {
        for (const auto& s : sessions)
            if (seen.insert(s.get()).second) recipients.push_back(s);
    };
    add(user.sessions);
    add(user.quietSessions);
    for (const auto& roomKey : user.rooms) add(*roomRecipientsLocked(rooms_.at(roomKey)));
    auto event = makeEventMessage("nick");
    event->set("old", oldName);
    event->set("new", newName);
    publishLocked(event, recipients);
    return result;
}

HubResult Hub::setAway(const ParticipantPtr& connection, const std::string& message) {
    if (!message.empty())
        if (auto bad = checkText(message); !bad) return bad;
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey.empty()) return notGreeted();
    if (!entry->announce)
        return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) cannot be away");
    users_.at(entry->userKey).away = message;
    return {};
}

HubResult Hub::who(const std::optional<std::string>& room, std::vector<UserSummary>& users) const {
    if (room && !isValidRoomName(*room)) return invalidRoom(*room);
    MutexLock lock(mutex_);
    std::vector<std::string> names;
    if (room) {
        auto it = rooms_.find(nameKey(*room));
        if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + *room);
        names = sortedNamesLocked(it->second.members());
    } else {
        names = onlineLocked();
    }
    users.clear();
    for (const auto& name : names) users.push_back({name, users_.at(nameKey(name)).away});
    return {};
}

HubResult Hub::whois(const std::string& name, WhoisDetails& details) const {
    if (!isValidName(name)) return invalidName(name);
    MutexLock lock(mutex_);
    auto it = users_.find(nameKey(name));
    if (it == users_.end() || it->second.sessions.empty())
        return refuse(ErrorCode::NoSuchUser, "no user named '" + name + "' is online");
    const auto& user = it->second;
    details.name = user.displayName;
    details.rooms = roomNamesLocked(user);
    details.sinceMillis = user.sinceMillis;
    details.idleMillis = nowMillis() - user.lastActiveMillis;
    details.away = user.away;
    return {};
}

std::vector<std::string> Hub::online() const {
    MutexLock lock(mutex_);
    return onlineLocked();
}

std::vector<std::string> Hub::roomsOf(const ParticipantPtr& connection) const {
    MutexLock lock(mutex_);
    const auto* user = senderLocked(connection);
    return user ? roomNamesLocked(*user) : std::vector<std::string>{};
}

std::size_t Hub::connectionCount() const {
    MutexLock lock(mutex_);
    return connections_.size();
}

std::uint64_t Hub::lastMessageId() const {
    MutexLock lock(mutex_);
    return lastMessageId_;
}

void Hub::shutdown(const std::string& notice) {
    MutexLock lock(mutex_);
    shuttingDown_ = true;
    for (const auto& [userKey, user] : users_)  // no left events now: mark where everyone stopped
        if (!user.sessions.empty())
            for (const auto& roomKey : user.rooms) markReadLocked(userKey, roomKey, rooms_.at(roomKey));
    std::vector<ParticipantPtr> everyone;
    for (const auto& [ptr, entry] : connections_) everyone.push_back(entry.participant);
    auto event = makeMessage("shutdown");
    event->set("ts", nowMillis());
    event->set("message", notice);
    const auto last = makeEvent(event);
    // Per connection in one step: no answer queued meanwhile can follow the notice.
    for (const auto& p : everyone) p->sendLastAndClose(last, "server shutting down");
}

bool Hub::waitUntilEmpty(std::chrono::steady_clock::time_point deadline) const {
    MutexLock lock(mutex_);
    while (!connections_.empty())
        if (!emptied_.waitUntil(mutex_, deadline)) break;
    return connections_.empty();
}

Hub::Published Hub::publishLocked(Poco::JSON::Object::Ptr event, const std::vector<ParticipantPtr>& to) {
    Published published;
    published.id = ++lastMessageId_;
    event->set("msg_id", published.id);
    published.ts = event->getValue<std::int64_t>("ts");
    published.event = makeEvent(event);
    if (!to.empty()) fanOut_.post(to, published.event);
    return published;
}

History::Ticket Hub::storeRoomEventLocked(Room& room, const Published& published, const std::string& kind,
                                          const std::string& from, const std::string& text, bool action) {
    room.remember({published.id, kind == "message", published.event}, config_.backlog);
    if (!history_) return 0;
    return history_->record(StoredEvent{published.id, published.ts, kind, nameKey(room.name()), room.name(), from,
                                        "", text, action, published.event->payload});
}

EventPtr Hub::backlogLocked(const Room& room, const ReadMark* mark, std::size_t budget) const {
    const auto& recent = room.recent();
    std::vector<EventPtr> events;  // oldest first
    events.reserve(recent.size());
    for (const auto& r : recent) events.push_back(r.event);
    const auto count = std::min(countFittingAtEnd(events, budget), config_.backlog);
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(count));
    auto backlog = makeMessage("backlog");
    backlog->set("room", room.name());
    backlog->set("topic", room.topic());
    // Older events exist when some recent ones were left out, or when the
    // recent ones are as many as are kept (the store may hold more).
    backlog->set("more", count < recent.size() || (room.remembered() && recent.size() >= config_.backlog));
    if (mark) {
        const auto unread = room.messages() >= mark->messages ? room.messages() - mark->messages : 0;
        backlog->set("unread", unread);
        backlog->set("unread_since", mark->ts);
        if (unread > 0) {
            for (std::size_t i = recent.size() - count; i < recent.size(); ++i)
                if (recent[i].isMessage && recent[i].id > mark->lastId) {
                    backlog->set("first_unread", recent[i].id);
                    break;
                }
        }
    }
    return withEventList(backlog, "events", events);
}

std::variant<const Room*, HubResult> Hub::memberRoomLocked(const std::string& userKey, const std::string& room) const {
    auto it = rooms_.find(nameKey(room));
    if (it == rooms_.end()) return refuse(ErrorCode::NoSuchRoom, "no room named " + room);
    if (!it->second.has(userKey))
        return refuse(ErrorCode::NotInRoom, "you are not in " + it->second.name() + "; /join it to read its history");
    return &it->second;
}

const ReadMark* Hub::readMarkLocked(const std::string& userKey, const std::string& roomKey) const {
    if (auto user = users_.find(userKey); user != users_.end() && !user->second.account) {
        auto mark = user->second.sessionMarks.find(roomKey);
        return mark == user->second.sessionMarks.end() ? nullptr : &mark->second;
    }
    auto marks = readMarks_.find(userKey);
    if (marks == readMarks_.end()) return nullptr;
    auto mark = marks->second.find(roomKey);
    return mark == marks->second.end() ? nullptr : &mark->second;
}

void Hub::markReadLocked(const std::string& userKey, const std::string& roomKey, const Room& room) {
    setReadMarkLocked(userKey, roomKey, ReadMark{room.lastEventId(), room.messages(), nowMillis()});
}

void Hub::setReadMarkLocked(const std::string& userKey, const std::string& roomKey, const ReadMark& mark) {
    if (auto user = users_.find(userKey); user != users_.end() && !user->second.account) {
        user->second.sessionMarks[roomKey] = mark;  // a guest's: gone with the user, never stored
        return;
    }
    readMarks_[userKey][roomKey] = mark;
    if (history_) history_->markRead(userKey, roomKey, mark);
}

void Hub::whenStored(History::Ticket ticket, History::StoredCallback done) {
    if (!history_ || ticket == 0) return done(std::nullopt);
    history_->whenStored(ticket, std::move(done));
}

void Hub::flushHistory() {
    if (history_) history_->flush();
}

namespace {
std::vector<EventPtr> asEvents(std::vector<StoredEvent>& stored) {
    std::vector<EventPtr> events;
    events.reserve(stored.size());
    for (auto& e : stored) events.push_back(std::make_shared<const Event>(std::move(e.payload)));
    return events;
}

HubResult unreadable(const std::string& why) {
    return refuse(ErrorCode::StorageUnavailable, "history cannot be read: " + why);
}
}  // namespace

HubResult Hub::history(const ParticipantPtr& connection, const std::optional<std::string>& room,
                       const std::optional<std::string>& user, std::uint64_t before, std::size_t limit,
                       HistoryAnswer& answer) {
    if (room && !isValidRoomName(*room)) return invalidRoom(*room);
    if (user && !isValidName(*user)) return invalidName(*user);
    std::string conversation;
    std::vector<std::string> readers;
    {
        MutexLock lock(mutex_);
        const auto* entry = connectionLocked(connection);
        if (!entry || entry->userKey.empty()) return notGreeted();
        if (!entry->announce)
            return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) has no history");
        readers = users_.at(entry->userKey).identities;
        if (room) {
            const auto found = memberRoomLocked(entry->userKey, *room);
            if (const auto* refused = std::get_if<HubResult>(&found)) return *refused;
            const Room& member = *std::get<const Room*>(found);
            conversation = nameKey(member.name());
            answer.target = member.name();
        } else {
            conversation = directKey(entry->userKey, nameKey(*user));
            answer.target = *user;
        }
    }
    if (!history_) return {};
    try {
        auto page = history_->page(conversation, before, limit, readers);  // never under the hub's lock
        answer.events = asEvents(page.events);
        answer.more = page.more;
    } catch (const StorageError& e) {
        return unreadable(e.what());
    }
    return {};
}

HubResult Hub::search(const ParticipantPtr& connection, const std::optional<std::string>& room,
                      const std::string& words, std::size_t limit, HistoryAnswer& answer) {
    if (room && !isValidRoomName(*room)) return invalidRoom(*room);
    std::vector<std::string> conversations;
    std::vector<std::string> readers;
    std::string userKey;
    {
        MutexLock lock(mutex_);
        const auto* entry = connectionLocked(connection);
        if (!entry || entry->userKey.empty()) return notGreeted();
        if (!entry->announce)
            return refuse(ErrorCode::BadRequest, "a transient session (hello with announce: false) cannot search");
        userKey = entry->userKey;
        readers = users_.at(userKey).identities;
        if (room) {
            const auto found = memberRoomLocked(userKey, *room);
            if (const auto* refused = std::get_if<HubResult>(&found)) return *refused;
            const Room& member = *std::get<const Room*>(found);
            conversations.push_back(nameKey(member.name()));
            answer.target = member.name();
        } else {
            for (const auto& key : users_.at(userKey).rooms) conversations.push_back(key);
        }
    }
    if (!history_) return {};
    try {
        if (!room) {
            auto direct = history_->directConversationsOf(userKey);
            conversations.insert(conversations.end(), direct.begin(), direct.end());
        }
        auto page = history_->search(conversations, words, limit, readers);
        answer.events = asEvents(page.events);
        answer.more = page.more;
    } catch (const StorageError& e) {
        return unreadable(e.what());
    }
    return {};
}

const Hub::Connection* Hub::connectionLocked(const ParticipantPtr& connection) const {
    auto it = connections_.find(connection.get());
    return it == connections_.end() ? nullptr : &it->second;
}

const Hub::User* Hub::senderLocked(const ParticipantPtr& connection) const {
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey.empty()) return nullptr;
    auto user = users_.find(entry->userKey);
    return user == users_.end() ? nullptr : &user->second;
}

Hub::User* Hub::senderLocked(const ParticipantPtr& connection) {
    return const_cast<User*>(static_cast<const Hub*>(this)->senderLocked(connection));
}

void Hub::addMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& roomName,
                          const ParticipantPtr& except) {
    auto& room = rooms_.try_emplace(roomKey, roomName, false).first->second;
    auto& user = users_.at(userKey);
    room.add(userKey);
    user.rooms.insert(roomKey);
    auto event = makeEventMessage("joined");
    event->set("user", user.displayName);
    event->set("room", room.name());
    auto to = roomRecipientsLocked(room);
    if (except) {
        auto without = *to;
        removeOne(without, except);
        room.recordEvent(publishLocked(event, without).id);
    } else {
        room.recordEvent(publishLocked(event, *to).id);
    }
}

void Hub::removeMemberLocked(const std::string& userKey, const std::string& roomKey, const std::string& reason) {
    auto it = rooms_.find(roomKey);
    if (it == rooms_.end()) return;
    auto& user = users_.at(userKey);
    auto event = makeEventMessage("left");
    event->set("user", user.displayName);
    event->set("room", it->second.name());
    event->set("reason", reason);
    it->second.recordEvent(publishLocked(event, *roomRecipientsLocked(it->second)).id);  // the leaver sees it too
    markReadLocked(userKey, roomKey, it->second);
    it->second.remove(userKey);
    user.rooms.erase(roomKey);
    if (it->second.members().empty() && !it->second.permanent() && !it->second.remembered()) rooms_.erase(it);
}

Recipients Hub::roomRecipientsLocked(const Room& room) const {
    return room.recipients([this](const std::string& key) -> const std::vector<ParticipantPtr>& {
        mutex_.assertHeld();  // called from recipients() within this locked call
        auto it = users_.find(key);
        return it == users_.end() ? kNoSessions : it->second.sessions;
    });
}

void Hub::sessionsChangedLocked(const User& user) {
    for (const auto& roomKey : user.rooms)
        if (auto it = rooms_.find(roomKey); it != rooms_.end()) it->second.sessionsChanged();
}

RoomDetails Hub::detailsLocked(const Room& room) const {
    return {room.name(), room.topic(), sortedNamesLocked(room.members())};
}

std::vector<std::string> Hub::sortedNamesLocked(const std::set<std::string>& userKeys) const {
    std::vector<std::string> names;  // a std::set of keys is already in case-insensitive order
    for (const auto& key : userKeys) names.push_back(users_.at(key).displayName);
    return names;
}

std::vector<std::string> Hub::roomNamesLocked(const User& user) const {
    std::vector<std::string> names;  // user.rooms holds keys: case-insensitive order
    for (const auto& key : user.rooms) names.push_back(rooms_.at(key).name());
    return names;
}

std::vector<std::string> Hub::onlineLocked() const {
    std::set<std::string> keys;
    for (const auto& [key, user] : users_)
        if (!user.sessions.empty()) keys.insert(key);
    return sortedNamesLocked(keys);
}

}  // namespace chat

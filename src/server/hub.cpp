#include "server/hub.hpp"

#include "shared/validation.hpp"

#include <Poco/JSON/Array.h>

#include <algorithm>

namespace chat {

namespace {
SharedFrame share(const Poco::JSON::Object::Ptr& event) {
    return std::make_shared<const std::string>(toFrame(event));
}

Poco::JSON::Object::Ptr makeEvent(std::string_view type, std::uint64_t messageId) {
    auto event = makeMessage(type);
    event->set("msg_id", messageId);
    event->set("ts", nowMillis());
    return event;
}
}  // namespace

Hub::Hub(HubConfig config) : config_(std::move(config)) {}

std::optional<ErrorCode> Hub::attach(const ParticipantPtr& connection) {
    std::lock_guard lock(mutex_);
    if (shuttingDown_) return ErrorCode::ShuttingDown;
    if (connections_.size() >= config_.maxClients) return ErrorCode::ServerFull;
    connections_.emplace(connection.get(), Connection{connection, {}, false});
    return std::nullopt;
}

void Hub::detach(const ParticipantPtr& connection, const std::string& reason) {
    std::vector<ParticipantPtr> recipients;
    std::string leaver;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(connection.get());
        if (it == connections_.end()) return;
        const Connection entry = it->second;
        connections_.erase(it);
        if (connections_.empty()) emptied_.notify_all();
        if (entry.userKey.empty()) return;
        auto user = users_.find(entry.userKey);
        if (user == users_.end()) return;
        auto& sessions = user->second.sessions;
        sessions.erase(std::remove(sessions.begin(), sessions.end(), connection), sessions.end());
        if (entry.announce && --user->second.announcedSessions == 0) {
            leaver = user->second.displayName;
            if (!shuttingDown_) recipients = joinedLocked();
        }
        if (sessions.empty()) users_.erase(user);
    }
    if (leaver.empty() || recipients.empty()) return;
    auto event = makeEvent("left", nextMessageId());
    event->set("user", leaver);
    event->set("room", config_.room);
    event->set("reason", reason);
    deliverAll(recipients, share(event));
}

HubResult Hub::join(const ParticipantPtr& connection, const std::string& name, bool announce,
                    std::string& displayName) {
    if (!isValidName(name))
        return {ErrorCode::NameInvalid,
                "invalid user name '" + name + "': use 1-32 characters of A-Z a-z 0-9 _ . -", 0};
    const std::string key = nameKey(name);
    std::vector<ParticipantPtr> recipients;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(connection.get());
        if (it == connections_.end() || shuttingDown_)
            return {ErrorCode::ShuttingDown, "the server is shutting down", 0};
        if (!it->second.userKey.empty())
            return {ErrorCode::BadRequest, "already joined as " + users_[it->second.userKey].displayName, 0};
        it->second.userKey = key;
        it->second.announce = announce;
        auto& user = users_[key];
        if (user.sessions.empty()) user.displayName = name;
        user.sessions.push_back(connection);
        displayName = user.displayName;
        if (announce && ++user.announcedSessions == 1) recipients = joinedLocked();
    }
    recipients.erase(std::remove(recipients.begin(), recipients.end(), connection), recipients.end());
    if (recipients.empty()) return {};
    auto event = makeEvent("joined", nextMessageId());
    event->set("user", displayName);
    event->set("room", config_.room);
    deliverAll(recipients, share(event));
    return {};
}

HubResult Hub::checkText(const std::string& text) const {
    const auto problem = chat::checkText(text, config_.maxTextBytes);
    if (problem == TextProblem::None) return {};
    const auto code = problem == TextProblem::TooLong ? ErrorCode::TextTooLong : ErrorCode::TextInvalid;
    return {code, describeTextProblem(problem, text, config_.maxTextBytes), 0};
}

HubResult Hub::sendToRoom(const ParticipantPtr& from, const std::string& text) {
    if (auto bad = checkText(text); !bad) return bad;
    std::vector<ParticipantPtr> recipients;
    std::string sender;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(from.get());
        if (it == connections_.end() || it->second.userKey.empty())
            return {ErrorCode::BadRequest, "send hello first", 0};
        sender = users_[it->second.userKey].displayName;
        recipients = joinedLocked();
    }
    const auto id = nextMessageId();
    auto event = makeEvent("message", id);
    event->set("from", sender);
    event->set("to", config_.room);
    event->set("text", text);
    deliverAll(recipients, share(event));
    return {std::nullopt, {}, id};
}

HubResult Hub::sendDirect(const ParticipantPtr& from, const std::string& to, const std::string& text) {
    if (auto bad = checkText(text); !bad) return bad;
    if (!isValidName(to)) return {ErrorCode::NameInvalid, "invalid user name '" + to + "'", 0};
    std::vector<ParticipantPtr> recipients;
    std::string sender;
    std::string target;
    {
        std::lock_guard lock(mutex_);
        auto it = connections_.find(from.get());
        if (it == connections_.end() || it->second.userKey.empty())
            return {ErrorCode::BadRequest, "send hello first", 0};
        auto dest = users_.find(nameKey(to));
        if (dest == users_.end() || dest->second.announcedSessions == 0)
            return {ErrorCode::NoSuchUser, "no user named '" + to + "' is online", 0};
        const auto& senderUser = users_[it->second.userKey];
        sender = senderUser.displayName;
        target = dest->second.displayName;
        recipients = dest->second.sessions;
        if (&senderUser != &dest->second)
            recipients.insert(recipients.end(), senderUser.sessions.begin(), senderUser.sessions.end());
    }
    const auto id = nextMessageId();
    auto event = makeEvent("message", id);
    event->set("from", sender);
    event->set("to", "@" + target);
    event->set("text", text);
    deliverAll(recipients, share(event));
    return {std::nullopt, {}, id};
}

std::vector<std::string> Hub::online() const {
    std::lock_guard lock(mutex_);
    return onlineLocked();
}

std::vector<std::string> Hub::onlineLocked() const {
    std::vector<std::pair<std::string, std::string>> keyed;
    for (const auto& [key, user] : users_)
        if (user.announcedSessions > 0) keyed.emplace_back(key, user.displayName);
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::string> names;
    for (auto& entry : keyed) names.push_back(std::move(entry.second));
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
    const auto frame = share(event);
    for (const auto& p : everyone) {
        p->deliver(frame);
        p->closeAfterFlush("server shutting down");
    }
}

bool Hub::waitUntilEmpty(std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(mutex_);
    return emptied_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

std::vector<ParticipantPtr> Hub::joinedLocked() const {
    std::vector<ParticipantPtr> joined;
    joined.reserve(connections_.size());
    for (const auto& [ptr, entry] : connections_)
        if (entry.announce) joined.push_back(entry.participant);
    return joined;
}

void Hub::deliverAll(const std::vector<ParticipantPtr>& to, const SharedFrame& frame) {
    for (const auto& p : to) p->deliver(frame);
}

}  // namespace chat

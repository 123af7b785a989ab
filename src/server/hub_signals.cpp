// Hub: typing indicators and read receipts (docs/protocol.md, `typing` and
// `read`). Neither is a numbered event: typing is never stored, a receipt
// is kept as a read mark.

#include "server/hub.hpp"

#include "shared/quoting.hpp"
#include "shared/validation.hpp"

#include <algorithm>

namespace chat {

namespace {
HubResult refused(ErrorCode code, std::string text) { return {code, std::move(text), 0, {}, 0}; }

HubResult transient(const char* what) {
    return refused(ErrorCode::BadRequest,
                   std::string("a transient session (hello with announce: false) cannot send ") + what);
}

/// The other user of a private conversation key ("@a @b", see directKey), as seen by `userKey`.
std::optional<std::string> otherOf(const std::string& conversation, const std::string& userKey) {
    const auto space = conversation.find(" @");
    if (conversation.size() < 4 || conversation[0] != '@' || space == std::string::npos) return std::nullopt;
    const auto first = conversation.substr(1, space - 1);
    const auto second = conversation.substr(space + 2);
    if (first == userKey) return second;
    if (second == userKey) return first;
    return std::nullopt;
}
}  // namespace

HubResult Hub::typing(const ParticipantPtr& from, const std::string& to, std::chrono::steady_clock::time_point now) {
    const bool room = !to.empty() && to[0] == '#';
    const bool direct = !to.empty() && to[0] == '@';
    if (!room && !direct) return refused(ErrorCode::BadRequest, "\"to\" must be @user or #room, not " + quoteForError(to));
    if (room && !isValidRoomName(to))
        return refused(ErrorCode::RoomInvalid, "invalid room name " + quoteForError(to));
    if (direct && !isValidName(to.substr(1)))
        return refused(ErrorCode::NameInvalid, "invalid user name " + quoteForError(to.substr(1)));
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(from);
    if (!entry || entry->userKey.empty()) return refused(ErrorCode::BadRequest, "send hello first");
    if (!entry->announce) return transient("typing");
    auto& user = users_.at(entry->userKey);
    const auto self = entry->userKey;
    std::vector<ParticipantPtr> recipients;
    auto event = makeMessage("typing");
    event->set("from", user.displayName);
    std::string conversation;
    if (room) {
        auto it = rooms_.find(nameKey(to));
        if (it == rooms_.end()) return refused(ErrorCode::NoSuchRoom, "no room named " + to);
        if (!user.rooms.count(it->first)) return refused(ErrorCode::NotInRoom, "you are not in " + it->second.name());
        conversation = it->first;
        event->set("to", it->second.name());
        for (const auto& member : it->second.members())
            if (member != self) {
                const auto& sessions = users_.at(member).sessions;
                recipients.insert(recipients.end(), sessions.begin(), sessions.end());
            }
    } else {
        auto dest = users_.find(nameKey(to.substr(1)));
        if (dest == users_.end() || dest->second.sessions.empty())
            return refused(ErrorCode::NoSuchUser, "no user named '" + to.substr(1) + "' is online");
        conversation = "@" + dest->first;
        event->set("to", "@" + dest->second.displayName);
        for (const auto& session : dest->second.sessions)
            if (session != from) recipients.push_back(session);
    }
    event->set("ttl_ms", static_cast<std::int64_t>(kTypingTtl.count()));
    // Coalesce: one event per user and conversation per interval, whichever session types.
    auto& sent = user.typingSent;
    for (auto it = sent.begin(); it != sent.end();)
        it = now - it->second >= kTypingInterval ? sent.erase(it) : std::next(it);
    HubResult result;
    if (sent.count(conversation)) return result;  // accepted, dropped
    sent[conversation] = now;
    if (!recipients.empty()) fanOut_.post(recipients, makeEvent(event));
    result.messageId = 1;
    return result;
}

HubResult Hub::markRead(const ParticipantPtr& from, const std::string& to, std::int64_t msgId) {
    const bool room = !to.empty() && to[0] == '#';
    const bool direct = !to.empty() && to[0] == '@';
    if (!room && !direct) return refused(ErrorCode::BadRequest, "\"to\" must be @user or #room, not " + quoteForError(to));
    if (room && !isValidRoomName(to))
        return refused(ErrorCode::RoomInvalid, "invalid room name " + quoteForError(to));
    const auto otherKey = direct ? nameKey(to.substr(1)) : std::string();
    if (direct && !isValidName(to.substr(1)))
        return refused(ErrorCode::NameInvalid, "invalid user name " + quoteForError(to.substr(1)));
    std::string readerKey;
    bool known = false;  // the private conversation exists: the other user is online
    {
        MutexLock lock(mutex_);
        const auto* entry = connectionLocked(from);
        if (!entry || entry->userKey.empty()) return refused(ErrorCode::BadRequest, "send hello first");
        if (!entry->announce) return transient("read receipts");
        if (msgId < 1 || static_cast<std::uint64_t>(msgId) > lastMessageId_)
            return refused(ErrorCode::BadRequest,
                           "\"msg_id\" must be an event id from 1 to " + std::to_string(lastMessageId_));
        readerKey = entry->userKey;
        if (room) {
            auto it = rooms_.find(nameKey(to));
            if (it == rooms_.end()) return refused(ErrorCode::NoSuchRoom, "no room named " + to);
            if (!it->second.has(readerKey)) return refused(ErrorCode::NotInRoom, "you are not in " + it->second.name());
            const auto* mark = readMarkLocked(readerKey, it->first);
            const auto id = static_cast<std::uint64_t>(msgId);
            if (mark && mark->lastId >= id) return {};
            // The room's message count at `id`: its count now less the later
            // messages still among its recent ones (older ones are not known
            // here, so a mark far back counts fewer unread than there are).
            std::uint64_t later = 0;
            for (const auto& recent : it->second.recent())
                if (recent.isMessage && recent.id > id) ++later;
            const auto messages = it->second.messages() >= later ? it->second.messages() - later : 0;
            ReadMark updated{id, messages, nowMillis()};
            setReadMarkLocked(readerKey, it->first, updated);
            return {};
        }
        auto other = users_.find(otherKey);
        known = other != users_.end() && (!other->second.sessions.empty() || !other->second.quietSessions.empty());
    }
    if (!known) {
        // Offline: only a conversation with stored messages can be read (never under the lock).
        bool stored = false;
        if (history_) {
            try {
                const auto conversations = history_->directConversationsOf(readerKey);
                stored = std::find(conversations.begin(), conversations.end(), directKey(readerKey, otherKey)) !=
                         conversations.end();
            } catch (const StorageError& e) {
                return refused(ErrorCode::StorageUnavailable, std::string("history cannot be read: ") + e.what());
            }
        }
        if (!stored)
            return refused(ErrorCode::NoSuchUser,
                           "no user named '" + to.substr(1) + "' is online or has private messages with you");
    }
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(from);
    if (!entry || entry->userKey != readerKey) return {};  // renamed or gone meanwhile: nothing to tell
    const auto conversation = directKey(readerKey, otherKey);
    const auto id = static_cast<std::uint64_t>(msgId);
    const auto* mark = readMarkLocked(readerKey, conversation);
    if (mark && mark->lastId >= id) return {};
    ReadMark updated{id, 0, nowMillis()};
    setReadMarkLocked(readerKey, conversation, updated);
    keepReceiptLocked(readerKey, otherKey, id);
    const auto& reader = users_.at(readerKey);
    auto other = users_.find(otherKey);
    auto event = makeMessage("read");
    event->set("from", reader.displayName);
    event->set("to", "@" + (other != users_.end() ? other->second.displayName : to.substr(1)));
    event->set("msg_id", id);
    std::vector<ParticipantPtr> recipients;
    for (const auto& session : reader.sessions)
        if (session != from) recipients.push_back(session);
    if (other != users_.end() && otherKey != readerKey)
        recipients.insert(recipients.end(), other->second.sessions.begin(), other->second.sessions.end());
    if (!recipients.empty()) fanOut_.post(recipients, makeEvent(event));
    return {};
}

void Hub::keepReceiptLocked(const std::string& readerKey, const std::string& otherKey, std::uint64_t msgId) {
    auto& receipts = receiptsFor_[otherKey];
    auto& kept = receipts[readerKey];
    kept = std::max(kept, msgId);
}

void Hub::restoreReceiptsLocked() {
    receiptsFor_.clear();
    for (const auto& [readerKey, marks] : readMarks_)
        for (const auto& [conversation, mark] : marks)
            if (const auto other = otherOf(conversation, readerKey)) keepReceiptLocked(readerKey, *other, mark.lastId);
}

void Hub::forgetReceiptsLocked(const std::string& userKey) {
    receiptsFor_.erase(userKey);
    for (auto& [other, readers] : receiptsFor_) readers.erase(userKey);
}

std::vector<EventPtr> Hub::receiptsForLocked(const std::string& userKey) const {
    std::vector<EventPtr> events;
    const auto found = receiptsFor_.find(userKey);
    if (found == receiptsFor_.end()) return events;
    std::vector<std::pair<std::uint64_t, std::string>> latest;  // (msg_id, reader key), newest first
    for (const auto& [reader, id] : found->second) latest.emplace_back(id, reader);
    std::sort(latest.begin(), latest.end(), std::greater<>());
    if (latest.size() > kReceiptsAfterWelcome) latest.resize(kReceiptsAfterWelcome);
    const auto& self = users_.at(userKey).displayName;
    for (const auto& [id, reader] : latest) {
        const auto user = users_.find(reader);
        auto event = makeMessage("read");
        event->set("from", user != users_.end() ? user->second.displayName : reader);
        event->set("to", "@" + self);
        event->set("msg_id", id);
        events.push_back(makeEvent(event));
    }
    return events;
}

}  // namespace chat

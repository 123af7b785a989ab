#include "server/room.hpp"

namespace chat {

void Room::add(const std::string& userKey) {
    members_.insert(userKey);
    recipients_.reset();
}

void Room::remove(const std::string& userKey) {
    members_.erase(userKey);
    recipients_.reset();
}

void Room::rename(const std::string& oldKey, const std::string& newKey) {
    if (members_.erase(oldKey)) members_.insert(newKey);
}

void Room::remember(RecentEvent event, std::size_t keep) {
    if (event.isMessage) ++messages_;
    remembered_ = true;
    if (keep == 0) return;
    recent_.push_back(std::move(event));
    while (recent_.size() > keep) recent_.pop_front();
}

Recipients Room::recipients(const SessionsOf& sessionsOf) const {
    if (!recipients_) {
        std::vector<ParticipantPtr> sessions;
        sessions.reserve(members_.size());
        for (const auto& key : members_) {
            const auto& more = sessionsOf(key);
            sessions.insert(sessions.end(), more.begin(), more.end());
        }
        recipients_ = std::make_shared<const std::vector<ParticipantPtr>>(std::move(sessions));
    }
    return recipients_;
}

}  // namespace chat

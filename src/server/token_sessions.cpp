#include "server/token_sessions.hpp"

#include <algorithm>

namespace chat {

void TokenSessions::add(std::int64_t id, const ParticipantPtr& connection) {
    MutexLock lock(mutex_);
    auto& list = byToken_[id];
    list.erase(std::remove_if(list.begin(), list.end(), [](const auto& weak) { return weak.expired(); }), list.end());
    list.push_back(connection);
}

void TokenSessions::remove(std::int64_t id, const Participant* connection) {
    MutexLock lock(mutex_);
    auto found = byToken_.find(id);
    if (found == byToken_.end()) return;
    auto& list = found->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const auto& weak) {
                                  auto strong = weak.lock();
                                  return !strong || strong.get() == connection;
                              }),
               list.end());
    if (list.empty()) byToken_.erase(found);
}

std::vector<ParticipantPtr> TokenSessions::take(std::int64_t id) {
    std::vector<std::weak_ptr<Participant>> list;
    {
        MutexLock lock(mutex_);
        auto found = byToken_.find(id);
        if (found == byToken_.end()) return {};
        list = std::move(found->second);
        byToken_.erase(found);
    }
    std::vector<ParticipantPtr> alive;
    for (const auto& weak : list)
        if (auto strong = weak.lock()) alive.push_back(strong);
    return alive;
}

}  // namespace chat

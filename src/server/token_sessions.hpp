#pragma once
// Which connections logged in with which token, so that revoking a token
// can close them (docs/protocol.md, "Tokens").

#include "server/participant.hpp"
#include "shared/mutex.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace chat {

/// Thread-safe: its mutex guards the map, and is never held while a
/// participant is called (take() hands the connections out instead).
class TokenSessions {
public:
    /// Remembers that `connection` logged in with token `id`.
    void add(std::int64_t id, const ParticipantPtr& connection) EXCLUDES(mutex_);
    /// Forgets `connection` (it closed).
    void remove(std::int64_t id, const Participant* connection) EXCLUDES(mutex_);
    /// Forgets token `id` and returns its connections still alive.
    std::vector<ParticipantPtr> take(std::int64_t id) EXCLUDES(mutex_);

private:
    Mutex mutex_;
    std::map<std::int64_t, std::vector<std::weak_ptr<Participant>>> byToken_ GUARDED_BY(mutex_);
};

}  // namespace chat

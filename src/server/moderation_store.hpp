#pragma once
// Moderation kept on disk: operators, bans, mutes, invite-only modes and
// invites, in the history database's `moderation` table (schema step
// "moderation", server/history_schema.cpp).

#include "server/moderation_rules.hpp"
#include "shared/mutex.hpp"

#include <memory>
#include <string>
#include <vector>

namespace Poco::Data {
class Session;
}

namespace chat {

/// Thread-safe; its mutex guards its database session. Never called under
/// the hub's lock: the hub decides and applies a change in memory, the
/// conversation then stores it here.
class ModerationStore {
public:
    /// Opens (creating or upgrading in place) the database at `path`;
    /// ":memory:" keeps entries as long as the store lives. Throws StorageError.
    explicit ModerationStore(const std::string& path);
    ~ModerationStore();
    ModerationStore(const ModerationStore&) = delete;
    ModerationStore& operator=(const ModerationStore&) = delete;

    /// Every stored entry (expired ones whose time has passed are deleted first).
    std::vector<ModerationEntry> load(std::int64_t now) EXCLUDES(mutex_);

    /// Stores the changes in one transaction. Throws StorageError.
    void apply(const std::vector<ModerationChange>& changes) EXCLUDES(mutex_);

private:
    const std::string path_;
    mutable Mutex mutex_;
    std::unique_ptr<Poco::Data::Session> session_ GUARDED_BY(mutex_);
};

}  // namespace chat

#include "server/moderation_store.hpp"

#include "server/history.hpp"
#include "server/history_schema.hpp"
#include "server/sqlite_support.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>

namespace chat {

using namespace Poco::Data::Keywords;

ModerationStore::ModerationStore(const std::string& path) : path_(path) {
    Poco::Data::SQLite::Connector::registerConnector();
    MutexLock lock(mutex_);
    try {
        session_ = std::make_unique<Poco::Data::Session>(Poco::Data::SQLite::Connector::KEY, path);
        *session_ << "PRAGMA busy_timeout = 5000", now;
    } catch (...) {
        throwStorageError(session_ ? Poco::Data::SQLite::Utility::dbHandle(*session_) : nullptr, path);
    }
    history_schema::migrate(*session_, path);
}

ModerationStore::~ModerationStore() = default;

std::vector<ModerationEntry> ModerationStore::load(std::int64_t nowMs) {
    MutexLock lock(mutex_);
    auto& session = *session_;
    std::vector<std::string> scope, kind, target, by, reason;
    std::vector<Poco::Int64> until;
    try {
        Poco::Int64 cutoff = nowMs;
        inTransaction(session, path_, [&] {
            session << "DELETE FROM moderation WHERE until <> 0 AND until <= ?", use(cutoff), now;
        });
        session << "SELECT scope, kind, target, until, by, reason FROM moderation", into(scope), into(kind),
            into(target), into(until), into(by), into(reason), now;
    } catch (const StorageError&) {
        throw;
    } catch (...) {
        throwStorageError(Poco::Data::SQLite::Utility::dbHandle(session), path_);
    }
    std::vector<ModerationEntry> entries;
    for (std::size_t i = 0; i < scope.size(); ++i)
        entries.push_back({scope[i], kind[i], target[i], until[i], by[i], reason[i]});
    return entries;
}

void ModerationStore::apply(const std::vector<ModerationChange>& changes) {
    if (changes.empty()) return;
    MutexLock lock(mutex_);
    auto& session = *session_;  // the lambda runs here, with mutex_ held
    inTransaction(session, path_, [&] {
        for (const auto& change : changes) {
            auto e = change.entry;
            Poco::Int64 until = e.until;
            if (change.remove)
                session << "DELETE FROM moderation WHERE scope = ? AND kind = ? AND target = ?", use(e.scope),
                    use(e.kind), use(e.target), now;
            else
                session << "INSERT INTO moderation(scope, kind, target, until, by, reason) VALUES (?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT(scope, kind, target) DO UPDATE SET until = excluded.until,"
                           " by = excluded.by, reason = excluded.reason",
                    use(e.scope), use(e.kind), use(e.target), use(until), use(e.by), use(e.reason), now;
        }
    });
}

}  // namespace chat

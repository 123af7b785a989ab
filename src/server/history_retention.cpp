// SqliteHistoryStore::prune(): retention (docs/protocol.md, limits table,
// "Stored history"), in small steps the writer thread takes between commits.

#include "server/history_store.hpp"

#include "server/sqlite_support.hpp"

#include <Poco/Data/Session.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace chat {
namespace {

using namespace Poco::Data::Keywords;
using Poco::Int64;

constexpr Int64 kDayMs = 24LL * 60 * 60 * 1000;

Int64 asInt(std::uint64_t value) {
    return static_cast<Int64>(std::min<std::uint64_t>(value, std::numeric_limits<Int64>::max()));
}

}  // namespace

std::size_t SqliteHistoryStore::prune(std::size_t maxRows, std::int64_t nowMs) {
    if (maxRows == 0 || (options_.retentionDays <= 0 && options_.maxPerConversation == 0)) {
        return 0;
    }
    std::size_t deleted = 0;
    std::set<std::string> touched;
    // Worked on a copy, kept only when the transaction commits.
    std::set<std::string> uncapped = uncapped_;
    inTransaction(*session_, options_.path, [&] {
        deleted = pruneExpired(maxRows, nowMs, touched);
        if (deleted < maxRows) {
            deleted += pruneOverCap(maxRows - deleted, uncapped, touched);
        }
        forgetEmptyRooms(touched);
    });
    uncapped_ = std::move(uncapped);
    return deleted;
}

std::size_t SqliteHistoryStore::pruneExpired(std::size_t maxRows, std::int64_t nowMs,
                                             std::set<std::string>& touched) {
    if (options_.retentionDays <= 0) {
        return 0;
    }
    // Ids are given out in time order, so the expired events are the oldest
    // ids: a prefix of the table, found without an index on ts (an event
    // whose clock ran backwards waits for the ones before it).
    const Int64 cutoff = nowMs - static_cast<Int64>(options_.retentionDays) * kDayMs;
    Int64 rows = asInt(maxRows);
    std::vector<Int64> ids, times;
    std::vector<std::string> conversations;
    *session_ << "SELECT id, ts, conversation FROM events ORDER BY id LIMIT ?", use(rows), into(ids), into(times),
        into(conversations), now;
    std::size_t expired = 0;
    while (expired < ids.size() && times[expired] < cutoff) {
        touched.insert(conversations[expired]);
        ++expired;
    }
    if (expired == 0) {
        return 0;
    }
    Int64 through = ids[expired - 1];
    *session_ << "DELETE FROM events WHERE id <= ?", use(through), now;
    return expired;
}

std::size_t SqliteHistoryStore::pruneOverCap(std::size_t maxRows, std::set<std::string>& uncapped,
                                             std::set<std::string>& touched) {
    if (options_.maxPerConversation == 0) {
        return 0;
    }
    std::size_t deleted = 0;
    Int64 cap = asInt(options_.maxPerConversation);
    auto it = uncapped.begin();
    while (it != uncapped.end() && deleted < maxRows) {
        std::string key = *it;
        // The newest event beyond the cap: it and everything older go.
        std::vector<Int64> boundary;
        *session_ << "SELECT id FROM events WHERE conversation = ? ORDER BY id DESC LIMIT 1 OFFSET ?", use(key),
            use(cap), into(boundary), now;
        if (boundary.empty()) {
            it = uncapped.erase(it);
            continue;
        }
        Int64 rows = asInt(maxRows - deleted);
        std::vector<Int64> oldest;
        *session_ << "SELECT id FROM events WHERE conversation = ? AND id <= ? ORDER BY id LIMIT ?", use(key),
            use(boundary.front()), use(rows), into(oldest), now;
        Int64 through = oldest.back();
        *session_ << "DELETE FROM events WHERE conversation = ? AND id <= ?", use(key), use(through), now;
        deleted += oldest.size();
        touched.insert(key);
        if (through == boundary.front()) {
            it = uncapped.erase(it);
        }  // else: the budget ran out; this conversation stays to be continued
    }
    return deleted;
}

void SqliteHistoryStore::forgetEmptyRooms(const std::set<std::string>& touched) {
    for (std::string key : touched) {
        std::vector<Int64> any;
        *session_ << "SELECT 1 FROM events WHERE conversation = ? LIMIT 1", use(key), into(any), now;
        if (!any.empty()) {
            continue;
        }
        *session_ << "DELETE FROM rooms WHERE key = ?", use(key), now;
        *session_ << "DELETE FROM read_marks WHERE room_key = ?", use(key), now;
    }
}

}  // namespace chat

#pragma once
// Who may moderate a room, and whom bans, mutes, invite-only modes and
// invites keep out or quiet (docs/protocol.md, "Moderation"). Memory only:
// ModerationStore keeps the entries on disk, the hub asks these rules.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace chat {

/// One moderation fact, as stored (table `moderation`, schema step
/// "moderation" in history_schema.cpp).
struct ModerationEntry {
    static constexpr const char* kOp = "op";                   ///< target: an account's name key
    static constexpr const char* kBan = "ban";                 ///< target: a name key
    static constexpr const char* kBanAddress = "ban_address";  ///< target: a normalised IP address
    static constexpr const char* kMute = "mute";               ///< target: a name key
    static constexpr const char* kInvite = "invite";           ///< target: a name key
    static constexpr const char* kInviteOnly = "invite_only";  ///< target: ""

    std::string scope;       ///< a room key; "" for the whole server (bans only)
    std::string kind;        ///< one of the constants above
    std::string target;
    std::int64_t until = 0;  ///< ms since the epoch when it stops applying; 0: never
    std::string by;          ///< who set it (display name)
    std::string reason;      ///< may be empty

    bool activeAt(std::int64_t now) const { return until == 0 || until > now; }
};

/// An entry to store (or, with `remove`, to delete: only scope, kind and
/// target count then).
struct ModerationChange {
    bool remove = false;
    ModerationEntry entry;
};

/// The canonical text of an IP address: IPv4 dotted quad (also for an
/// IPv4-mapped IPv6 address), IPv6 in inet_ntop's compressed lower-case
/// form. nullopt when `text` is not an IP address.
std::optional<std::string> normalizeAddress(const std::string& text);

/// Not thread-safe: the hub keeps it under its own lock. Every question
/// takes the time (`now`, ms since the epoch): an entry whose `until` has
/// passed no longer applies, whether or not anyone has deleted it yet.
class ModerationRules {
public:
    /// Replaces every entry.
    void load(const std::vector<ModerationEntry>& entries);
    /// Stores or deletes one entry.
    void apply(const ModerationChange& change);
    /// Every entry, expired ones included, in key order.
    std::vector<ModerationEntry> entries() const;

    /// Server administrators (chat serve --admin), by name key.
    void setAdmins(std::set<std::string> keys) { admins_ = std::move(keys); }
    /// True for an administrator's authenticated session: `account` says
    /// the session proved the name. A guest is never an administrator.
    bool isAdmin(const std::string& userKey, bool account) const { return account && admins_.count(userKey) > 0; }
    /// An operator of the room (stored) or an administrator; never a guest.
    bool mayModerate(const std::string& roomKey, const std::string& userKey, bool account) const;
    /// Stored operator of the room (administrators aside).
    bool isOperator(const std::string& roomKey, const std::string& userKey) const;
    bool hasOperators(const std::string& roomKey) const;

    /// The ban in `scope` (a room key, or "" for server-wide bans) that
    /// keeps out user `userKey` connecting from `address`, if any: by name
    /// key, or by the address (compared normalised).
    const ModerationEntry* ban(const std::string& scope, const std::string& userKey, const std::string& address,
                               std::int64_t now) const;
    const ModerationEntry* mute(const std::string& roomKey, const std::string& userKey, std::int64_t now) const;
    bool inviteOnly(const std::string& roomKey) const;
    bool invited(const std::string& roomKey, const std::string& userKey, std::int64_t now) const;

    /// The entry with this key whether it applies now or not; null if none.
    const ModerationEntry* find(const std::string& scope, const std::string& kind, const std::string& target) const;

private:
    using Key = std::tuple<std::string, std::string, std::string>;  // scope, kind, target
    const ModerationEntry* active(const std::string& scope, const std::string& kind, const std::string& target,
                                  std::int64_t now) const;
    std::map<Key, ModerationEntry> entries_;
    std::set<std::string> admins_;
};

}  // namespace chat

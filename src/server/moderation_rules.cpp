#include "server/moderation_rules.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <tuple>

namespace chat {

std::optional<std::string> normalizeAddress(const std::string& text) {
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        char out[INET_ADDRSTRLEN];
        return std::string(::inet_ntop(AF_INET, &v4, out, sizeof out));
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        const unsigned char* b = v6.s6_addr;
        char out[INET_ADDRSTRLEN];
        std::snprintf(out, sizeof out, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
        return std::string(out);
    }
    char out[INET6_ADDRSTRLEN];
    return std::string(::inet_ntop(AF_INET6, &v6, out, sizeof out));
}

void ModerationRules::load(const std::vector<ModerationEntry>& entries) {
    entries_.clear();
    for (const auto& e : entries) entries_[Key{e.scope, e.kind, e.target}] = e;
}

void ModerationRules::apply(const ModerationChange& change) {
    const auto& e = change.entry;
    if (change.remove)
        entries_.erase(Key{e.scope, e.kind, e.target});
    else
        entries_[Key{e.scope, e.kind, e.target}] = e;
}

std::vector<ModerationEntry> ModerationRules::entries() const {
    std::vector<ModerationEntry> all;
    for (const auto& [key, entry] : entries_) all.push_back(entry);
    return all;
}

const ModerationEntry* ModerationRules::find(const std::string& scope, const std::string& kind,
                                             const std::string& target) const {
    auto it = entries_.find(Key{scope, kind, target});
    return it == entries_.end() ? nullptr : &it->second;
}

const ModerationEntry* ModerationRules::active(const std::string& scope, const std::string& kind,
                                               const std::string& target, std::int64_t now) const {
    const auto* entry = find(scope, kind, target);
    return entry && entry->activeAt(now) ? entry : nullptr;
}

bool ModerationRules::mayModerate(const std::string& roomKey, const std::string& userKey, bool account) const {
    return account && (isAdmin(userKey, account) || isOperator(roomKey, userKey));
}

bool ModerationRules::isOperator(const std::string& roomKey, const std::string& userKey) const {
    return !roomKey.empty() && find(roomKey, ModerationEntry::kOp, userKey) != nullptr;
}

bool ModerationRules::hasOperators(const std::string& roomKey) const {
    auto it = entries_.lower_bound(Key{roomKey, ModerationEntry::kOp, ""});
    return it != entries_.end() && std::get<0>(it->first) == roomKey && std::get<1>(it->first) == ModerationEntry::kOp;
}

const ModerationEntry* ModerationRules::ban(const std::string& scope, const std::string& userKey,
                                            const std::string& address, std::int64_t now) const {
    if (const auto* byName = active(scope, ModerationEntry::kBan, userKey, now)) return byName;
    if (const auto normal = normalizeAddress(address))
        return active(scope, ModerationEntry::kBanAddress, *normal, now);
    return nullptr;
}

const ModerationEntry* ModerationRules::mute(const std::string& roomKey, const std::string& userKey,
                                             std::int64_t now) const {
    return active(roomKey, ModerationEntry::kMute, userKey, now);
}

bool ModerationRules::inviteOnly(const std::string& roomKey) const {
    return find(roomKey, ModerationEntry::kInviteOnly, "") != nullptr;
}

bool ModerationRules::invited(const std::string& roomKey, const std::string& userKey, std::int64_t now) const {
    return active(roomKey, ModerationEntry::kInvite, userKey, now) != nullptr;
}

}  // namespace chat

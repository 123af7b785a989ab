#include "client/typing_receipts.hpp"

#include "shared/validation.hpp"

#include <algorithm>

namespace chat {

namespace {
/// "#Dev" and "#dev" are one conversation, as are "@Bob" and "@bob".
std::string key(const std::string& conversation) { return nameKey(conversation); }
}  // namespace

void TypingReceipts::typing(const std::string& conversation, const std::string& user, std::chrono::milliseconds ttl,
                            Clock::time_point now) {
    ttl = std::clamp(ttl, std::chrono::milliseconds(0), kMaxTypingTtl);
    auto& typists = typing_[key(conversation)];
    for (auto it = typists.begin(); it != typists.end();)  // the expired ones are forgotten here
        it = it->second.until <= now ? typists.erase(it) : std::next(it);
    auto& typist = typists[nameKey(user)];
    if (typist.name.empty() || typist.until <= now) typist.order = ++order_;
    typist.name = user;
    typist.until = now + ttl;
}

void TypingReceipts::messageFrom(const std::string& conversation, const std::string& user) {
    auto found = typing_.find(key(conversation));
    if (found == typing_.end()) return;
    found->second.erase(nameKey(user));
    if (found->second.empty()) typing_.erase(found);
}

std::vector<std::string> TypingReceipts::typists(const std::string& conversation, Clock::time_point now) const {
    std::vector<const Typist*> active;
    if (auto found = typing_.find(key(conversation)); found != typing_.end())
        for (const auto& [user, typist] : found->second)
            if (typist.until > now) active.push_back(&typist);
    std::sort(active.begin(), active.end(), [](const Typist* a, const Typist* b) { return a->order < b->order; });
    std::vector<std::string> names;
    for (const auto* typist : active) names.push_back(typist->name);
    return names;
}

std::string TypingReceipts::typingText(const std::string& conversation, Clock::time_point now) const {
    const auto names = typists(conversation, now);
    if (names.empty()) return "";
    if (names.size() == 1) return names[0] + " is typing\u2026";
    if (names.size() == 2) return names[0] + " and " + names[1] + " are typing\u2026";
    return std::to_string(names.size()) + " people are typing\u2026";
}

bool TypingReceipts::mayTellTyping(const std::string& conversation, Clock::time_point now) {
    auto& last = told_[key(conversation)];
    if (last != Clock::time_point{} && now - last < kTypingInterval) return false;
    last = now;
    return true;
}

void TypingReceipts::shown(const std::string& conversation, std::int64_t msgId, Clock::time_point now) {
    (void)now;  // takeDueReceipts decides when it goes out
    auto& r = receipts_[key(conversation)];
    names_[key(conversation)] = conversation;
    r.shownUpTo = std::max(r.shownUpTo, msgId);
}

std::vector<std::pair<std::string, std::int64_t>> TypingReceipts::takeDueReceipts(Clock::time_point now) {
    std::vector<std::pair<std::string, std::int64_t>> due;
    for (auto& [conversation, r] : receipts_) {
        if (r.shownUpTo <= r.sentUpTo) continue;
        if (r.lastSent && now - *r.lastSent < kReceiptInterval) continue;
        r.sentUpTo = r.shownUpTo;
        r.lastSent = now;
        due.emplace_back(names_[conversation], r.shownUpTo);
    }
    return due;
}

void TypingReceipts::ownMessage(const std::string& conversation, std::int64_t msgId) {
    auto& r = receipts_[key(conversation)];
    names_[key(conversation)] = conversation;
    r.ownLast = std::max(r.ownLast, msgId);
}

void TypingReceipts::readUpTo(const std::string& conversation, std::int64_t msgId) {
    auto& r = receipts_[key(conversation)];
    names_[key(conversation)] = conversation;
    r.readUpTo = std::max(r.readUpTo, msgId);
}

bool TypingReceipts::seen(const std::string& conversation) const {
    const auto found = receipts_.find(key(conversation));
    return found != receipts_.end() && found->second.ownLast > 0 && found->second.readUpTo >= found->second.ownLast;
}

std::optional<TypingReceipts::Clock::time_point> TypingReceipts::nextChange(Clock::time_point now) const {
    std::optional<Clock::time_point> next;
    const auto consider = [&](Clock::time_point at) {
        if (!next || at < *next) next = at;
    };
    for (const auto& [conversation, typists] : typing_)
        for (const auto& [user, typist] : typists)
            if (typist.until > now) consider(typist.until);
    for (const auto& [conversation, r] : receipts_)
        if (r.shownUpTo > r.sentUpTo) consider(r.lastSent ? std::max(now, *r.lastSent + kReceiptInterval) : now);
    return next;
}

}  // namespace chat

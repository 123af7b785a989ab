// Hub: private messages to an offline account, kept in its mailbox and
// handed over at its next login (docs/protocol.md, "Offline messages"), and
// the identities that keep private history private.

#include "server/answer_lists.hpp"
#include "server/event_list.hpp"
#include "server/hub.hpp"
#include "shared/validation.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace chat {

std::vector<std::string> Hub::freshIdentities(const std::string& key, bool registered, const std::string& guestId) {
    return {registered ? "a:" + key : "g:" + guestId};
}

HubResult Hub::sendOfflineLocked(User& sender, const std::string& toKey, const std::string& to,
                                 const std::string& text, bool action) {
    if (mailboxCounts_[toKey] >= config_.maxOfflinePerAccount) {
        HubResult full;
        full.error = ErrorCode::MailboxFull;
        full.errorText = "'" + to + "' is offline and already has " + std::to_string(config_.maxOfflinePerAccount) +
                         " messages waiting; try again once they have logged in";
        return full;
    }
    if (auto limited = rateLimitedLocked(sender)) return *limited;
    sender.lastActiveMillis = nowMillis();
    auto event = makeMessage("message");
    event->set("msg_id", std::uint64_t{0});
    event->set("ts", nowMillis());
    event->set("from", sender.displayName);
    event->set("to", "@" + to);
    event->set("text", text);
    if (action) event->set("action", true);
    auto recipients = sender.sessions;
    recipients.insert(recipients.end(), sender.quietSessions.begin(), sender.quietSessions.end());
    const auto published = publishLocked(event, recipients);
    ++mailboxCounts_[toKey];
    HubResult result;
    result.messageId = published.id;
    result.offline = true;
    result.ticket = history_->record(StoredEvent{published.id, published.ts, "message",
                                                 directKey(nameKey(sender.displayName), toKey), "",
                                                 sender.displayName, to, text, action, published.event->payload,
                                                 sender.identities.back(), "a:" + toKey, toKey});
    return result;
}

std::vector<EventPtr> Hub::offlineEvents(const std::vector<EventPtr>& events) {
    std::vector<EventPtr> chunks;
    std::size_t done = 0;
    while (done < events.size()) {
        const std::vector<EventPtr> rest(events.begin() + static_cast<std::ptrdiff_t>(done), events.end());
        const auto fit = std::max<std::size_t>(1, countFitting(rest, kListBudgetBytes));  // one event always fits a frame
        const std::vector<EventPtr> chunk(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(fit));
        done += fit;
        auto offline = makeMessage("offline");
        offline->set("total", static_cast<std::uint64_t>(events.size()));
        offline->set("remaining", static_cast<std::uint64_t>(events.size() - done));
        chunks.push_back(withEventList(offline, "events", chunk));
    }
    return chunks;
}

void Hub::deliverOffline(const ParticipantPtr& connection) {
    if (!history_) return;
    std::string account;
    {
        MutexLock lock(mutex_);
        const auto* entry = connectionLocked(connection);
        if (!entry || entry->userKey.empty() || !entry->announce || !users_.at(entry->userKey).account) return;
        const auto count = mailboxCounts_.find(entry->userKey);
        if (count == mailboxCounts_.end() || count->second == 0) return;
        account = entry->userKey;
    }
    std::vector<StoredEvent> waiting;
    try {
        waiting = history_->mailbox(account);  // never under the hub's lock
    } catch (const StorageError& e) {
        spdlog::warn("offline messages of {} cannot be read; they wait for the next login: {}", account, e.what());
        return;
    }
    MutexLock lock(mutex_);
    const auto* entry = connectionLocked(connection);
    if (!entry || entry->userKey != account) return;  // gone or renamed meanwhile: they wait
    auto& through = mailboxDelivered_[account];
    std::vector<EventPtr> events;
    std::uint64_t last = through;
    for (auto& e : waiting) {
        if (e.id <= through) continue;  // another session of the account got it
        last = std::max(last, e.id);
        events.push_back(std::make_shared<const Event>(std::move(e.payload)));
    }
    if (events.empty()) return;
    through = last;
    auto& count = mailboxCounts_[account];
    count = count > events.size() ? count - events.size() : 0;
    history_->mailboxDelivered(account, last);
    // Queued on the connection itself (as the welcome is), so they come before
    // the answer to any request the session sends after this hello.
    for (const auto& chunk : offlineEvents(events)) connection->deliver(chunk);
}

}  // namespace chat

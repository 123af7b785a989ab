#pragma once
// A History kept in memory, for tests of what the hub does with history:
// synchronous (record() stores at once), and able to fail on demand.

#include "server/history.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace chat::test {

class MemoryHistory final : public History {
public:
    HistorySnapshot load(std::size_t recentPerRoom) override {
        std::lock_guard lock(mutex_);
        HistorySnapshot snapshot;
        snapshot.lastId = lastId_;
        std::map<std::string, StoredRoom> rooms;
        for (const auto& e : events_) {
            if (e.room.empty()) continue;
            auto& room = rooms[e.conversation];
            room.name = e.room;
            if (e.kind == "topic") room.topic = e.text;
            if (e.kind == "message") ++room.messages;
            room.recent.push_back(e);
            if (room.recent.size() > recentPerRoom) room.recent.erase(room.recent.begin());
        }
        for (auto& [key, room] : rooms) snapshot.rooms.push_back(room);
        snapshot.readMarks = marks_;
        for (const auto& [account, waiting] : mailboxes_)
            if (!waiting.empty()) snapshot.mailboxCounts[account] = waiting.size();
        return snapshot;
    }
    Ticket record(StoredEvent event) override {
        std::lock_guard lock(mutex_);
        lastId_ = std::max(lastId_, event.id);
        if (!event.mailbox.empty()) mailboxes_[event.mailbox].push_back(event);
        events_.push_back(std::move(event));
        return ++tickets_;
    }
    std::optional<std::string> waitStored(Ticket) override {
        std::lock_guard lock(mutex_);
        return failure_;
    }
    void whenStored(Ticket, StoredCallback done) override {
        std::optional<std::string> failure;
        {
            std::lock_guard lock(mutex_);
            failure = failure_;
        }
        done(failure);
    }
    void flush() override {}
    void markRead(const std::string& userKey, const std::string& roomKey, const ReadMark& mark) override {
        std::lock_guard lock(mutex_);
        marks_[userKey][roomKey] = mark;
    }
    void mailboxDelivered(const std::string& accountKey, std::uint64_t throughId) override {
        std::lock_guard lock(mutex_);
        auto& waiting = mailboxes_[accountKey];
        waiting.erase(std::remove_if(waiting.begin(), waiting.end(), [&](const auto& e) { return e.id <= throughId; }),
                      waiting.end());
    }
    std::vector<StoredEvent> mailbox(const std::string& accountKey) override {
        std::lock_guard lock(mutex_);
        if (failure_) throw StorageError(*failure_);
        auto it = mailboxes_.find(accountKey);
        return it == mailboxes_.end() ? std::vector<StoredEvent>{} : it->second;
    }
    HistoryPage page(const std::string& conversation, std::uint64_t before, std::size_t limit,
                     const std::vector<std::string>& readers) override {
        std::lock_guard lock(mutex_);
        if (failure_) throw StorageError(*failure_);
        std::vector<StoredEvent> all;
        for (const auto& e : events_)
            if (e.conversation == conversation && (before == 0 || e.id < before) && readable(e, readers))
                all.push_back(e);
        HistoryPage page;
        page.more = all.size() > limit;
        page.events.assign(all.end() - static_cast<std::ptrdiff_t>(std::min(limit, all.size())), all.end());
        return page;
    }
    HistoryPage search(const std::vector<std::string>& conversations, const std::string& words, std::size_t limit,
                       const std::vector<std::string>& readers) override {
        std::lock_guard lock(mutex_);
        if (failure_) throw StorageError(*failure_);
        const std::set<std::string> in(conversations.begin(), conversations.end());
        HistoryPage page;
        for (auto it = events_.rbegin(); it != events_.rend(); ++it)
            if (it->kind == "message" && in.count(it->conversation) && readable(*it, readers) &&
                lower(it->text).find(lower(words)) != std::string::npos) {
                if (page.events.size() == limit) {
                    page.more = true;
                    break;
                }
                page.events.push_back(*it);
            }
        return page;
    }
    std::vector<std::string> directConversationsOf(const std::string& userKey) override {
        std::lock_guard lock(mutex_);
        std::set<std::string> found;
        for (const auto& e : events_)
            if (e.room.empty() && (e.conversation.rfind("@" + userKey + " ", 0) == 0 ||
                                   (e.conversation.size() > userKey.size() + 2 &&
                                    e.conversation.compare(e.conversation.size() - userKey.size() - 2,
                                                           std::string::npos, " @" + userKey) == 0)))
                found.insert(e.conversation);
        return {found.begin(), found.end()};
    }

    /// From now on, stores fail with `why` (nullopt: they succeed again).
    void failWith(std::optional<std::string> why) {
        std::lock_guard lock(mutex_);
        failure_ = std::move(why);
    }
    std::vector<StoredEvent> events() {
        std::lock_guard lock(mutex_);
        return events_;
    }

private:
    /// As the SQLite store: a room event always, a DM only for one of its sides.
    static bool readable(const StoredEvent& e, const std::vector<std::string>& readers) {
        if (!e.room.empty()) return true;
        return std::any_of(readers.begin(), readers.end(),
                           [&](const std::string& r) { return r == e.fromIdentity || r == e.toIdentity; });
    }
    static std::string lower(std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    std::mutex mutex_;
    std::vector<StoredEvent> events_;
    std::map<std::string, std::map<std::string, ReadMark>> marks_;
    std::map<std::string, std::vector<StoredEvent>> mailboxes_;
    std::uint64_t lastId_ = 0;
    Ticket tickets_ = 0;
    std::optional<std::string> failure_;
};

}  // namespace chat::test

#pragma once
// The terminal client's typing indicators and read receipts
// (docs/protocol.md, `typing` and `read`): who is typing where, when ours
// may be sent, which receipts are due, and which of our private messages
// have been seen. No I/O and no clock of its own: every call is given `now`.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chat {

/// Conversations are named as the client names them: "#room", or "@user"
/// for the private conversation with that user; users by display name.
/// Names are compared case-insensitively. Not thread-safe (one owner).
class TypingReceipts {
public:
    using Clock = std::chrono::steady_clock;
    /// The least time between two of our `typing` requests for one conversation.
    static constexpr std::chrono::milliseconds kTypingInterval{3000};
    /// The least time between two of our `read` requests for one conversation.
    static constexpr std::chrono::milliseconds kReceiptInterval{2000};
    /// The longest a typing indicator is shown, whatever ttl_ms says.
    static constexpr std::chrono::milliseconds kMaxTypingTtl{30000};

    // Typing, theirs.
    /// `user` is typing in `conversation`: shown until `ttl` has passed (at
    /// most kMaxTypingTtl) or their message arrives.
    void typing(const std::string& conversation, const std::string& user, std::chrono::milliseconds ttl,
                Clock::time_point now);
    /// A message from `user` in `conversation` arrived: they stopped typing.
    void messageFrom(const std::string& conversation, const std::string& user);
    /// Who is typing in `conversation` now, in the order they started.
    std::vector<std::string> typists(const std::string& conversation, Clock::time_point now) const;
    /// "bob is typing…", "bob and carol are typing…", "3 people are typing…"; "" when nobody is.
    std::string typingText(const std::string& conversation, Clock::time_point now) const;
    /// Forgets every indicator (the connection was lost).
    void clearTyping() { typing_.clear(); }

    // Typing, ours.
    /// True (and noted) when a `typing` request for `conversation` may go
    /// out now: at most one per kTypingInterval.
    bool mayTellTyping(const std::string& conversation, Clock::time_point now);

    // Receipts, ours.
    /// A private message with id `msgId` from the other user of
    /// `conversation` ("@bob") has been shown to our user: a receipt is due,
    /// at once or, within kReceiptInterval of the last one, when it ends.
    void shown(const std::string& conversation, std::int64_t msgId, Clock::time_point now);
    /// The receipts due by `now` ((conversation, msg_id) pairs), taken.
    std::vector<std::pair<std::string, std::int64_t>> takeDueReceipts(Clock::time_point now);

    // Receipts, theirs.
    /// We sent a private message `msgId` in `conversation`.
    void ownMessage(const std::string& conversation, std::int64_t msgId);
    /// The other user of `conversation` has read it up to `msgId`.
    void readUpTo(const std::string& conversation, std::int64_t msgId);
    /// Whether our last private message in `conversation` has been read.
    bool seen(const std::string& conversation) const;

    /// The next moment something changes by itself: an indicator expires or
    /// a receipt falls due; nullopt when nothing will.
    std::optional<Clock::time_point> nextChange(Clock::time_point now) const;

private:
    struct Typist {
        std::string name;
        Clock::time_point until;
        std::uint64_t order = 0;
    };
    struct Receipts {
        std::int64_t shownUpTo = 0;  ///< the latest message shown
        std::int64_t sentUpTo = 0;   ///< the latest receipt sent
        std::optional<Clock::time_point> lastSent;
        std::int64_t ownLast = 0;   ///< our latest message
        std::int64_t readUpTo = 0;  ///< their latest receipt
    };
    std::map<std::string, std::map<std::string, Typist>> typing_;  ///< by conversation key, then user key
    std::uint64_t order_ = 0;
    std::map<std::string, Clock::time_point> told_;  ///< our last typing request, by conversation key
    std::map<std::string, Receipts> receipts_;       ///< by conversation key
    std::map<std::string, std::string> names_;       ///< conversation key to name, for takeDueReceipts
};

}  // namespace chat

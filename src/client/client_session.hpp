#pragma once
// The state of one chat client above the wire: who we are, our rooms and
// current room, whom to /reply to, and which requests await answers. It
// turns typed lines into requests and server messages into output lines;
// the terminal or pipe around it is someone else's job.

#include "client/event_renderer.hpp"
#include "client/ignore_list.hpp"
#include "client/send_pacer.hpp"
#include "client/server_connection.hpp"
#include "client/typing_receipts.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace chat {

struct InputCommand;

/// Messages are paced to the rate limit the server announced in welcome
/// (SendPacer), so a paste or a pipe is sent in order without refusals; any
/// message the server still refuses as rate_limited (another session of the
/// same user used the tokens) is held and sent again, in order.
///
/// Where a ClientSession's output goes.
class ClientOutput {
public:
    virtual ~ClientOutput() = default;
    virtual void line(const std::string& text) = 0;   ///< chat output (stdout)
    virtual void error(const std::string& text) = 0;  ///< a refusal or failure (stderr)
    /// Every message from the server except pings and the rate_limited
    /// refusals the session retries itself; an answer carries the id its
    /// request was sent with (--json prints these).
    virtual void message(const Poco::JSON::Object::Ptr&) {}
    /// A message that should ring the terminal bell (RenderOptions::bell) arrived.
    virtual void bell() {}
    /// A chat line whose wrapped rows a terminal indents by `indent` columns,
    /// so that they cannot pass for lines of their own.
    virtual void indented(const std::string& text, std::size_t /*indent*/) { line(text); }
};

class ClientSession {
public:
    using Send = std::function<void(const Poco::JSON::Object::Ptr&)>;

    ClientSession(const Welcome& welcome, Send send, ClientOutput& output, RenderOptions render);

    /// Handles one input line; false when the user asked to leave.
    bool handleLine(const std::string& line);

    /// Handles one message from the server. Throws ClientError(76) for a
    /// message that breaks the protocol (a member of the wrong type, an
    /// event without its members): the caller disconnects.
    void handleMessage(const Poco::JSON::Object::Ptr& message);

    bool awaitingAnswers() const { return !pending_.empty(); }

    /// Sends a request given as JSON (chat connect --json): as it is, with an
    /// integer id added when it has none. Answers are matched to it like the
    /// session's own requests, so a join makes its room current and a send
    /// is paced and retried.
    void sendRequest(const Poco::JSON::Object::Ptr& request);
    /// Sends `text` to the current room as it is, without command parsing.
    void say(const std::string& text);

    /// The connection is gone: requests still unanswered are forgotten (the
    /// user is told how many messages may not have arrived); messages never
    /// sent are kept for after reconnected(). Lines that need the server are
    /// refused until then.
    void connectionLost();
    /// A new connection said welcome: rejoins the rooms we were in, leaves
    /// any we had left, restores the current room, sends the messages held
    /// back, and says so once every room is restored.
    void reconnected(const Welcome& welcome);
    bool connected() const { return connected_; }

    using Clock = std::chrono::steady_clock;
    /// When held messages (not yet sent, or refused as rate_limited) are due
    /// to be sent; nullopt when none are, or only an answer can make room.
    std::optional<Clock::time_point> nextRetry() const { return retryAt_; }
    /// Sends the held messages, in their order, as far as the pace allows.
    void retryDue(Clock::time_point now);
    /// Typing indicators and read receipts we send (both off until enabled:
    /// the terminal client turns them on unless --no-typing or
    /// --no-read-receipts). Those of others are always shown.
    void enableSignals(bool typing, bool readReceipts) {
        sendTyping_ = typing;
        sendReceipts_ = readReceipts;
    }
    /// The clock for typing indicators and receipts (tests inject one).
    void setClock(std::function<Clock::time_point()> now) { now_ = std::move(now); }
    /// Our user changed the input line (its text now `line`): tells the
    /// current conversation we are typing, at most once per 3 s per
    /// conversation; not for commands (a line starting with '/').
    void userTyping(const std::string& line);
    /// When a typing indicator expires or a read receipt falls due; the
    /// caller then redraws the prompt and calls signalsDue().
    std::optional<Clock::time_point> nextSignal() const;
    /// Sends the read receipts that are due.
    void signalsDue();
    const std::string& currentRoom() const { return render_.currentRoom; }
    /// Where plain lines go: the current room, or "@user" during a /query.
    std::string currentContext() const;
    /// Keeps /ignore's list in `file` (loaded now, saved on each change).
    void useIgnoreFile(const std::string& file) { ignore_ = IgnoreList(file); }
    /// Lines kept per room and query, to show what was missed on /switch.
    static constexpr std::size_t kScrollback = 200;
    const std::string& self() const { return render_.self; }
    /// The guest key of our current name (welcome, then each nick's ok);
    /// empty for an account. Reconnects present it.
    const std::string& guestKey() const { return guestKey_; }
    const std::set<std::string>& rooms() const { return rooms_; }
    /// Users seen online (welcome, /who, events), without ourselves; for completion.
    std::vector<std::string> knownUsers() const;
    /// Rooms we are in or have seen (/rooms, events); for completion.
    std::vector<std::string> knownRooms() const;
    const RenderOptions& renderOptions() const { return render_; }

    /// The status part of the prompt also says who is typing in the current
    /// conversation ("bob is typing…") and, in a query, "seen" once the other
    /// user has read our last message there.
    /// "[#lobby] alice> "; "[@bob] alice> " during a query; unread traffic
    /// elsewhere and the connection in parentheses: "[#lobby] alice (#dev 3,
    /// @bob 1)> ", "[#lobby] alice (offline)> ".
    std::string prompt() const;
    /// A local notice, timestamped like messages.
    void notice(const std::string& text);
    /// On a terminal (RenderOptions::terminal), the current time as
    /// /timestamps says, dimmed when coloured, and a space; else "". Every
    /// line printed on a terminal starts with it or with its event's time.
    std::string clockPrefix() const;

private:
    struct Pending {
        std::string kind;    ///< the request type
        std::string detail;  ///< e.g. the DM target, for messages about the answer
        Poco::JSON::Object::Ptr message = {};  ///< a send request, kept to retry it
        Poco::Dynamic::Var originalId = {};    ///< a --json request's own id, given back in its answer
    };
    /// What to restore after a reconnection.
    struct Restore {
        std::set<std::string> rooms;  ///< the rooms we were in
        std::string currentRoom;
        std::size_t waiting = 0;  ///< rejoins and leaves not yet answered
    };
    void request(Poco::JSON::Object::Ptr message, Pending pending);
    void sendText(const std::string& to, const std::string& text, bool action);
    void answered(const Pending& pending, const Poco::JSON::Object::Ptr& ok);
    void noteEvent(const Poco::JSON::Object::Ptr& event);
    void noteUser(const std::string& name);
    void noteRoom(const std::string& room);
    void restoreStep();  ///< one rejoin or leave answered (or none needed)
    void restored();
    void handle(const Poco::JSON::Object::Ptr& message);
    std::string displayName(const std::string& user) const;
    void noteMembers(const std::string& room, const std::vector<std::string>& members);
    /// A "joined" of someone we knew in that room, during or just after our
    /// reconnection (the server restarted; everyone comes back).
    bool repeatedJoin(const Poco::JSON::Object::Ptr& event) const;
    /// The room or "@user" a message belongs to.
    std::string contextOf(const Poco::JSON::Object::Ptr& message) const;
    /// Keeps a message in its context's scrollback; counts it unread unless
    /// it is ours or its context is the current one.
    void track(const Poco::JSON::Object::Ptr& message);
    /// Makes `context` current ("#room" or "@user") and shows what was missed there.
    void switchTo(const std::string& context);
    /// The next context to /switch to: unread traffic first, then in order
    /// (rooms, then queries); `backwards`: the one before, in order.
    std::string nextContext(bool backwards = false) const;
    /// render_ as seen from the current context (during a query, every room is elsewhere).
    RenderOptions view() const;
    bool localCommand(const InputCommand& c);
    /// A `backlog` event: its room's recent past, shown as history.
    void showBacklog(const Poco::JSON::Object::Ptr& backlog);
    /// A `history` answer for `target` ("#room" or "@user").
    void showHistory(const std::string& target, const Poco::JSON::Object::Ptr& ok);
    /// A `search` answer.
    void showSearch(const std::string& words, const Poco::JSON::Object::Ptr& ok);
    /// Stored events shown as history (renderStoredLine), the "-- new --"
    /// marker before the first shown one from `firstUnread` on (0: none);
    /// remembers the smallest msg_id for /history of `target`.
    void showStored(const std::vector<Poco::JSON::Object::Ptr>& events, const std::string& target,
                    std::int64_t firstUnread = 0);
    /// A framing line of the client's own ("-- ... --"), dimmed.
    void frame(const std::string& text, const char* sgr = style::kNotice);

    Send send_;
    ClientOutput& output_;
    RenderOptions render_;
    std::set<std::string> rooms_;
    std::string lastDmFrom_;
    std::int64_t lastId_ = 0;
    std::map<std::int64_t, Pending> pending_;
    std::map<std::int64_t, Poco::JSON::Object::Ptr> held_;  ///< refused as rate_limited, by id
    std::optional<Clock::time_point> retryAt_;
    std::optional<Clock::time_point> refusedUntil_;  ///< from the last rate_limited: nothing is sent before
    SendPacer pace_;  ///< keeps our sends within the server's announced rate
    bool connected_ = true;
    std::optional<Restore> restore_;  ///< set from connectionLost() until the rooms are back
    bool restoreLeaving_ = false;     ///< rejoins done; leaving rooms we had left
    std::map<std::string, std::string> users_;  ///< by nameKey: display name
    std::map<std::string, std::string> seenRooms_;  ///< by nameKey: room name
    std::map<std::string, std::set<std::string>> members_;  ///< by room nameKey: members' nameKeys
    std::string guestKey_;
    std::size_t maxText_ = 0;  ///< longer texts are split (welcome's max_text)
    Clock::time_point lostAt_{};
    std::optional<Clock::time_point> quietUntil_;  ///< repeated joins are not shown until then
    IgnoreList ignore_;
    std::string query_;  ///< the user plain lines go to; empty: the current room
    std::vector<std::string> queries_;  ///< users queried in this session, for /switch
    struct Context {
        std::string name;  ///< "#room" or "@user"
        std::size_t unread = 0;
        std::size_t missed = 0;  ///< lines since the first unread one, shown on switching there
        std::deque<Poco::JSON::Object::Ptr> lines;  ///< the last kScrollback messages
    };
    std::map<std::string, Context> contexts_;  ///< by nameKey of the name
    /// By nameKey of "#room" or "@user": the smallest msg_id shown from a
    /// backlog or a history answer, sent as `before` by the next /history.
    std::map<std::string, std::int64_t> oldest_;
    /// By nameKey of the room: the largest msg_id of its events shown, live
    /// or from a backlog. The backlog after a reconnection leaves out what
    /// was shown already.
    std::map<std::string, std::int64_t> newest_;
    void noteShown(const std::string& room, const Poco::JSON::Object::Ptr& event);
    /// A `typing` or `read` event.
    void handleSignal(const std::string& type, const Poco::JSON::Object::Ptr& event);
    /// A message event shown live: stops its sender's indicator, notes our
    /// own private messages, and makes a receipt due for a private message
    /// shown in the current conversation.
    void noteSignals(const Poco::JSON::Object::Ptr& message);
    /// A receipt is due for the latest private message from the other user
    /// of `context` kept in its scrollback (on switching to it).
    void receiptForShown(const std::string& context);
    TypingReceipts signals_;
    bool sendTyping_ = false;
    bool sendReceipts_ = false;
    std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
};

}  // namespace chat

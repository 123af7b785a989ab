#pragma once
// The state of one chat client above the wire: who we are, our rooms and
// current room, whom to /reply to, and which requests await answers. It
// turns typed lines into requests and server messages into output lines;
// the terminal or pipe around it is someone else's job.

#include "client/event_renderer.hpp"
#include "client/server_connection.hpp"
#include "shared/token_bucket.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <map>
#include <set>
#include <string>

namespace chat {

/// Messages are paced to the rate limit the server announced in welcome, so
/// a paste or a pipe is sent in order without refusals; any message the
/// server still refuses as rate_limited is held and sent again, in order.
///
/// Where a ClientSession's output goes.
class ClientOutput {
public:
    virtual ~ClientOutput() = default;
    virtual void line(const std::string& text) = 0;   ///< chat output (stdout)
    virtual void error(const std::string& text) = 0;  ///< a refusal or failure (stderr)
};

class ClientSession {
public:
    using Send = std::function<void(const Poco::JSON::Object::Ptr&)>;

    ClientSession(const Welcome& welcome, Send send, ClientOutput& output, RenderOptions render);

    /// Handles one input line; false when the user asked to leave.
    bool handleLine(const std::string& line);

    /// Handles one message from the server.
    void handleMessage(const Poco::JSON::Object::Ptr& message);

    bool awaitingAnswers() const { return !pending_.empty(); }

    using Clock = std::chrono::steady_clock;
    /// When messages refused as rate_limited are due to be sent again.
    std::optional<Clock::time_point> nextRetry() const { return retryAt_; }
    /// Sends the held messages again, in their order, once they are due.
    void retryDue(Clock::time_point now);
    const std::string& currentRoom() const { return render_.currentRoom; }
    const std::string& self() const { return render_.self; }
    const std::set<std::string>& rooms() const { return rooms_; }

    /// "[#lobby] alice> "
    std::string prompt() const;

private:
    struct Pending {
        std::string kind;    ///< the request type
        std::string detail;  ///< e.g. the DM target, for messages about the answer
        Poco::JSON::Object::Ptr message;  ///< a send request, kept to retry it
    };
    void request(Poco::JSON::Object::Ptr message, Pending pending);
    void sendText(const std::string& to, const std::string& text, bool action);
    void answered(const Pending& pending, const Poco::JSON::Object::Ptr& ok);
    void noteEvent(const Poco::JSON::Object::Ptr& event);

    Send send_;
    ClientOutput& output_;
    RenderOptions render_;
    std::set<std::string> rooms_;
    std::string lastDmFrom_;
    std::int64_t lastId_ = 0;
    std::map<std::int64_t, Pending> pending_;
    std::map<std::int64_t, Poco::JSON::Object::Ptr> held_;  ///< refused as rate_limited, by id
    std::optional<Clock::time_point> retryAt_;
    TokenBucket pace_;  ///< keeps our sends within the server's announced rate
};

}  // namespace chat

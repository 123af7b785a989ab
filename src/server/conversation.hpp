#pragma once
// Everything one client connection means at the protocol level, with no
// socket and no thread: payloads in, payloads out.

#include "server/hub.hpp"
#include "server/log_throttle.hpp"
#include "server/participant.hpp"
#include "shared/protocol.hpp"
#include "shared/token_bucket.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace chat {

struct ConversationLimits {
    std::chrono::milliseconds helloTimeout{10'000};
    std::chrono::milliseconds pingInterval{30'000};  ///< ping a peer silent this long; drop it after twice this
    /// The per-connection budget for requests other than send, ping, pong
    /// and quit (joins, leaves, topics, renames, away, list queries): IRC's
    /// "fake lag". Over it, the request is answered rate_limited.
    double requestsPerSecond = 10;
    double requestBurst = 60;
};

/// One client's conversation with the hub: hello and welcome, request
/// dispatch and answers, pings and time-outs, rate limits, closing. A
/// transport (TCP today; TLS and WebSocket later) owns one per connection,
/// feeds it whole payloads and the clock, and moves the bytes of whatever
/// `out` is given. Answers and events all reach the peer through `out`,
/// which is also what the hub knows as this connection.
///
/// Not thread-safe: one transport thread drives it. Every answer path is
/// total: a request can be refused but never throws the connection away.
class Conversation {
public:
    using Clock = std::chrono::steady_clock;

    /// `peer` names the connection in logs ("127.0.0.1:5555"). Warnings the
    /// peer can cause at will go through `logs` (shared server-wide), when
    /// given, so that a flood of bad requests logs a few lines and a count.
    Conversation(Hub& hub, ParticipantPtr out, ConversationLimits limits, std::string peer,
                 LogThrottle* logs = nullptr);
    Conversation(const Conversation&) = delete;
    Conversation& operator=(const Conversation&) = delete;

    /// Registers with the hub for a peer at address `ip`. On refusal the
    /// refusal is answered, endReason() is set, and false returned; the
    /// transport sends what is queued and closes.
    bool open(const std::string& ip, Clock::time_point now);

    /// One whole payload from the peer (a frame's content).
    void receive(std::string_view payload, Clock::time_point now);
    /// The peer sent bytes: it is alive, even mid-frame.
    void heard(Clock::time_point now) { lastHeard_ = now; }
    /// The transport could not accept a frame (declared length over the
    /// limit): answered, then the conversation ends.
    void frameTooLarge(std::uint64_t declaredLength);
    /// A frame was started but not finished within the ping interval.
    void frameIncomplete();
    /// The transport's own framing was broken in a way other than size (a
    /// WebSocket binary message, an unmasked frame, bad UTF-8): answered
    /// bad_request with `what`, then the conversation ends.
    void transportViolation(const std::string& what);

    /// Sends pings and notices time-outs. Returns when to call again.
    Clock::time_point tick(Clock::time_point now);

    /// Ends the conversation with `reason` (the first reason wins).
    void end(const std::string& reason);
    /// Non-empty once the conversation must end: why.
    const std::string& endReason() const { return endReason_; }

    /// Leaves the hub; events stop. Idempotent; the transport calls it once
    /// the conversation has ended (or the connection broke).
    void close();

    /// The user's display name, empty before hello.
    const std::string& user() const { return user_; }
    const std::string& peer() const { return peer_; }
    /// True when nobody on the path can read the connection: it is TLS, or
    /// the peer is on this host (loopback). The transport says so once,
    /// before open(). Passwords are refused (auth_insecure) where this is
    /// false, unless the operator allows them (--allow-plaintext-auth).
    void setSecureTransport(bool secure) { secureTransport_ = secure; }
    bool secureTransport() const { return secureTransport_; }
    const ConversationLimits& limits() const { return limits_; }

private:
    void dispatch(const std::string& type, const Poco::JSON::Object::Ptr& request);
    void handleHello(const Poco::JSON::Object::Ptr& request);
    void handleSend(const Poco::JSON::Object::Ptr& request);
    void handleRoomRequest(const std::string& type, const Poco::JSON::Object::Ptr& request);
    void handleUserRequest(const std::string& type, const Poco::JSON::Object::Ptr& request);
    void handleHistoryRequest(const std::string& type, const Poco::JSON::Object::Ptr& request);
    /// typing and read (conversation_signals.cpp).
    void handleSignal(const std::string& type, const Poco::JSON::Object::Ptr& request);
    /// register and passwd (conversation_accounts.cpp).
    void handleAccountRequest(const std::string& type, const Poco::JSON::Object::Ptr& request);
    /// Checks the optional "password" field of hello or nick for `name`:
    /// sets `authenticated` when it verifies; answers (and returns false)
    /// when it does not, when it may not travel here, or when `name` is
    /// registered and there is none. Hashes: never under the hub's lock.
    bool checkPassword(const Poco::JSON::Object::Ptr& request, const std::string& name, bool& authenticated);
    /// Answers an AuthOutcome's error (with retry_after_ms when throttled).
    void refuseAuth(const struct AuthOutcome& outcome, const Poco::Dynamic::Var& id);
    /// Takes one request from the request budget; answers rate_limited and
    /// returns false when there is none.
    bool spendRequest(const Poco::Dynamic::Var& id);
    void reply(const Poco::JSON::Object::Ptr& message);
    void refuse(ErrorCode code, const std::string& text, const Poco::Dynamic::Var& id = {});
    void closeAfterReply(const std::string& reason);
    std::string who() const { return user_.empty() ? "-" : user_; }
    /// A warning this peer caused, of `kind` ("protocol error", "rate limited").
    void warn(std::string_view kind, const std::string& line);

    Hub& hub_;
    LogThrottle* const logs_;
    const ParticipantPtr out_;
    const ConversationLimits limits_;
    const std::string peer_;
    std::string ip_;              // the peer's address, from open()
    std::string user_;            // empty until hello succeeds
    std::string endReason_;
    bool attached_ = false;
    bool pingSent_ = false;
    bool secureTransport_ = false;
    Clock::time_point opened_;
    Clock::time_point lastHeard_;
    TokenBucket requests_;
};

}  // namespace chat

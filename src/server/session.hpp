#pragma once
// One client connection, from accept to close, on its own Poco pool thread.

#include "server/flusher.hpp"
#include "server/hub.hpp"
#include "server/outbox.hpp"
#include "shared/frame_codec.hpp"

#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Timespan.h>

#include <chrono>
#include <memory>
#include <string>

namespace chat {

struct SessionLimits {
    std::size_t maxQueuedBytes = 1024 * 1024;
    std::chrono::milliseconds helloTimeout{10'000};
    std::chrono::milliseconds flushTimeout{1'000};  ///< for closing connections
    std::chrono::milliseconds pingInterval{30'000}; ///< ping a peer silent this long; drop it after twice this
};

/// run() reads frames and answers requests; answers and events from the hub
/// reach the peer through the session's Outbox, which the Flusher drains. The
/// session ends when the peer closes, breaks the protocol beyond repair,
/// overflows its outbound queue, or the hub asks it to close.
class Session final : public Poco::Net::TCPServerConnection {
public:
    Session(const Poco::Net::StreamSocket& socket, Hub& hub, Flusher& flusher, SessionLimits limits);
    void run() override;

private:
    using Clock = std::chrono::steady_clock;

    void serveConnection();  // the poll loop; returns once endReason_ is set
    void readAvailable();
    void handleFrame(const std::string& payload);
    void handleHello(const Poco::JSON::Object::Ptr& request);
    void handleSend(const Poco::JSON::Object::Ptr& request);
    void handleRoomRequest(const std::string& type, const Poco::JSON::Object::Ptr& request);
    void handleUserRequest(const std::string& type, const Poco::JSON::Object::Ptr& request);
    void reply(const Poco::JSON::Object::Ptr& message);
    void fail(const std::string& reason) { if (endReason_.empty()) endReason_ = reason; }
    void refuse(ErrorCode why);
    std::string who() const { return user_.empty() ? "-" : user_; }

    Hub& hub_;
    const SessionLimits limits_;
    std::shared_ptr<Outbox> outbox_;
    FrameDecoder decoder_;
    std::string peer_;
    std::string user_;          // empty until hello succeeds
    std::string endReason_;     // set once the session must end
    Clock::time_point lastHeard_;  // when the peer last sent any bytes
};

}  // namespace chat

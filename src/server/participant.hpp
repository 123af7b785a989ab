#pragma once
// What the hub knows of a connection: something it can hand encoded frames to.

#include <memory>
#include <string>

namespace chat {

/// One encoded frame, shared read-only by every recipient of an event.
using SharedFrame = std::shared_ptr<const std::string>;

/// A receiver of events. The hub calls these from any thread, never while
/// holding its own lock; implementations must not block on the network.
class Participant {
public:
    virtual ~Participant() = default;

    /// Queues one frame for sending. Never blocks on the network.
    virtual void deliver(const SharedFrame& frame) = 0;

    /// Asks the connection to send what is queued and then close.
    virtual void closeAfterFlush(const std::string& reason) = 0;
};

using ParticipantPtr = std::shared_ptr<Participant>;

}  // namespace chat

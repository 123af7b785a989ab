#pragma once
// What the hub knows of a connection: something it can hand events to.

#include "server/event.hpp"

#include <memory>
#include <string>
#include <vector>

namespace chat {

class FanOutBatch;

/// A receiver of events, whatever its transport. The hub calls these from
/// any thread, possibly while holding its own lock (so that one room's events
/// are queued in id order everywhere); implementations only queue, never
/// block on the network and never call back into the hub.
class Participant {
public:
    virtual ~Participant() = default;

    /// Queues one event (or answer) for sending.
    virtual void deliver(const EventPtr& event) = 0;

    /// Asks the connection to send what is queued and then close.
    virtual void closeAfterFlush(const std::string& reason) = 0;

    /// Queues `last` and closes after it in one step, so that nothing queued
    /// by another thread in between can follow it. The default is deliver()
    /// then closeAfterFlush(), for participants with no such race.
    virtual void sendLastAndClose(const EventPtr& last, const std::string& reason) {
        deliver(last);
        closeAfterFlush(reason);
    }

    /// Batched delivery, the capability a transport may offer: `batch` is a
    /// fan-out in progress (its dispatcher's lock is held). A participant
    /// that belongs to that dispatcher queues the batch's event without
    /// locking again and returns true; any other returns false and is then
    /// given the event through deliver(). The default returns false.
    virtual bool queueInBatch(FanOutBatch& batch) {
        (void)batch;
        return false;
    }
};

using ParticipantPtr = std::shared_ptr<Participant>;

/// How the hub hands one event to many participants. The server's is its
/// Dispatcher; DirectFanOut (for tests and tools) calls deliver() on each.
class FanOut {
public:
    virtual ~FanOut() = default;
    /// Queues `event` on every participant in `to`, in list order. Never
    /// blocks on the network.
    virtual void post(const std::vector<ParticipantPtr>& to, const EventPtr& event) = 0;
};

class DirectFanOut final : public FanOut {
public:
    void post(const std::vector<ParticipantPtr>& to, const EventPtr& event) override {
        for (const auto& participant : to) participant->deliver(event);
    }
};

}  // namespace chat

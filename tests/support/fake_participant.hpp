#pragma once
// A Participant that records every event the hub hands it, for hub tests.

#include "server/participant.hpp"
#include "shared/protocol.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace chat::test {

/// Records every event the hub hands it, decoded back to JSON.
class FakeParticipant final : public Participant {
public:
    void deliver(const EventPtr& event) override {
        std::lock_guard lock(mutex_);
        frames.push_back(event);
    }
    void closeAfterFlush(const std::string& reason) override {
        std::lock_guard lock(mutex_);
        closeReason = reason;
    }
    std::vector<Poco::JSON::Object::Ptr> messages() {
        std::lock_guard lock(mutex_);
        std::vector<Poco::JSON::Object::Ptr> out;
        for (const auto& f : frames) out.push_back(parseMessage(f->payload).message);
        return out;
    }
    std::vector<Poco::JSON::Object::Ptr> ofType(const std::string& type) {
        std::vector<Poco::JSON::Object::Ptr> out;
        for (auto& m : messages())
            if (stringField(m, "type") == type) out.push_back(m);
        return out;
    }
    std::vector<EventPtr> frames;
    std::string closeReason;

private:
    std::mutex mutex_;
};

}  // namespace chat::test

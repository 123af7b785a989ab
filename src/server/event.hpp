#pragma once
// What the hub tells connections: one protocol message, encoded once.

#include <Poco/JSON/Object.h>

#include <memory>
#include <string>

namespace chat {

/// One event or answer: the JSON text of one protocol message, encoded once
/// and shared read-only by every recipient. It knows nothing of any wire
/// format; each transport's Framing turns it into bytes, once per event per
/// kind of transport (see Dispatcher::post).
struct Event {
    explicit Event(std::string json) : payload(std::move(json)) {}
    const std::string payload;
};

using EventPtr = std::shared_ptr<const Event>;

/// The event carrying `message` as compact JSON.
EventPtr makeEvent(const Poco::JSON::Object::Ptr& message);

}  // namespace chat

#include "server/event.hpp"

#include "shared/protocol.hpp"

namespace chat {

EventPtr makeEvent(const Poco::JSON::Object::Ptr& message) { return std::make_shared<const Event>(toJson(message)); }

}  // namespace chat

#pragma once
// How events from the server look on the client's output.

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>

namespace chat {

struct RenderOptions {
    std::string self;         ///< our own user name, to mark our messages
    std::string currentRoom;  ///< events from other rooms show the room's name
    bool color = false;       ///< ANSI colours
    bool timestamps = true;
};

/// One line (without newline) for an event, or nullopt for messages that
/// are not shown (ok, pong, ...). Text from the server never contains
/// control characters, so the line is safe to print.
std::optional<std::string> renderEvent(const Poco::JSON::Object::Ptr& event, const RenderOptions& options);

/// "HH:MM" in local time for a UTC millisecond timestamp.
std::string formatClock(std::int64_t millis);

}  // namespace chat

#pragma once
// Answers and events that carry earlier events (backlog, history, search):
// the stored events are spliced in as they were sent, never re-encoded.

#include "server/event.hpp"

#include <Poco/JSON/Object.h>

#include <cstddef>
#include <string>
#include <vector>

namespace chat {

/// `message` encoded, with `"key":[e1,e2,…]` added as its last member, where
/// each e is one of `events` (complete JSON texts) in the order given.
EventPtr withEventList(const Poco::JSON::Object::Ptr& message, const std::string& key,
                       const std::vector<EventPtr>& events);

/// How many of `events`, taken in the order given, fit in `budget` bytes of
/// JSON together (with the commas between them).
std::size_t countFitting(const std::vector<EventPtr>& events, std::size_t budget);
/// The same, counted back from the end of `events` (the newest of an
/// oldest-first list).
std::size_t countFittingAtEnd(const std::vector<EventPtr>& events, std::size_t budget);

}  // namespace chat

#pragma once
// Stored events for the history tests, built the way the hub builds them.

#include "server/history.hpp"
#include "shared/validation.hpp"

#include <string>

namespace chat::test {

/// A message to `room` ("#dev") with id `id`.
inline StoredEvent roomMessage(std::uint64_t id, const std::string& room, const std::string& from,
                               const std::string& text, std::int64_t ts = 1'700'000'000'000) {
    StoredEvent e;
    e.id = id;
    e.ts = ts;
    e.kind = "message";
    e.conversation = nameKey(room);
    e.room = room;
    e.from = from;
    e.text = text;
    e.payload = R"({"type":"message","msg_id":)" + std::to_string(id) + R"(,"from":")" + from + R"(","to":")" + room +
                R"(","text":"…"})";
    return e;
}

/// A topic change of `room`.
inline StoredEvent topicChange(std::uint64_t id, const std::string& room, const std::string& by,
                               const std::string& topic, std::int64_t ts = 1'700'000'000'000) {
    StoredEvent e = roomMessage(id, room, by, topic, ts);
    e.kind = "topic";
    e.payload = R"({"type":"topic","msg_id":)" + std::to_string(id) + "}";
    return e;
}

/// A private message from `from` to `to`, both accounts (their identities
/// "a:" + the name's key, as the hub records them).
inline StoredEvent directMessage(std::uint64_t id, const std::string& from, const std::string& to,
                                 const std::string& text, std::int64_t ts = 1'700'000'000'000) {
    StoredEvent e;
    e.id = id;
    e.ts = ts;
    e.kind = "message";
    e.conversation = directKey(nameKey(from), nameKey(to));
    e.from = from;
    e.to = to;
    e.fromIdentity = "a:" + nameKey(from);
    e.toIdentity = "a:" + nameKey(to);
    e.text = text;
    e.payload = R"({"type":"message","msg_id":)" + std::to_string(id) + "}";
    return e;
}

}  // namespace chat::test

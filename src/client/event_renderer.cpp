#include "client/event_renderer.hpp"

#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <ctime>

namespace chat {

namespace {
constexpr const char* kReset = "\033[0m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kMagenta = "\033[35m";
constexpr const char* kCyan = "\033[36m";

std::string paint(const std::string& text, const char* style, bool color) {
    return color && *style ? std::string(style) + text + kReset : text;
}

std::string field(const Poco::JSON::Object::Ptr& event, const std::string& key) {
    return stringField(event, key).value_or("");
}

/// "[#room] " when the event belongs to a room other than the current one.
std::string roomTag(const std::string& room, const RenderOptions& options) {
    if (room.empty() || nameKey(room) == nameKey(options.currentRoom)) return "";
    return "[" + room + "] ";
}
}  // namespace

std::string formatClock(std::int64_t millis) {
    const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[8];
    std::strftime(buffer, sizeof buffer, "%H:%M", &local);
    return buffer;
}

std::optional<std::string> renderEvent(const Poco::JSON::Object::Ptr& event, const RenderOptions& options) {
    const auto type = field(event, "type");
    const auto ts = intField(event, "ts");
    const std::string clock = options.timestamps && ts ? formatClock(*ts) + " " : "";
    const bool color = options.color;
    if (type == "message") {
        const auto from = field(event, "from");
        const auto to = field(event, "to");
        const auto text = field(event, "text");
        const bool mine = nameKey(from) == nameKey(options.self);
        const bool action = boolField(event, "action").value_or(false);
        if (!to.empty() && to[0] == '@') {
            const std::string label = mine ? "[DM to " + to.substr(1) + "]" : "[DM from " + from + "]";
            return clock + paint(label, kMagenta, color) + " " + (action ? "* " + from + " " : "") + text;
        }
        const auto tag = roomTag(to, options);
        if (action) return clock + tag + paint("* " + from + " " + text, kCyan, color);
        return clock + tag + paint(from, mine ? kBold : "", color) + ": " + text;
    }
    const auto room = field(event, "room");
    if (type == "joined") {
        const auto tag = roomTag(room, options);
        return clock + paint("* " + field(event, "user") + " joined" + (tag.empty() ? "" : " " + room), kDim, color);
    }
    if (type == "left") {
        const auto reason = field(event, "reason");
        const auto tag = roomTag(room, options);
        return clock + paint("* " + field(event, "user") + " left" + (tag.empty() ? "" : " " + room) +
                                 (reason.empty() || reason == "left" ? "" : " (" + reason + ")"),
                             kDim, color);
    }
    if (type == "topic")
        return clock + paint("* " + field(event, "by") + " set the topic of " + room + ": " + field(event, "topic"),
                             kDim, color);
    if (type == "nick")
        return clock + paint("* " + field(event, "old") + " is now known as " + field(event, "new"), kDim, color);
    if (type == "shutdown") return clock + paint("* " + field(event, "message"), kDim, color);
    return std::nullopt;
}

}  // namespace chat

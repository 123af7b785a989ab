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

std::string paint(const std::string& text, const char* style, bool color) {
    return color ? std::string(style) + text + kReset : text;
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
    const auto type = stringField(event, "type").value_or("");
    const auto ts = intField(event, "ts");
    const std::string clock = options.timestamps && ts ? formatClock(*ts) + " " : "";
    if (type == "message") {
        const auto from = stringField(event, "from").value_or("?");
        const auto to = stringField(event, "to").value_or("");
        const auto text = stringField(event, "text").value_or("");
        const bool mine = nameKey(from) == nameKey(options.self);
        if (!to.empty() && to[0] == '@') {
            const std::string label = mine ? "[DM to " + to.substr(1) + "]" : "[DM from " + from + "]";
            return clock + paint(label, kMagenta, options.color) + " " + text;
        }
        return clock + paint(from, mine ? kBold : "", options.color && mine) + ": " + text;
    }
    if (type == "joined")
        return clock + paint("* " + stringField(event, "user").value_or("?") + " joined", kDim, options.color);
    if (type == "left") {
        const auto reason = stringField(event, "reason").value_or("");
        return clock + paint("* " + stringField(event, "user").value_or("?") + " left" +
                                 (reason.empty() ? "" : " (" + reason + ")"),
                             kDim, options.color);
    }
    if (type == "shutdown")
        return clock + paint("* " + stringField(event, "message").value_or("server shutting down"), kDim,
                             options.color);
    return std::nullopt;
}

}  // namespace chat

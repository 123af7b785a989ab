#include "client/event_renderer.hpp"

#include "client/terminal_text.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <cctype>
#include <ctime>

namespace chat {

namespace {
/// A field as it may be shown: never trusted to be free of control characters.
std::string field(const Poco::JSON::Object::Ptr& event, const std::string& key) {
    return visibleText(stringField(event, key).value_or(""));
}

/// "[#room] " when the event belongs to a room other than the current one.
std::string roomTag(const std::string& room, const RenderOptions& options) {
    if (room.empty() || nameKey(room) == nameKey(options.currentRoom)) return "";
    return "[" + room + "] ";
}

bool isDirect(const std::string& to) { return !to.empty() && to[0] == '@'; }

/// "alice banned bob from #dev until 18:02 (spam)": a moderation event in
/// words, every server string made visible.
std::string describeModeration(const Poco::JSON::Object::Ptr& event) {
    const auto action = field(event, "action");
    const auto by = field(event, "by");
    const auto target = field(event, "target");
    const auto room = field(event, "room");
    const auto reason = field(event, "reason");
    const auto until = intField(event, "until");
    const std::string in = room.empty() ? "" : " in " + room;
    const std::string when =
        until ? " until " + formatStoredTime(*until, Timestamps::Short, nowMillis()) : std::string();
    std::string what;
    if (action == "op") what = "made " + target + " an operator of " + room;
    else if (action == "deop") what = "took " + target + "'s operator rights" + in;
    else if (action == "kick") what = "kicked " + target + " from " + room;
    else if (action == "ban") what = "banned " + target + " from " + (room.empty() ? "the server" : room) + when;
    else if (action == "unban") what = "lifted the ban on " + target + (room.empty() ? " from the server" : in);
    else if (action == "mute") what = "muted " + target + in + when;
    else if (action == "unmute") what = "unmuted " + target + in;
    else if (action == "invite") what = "invited " + target + " to " + room + when;
    else if (action == "kill") what = "disconnected " + target + " from the server";
    else if (action == "mode")
        what = field(event, "mode") == "+i" ? "made " + room + " invite-only (+i)" : "opened " + room + " to everyone (-i)";
    else what = action + (target.empty() ? "" : " " + target) + in;
    return "* " + by + " " + what + (reason.empty() ? "" : " (" + reason + ")");
}

bool nameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }
}  // namespace

std::optional<Timestamps> parseTimestamps(std::string_view word) {
    if (word == "off") return Timestamps::Off;
    if (word == "short") return Timestamps::Short;
    if (word == "long") return Timestamps::Long;
    return std::nullopt;
}

std::string_view timestampsName(Timestamps timestamps) {
    switch (timestamps) {
    case Timestamps::Off: return "off";
    case Timestamps::Short: return "short";
    case Timestamps::Long: return "long";
    }
    return "short";
}

std::optional<Bell> parseBell(std::string_view word) {
    if (word == "off") return Bell::Off;
    if (word == "mention") return Bell::Mention;
    if (word == "all") return Bell::All;
    return std::nullopt;
}

std::string_view bellName(Bell bell) {
    switch (bell) {
    case Bell::Off: return "off";
    case Bell::Mention: return "mention";
    case Bell::All: return "all";
    }
    return "mention";
}

namespace style {
const std::vector<const char*>& namePalette(Palette palette) {
    // Basic: green, blue, cyan, yellow (dark), bright blue, and bold green
    // and cyan; red and magenta mean errors and DMs, and bright green,
    // yellow and cyan are unreadable on a light background.
    static const std::vector<const char*> basic{"\033[32m", "\033[34m",   "\033[36m",  "\033[33m",
                                                "\033[94m", "\033[1;32m", "\033[1;36m"};
    // 256 colours: cube colours whose contrast is at least 3:1 against black,
    // white, a dark grey (#1e1e1e) and a light cream (#fdf6e3) background
    // (WCAG's ratio; tests/unit/event_renderer_test.cpp computes it), in
    // oranges, olives, greens, teals, blues and violets: no reds, pinks or
    // magentas, which mean errors and DMs. The order spreads the hues, so
    // that the README's Alice, Bob and Carol get a green, an orange and a blue.
    static const std::vector<const char*> extended{
        "\033[38;5;31m", "\033[38;5;137m", "\033[38;5;130m", "\033[38;5;136m", "\033[38;5;100m", "\033[38;5;64m",
        "\033[38;5;29m", "\033[38;5;30m", "\033[38;5;32m", "\033[38;5;33m", "\033[38;5;67m", "\033[38;5;27m",
        "\033[38;5;68m", "\033[38;5;69m", "\033[38;5;62m", "\033[38;5;28m", "\033[38;5;63m", "\033[38;5;104m",
        "\033[38;5;99m", "\033[38;5;97m", "\033[38;5;166m", "\033[38;5;98m"};
    return palette == Palette::Extended256 ? extended : basic;
}

const char* nameColor(std::string_view name, Palette palette) {
    // FNV-1a over the case-folded name: stable across runs and machines.
    std::uint32_t hash = 2166136261u;
    for (const char c : nameKey(name)) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 16777619u;
    }
    const auto& colours = namePalette(palette);
    return colours[hash % colours.size()];
}
}  // namespace style

std::string paint(const std::string& text, const char* sgr, bool color) {
    return color && sgr && *sgr ? std::string(sgr) + text + style::kReset : text;
}

bool mentions(std::string_view text, std::string_view self) {
    if (self.empty()) return false;
    const std::string haystack = nameKey(text);
    const std::string needle = nameKey(self);
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) {
        const auto end = at + needle.size();
        const bool startsWord = at == 0 || !nameChar(haystack[at - 1]);
        // "alice." and "alice-" at the end of a sentence still mention alice.
        const bool endsWord = end == haystack.size() || !nameChar(haystack[end]) ||
                              ((haystack[end] == '.' || haystack[end] == '-') &&
                               (end + 1 == haystack.size() || !nameChar(haystack[end + 1])));
        if (startsWord && endsWord) return true;
    }
    return false;
}

std::string formatClock(std::int64_t millis) { return formatTimestamp(millis, Timestamps::Short); }

std::string formatTimestamp(std::int64_t millis, Timestamps timestamps) {
    if (timestamps == Timestamps::Off) return "";
    const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, timestamps == Timestamps::Long ? "%Y-%m-%d %H:%M:%S" : "%H:%M", &local);
    return buffer;
}

namespace {
std::tm localTime(std::int64_t millis) {
    const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    return local;
}

std::string strftimeString(const std::tm& local, const char* format) {
    char buffer[32];
    std::strftime(buffer, sizeof buffer, format, &local);
    return buffer;
}
}  // namespace

std::string formatStoredTime(std::int64_t millis, Timestamps timestamps, std::int64_t now) {
    const auto when = localTime(millis);
    const auto today = localTime(now);
    const bool sameDay = when.tm_year == today.tm_year && when.tm_yday == today.tm_yday;
    switch (timestamps) {
    case Timestamps::Off: return sameDay ? "" : strftimeString(when, "%Y-%m-%d");
    case Timestamps::Short: return strftimeString(when, sameDay ? "%H:%M" : "%Y-%m-%d %H:%M");
    case Timestamps::Long: return strftimeString(when, "%Y-%m-%d %H:%M:%S");
    }
    return "";
}

std::optional<RenderedLine> renderStoredLine(const Poco::JSON::Object::Ptr& event, const RenderOptions& options,
                                             std::int64_t now) {
    auto plain = options;
    plain.color = false;     // dimmed as a whole below: no name colours, no mention highlight
    plain.terminal = false;  // no "! " and "> " markers: history is not news
    plain.timestamps = Timestamps::Off;
    auto line = renderEventLine(event, plain);
    if (!line) return std::nullopt;
    const auto ts = intField(event, "ts");
    const auto time = ts ? formatStoredTime(*ts, options.timestamps, now) : std::string();
    const std::string mark = options.color ? "" : kStoredMark;
    const std::string prefix = mark + (time.empty() ? "" : time + " ");
    return RenderedLine{paint(prefix + line->text, style::kNotice, options.color), displayWidth(prefix) + line->indent};
}

std::optional<RenderedLine> renderEventLine(const Poco::JSON::Object::Ptr& event, const RenderOptions& options) {
    const auto type = field(event, "type");
    const auto ts = intField(event, "ts");
    const bool color = options.color;
    const std::string clock =
        ts && options.timestamps != Timestamps::Off ? paint(formatTimestamp(*ts, options.timestamps), style::kNotice, color) + " " : "";
    auto notice = [&](const std::string& text) {
        return RenderedLine{clock + paint(text, style::kNotice, color), displayWidth(clock) + 2};
    };
    if (type == "message") {
        const auto from = field(event, "from");
        const auto to = field(event, "to");
        const auto text = field(event, "text");
        const bool mine = nameKey(from) == nameKey(options.self);
        const bool action = boolField(event, "action").value_or(false);
        const bool mentioned = !mine && mentions(text, options.self);
        const char* nameStyle = mine ? style::kSelf : style::nameColor(from, options.palette);
        const auto body = mentioned ? paint(text, style::kMention, color) : text;
        // Without colours, a marker tells mentions and our own lines apart.
        const std::string marker = options.terminal && !color ? (mentioned ? "! " : mine ? "> " : "") : "";
        std::string prefix;
        if (isDirect(to)) {
            const std::string label = mine ? "[DM to " + to.substr(1) + "]" : "[DM from " + from + "]";
            prefix = clock + marker + paint(label, style::kDirect, color) + " " +
                     (action ? "* " + paint(from, nameStyle, color) + " " : "");
            return RenderedLine{prefix + text, displayWidth(prefix)};
        }
        // On a terminal, a line from a room we are not looking at is labelled and dimmed.
        const bool elsewhere = !roomTag(to, options).empty();
        const auto tag = elsewhere && options.terminal ? paint(roomTag(to, options), style::kNotice, color) : roomTag(to, options);
        const auto shownBody = elsewhere && options.terminal && !mentioned ? paint(text, style::kNotice, color) : body;
        prefix = clock + tag + marker + (action ? "* " + paint(from, nameStyle, color) + " " : paint(from, nameStyle, color) + ": ");
        return RenderedLine{prefix + shownBody, displayWidth(prefix)};
    }
    const auto room = field(event, "room");
    if (type == "joined") {
        const auto tag = roomTag(room, options);
        return notice("* " + field(event, "user") + " joined" + (tag.empty() ? "" : " " + room));
    }
    if (type == "left") {
        const auto reason = field(event, "reason");
        const auto tag = roomTag(room, options);
        return notice("* " + field(event, "user") + " left" + (tag.empty() ? "" : " " + room) +
                      (reason.empty() || reason == "left" ? "" : " (" + reason + ")"));
    }
    if (type == "topic") return notice("* " + field(event, "by") + " set the topic of " + room + ": " + field(event, "topic"));
    if (type == "nick") return notice("* " + field(event, "old") + " is now known as " + field(event, "new"));
    if (type == "shutdown") return notice("* " + field(event, "message"));
    if (type == "session")  // another session of our account logged in
        return notice("* another session of " + field(event, "user") + " joined from " + field(event, "from"));
    if (type == "moderation") return notice(describeModeration(event));
    return std::nullopt;
}

std::optional<std::string> renderEvent(const Poco::JSON::Object::Ptr& event, const RenderOptions& options) {
    if (auto line = renderEventLine(event, options)) return line->text;
    return std::nullopt;
}

bool ringsBell(const Poco::JSON::Object::Ptr& event, const RenderOptions& options) {
    if (options.bell == Bell::Off || field(event, "type") != "message") return false;
    if (nameKey(field(event, "from")) == nameKey(options.self)) return false;
    if (options.bell == Bell::All) return true;
    return isDirect(field(event, "to")) || mentions(field(event, "text"), options.self);
}

}  // namespace chat

#pragma once
// How events from the server look on the client's output: the line for each
// event, its colours, its timestamp, and whether it rings the bell.

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

/// How much of an event's time a line shows.
enum class Timestamps {
    Off,    ///< none
    Short,  ///< "HH:MM" local time (the default)
    Long,   ///< "YYYY-MM-DD HH:MM:SS" local time
};

/// When a received message rings the terminal bell.
enum class Bell {
    Off,      ///< never
    Mention,  ///< a DM to us, or a message that mentions our name (the default)
    All,      ///< every message from someone else
};

/// "off" / "short" / "long" and back; nullopt for any other word.
std::optional<Timestamps> parseTimestamps(std::string_view word);
std::string_view timestampsName(Timestamps timestamps);
/// "off" / "mention" / "all" and back; nullopt for any other word.
std::optional<Bell> parseBell(std::string_view word);
std::string_view bellName(Bell bell);

/// The colours user names are drawn from: the 16 basic colours every
/// terminal has, or the 256-colour palette (xterm-256color and most others).
enum class Palette { Basic16, Extended256 };

struct RenderOptions {
    std::string self;         ///< our own user name, to mark our messages and mentions
    std::string currentRoom;  ///< events from other rooms show the room's name
    bool color = false;       ///< ANSI colours; never any escape byte when false
    Timestamps timestamps = Timestamps::Short;
    Bell bell = Bell::Mention;
    /// A person reads this on a terminal (not a pipe): without colours,
    /// mentions are marked "! " and our own messages "> " so that they still
    /// stand out, and local notices are timestamped like messages.
    bool terminal = false;
    Palette palette = Palette::Basic16;
};

/// A line for the terminal and the column its text starts at, where wrapped
/// rows are indented.
struct RenderedLine {
    std::string text;
    std::size_t indent = 0;
};

/// One line (without newline) for an event, or nullopt for messages that
/// are not shown (ok, pong, ...). Every string from the server passes
/// through visibleText, so the line is safe to print whatever the server sent.
std::optional<RenderedLine> renderEventLine(const Poco::JSON::Object::Ptr& event, const RenderOptions& options);
/// renderEventLine's text.
std::optional<std::string> renderEvent(const Poco::JSON::Object::Ptr& event, const RenderOptions& options);

/// True when the event should ring the terminal bell under options.bell.
bool ringsBell(const Poco::JSON::Object::Ptr& event, const RenderOptions& options);

/// True when `text` names `self` as a word of its own, ignoring case
/// ("hi Alice!" mentions alice; "malice" does not).
bool mentions(std::string_view text, std::string_view self);

/// "HH:MM" in local time for a UTC millisecond timestamp.
std::string formatClock(std::int64_t millis);

/// The time as `timestamps` asks, in local time: "", "HH:MM" or
/// "YYYY-MM-DD HH:MM:SS".
std::string formatTimestamp(std::int64_t millis, Timestamps timestamps);

/// The time of a stored event (backlog, history, search results) in local
/// time, with the date when its day is not the day of `now`:
///   Short: "18:02" today, "2026-11-30 18:02" on another day;
///   Long:  "2026-11-30 18:02:05" always;
///   Off:   "" today, "2026-11-30" on another day (the date is kept: without
///          it, old lines could pass for today's).
std::string formatStoredTime(std::int64_t millis, Timestamps timestamps, std::int64_t now);

/// What starts a stored event's line when there are no colours to dim it
/// with (NO_COLOR, --color never, a pipe): a middle dot and a space.
inline constexpr const char* kStoredMark = "\xc2\xb7 ";

/// A stored event (from a `backlog` event or a `history` answer) as a line of
/// history: renderEventLine's line without its colours or markers, with
/// formatStoredTime's time, then dimmed as a whole (SGR 2) when
/// options.color, else starting with kStoredMark, so that it never passes
/// for live traffic. Such lines never ring the bell. `now`: ms since the epoch.
std::optional<RenderedLine> renderStoredLine(const Poco::JSON::Object::Ptr& event, const RenderOptions& options,
                                             std::int64_t now);

/// The styles (SGR escape sequences) lines are painted with. Every user
/// name has a stable colour; the other styles differ from all name colours
/// and from each other.
namespace style {
inline constexpr const char* kReset = "\033[0m";
inline constexpr const char* kSelf = "\033[1m";            ///< our own name: bold
inline constexpr const char* kNotice = "\033[2m";          ///< "* alice joined", timestamps: dim
inline constexpr const char* kDirect = "\033[1;35m";       ///< "[DM from alice]": bold magenta
inline constexpr const char* kMention = "\033[30;43m";     ///< text that mentions us: black on yellow
inline constexpr const char* kError = "\033[31m";          ///< client errors: red
inline constexpr const char* kMarker = "\033[7m";          ///< the "-- new --" read marker: reverse video
/// The colour of a user name: the same name (in any case) always gets the
/// same one of the palette's colours.
const char* nameColor(std::string_view name, Palette palette = Palette::Basic16);
/// The colours nameColor picks from: mid-tone colours that read on dark and
/// on light backgrounds, without red (errors), magenta (DMs), and the
/// bright yellows, whites and greys that vanish on one or the other.
const std::vector<const char*>& namePalette(Palette palette = Palette::Basic16);
}  // namespace style

/// `text` wrapped in `sgr` and a reset when `color`, else `text` unchanged.
std::string paint(const std::string& text, const char* sgr, bool color);

}  // namespace chat

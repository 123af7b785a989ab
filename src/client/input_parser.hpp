#pragma once
// Turns one line typed by a person (or piped in) into what the client does.
// The same commands work in the interactive client and in piped input.

#include <string>
#include <string_view>
#include <vector>

namespace chat {

struct InputCommand {
    enum class Kind {
        Empty,    ///< nothing to do (blank line)
        Say,      ///< text to `room` (empty: the current room)
        Action,   ///< /me text, to the current room
        Direct,   ///< text to user `target`
        Reply,    ///< text to whoever last sent us a DM
        Join,     ///< /join #room
        Leave,    ///< /leave [#room] (empty room: the current one)
        Rooms,    ///< /rooms
        Topic,    ///< /topic [#room] [text]: show (empty text) or set
        Who,      ///< /who [#room]; text "here" (from /names): the current room
        Whois,    ///< /whois user
        Nick,     ///< /nick name
        Away,     ///< /away [message]
        Back,     ///< /back
        Register, ///< /register: make the current name an account (the terminal asks the password)
        Tokens,   ///< /tokens: list the account's tokens; text "revoke", target the id: revoke one
        Help,     ///< /help [command]
        Bell,     ///< /bell [off|mention|all]: show or set (client-side only)
        Timestamps,  ///< /timestamps [off|short|long]: show or set (client-side only)
        Query,    ///< /query [user]: plain lines go to `target` (empty: back to the current room)
        Switch,   ///< /switch [#room|@user|-]: look at `room` or `target`; neither: the next with unread
                  ///< traffic (text "previous" for "-": the one before; digits: the Nth, rooms then queries)
        Ignore,   ///< /ignore [user]: hide `target`'s messages (empty: list who is ignored)
        Unignore, ///< /unignore user
        History,  ///< /history [#room|@user] [N]: `room` or `target` (neither: the current one), `limit` N
        Search,   ///< /search [#room] words: `text` the words, `room` when given
        Moderate, ///< /op /deop /kick /ban /unban /mute /unmute /mode /invite /kill: `action` the
                  ///< request type; `room` (empty: the current room; "*": the whole server),
                  ///< `target` the user (or, with `address`, an IP address), `duration`, `text`
                  ///< the reason (for mode: "+i", "-i" or empty)
        Quit,     ///< /quit, quit, exit
        Invalid,  ///< a line the client refuses; `error` says why
    };
    Kind kind = Kind::Empty;
    std::string target;  ///< user name (Direct, Whois, Nick) or command name (Help)
    std::string room;    ///< room name, '#' included, when one was given (Moderate: or "*", see above)
    std::string text;    ///< message, topic or away text; the setting for Bell and Timestamps
    std::string error;   ///< for Invalid
    std::size_t limit = 0;  ///< History: how many events (0: the default, kHistoryDefault)
    std::string action;     ///< Moderate: the request's type ("kick", "ban", ...)
    std::string duration;   ///< Moderate: "10m", "2h", "7d"... (empty: permanent)
    bool address = false;   ///< Moderate: `target` is an IP address (ban, unban)
};

/// /history's N: kHistoryDefault when not given, at most kHistoryMax (the server's limit).
inline constexpr std::size_t kHistoryDefault = 50;
inline constexpr std::size_t kHistoryMax = 200;
/// /search's words: at most this many bytes (the server's limit); results asked for.
inline constexpr std::size_t kSearchMaxBytes = 200;
inline constexpr std::size_t kSearchLimit = 20;

/// `//text` sends "/text" literally. Unknown `/commands` and bad names are
/// Invalid, never sent.
InputCommand parseInput(std::string_view line);

/// `text` cut into pieces of at most `maxBytes` bytes, between words where
/// possible and never inside a UTF-8 character; one piece when it fits.
std::vector<std::string> splitMessage(std::string_view text, std::size_t maxBytes);

/// Every command with its aliases, usage and a one-line description.
struct CommandHelp {
    std::string name;
    std::vector<std::string> aliases;
    std::string usage;
    std::string summary;
};
const std::vector<CommandHelp>& commandHelp();

/// The text shown for `/help` (empty `command`) or `/help command`.
std::string inputHelp(std::string_view command = {});

}  // namespace chat

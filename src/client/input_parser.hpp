#pragma once
// Turns one line typed by a person (or piped in) into what the client does.

#include <string>
#include <string_view>

namespace chat {

struct InputCommand {
    enum class Kind {
        Empty,    ///< nothing to do (blank line)
        Say,      ///< text to the current room
        Direct,   ///< text to one user: `@user text`, `/msg user text`
        Who,      ///< `/who`
        Help,     ///< `/help`
        Quit,     ///< `/quit`, `quit`, `exit`
        Invalid,  ///< a line the client refuses; `error` says why
    };
    Kind kind = Kind::Empty;
    std::string target;  ///< user name for Direct
    std::string text;    ///< message text for Say and Direct
    std::string error;   ///< for Invalid
};

/// `//text` sends "/text" literally. Unknown `/commands` are Invalid, never sent.
InputCommand parseInput(std::string_view line);

/// The help text shown for `/help`, one command a line.
std::string inputHelp();

}  // namespace chat

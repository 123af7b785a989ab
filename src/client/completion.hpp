#pragma once
// What Tab offers in the interactive client: commands, user names and room
// names, chosen from the words before the cursor. Pure: no readline here.

#include <string>
#include <string_view>
#include <vector>

namespace chat {

/// The names completion chooses from.
struct CompletionSources {
    std::vector<std::string> commands;  ///< command names and aliases, without '/'
    std::vector<std::string> users;     ///< user names (without our own)
    std::vector<std::string> rooms;     ///< room names, '#' included
};

/// The candidates for the word that ends at the cursor.
struct Completion {
    std::size_t start = 0;                ///< where that word begins in the line
    std::vector<std::string> candidates;  ///< replacements for the word, sorted ignoring case
    std::string suffix;                   ///< what follows a sole candidate: " ", or ": " after a name that starts the line
};

/// Completes the last word of `beforeCursor` (the line up to the cursor),
/// ignoring case:
///   "/jo"           -> "/join"            (commands, first word)
///   "bo"            -> "bob" + ": "       (a name at the start of a line addresses that user)
///   "@bo", "/msg bo"-> "@bob", "bob"      (users where a command wants one)
///   "#de", "/join de" -> "#dev"           (rooms)
///   "/history d"    -> "#dev", "@dave"    (a room or a user)
///   "/bell m"       -> "mention"          (a setting's values)
///   "hi bo"         -> "bob"              (a name inside the text)
Completion complete(std::string_view beforeCursor, const CompletionSources& sources);

/// The longest prefix all candidates share, ignoring case, spelled as in the first.
std::string commonPrefix(const std::vector<std::string>& candidates);

}  // namespace chat

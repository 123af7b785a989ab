#pragma once
// Asking for a password on the terminal without echoing it.

#include <optional>
#include <string>

namespace chat {

/// Writes `prompt` to the controlling terminal (/dev/tty) and reads one line
/// from it with echo off (termios), restoring the terminal's settings after,
/// also on Ctrl-C (SIGINT is ignored while asking). The line never passes
/// through readline, so it is in no history. nullopt when there is no
/// terminal or input ended (Ctrl-D).
std::optional<std::string> askPassword(const std::string& prompt);

/// Asks twice ("Password for bob: ", "Again: "); nullopt when there is no
/// terminal, input ended, or the two differ (said on the terminal).
std::optional<std::string> askNewPassword(const std::string& prompt);

}  // namespace chat

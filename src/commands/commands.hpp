#pragma once
// One setup function per subcommand: each adds its options and a callback
// that runs it. A non-zero result leaves through CLI::RuntimeError(code).

#include <CLI/CLI.hpp>

namespace chat::commands {

void setupServe(CLI::App& app);
void setupConnect(CLI::App& app);
void setupSend(CLI::App& app);
void setupPasswd(CLI::App& app);
void setupLogin(CLI::App& app);   ///< and its counterpart:
void setupLogout(CLI::App& app);

/// The user name to use when --user is not given: $CHAT_USER, then $USER.
std::string defaultUser();

}  // namespace chat::commands

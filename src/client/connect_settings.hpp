#pragma once
// The settings of `chat connect`: command-line options, the environment
// and the config file, in that order of precedence.

#include "client/interactive_client.hpp"
#include "client/tls_options.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace chat {

/// The options as parsed, before the config file fills the gaps.
struct ConnectCommandLine {
    ConnectOptions options;
    std::string color = "auto";
    std::string timestamps = "short";
    std::string bell = "mention";
    std::string colors = "auto";
    double pingSeconds = 30;
    bool noReconnect = false;
    bool noTyping = false;
    bool noReadReceipts = false;
    std::string config;  ///< --config FILE; empty: the default file, if it exists
    TlsCommandLine tls;
};

/// Adds connect's options to `connect`, bound to `line`. --host, --port and
/// --user also read CHAT_HOST, CHAT_PORT and CHAT_USER.
void addConnectOptions(CLI::App& connect, ConnectCommandLine& line);

/// After parsing: fills every setting that neither a flag nor the
/// environment gave from the config file (--config FILE, else
/// defaultConfigPath() when that file exists), then the user name from
/// $USER, and returns the finished options. Throws CLI::FileError when an
/// explicit --config file is missing, CLI::ConfigError for an unknown
/// setting, CLI::ValidationError for a bad value or a contradictory
/// address (each exits 64). A chats:// host or --tls (or `tls = true`)
/// gives TLS settings; the question on first use is for runInteractive.
ConnectOptions resolveConnectOptions(CLI::App& connect, ConnectCommandLine& line);

/// The settings a config file holds: `key = value` lines at the top or in a
/// [connect] section (other sections are ignored), read with CLI11's INI
/// reader. Throws like resolveConnectOptions.
std::map<std::string, std::string> readConfigFile(const std::string& path);

/// $XDG_CONFIG_HOME/chat/config.ini, else ~/.config/chat/config.ini; empty
/// when neither variable is set.
std::string defaultConfigPath();

/// $XDG_STATE_HOME/chat/history, else ~/.local/state/chat/history; empty
/// when neither variable is set.
std::string defaultHistoryPath();

}  // namespace chat

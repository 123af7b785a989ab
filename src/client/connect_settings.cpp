#include "client/connect_settings.hpp"

#include <algorithm>
#include <cstdlib>
#include <sys/stat.h>

namespace chat {

namespace {
const std::vector<std::string>& settingNames() {
    static const std::vector<std::string> names{"host", "port", "user", "color",  "colors",       "timestamps",
                                                "bell", "tls",  "ca-file", "typing", "read-receipts"};
    return names;
}

/// $VARIABLE/rest when VARIABLE is an absolute path, else $HOME/fallback/rest.
std::string xdgPath(const char* variable, const char* fallback, const std::string& rest) {
    if (const char* base = std::getenv(variable); base && base[0] == '/') return std::string(base) + "/" + rest;
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/" + fallback + "/" + rest;
    return {};
}

bool isFile(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}
}  // namespace

std::string defaultConfigPath() { return xdgPath("XDG_CONFIG_HOME", ".config", "chat/config.ini"); }

std::string defaultHistoryPath() { return xdgPath("XDG_STATE_HOME", ".local/state", "chat/history"); }

void addConnectOptions(CLI::App& connect, ConnectCommandLine& line) {
    auto& o = line.options;
    connect.add_option("--host", o.host, "Server address: a host name, an IP address, or chat[s]://HOST[:PORT]")->envname("CHAT_HOST")->capture_default_str();
    connect.add_option("--port", o.port, "Server port (1-65535; 5051 with TLS when not given)")
        ->envname("CHAT_PORT")
        ->check(CLI::Range(1, 65535).description(""))
        ->capture_default_str();
    connect.add_option("--user", o.user, "Your name (default: $CHAT_USER, then the config file, then $USER)")
        ->envname("CHAT_USER");
    connect.add_option("--ping-interval", line.pingSeconds,
                       "Seconds of silence before pinging the server; it counts as lost after twice this")
        ->check(CLI::Range(0.05, 3600.0))
        ->capture_default_str();
    connect.add_option("--color", line.color, "Colours: auto (on a terminal, unless NO_COLOR is set), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    connect.add_option("--colors", line.colors,
                       "Name colours: auto (256 when TERM or COLORTERM says so), 256, or 16 (basic)")
        ->check(CLI::IsMember({"auto", "256", "16"}))
        ->capture_default_str();
    connect.add_option("--timestamps", line.timestamps, "Message times: off, short (HH:MM) or long (date and seconds)")
        ->check(CLI::IsMember({"off", "short", "long"}))
        ->capture_default_str();
    connect.add_option("--bell", line.bell, "Ring the terminal bell: off, mention (DMs and your name) or all")
        ->check(CLI::IsMember({"off", "mention", "all"}))
        ->capture_default_str();
    connect.add_flag("--no-reconnect", line.noReconnect,
                     "When the connection drops, exit 69 instead of reconnecting (the default on a terminal)");
    connect.add_flag("--no-typing", line.noTyping,
                     "Do not tell others while you type (they see \"NAME is typing…\" otherwise)");
    connect.add_flag("--no-read-receipts", line.noReadReceipts,
                     "Do not tell the sender when you have seen a private message (\"seen\")");
    connect.add_flag("--json", o.json,
                     "Bot mode: print every server message as a JSON line; read JSON requests or text lines");
    addTlsOptions(connect, line.tls);
    connect.add_option("--config", line.config,
                       "Settings file (default: $XDG_CONFIG_HOME/chat/config.ini, i.e. ~/.config/chat/config.ini)");
}

std::map<std::string, std::string> readConfigFile(const std::string& path) {
    CLI::ConfigINI ini;
    std::map<std::string, std::string> settings;
    for (const auto& item : ini.from_file(path)) {
        if (item.name == "++" || item.name == "--") continue;  // section markers
        if (!(item.parents.empty() || (item.parents.size() == 1 && item.parents[0] == "connect"))) continue;
        const auto& names = settingNames();
        if (std::find(names.begin(), names.end(), item.name) == names.end())
            throw CLI::ConfigError(path + ": unknown setting '" + item.fullname() +
                                   "' (settings: host, port, user, color, colors, timestamps, bell, tls, ca-file, typing, read-receipts)");
        std::string value;
        for (const auto& input : item.inputs) value += (value.empty() ? "" : " ") + input;
        settings[item.name] = value;
    }
    return settings;
}

ConnectOptions resolveConnectOptions(CLI::App& connect, ConnectCommandLine& line) {
    std::string path = line.config;
    if (path.empty()) {
        path = defaultConfigPath();
        if (!isFile(path)) path.clear();  // no default file: nothing to read
    }
    if (!path.empty()) {
        for (const auto& [key, value] : readConfigFile(path)) {
            // typing and read-receipts are on/off settings; their flags say --no-….
            const bool negated = key == "typing" || key == "read-receipts";
            auto* option = connect.get_option_no_throw(negated ? "--no-" + key : "--" + key);
            if (!option || option->count() > 0) continue;  // a flag or the environment said it already
            if (negated && value != "true" && value != "false")
                throw CLI::ValidationError(path + ": " + key + " = " + value + ": use true or false");
            try {
                option->add_result(negated ? (value == "true" ? "false" : "true") : value);
                option->run_callback();
            } catch (const CLI::ParseError& e) {
                throw CLI::ValidationError(path + ": " + key + " = " + value + ": " + e.what());
            }
        }
    }
    auto options = line.options;
    const auto server = resolveServer(options.host, options.port, connect.get_option("--port")->count() > 0, line.tls);
    options.host = server.address.host;
    options.port = server.address.port;
    options.tls = server.address.tls;
    options.tlsSettings = server.tls;
    if (options.user.empty())
        if (const char* user = std::getenv("USER"); user && *user) options.user = user;
    options.pingInterval = std::chrono::milliseconds(static_cast<long long>(line.pingSeconds * 1000));
    options.color = line.color == "always" ? ColorMode::Always : line.color == "never" ? ColorMode::Never : ColorMode::Auto;
    options.timestamps = parseTimestamps(line.timestamps).value_or(Timestamps::Short);
    options.bell = parseBell(line.bell).value_or(Bell::Mention);
    if (line.colors == "256") options.palette = Palette::Extended256;
    if (line.colors == "16") options.palette = Palette::Basic16;
    options.reconnect = !line.noReconnect;
    options.typing = !line.noTyping;
    options.readReceipts = !line.noReadReceipts;
    options.historyFile = defaultHistoryPath();
    options.ignoreFile = xdgPath("XDG_STATE_HOME", ".local/state", "chat/ignore");
    return options;
}

}  // namespace chat

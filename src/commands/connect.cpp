#include "commands/commands.hpp"

#include "client/connect_settings.hpp"
#include "client/interactive_client.hpp"
#include "shared/exit_codes.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace chat::commands {

std::string defaultUser() {
    for (const char* variable : {"CHAT_USER", "USER"})
        if (const char* value = std::getenv(variable); value && *value) return value;
    return {};
}

void setupConnect(CLI::App& app) {
    auto line = std::make_shared<ConnectCommandLine>();
    auto* connect = app.add_subcommand("connect", "Chat interactively (or pipe lines in, or run a bot with --json)");
    addConnectOptions(*connect, *line);
    connect->footer(
        "Settings: flags override CHAT_HOST, CHAT_PORT and CHAT_USER, which override the config file\n"
        "(host, port, user, color, colors, timestamps, bell, tls, ca-file as 'key = value' lines).\n"
        "Exit status: 0 left, 64 usage or bad settings, 69 server unreachable or connection lost (or plaintext/TLS\n"
        "on the wrong port), 75 timed out, 76 the server broke the protocol (it is not trusted: control characters\n"
        "it sends are shown, not obeyed), 77 the server's TLS certificate is not trusted, 78 login refused.\n"
        "A registered --user logs in with CHAT_TOKEN, else the token 'chat login' stored for the server and\n"
        "user, else the password in CHAT_PASSWORD, else one asked on the terminal without echo.");
    connect->callback([connect, line] {
        const auto options = resolveConnectOptions(*connect, *line);
        if (options.user.empty()) {
            std::cerr << "chat connect: no user name: use --user NAME or set CHAT_USER\n";
            throw CLI::RuntimeError(exit_code::kUsage);
        }
        if (options.tlsSettings.insecure) std::cerr << "chat connect: " << kInsecureWarning << "\n";
        std::signal(SIGPIPE, SIG_IGN);
        if (const int code = runInteractive(options); code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace chat::commands

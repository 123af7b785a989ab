#include "commands/commands.hpp"

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
    auto options = std::make_shared<ConnectOptions>();
    auto* connect = app.add_subcommand("connect", "Chat interactively (or pipe lines in)");
    connect->add_option("--host", options->host, "Server address")->envname("CHAT_HOST")->capture_default_str();
    connect->add_option("--port", options->port, "Server port")->envname("CHAT_PORT")->capture_default_str();
    connect->add_option("--user", options->user, "Your name (default: $CHAT_USER, then $USER)");
    auto pingSeconds = std::make_shared<double>(30);
    connect->add_option("--ping-interval", *pingSeconds,
                        "Seconds of silence before pinging the server; it counts as lost after twice this")
        ->check(CLI::Range(0.05, 3600.0))
        ->capture_default_str();
    connect->callback([options, pingSeconds] {
        options->pingInterval = std::chrono::milliseconds(static_cast<long long>(*pingSeconds * 1000));
        if (options->user.empty()) options->user = defaultUser();
        if (options->user.empty()) {
            std::cerr << "chat connect: no user name: use --user NAME or set CHAT_USER\n";
            throw CLI::RuntimeError(exit_code::kUsage);
        }
        std::signal(SIGPIPE, SIG_IGN);
        if (const int code = runInteractive(*options); code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace chat::commands

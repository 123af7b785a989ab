// chat: one binary, git-style subcommands. Each subcommand lives in
// src/commands/; this file only wires them up and maps errors to exit codes.

#include "commands/commands.hpp"
#include "shared/exit_codes.hpp"

#include <algorithm>
#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"chat - a terminal chat system: server, interactive client and one-shot sender", "chat"};
    app.set_version_flag("--version", std::string("chat ") + CHAT_VERSION);
    app.require_subcommand(1);
    app.footer("Run 'chat COMMAND --help' for a command's options; 'man chat' for the manual.");
    chat::commands::setupServe(app);
    chat::commands::setupConnect(app);
    chat::commands::setupSend(app);
    chat::commands::setupPasswd(app);
    chat::commands::setupLogin(app);
    chat::commands::setupLogout(app);

    if (argc < 2) {
        std::cerr << app.help();
        return chat::exit_code::kUsage;
    }
    const std::string first = argv[1];
    const auto subcommands = app.get_subcommands([](CLI::App*) { return true; });
    const bool known = std::any_of(subcommands.begin(), subcommands.end(), [&](CLI::App* s) { return s->check_name(first); });
    if (first[0] != '-' && !known) {
        std::cerr << "chat: unknown command '" << first << "' (commands: serve, connect, send, passwd, login, logout; see chat --help)\n";
        return chat::exit_code::kUsage;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : chat::exit_code::kUsage;
    }
    return chat::exit_code::kOk;
}

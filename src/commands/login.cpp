#include "commands/commands.hpp"

#include "client/credentials.hpp"
#include "client/tls_options.hpp"
#include "client/token_login.hpp"
#include "shared/exit_codes.hpp"

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>

namespace chat::commands {

namespace {
struct ServerLine {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    TlsCommandLine tls;
    double timeoutSeconds = 10;
};

void addServerOptions(CLI::App& app, ServerLine& line) {
    app.add_option("--host", line.host, "Server address: a host name, an IP address, or chat[s]://HOST[:PORT]")
        ->envname("CHAT_HOST")
        ->capture_default_str();
    app.add_option("--port", line.port, "Server port (1-65535; 5051 with TLS when not given)")
        ->envname("CHAT_PORT")
        ->check(CLI::Range(1, 65535).description(""))
        ->capture_default_str();
    app.add_option("--timeout", line.timeoutSeconds, "Seconds to wait for the server")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    addTlsOptions(app, line.tls);
}

ResolvedServer resolve(CLI::App& app, const ServerLine& line, const char* command) {
    auto server = resolveServer(line.host, line.port, app.get_option("--port")->count() > 0, line.tls);
    if (server.tls.insecure) std::cerr << "chat " << command << ": " << kInsecureWarning << "\n";
    return server;
}

std::chrono::milliseconds millis(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

std::string credentialsPathOrExit(const char* command) {
    const auto path = defaultCredentialsPath();
    if (path.empty()) {
        std::cerr << "chat " << command << ": no place for the credentials file: set XDG_CONFIG_HOME or HOME\n";
        throw CLI::RuntimeError(exit_code::kUsage);
    }
    return path;
}
}  // namespace

void setupLogin(CLI::App& app) {
    auto line = std::make_shared<ServerLine>();
    auto user = std::make_shared<std::string>();
    auto* login = app.add_subcommand("login", "Log in once and store a token for scripts (chat send, chat connect)");
    addServerOptions(*login, *line);
    login->add_option("--user", *user, "Account name (default: $CHAT_USER, then $USER)");
    login->footer(
        "Asks the account's password on the terminal without echo (or reads CHAT_PASSWORD), asks the server\n"
        "for a token labelled with this machine's name and today's date, and stores it in\n"
        "$XDG_CONFIG_HOME/chat/credentials (~/.config/chat/credentials; mode 0600), one per server. chat send\n"
        "and chat connect then log in with it; chat logout revokes it. Only a hash of it is kept on the server.\n"
        "Exit status: 0 stored, 64 usage or nothing to ask on, 69 server unreachable, 73 cannot write the file,\n"
        "75 timed out or too many failed logins, 77 the server's TLS certificate is not trusted, 78 login refused.");
    login->callback([login, line, user] {
        LoginOptions o;
        const auto server = resolve(*login, *line, "login");
        o.address = server.address;
        o.tls = server.tls;
        o.user = user->empty() ? defaultUser() : *user;
        if (o.user.empty()) {
            std::cerr << "chat login: no user name: use --user NAME or set CHAT_USER\n";
            throw CLI::RuntimeError(exit_code::kUsage);
        }
        if (const char* password = std::getenv("CHAT_PASSWORD")) o.password = password;
        o.credentialsPath = credentialsPathOrExit("login");
        o.timeout = millis(line->timeoutSeconds);
        std::signal(SIGPIPE, SIG_IGN);
        if (const int code = runLogin(o); code != 0) throw CLI::RuntimeError(code);
    });
}

void setupLogout(CLI::App& app) {
    auto line = std::make_shared<ServerLine>();
    auto* logout = app.add_subcommand("logout", "Revoke the token chat login stored for a server, and forget it");
    addServerOptions(*logout, *line);
    logout->footer(
        "Logs in with the stored token, revokes it on the server (sessions that logged in with it end), and\n"
        "removes its entry from the credentials file. A token the server no longer accepts is removed too.\n"
        "Exit status: 0 done (or nothing stored), 69 server unreachable (the entry is kept), 73 cannot rewrite\n"
        "the file, 75 timed out, 77 the server's TLS certificate is not trusted.");
    logout->callback([logout, line] {
        LogoutOptions o;
        const auto server = resolve(*logout, *line, "logout");
        o.address = server.address;
        o.tls = server.tls;
        o.credentialsPath = credentialsPathOrExit("logout");
        o.timeout = millis(line->timeoutSeconds);
        std::signal(SIGPIPE, SIG_IGN);
        if (const int code = runLogout(o); code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace chat::commands

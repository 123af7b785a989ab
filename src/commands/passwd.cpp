#include "commands/commands.hpp"

#include "client/password_change.hpp"
#include "client/tls_options.hpp"
#include "shared/exit_codes.hpp"

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>

namespace chat::commands {

void setupPasswd(CLI::App& app) {
    auto options = std::make_shared<PasswdOptions>();
    auto timeoutSeconds = std::make_shared<double>(10);
    auto host = std::make_shared<std::string>("127.0.0.1");
    auto port = std::make_shared<std::uint16_t>(kDefaultPort);
    auto tlsLine = std::make_shared<TlsCommandLine>();
    auto* passwd = app.add_subcommand("passwd", "Change the password of your account on the server");
    passwd->add_option("--host", *host, "Server address: a host name, an IP address, or chat[s]://HOST[:PORT]")
        ->envname("CHAT_HOST")
        ->capture_default_str();
    passwd->add_option("--port", *port, "Server port (1-65535; 5051 with TLS when not given)")
        ->envname("CHAT_PORT")
        ->check(CLI::Range(1, 65535).description(""))
        ->capture_default_str();
    passwd->add_option("--user", options->user, "Account name (default: $CHAT_USER, then $USER)");
    passwd->add_option("--timeout", *timeoutSeconds, "Seconds for the whole command")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    addTlsOptions(*passwd, *tlsLine);
    passwd->footer(
        "Asks the old password, then the new one twice, on the terminal without echo. Scripts set\n"
        "CHAT_PASSWORD (old) and CHAT_NEW_PASSWORD (new).\n"
        "Exit status: 0 changed, 64 nothing to ask on, 65 new password refused, 69 server unreachable,\n"
        "75 timed out or too many failed logins, 77 the server's TLS certificate is not trusted (never asked:\n"
        "pin it with --fingerprint), 78 wrong password or refused over plaintext.");
    passwd->callback([passwd, options, timeoutSeconds, host, port, tlsLine] {
        auto o = *options;
        const auto server = resolveServer(*host, *port, passwd->get_option("--port")->count() > 0, *tlsLine);
        o.address = server.address;
        o.tls = server.tls;
        if (o.tls.insecure) std::cerr << "chat passwd: " << kInsecureWarning << "\n";
        if (o.user.empty()) o.user = defaultUser();
        if (o.user.empty()) {
            std::cerr << "chat passwd: no user name: use --user NAME or set CHAT_USER\n";
            throw CLI::RuntimeError(exit_code::kUsage);
        }
        if (const char* old = std::getenv("CHAT_PASSWORD")) o.oldPassword = old;
        if (const char* fresh = std::getenv("CHAT_NEW_PASSWORD")) o.newPassword = fresh;
        o.timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(*timeoutSeconds * 1000)));
        std::signal(SIGPIPE, SIG_IGN);
        if (const int code = runPasswd(o); code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace chat::commands

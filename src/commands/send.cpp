#include "commands/commands.hpp"

#include "client/one_shot_sender.hpp"
#include "client/credentials.hpp"
#include "client/tls_options.hpp"
#include "client/token_login.hpp"
#include "shared/exit_codes.hpp"

#include <cmath>
#include <cstdlib>
#include <csignal>
#include <iostream>
#include <iterator>

namespace chat::commands {

namespace {
struct SendCommandOptions {
    SendOptions send;
    double timeoutSeconds = 10;
    std::vector<std::string> words;
    bool lines = false;
    TlsCommandLine tls;
};

std::string joinWords(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
    return text;
}
}  // namespace

void setupSend(CLI::App& app) {
    auto options = std::make_shared<SendCommandOptions>();
    auto* send = app.add_subcommand("send", "Send a message from a script and exit");
    send->add_option("--host", options->send.host, "Server address: a host name, an IP address, or chat[s]://HOST[:PORT]")->envname("CHAT_HOST")->capture_default_str();
    send->add_option("--port", options->send.port, "Server port (1-65535; 5051 with TLS when not given)")
        ->envname("CHAT_PORT")
        ->check(CLI::Range(1, 65535).description(""))
        ->capture_default_str();
    send->add_option("--user", options->send.user, "Sender name (default: $CHAT_USER, then $USER)");
    send->add_option("--timeout", options->timeoutSeconds, "Seconds to wait for the server's answers")
        ->check(CLI::Range(0.001, 86400.0))
        ->capture_default_str();
    addTlsOptions(*send, options->tls);
    send->add_flag("--lines", options->lines, "Read stdin and send each non-empty line as its own message");
    send->add_option("target", options->send.target, "@user (a private message) or #room (posted without joining)")->required();
    send->add_option("text", options->words, "Message text; none or - reads stdin");
    send->footer(
        "Exit status: 0 delivered (to a registered user who is offline: kept for their next login),\n"
        "64 usage, 65 text refused, 67 no such user online or no such room,\n"
        "69 server unreachable (or plaintext/TLS on the wrong port), 75 timed out (or the offline user's mailbox is full),\n"
        "77 the server's TLS certificate is not trusted (never asked: pin it with --fingerprint), 78 login refused.\n"
        "A registered user logs in with $CHAT_TOKEN, else the token 'chat login' stored for this server and\n"
        "user, else the password in $CHAT_PASSWORD.");
    send->callback([send, options] {
        auto& o = options->send;
        const auto server = resolveServer(o.host, o.port, send->get_option("--port")->count() > 0, options->tls);
        o.host = server.address.host;
        o.port = server.address.port;
        o.tls = server.address.tls;
        o.tlsSettings = server.tls;
        if (o.tlsSettings.insecure) std::cerr << "chat send: " << kInsecureWarning << "\n";
        if (o.user.empty()) o.user = defaultUser();
        if (o.user.empty()) {
            std::cerr << "chat send: no user name: use --user NAME or set CHAT_USER\n";
            throw CLI::RuntimeError(exit_code::kUsage);
        }
        o.token = loginToken(server.address, o.user, defaultCredentialsPath());
        if (const char* password = std::getenv("CHAT_PASSWORD"); password && o.token.empty()) o.password = password;
        o.timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(options->timeoutSeconds * 1000)));
        const bool fromStdin = options->words.empty() || (options->words.size() == 1 && options->words[0] == "-");
        if (options->lines && !fromStdin) {
            std::cerr << "chat send: --lines reads stdin; give no TEXT (or -)\n";
            throw CLI::RuntimeError(exit_code::kUsage);
        }
        if (fromStdin) {
            const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
            o.texts = messagesFromInput(input, options->lines);
        } else {
            o.texts = {joinWords(options->words)};
        }
        std::signal(SIGPIPE, SIG_IGN);
        if (const int code = runSend(o); code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace chat::commands

#include "commands/commands.hpp"

#include "server/chat_server.hpp"
#include "server/account_store.hpp"
#include "server/authenticator.hpp"
#include "server/history_writer.hpp"
#include "server/origin_policy.hpp"
#include "server/moderation_store.hpp"
#include "server/password_hash.hpp"
#include "shared/exit_codes.hpp"
#include "shared/tls_certificates.hpp"
#include "shared/validation.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <pthread.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace chat::commands {

namespace {
struct ServeOptions {
    std::string host = "0.0.0.0";
    std::uint16_t port = 5050;
    std::size_t maxClients = 1000;
    std::string motd;
    std::size_t maxText = 4096;
    std::string logLevel = "info";
    std::string defaultRoom = "#lobby";
    std::vector<std::string> rooms;
    std::size_t maxRooms = 50;
    std::size_t maxPerIp = 16;
    std::size_t maxQueue = 1024 * 1024;
    std::size_t maxBacklogMiB = 64;
    double rate = 5;
    double burst = 20;
    double pingInterval = 30;
    double helloTimeout = 10;
    std::string db;  // empty: defaultDatabase()
    std::size_t backlog = 50;
    int historyDays = 0;
    std::size_t historyMaxPerRoom = 100000;
    bool requireAccount = false;
    bool allowPlaintextAuth = false;
    std::vector<std::string> admins;  // --admin: registered accounts with rights in every room
    std::string tlsCert;
    std::string tlsKey;
    std::uint16_t tlsPort = 5051;
    bool tlsOnly = false;
    std::string generateCert;  // a directory: write a self-signed certificate there and exit
    std::vector<std::string> certHosts;
    bool web = false;  // --web-port was given
    std::uint16_t webPort = 8080;
    std::vector<std::string> webOrigins;
};

/// --generate-cert: DIR/cert.pem and DIR/key.pem for the hosts, never
/// overwriting; prints the fingerprint and the command to serve with.
int generateCertificate(const ServeOptions& options) {
    std::vector<std::string> hosts = options.certHosts;
    if (hosts.empty()) {
        hosts = {"localhost", "127.0.0.1", "::1"};
        char name[256] = {};
        if (::gethostname(name, sizeof name - 1) == 0 && *name && std::string(name) != "localhost") hosts.emplace_back(name);
    }
    const std::string dir = options.generateCert;
    const std::string cert = dir + "/cert.pem";
    const std::string key = dir + "/key.pem";
    for (const auto& path : {cert, key}) {
        if (std::filesystem::exists(path)) {
            std::cerr << "chat serve: " << path << " already exists; not overwriting it (remove it first)\n";
            return exit_code::kCantCreate;
        }
    }
    try {
        std::error_code ignored;
        std::filesystem::create_directories(dir, ignored);
        const auto pair = tls::makeSelfSigned({hosts});
        tls::writePemFiles(pair, cert, key);
        std::string names;
        for (const auto& host : hosts) names += (names.empty() ? "" : ", ") + host;
        std::cout << "wrote " << cert << " and " << key << " (mode 0600), self-signed for " << names << "\n"
                  << "SHA-256 fingerprint: " << tls::fingerprintSha256(pair.certificate) << "\n"
                  << "serve with: chat serve --tls-cert " << cert << " --tls-key " << key << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "chat serve: --generate-cert: " << e.what() << "\n";
        return exit_code::kCantCreate;
    }
    return exit_code::kOk;
}

/// $XDG_DATA_HOME/chat/chat.db, or ~/.local/share/chat/chat.db.
std::string defaultDatabase() {
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data == '/') return std::string(data) + "/chat/chat.db";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.local/share/chat/chat.db";
}

std::chrono::milliseconds millis(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

/// "builds" and "#builds" both name #builds.
std::string roomName(const std::string& name) { return !name.empty() && name[0] == '#' ? name : "#" + name; }

const auto kRoomValidator = CLI::Validator(
    [](std::string& value) {
        value = roomName(value);
        return chat::isValidRoomName(value) ? std::string()
                                            : "invalid room name '" + value + "': use 1-32 characters of A-Z a-z 0-9 _ . -";
    },
    "ROOM");

/// Each connection costs one descriptor (its socket). Raises the soft limit
/// to the hard one and warns when even that cannot hold --max-clients.
void raiseDescriptorLimit(std::size_t maxClients) {
    constexpr rlim_t kReserved = 64;  // listening socket, logs, epoll, spare accepts
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < maxClients + kReserved)
        spdlog::warn("--max-clients {} needs about {} file descriptors but the limit is {} (ulimit -n); "
                     "connections beyond that cannot be accepted",
                     maxClients, maxClients + kReserved, limit.rlim_cur);
}

/// Log lines waiting for the logging thread; beyond this the oldest are dropped.
constexpr std::size_t kLogQueueLines = 8192;

/// Logging never blocks a session thread: lines go into a bounded queue that
/// one thread writes to stderr. When stderr blocks (a pipe nobody reads, a
/// stopped terminal) the queue fills and the oldest lines are dropped
/// (overrun_oldest) instead of every logging thread waiting on the write.
void startLogging(const std::string& level) {
    spdlog::init_thread_pool(kLogQueueLines, 1);
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::async_logger>("chat", std::move(sink), spdlog::thread_pool(),
                                                         spdlog::async_overflow_policy::overrun_oldest);
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::flush_on(spdlog::level::info);
}

/// Writes out the queued log lines, waiting at most `grace`. Returns false
/// when stderr stayed blocked: the logging thread is stuck in a write, and
/// the process must leave with _exit(), because a normal exit joins that
/// thread (spdlog's registry owns it) and would wait forever. The logger
/// itself stays: a session thread still ending may log after this.
bool drainLogs(std::chrono::milliseconds grace) {
    if (const auto dropped = spdlog::thread_pool()->overrun_counter(); dropped > 0)
        spdlog::warn("{} log line(s) were dropped because stderr could not keep up", dropped);
    spdlog::default_logger()->flush();  // queued behind every line so far; does not wait
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (spdlog::thread_pool()->queue_size() > 0) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // spdlog offers nothing to wait on
    }
    return true;
}

/// SIGHUP: new TLS connections use the certificate and key as they are now
/// on disk; existing ones keep theirs. A failed reload keeps the old pair.
void reloadTls(TlsServerContext* tls) {
    if (!tls) {
        spdlog::info("received SIGHUP: nothing to reload (no --tls-cert)");
        return;
    }
    try {
        tls->reload();
        spdlog::info("reloaded the TLS certificate {} and key {} (SHA-256 {})", tls->certPath(), tls->keyPath(),
                     tls->fingerprint());
    } catch (const TlsSetupError& e) {
        spdlog::error("TLS reload failed, keeping the previous certificate (SHA-256 {}): {}", tls->fingerprint(),
                      e.what());
    }
}

/// The exit code, after the log is written out (or given up on).
int finish(int code) {
    // std::cout was flushed line by line (std::endl); std::cerr must not be
    // touched here: the stuck logging thread holds stderr's stdio lock.
    if (!drainLogs(std::chrono::seconds(2))) _exit(code);
    return code;
}

int runServe(const ServeOptions& options) {
    if (!options.generateCert.empty()) return generateCertificate(options);
    if (options.tlsCert.empty() != options.tlsKey.empty()) {
        std::cerr << "chat serve: " << (options.tlsCert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key")
                  << " (both, or neither)\n";
        return exit_code::kUsage;
    }
    if (options.tlsOnly && options.tlsCert.empty()) {
        std::cerr << "chat serve: --tls-only needs --tls-cert and --tls-key\n";
        return exit_code::kUsage;
    }
    for (const auto& origin : options.webOrigins) {
        if (!OriginPolicy::normalizeOrigin(origin)) {
            std::cerr << "chat serve: --web-origin " << origin
                      << ": not an origin; write it as http://host[:port] or https://host[:port], with no path\n";
            return exit_code::kUsage;
        }
    }
    if (!options.webOrigins.empty() && !options.web) {
        std::cerr << "chat serve: --web-origin needs --web-port\n";
        return exit_code::kUsage;
    }
    std::shared_ptr<TlsServerContext> tls;
    if (!options.tlsCert.empty()) {
        try {
            tls = std::make_shared<TlsServerContext>(options.tlsCert, options.tlsKey);
        } catch (const TlsSetupError& e) {
            std::cerr << "chat serve: " << e.what() << "\n";
            return exit_code::kNoInput;
        }
    }
    startLogging(options.logLevel);

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);  // reloads the TLS certificate and key
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started below inherits this
    std::signal(SIGPIPE, SIG_IGN);
    // Past a file-size limit (ulimit -f) a write fails with EFBIG, which the
    // history reports like a full disk, instead of killing the server.
    std::signal(SIGXFSZ, SIG_IGN);
    raiseDescriptorLimit(options.maxClients);

    ServerConfig config;
    config.host = options.host;
    config.port = options.port;
    config.plaintext = !options.tlsOnly;
    config.tls = tls;
    config.tlsPort = options.tlsPort;
    if (options.web) {
        WebConfig web;
        web.host = options.host;
        web.port = options.webPort;
        web.origins = options.webOrigins;
        config.web = web;
    }
    config.hub.maxClients = options.maxClients;
    config.hub.motd = options.motd;
    config.hub.maxTextBytes = options.maxText;
    config.hub.defaultRoom = options.defaultRoom;
    config.hub.permanentRooms = options.rooms;
    config.hub.maxRoomsPerUser = options.maxRooms;
    config.hub.maxPerIp = options.maxPerIp;
    config.hub.ratePerSecond = options.rate;
    config.hub.rateBurst = options.burst;
    config.session.maxQueuedBytes = options.maxQueue;
    config.session.conversation.pingInterval = millis(options.pingInterval);
    config.session.conversation.helloTimeout = millis(options.helloTimeout);
    config.backlogBudget = options.maxBacklogMiB * 1024 * 1024;
    config.hub.backlog = options.backlog;
    const auto db = options.db.empty() ? defaultDatabase() : options.db;
    std::unique_ptr<SqliteHistory> history;  // outlives the server: declared first, destroyed last
    try {
        history = std::make_unique<SqliteHistory>(HistoryOptions{db, options.historyDays, options.historyMaxPerRoom});
    } catch (const std::exception& e) {
        std::cerr << "chat serve: cannot open the history database " << db << ": " << e.what() << "\n";
        return finish(exit_code::kOsError);
    }
    config.history = history.get();
    spdlog::info("history in {}", db == ":memory:" ? std::string("memory only (--db :memory:)") : db);
    // Accounts live in the same file (its own connection; with :memory:, a
    // database of their own that lasts as long as the process).
    std::unique_ptr<PasswordHasher> hasher;
    std::unique_ptr<AccountStore> accounts;
    std::unique_ptr<TokenStore> tokens;
    try {
        hasher = std::make_unique<PasswordHasher>();
        accounts = std::make_unique<AccountStore>(db, *hasher);
        tokens = std::make_unique<TokenStore>(db);
    } catch (const std::exception& e) {
        std::cerr << "chat serve: cannot open the accounts in " << db << ": " << e.what() << "\n";
        return finish(exit_code::kOsError);
    }
    LogThrottle authLogs;
    Authenticator authenticator(*accounts, AuthOptions{options.requireAccount, options.allowPlaintextAuth}, &authLogs,
                                tokens.get());
    config.hub.auth = &authenticator;
    for (const auto& admin : options.admins) {
        if (!accounts->isRegistered(admin)) {
            std::cerr << "chat serve: --admin " << admin << ": '" << admin
                      << "' is not a registered account in " << db
                      << " (register it first: start without --admin, connect as " << admin << ", /register)\n";
            return finish(exit_code::kUsage);
        }
    }
    config.hub.admins = options.admins;
    std::unique_ptr<ModerationStore> moderation;
    try {
        moderation = std::make_unique<ModerationStore>(db);
    } catch (const std::exception& e) {
        std::cerr << "chat serve: cannot open the moderation tables in " << db << ": " << e.what() << "\n";
        return finish(exit_code::kOsError);
    }
    config.hub.moderation = moderation.get();
    if (options.allowPlaintextAuth)
        spdlog::warn("--allow-plaintext-auth: passwords are accepted over unencrypted connections from anywhere");
    std::unique_ptr<ChatServer> server;
    try {
        server = std::make_unique<ChatServer>(config);
        server->start();
    } catch (const Poco::Exception& e) {
        std::cerr << "chat serve: cannot listen on " << options.host << ":" << options.port
                  << (tls ? " or TLS port " + std::to_string(options.tlsPort) : std::string())
                  << (options.web ? " or web port " + std::to_string(options.webPort) : std::string()) << ": "
                  << e.displayText() << "\n";
        return finish(exit_code::kOsError);
    } catch (const std::exception& e) {
        std::cerr << "chat serve: cannot start: " << e.what() << "\n";
        return finish(exit_code::kOsError);
    }
    if (const auto plain = server->plainAddress()) std::cout << "listening on " << plain->toString() << std::endl;
    if (const auto secure = server->tlsAddress()) std::cout << "listening for TLS on " << secure->toString() << std::endl;
    if (const auto web = server->webAddress()) std::cout << "listening for web on " << web->toString() << std::endl;

    int signal = 0;
    for (;;) {
        sigwait(&signals, &signal);
        if (signal != SIGHUP) break;
        reloadTls(tls.get());
    }
    spdlog::info("received {}; shutting down (a second signal exits at once)", strsignal(signal));
    std::thread([signals] {
        int again = 0;
        sigwait(&signals, &again);
        _exit(128 + again);
    }).detach();
    server->stop();
    spdlog::info("stopped");
    server.reset();
    history.reset();  // commits what is still queued
    return finish(exit_code::kOk);
}
}  // namespace

void setupServe(CLI::App& app) {
    auto options = std::make_shared<ServeOptions>();
    auto* serve = app.add_subcommand("serve", "Run the chat server");
    serve->footer(
        "Names are protected: a registered name (an account) needs its password or a token (chat login),\n"
        "and a guest name in use needs the key its first session got; several connections may share one\n"
        "name (they are one user). Accounts and tokens live in --db; only hashes of passwords and tokens.\n"
        "Moderation: the account that creates a room operates it; --admin NAME operates every room.\n"
        "TLS: --tls-cert and --tls-key add a TLS listener on --tls-port; SIGHUP reloads both files\n"
        "for new connections. --generate-cert DIR makes a self-signed pair for first use.\n"
        "Web: --web-port serves the browser client at http://HOST:PORT/ and WebSocket connections on\n"
        "/ws; with --tls-cert/--tls-key the web port speaks only HTTPS and wss:// (same certificate,\n"
        "reloaded on SIGHUP). Browsers may connect from the server's own origin (an address, localhost\n"
        "or a --web-origin host) and from --web-origin.");
    serve->add_option("--host", options->host, "Address to listen on")->capture_default_str();
    serve->add_option("--port", options->port, "TCP port to listen on (0 picks a free one)")->capture_default_str();
    serve->add_option("--max-clients", options->maxClients, "Most connections served at once")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    serve->add_option("--motd", options->motd, "Message of the day shown to every newcomer");
    serve->add_option("--max-text", options->maxText, "Longest message text in bytes")
        ->check(CLI::Range(1, 16384))
        ->capture_default_str();
    serve->add_option("--default-room", options->defaultRoom, "The room every user starts in")
        ->transform(kRoomValidator)
        ->capture_default_str();
    serve->add_option("--room", options->rooms, "A permanent room, kept even when empty (repeatable)")
        ->transform(kRoomValidator);
    serve->add_option("--max-rooms", options->maxRooms, "Most rooms one user may be in")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    serve->add_option("--max-per-ip", options->maxPerIp, "Most connections from one address (loopback included; IPv6 counts by /64)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    serve->add_option("--max-queue", options->maxQueue,
                      "Bytes a client may leave unread (its connection refusing them) before it is cut off "
                      "as a slow consumer")
        ->check(CLI::Range(65536, 1 << 30))
        ->capture_default_str();
    serve->add_option("--max-backlog", options->maxBacklogMiB,
                      "MiB queued server-wide because the server is behind, above which it stops reading "
                      "requests until it catches up (senders are slowed, readers are never cut for it)")
        ->check(CLI::Range(1, 65536))
        ->capture_default_str();
    serve->add_option("--rate", options->rate, "Messages per second one user may send, sustained")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    serve->add_option("--burst", options->burst, "Messages one user may send at once")
        ->check(CLI::Range(1.0, 1e6))
        ->capture_default_str();
    serve->add_option("--ping-interval", options->pingInterval,
                      "Seconds of silence before the server pings a client; it drops the client after twice this")
        ->check(CLI::Range(0.05, 3600.0))
        ->capture_default_str();
    serve->add_option("--hello-timeout", options->helloTimeout, "Seconds a new connection has to say hello")
        ->check(CLI::Range(0.05, 3600.0))
        ->capture_default_str();
    serve->add_option("--db", options->db,
                      "The history database (SQLite); \":memory:\" keeps nothing after the server stops "
                      "[default: $XDG_DATA_HOME/chat/chat.db or ~/.local/share/chat/chat.db]");
    serve->add_option("--backlog", options->backlog,
                      "Latest events of a room shown to whoever comes into it (0: none)")
        ->check(CLI::Range(0, 200))
        ->capture_default_str();
    serve->add_option("--history-days", options->historyDays,
                      "Delete stored events older than this many days (0: keep them forever)")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    serve->add_option("--history-max-per-room", options->historyMaxPerRoom,
                      "Keep at most this many events per room or private conversation, deleting the oldest "
                      "(0: no limit)")
        ->check(CLI::Range(0, 1000000000))
        ->capture_default_str();
    serve->add_flag("--require-account", options->requireAccount,
                    "Admit registered accounts only: a guest's hello is answered auth_required");
    serve->add_flag("--allow-plaintext-auth", options->allowPlaintextAuth,
                    "Accept passwords over unencrypted connections from other machines (by default only over "
                    "TLS or from loopback)");
    serve->add_option("--admin", options->admins,
                      "A server administrator (repeatable): a registered account with operator rights in every "
                      "room, server-wide bans and kill")
        ->type_name("NAME")
        ->check([](const std::string& name) {
            return chat::isValidName(name) ? std::string() : "invalid user name '" + name + "'";
        });
    serve->add_option("--tls-cert", options->tlsCert,
                      "PEM certificate (the server's first, then any chain) for the TLS listener; needs --tls-key")
        ->type_name("FILE");
    serve->add_option("--tls-key", options->tlsKey, "PEM private key of --tls-cert")->type_name("FILE");
    serve->add_option("--tls-port", options->tlsPort, "TCP port of the TLS listener (0 picks a free one)")
        ->capture_default_str();
    serve->add_option("--web-port", options->webPort,
                      "Serve the web client and WebSocket (/ws) on this TCP port; off unless given "
                      "(0 picks a free one)")
        ->capture_default_str();
    serve->add_option("--web-origin", options->webOrigins,
                      "Also allow browser pages from this origin (http(s)://host[:port]) to open a WebSocket "
                      "(repeatable; needs --web-port)")
        ->type_name("ORIGIN");
    serve->add_flag("--tls-only", options->tlsOnly, "Serve TLS only: no plaintext listener (--port is unused)");
    serve->add_option("--generate-cert", options->generateCert,
                      "Write a self-signed certificate and key (DIR/cert.pem, DIR/key.pem) for --cert-host names, "
                      "print its fingerprint and exit")
        ->type_name("DIR");
    serve->add_option("--cert-host", options->certHosts,
                      "A host name or address for --generate-cert (repeatable) "
                      "[default: localhost, 127.0.0.1, ::1 and this machine's host name]")
        ->type_name("NAME");
    serve->add_option("--log-level", options->logLevel, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
        ->capture_default_str();
    serve->callback([options, serve] {
        options->web = serve->get_option("--web-port")->count() > 0;
        if (const int code = runServe(*options); code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace chat::commands

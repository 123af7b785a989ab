#include "client/interactive_client.hpp"

#include "client/client_session.hpp"
#include "client/input_parser.hpp"
#include "client/known_servers.hpp"
#include "client/line_editor.hpp"
#include "client/guest_keys.hpp"
#include "client/password_prompt.hpp"
#include "client/paste_guard.hpp"
#include "client/reconnect_backoff.hpp"
#include "client/server_connection.hpp"
#include "client/server_trust.hpp"
#include "client/terminal_text.hpp"
#include "shared/exit_codes.hpp"

#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <iostream>
#include <langinfo.h>
#include <memory>
#include <poll.h>
#include <random>
#include <unistd.h>

namespace chat {

namespace {
using Clock = ServerConnection::Clock;
constexpr std::chrono::seconds kAnswerTimeout{10};
constexpr std::chrono::seconds kReconnectTimeout{5};

int signalPipe[2] = {-1, -1};

/// Each signal becomes one byte (its number) on the pipe the loop polls.
void onSignal(int signo) {
    const auto byte = static_cast<unsigned char>(signo);
    const int saved = errno;
    [[maybe_unused]] auto n = ::write(signalPipe[1], &byte, 1);
    errno = saved;
}

void catchSignal(int signo) {
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signo, &action, nullptr);
}

void installSignalPipe(bool terminal) {
    if (signalPipe[0] < 0 && ::pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    for (int signo : {SIGINT, SIGTERM, SIGHUP}) catchSignal(signo);
    if (terminal)
        for (int signo : {SIGWINCH, SIGTSTP}) catchSignal(signo);
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + visibleText(n);
    return out;
}

/// Compact JSON with DEL and the C1 controls (which Poco leaves raw) escaped
/// too, so that no server string can reach a terminal showing --json output
/// as a control; the text is unchanged for a JSON reader.
std::string safeJson(const std::string& json) {
    std::string out;
    out.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
        const auto c = static_cast<unsigned char>(json[i]);
        const auto next = i + 1 < json.size() ? static_cast<unsigned char>(json[i + 1]) : 0;
        if (c == 0x7F) {
            out += "\\u007f";
        } else if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
            static const char* hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[next >> 4];
            out += hex[next & 15];
            ++i;
        } else if (c < 0x20) {  // never raw in JSON; escaped in case a writer did not
            static const char* hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += json[i];
        }
    }
    return out;
}

bool colourWanted(ColorMode mode, bool terminal) {
    if (mode != ColorMode::Auto) return mode == ColorMode::Always;
    const char* noColor = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    return terminal && !(noColor && *noColor) && !(term && std::strcmp(term, "dumb") == 0);
}

Palette detectPalette() {
    const char* term = std::getenv("TERM");
    const char* colorterm = std::getenv("COLORTERM");
    const bool many = (term && std::strstr(term, "256color")) ||
                      (colorterm && (std::strcmp(colorterm, "truecolor") == 0 || std::strcmp(colorterm, "24bit") == 0));
    return many ? Palette::Extended256 : Palette::Basic16;
}

/// Readline edits characters, not bytes, only in a multibyte locale; the
/// protocol is UTF-8, so a C or POSIX environment gets C.UTF-8.
void useTerminalLocale() {
    std::setlocale(LC_CTYPE, "");
    const char* codeset = nl_langinfo(CODESET);
    if (!codeset || std::strcmp(codeset, "UTF-8") != 0)
        if (std::strcmp(codeset ? codeset : "", "ANSI_X3.4-1968") == 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

/// Piped: chat lines to stdout, errors to stderr.
class StdOutput final : public ClientOutput {
public:
    explicit StdOutput(bool color) : color_(color) {}
    void line(const std::string& text) override { std::cout << text << "\n" << std::flush; }
    void error(const std::string& text) override {
        std::cerr << paint("chat: " + text, style::kError, color_) << "\n" << std::flush;
    }

private:
    bool color_;
};

/// --json: every server message as one JSON line; nothing else on stdout.
class JsonOutput final : public ClientOutput {
public:
    void line(const std::string&) override {}
    void error(const std::string&) override {}
    void message(const Poco::JSON::Object::Ptr& message) override {
        // "type" first, as the server sends it; the other keys follow by name.
        Poco::JSON::Object::Ptr ordered = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        ordered->set("type", message->get("type"));
        for (const auto& [key, value] : *message)
            if (key != "type") ordered->set(key, value);
        std::cout << safeJson(toJson(ordered)) << "\n" << std::flush;
    }
};

/// A terminal: everything above the input line. Answers and errors start
/// with `clock`'s time (events and notices bring their own), so that every
/// line of the scrollback says when it came.
class TerminalOutput final : public ClientOutput {
public:
    TerminalOutput(std::unique_ptr<LineEditor>& editor, bool color, std::function<std::string()> clock)
        : editor_(editor), color_(color), clock_(std::move(clock)) {}
    void line(const std::string& text) override {
        const auto stamp = clock_();
        indented(stamp + text, displayWidth(stamp) + 2);
    }
    /// Wrapped here rather than by the terminal, so that every continuation
    /// row is indented and can never pass for a line of its own.
    void indented(const std::string& text, std::size_t indent) override {
        if (editor_) editor_->printAbove(wrapLine(text, editor_->columns(), indent));
        else std::cout << text << "\n" << std::flush;
    }
    void error(const std::string& text) override {
        const auto painted = clock_() + paint("chat: " + text, style::kError, color_);
        if (editor_) editor_->printAbove(painted, true);
        else std::cerr << painted << "\n" << std::flush;
    }
    void bell() override {
        if (editor_) editor_->bell();
    }

private:
    std::unique_ptr<LineEditor>& editor_;
    bool color_;
    std::function<std::string()> clock_;
};

enum class Mode { Terminal, Piped, Json };

/// One run of `chat connect`: the poll loop over the server connection,
/// stdin and the signal pipe, with the heartbeat, reconnection and paste
/// confirmation around a ClientSession.
class InteractiveLoop {
public:
    InteractiveLoop(const ConnectOptions& options, Mode mode) : options_(options), mode_(mode) {}

    int run();

private:
    Welcome connect(const std::string& user, std::chrono::milliseconds timeout);
    /// The first connection: on a terminal, a registered name's password is
    /// asked for (without echo) when $CHAT_PASSWORD gives none or a wrong one.
    Welcome firstConnect();
    /// One first-connection attempt, with the trust-on-first-use question.
    Welcome connectFirst();
    bool askToTrust(const UntrustedServer& question);
    void setUp(const Welcome& welcome);
    void send(const Poco::JSON::Object::Ptr& message);
    void lost(const std::string& why);
    void tryReconnect();
    void notice(const std::string& text);
    void onSignal(int signo);
    void onServer();
    void drainServer();
    void onTerminalInput(Clock::time_point now);
    /// The input line changed since the last key: tell the session (typing).
    void noteInputLine();
    void onPipedInput();
    void takeBatch(PasteGuard::Batch batch);
    void answerPaste(const std::string& answer);
    void handleLine(const std::string& line);
    /// /register on a terminal: asks the password twice (no echo), sends register.
    void registerName();
    void stopInput() { inputOpen_ = false; }
    Completion completeWord(std::string_view before) const;

    ConnectOptions options_;
    Mode mode_;
    std::string password_;  ///< $CHAT_PASSWORD or what was typed; kept for reconnects
    std::string key_;       ///< the guest key of the first welcome, until a session knows better
    bool color_ = false;
    std::unique_ptr<ServerConnection> connection_;
    std::unique_ptr<LineEditor> editor_;
    std::unique_ptr<ClientOutput> output_;
    std::unique_ptr<ClientSession> client_;

    bool inputOpen_ = true;
    bool leaveNow_ = false;   ///< SIGTERM, SIGHUP, piped Ctrl-C: go without waiting for answers
    bool sendFailed_ = false;  ///< a write to the server failed: treat as lost
    std::string pipedInput_;
    std::optional<Clock::time_point> drainDeadline_;
    Clock::time_point lastHeard_{};
    bool pingSent_ = false;

    unsigned attempt_ = 0;
    std::optional<Clock::time_point> reconnectAt_;
    std::mt19937 random_{std::random_device{}()};

    PasteGuard paste_;
    std::optional<PasteGuard::Batch> confirming_;  ///< a large paste waiting for y/N
    LineEditor::Stash stashed_;                    ///< the input line while asking
    std::string lastInput_;                        ///< the input line after the last key
};

/// Connects and says hello, each within `timeout` (at most 10 s for the
/// welcome). Only before the line editor starts may a person be asked to
/// trust a certificate: on reconnection an unknown one is refused.
Welcome InteractiveLoop::connect(const std::string& user, std::chrono::milliseconds timeout) {
    auto tls = options_.tlsSettings;
    tls.canAsk = mode_ == Mode::Terminal && !editor_;
    auto connection = std::make_unique<ServerConnection>(ServerAddress{options_.host, options_.port, options_.tls}, tls, timeout);
    const auto key = client_ ? client_->guestKey() : key_;
    const auto welcome = connection->hello(user, std::string("chat/") + CHAT_VERSION, true,
                                           Clock::now() + std::min<std::chrono::milliseconds>(timeout, kAnswerTimeout),
                                           HelloCredentials{password_, key});
    connection_ = std::move(connection);
    lastHeard_ = Clock::now();
    pingSent_ = false;
    sendFailed_ = false;
    return welcome;
}

Welcome InteractiveLoop::firstConnect() {
    if (const char* password = std::getenv("CHAT_PASSWORD")) password_ = password;
    key_ = loadGuestKey(options_.host, options_.port, options_.user);
    for (int attempt = 0;; ++attempt) {
        try {
            auto welcome = connectFirst();
            key_ = welcome.key;
            saveGuestKey(options_.host, options_.port, welcome.user, welcome.key);
            return welcome;
        } catch (const ClientError& e) {
            const bool askable = e.code() == "auth_required" || e.code() == "auth_failed";
            if (!askable || mode_ != Mode::Terminal || attempt >= 3) throw;
            if (e.code() == "auth_failed") std::cerr << "chat: " << e.what() << "\n";
            auto typed = askPassword("Password for " + visibleText(options_.user) + ": ");
            if (!typed) throw;
            password_ = *typed;
        }
    }
}

/// One attempt of the first connection, with the trust-on-first-use
/// question on a terminal: yes pins the fingerprint and connects again (a
/// certificate that changed in between is refused like any other).
Welcome InteractiveLoop::connectFirst() {
    try {
        return connect(options_.user, std::chrono::seconds(10));
    } catch (const UntrustedServer& e) {
        if (!e.askable()) throw;
        if (!askToTrust(e)) throw ClientError(exit_code::kUntrusted, "not trusted; not connecting");
        const std::string server = ServerAddress{options_.host, options_.port, true}.name();
        try {
            KnownServers::append(options_.tlsSettings.knownServersPath, server, e.fingerprint());
            std::cerr << "Remembered " << server << " in " << options_.tlsSettings.knownServersPath << ".\n";
        } catch (const std::runtime_error& failed) {
            // Trusted for this run all the same, as the person said.
            std::cerr << "chat: could not remember the server (" << failed.what() << "); trusting it for this session only\n";
            options_.tlsSettings.fingerprint = e.fingerprint();
        }
        return connect(options_.user, std::chrono::seconds(10));
    }
}

/// Shows the certificate and asks once on the terminal, before readline
/// owns it; the answer is read from stdin byte by byte so that nothing typed
/// after it is swallowed.
bool InteractiveLoop::askToTrust(const UntrustedServer& question) {
    std::cout << std::flush;
    std::cerr << question.what() << "\n" << kTrustQuestion << std::flush;
    std::string answer;
    char c = 0;
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
        answer += c;
    }
    return confirms(answer);
}

void InteractiveLoop::send(const Poco::JSON::Object::Ptr& message) {
    if (!connection_) {
        sendFailed_ = true;
        return;
    }
    try {
        connection_->send(message);
    } catch (const ClientError&) {
        sendFailed_ = true;
    }
}

void InteractiveLoop::notice(const std::string& text) { client_->notice(text); }

void InteractiveLoop::setUp(const Welcome& welcome) {
    const bool terminal = mode_ == Mode::Terminal;
    color_ = colourWanted(options_.color, terminal);
    if (isatty(STDIN_FILENO) && mode_ != Mode::Json) {
        // On a terminal, timestamped like every later line.
        const auto time = terminal ? formatTimestamp(nowMillis(), options_.timestamps) : std::string();
        const auto stamp = time.empty() ? std::string() : paint(time, style::kNotice, color_) + " ";
        std::cout << stamp << "Welcome, " << visibleText(welcome.user) << "! Start chatting.\n";
        if (!welcome.motd.empty()) std::cout << stamp << visibleText(welcome.motd) << "\n";
        std::cout << stamp << "Online (" << welcome.online.size() << "): " << join(welcome.online) << "\n"
                  << stamp << "Type /help for commands.\n"
                  << std::flush;
    }
    if (mode_ == Mode::Json) output_ = std::make_unique<JsonOutput>();
    else if (terminal)
        output_ = std::make_unique<TerminalOutput>(editor_, color_,
                                                   [this] { return client_ ? client_->clockPrefix() : std::string(); });
    else output_ = std::make_unique<StdOutput>(color_);

    RenderOptions render;
    render.color = color_;
    render.timestamps = options_.timestamps;
    render.bell = options_.bell;
    render.terminal = terminal;
    render.palette = options_.palette.value_or(detectPalette());
    client_ = std::make_unique<ClientSession>(welcome, [this](const auto& m) { send(m); }, *output_, render);
    if (terminal) client_->useIgnoreFile(options_.ignoreFile);
    if (terminal) client_->enableSignals(options_.typing, options_.readReceipts);
    if (mode_ == Mode::Json && welcome.message) output_->message(welcome.message);
    if (terminal)
        editor_ = std::make_unique<LineEditor>(client_->prompt(), options_.historyFile,
                                               [this](std::string_view before) { return completeWord(before); });
}

Completion InteractiveLoop::completeWord(std::string_view before) const {
    CompletionSources sources;
    for (const auto& command : commandHelp()) {
        sources.commands.push_back(command.name);
        sources.commands.insert(sources.commands.end(), command.aliases.begin(), command.aliases.end());
    }
    sources.users = client_->knownUsers();
    sources.rooms = client_->knownRooms();
    return complete(before, sources);
}

void InteractiveLoop::lost(const std::string& why) {
    if (mode_ != Mode::Terminal || !options_.reconnect || !inputOpen_)
        throw ClientError(exit_code::kUnavailable, "connection to server lost" + why);
    if (connection_) connection_->close();
    connection_.reset();
    sendFailed_ = false;
    client_->connectionLost();
    attempt_ = 0;
    const auto delay = reconnectDelay(attempt_, std::uniform_real_distribution<double>(0, 1)(random_));
    reconnectAt_ = Clock::now() + delay;
    notice("* connection to server lost" + why + "; reconnecting");
}

void InteractiveLoop::tryReconnect() {
    reconnectAt_.reset();
    try {
        const auto welcome = connect(client_->self(), kReconnectTimeout);
        attempt_ = 0;
        client_->reconnected(welcome);
        saveGuestKey(options_.host, options_.port, welcome.user, welcome.key);
        drainServer();  // events that came in the same read as the welcome
    } catch (const ClientError& e) {
        // A certificate no longer trusted stops reconnecting (exit 77), and
        // so does a refused login (exit 78).
        if (e.exitCode() == exit_code::kProtocol || e.exitCode() == exit_code::kUsage ||
            e.exitCode() == exit_code::kUntrusted || e.exitCode() == exit_code::kAuth)
            throw;
        // Quietly: the prompt says "(offline)" until it works; one line when it does.
        connection_.reset();
        const auto delay = reconnectDelay(++attempt_, std::uniform_real_distribution<double>(0, 1)(random_));
        reconnectAt_ = Clock::now() + delay;
    }
}

void InteractiveLoop::onSignal(int signo) {
    if (mode_ != Mode::Terminal || !editor_) {
        leaveNow_ = true;  // as before: any of SIGINT, SIGTERM, SIGHUP ends a piped client
        return;
    }
    switch (signo) {
    case SIGINT:
        if (confirming_) {
            answerPaste("");
            return;
        }
        if (editor_->interrupt() == LineEditor::Interrupt::Leave) stopInput();
        return;
    case SIGWINCH: editor_->resize(); return;
    case SIGTSTP:
        editor_->suspend();
        std::signal(SIGTSTP, SIG_DFL);
        std::raise(SIGTSTP);  // stops here until SIGCONT
        catchSignal(SIGTSTP);
        editor_->resume();
        return;
    default: leaveNow_ = true; return;
    }
}

void InteractiveLoop::onServer() {
    const bool open = connection_->readAvailable();
    lastHeard_ = Clock::now();
    pingSent_ = false;
    if (drainDeadline_) drainDeadline_ = lastHeard_ + kAnswerTimeout;
    drainServer();
    if (!open) lost("");
}

/// Every complete message already read, whether or not more bytes come.
void InteractiveLoop::drainServer() {
    while (connection_) {
        auto message = connection_->nextMessage();
        if (!message) break;
        client_->handleMessage(*message);
    }
}

void InteractiveLoop::handleLine(const std::string& line) {
    if (!inputOpen_) return;  // after /quit, the rest of a paste is not sent
    if (editor_) editor_->remember(line);
    if (editor_ && parseInput(line).kind == InputCommand::Kind::Register) return registerName();
    if (!client_->handleLine(line)) stopInput();
}

void InteractiveLoop::registerName() {
    const auto stash = editor_->stash();
    editor_->suspend();
    auto password = askNewPassword("Password for " + visibleText(client_->self()) + ": ");
    editor_->resume();
    editor_->unstash(stash);
    if (!password) return notice("* not registered");
    auto request = makeMessage("register");
    request->set("password", *password);
    client_->sendRequest(request);
    password_ = *password;  // reconnects log in with it
}

void InteractiveLoop::takeBatch(PasteGuard::Batch batch) {
    if (!batch.confirm) {
        for (const auto& line : batch.lines) handleLine(line);
        return;
    }
    stashed_ = editor_->stash();
    editor_->setPrompt("Send " + std::to_string(batch.lines.size()) + " pasted lines to " + visibleText(client_->currentContext()) +
                       "? [y/N] ");
    confirming_ = std::move(batch);
}

void InteractiveLoop::answerPaste(const std::string& answer) {
    auto batch = std::move(*confirming_);
    confirming_.reset();
    editor_->setPrompt(client_->prompt());
    editor_->unstash(stashed_);
    if (confirms(answer)) {
        for (const auto& line : batch.lines) handleLine(line);
    } else {
        for (const auto& line : batch.lines) editor_->remember(line);
        notice("* not sent: " + std::to_string(batch.lines.size()) + " pasted lines (Up brings them back)");
    }
}

void InteractiveLoop::noteInputLine() {
    auto text = editor_->text();
    if (text == lastInput_) return;  // a cursor movement, or nothing
    lastInput_ = std::move(text);
    if (!confirming_) client_->userTyping(lastInput_);
}

void InteractiveLoop::onTerminalInput(Clock::time_point now) {
    editor_->readInput();
    noteInputLine();
    paste_.input(now);
    for (const auto& line : editor_->takeLines()) {
        if (confirming_) answerPaste(line);
        else paste_.line(line, now);
    }
    for (const auto& command : editor_->takeCommands())
        if (!confirming_) client_->handleLine(command);
    if (editor_->endOfInput()) {
        if (confirming_) answerPaste("");
        stopInput();
    }
}

void InteractiveLoop::onPipedInput() {
    char buffer[4096];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    auto handle = [&](const std::string& line) {
        if (mode_ != Mode::Json) return handleLine(line);
        if (!inputOpen_) return;
        const auto start = line.find_first_not_of(" \t\r");
        if (start == std::string::npos) return;
        if (line[start] != '{') return client_->say(line.back() == '\r' ? line.substr(0, line.size() - 1) : line);
        auto parsed = parseMessage(line);
        if (!parsed) {
            std::cerr << "chat: not sent: " << parsed.error << "\n" << std::flush;
            return;
        }
        if (parsed.type == "quit") return stopInput();
        client_->sendRequest(parsed.message);
    };
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        if (!pipedInput_.empty()) handle(pipedInput_);
        pipedInput_.clear();
        stopInput();
        return;
    }
    pipedInput_.append(buffer, static_cast<std::size_t>(n));
    for (auto nl = pipedInput_.find('\n'); nl != std::string::npos && inputOpen_; nl = pipedInput_.find('\n')) {
        const std::string line = pipedInput_.substr(0, nl);
        pipedInput_.erase(0, nl + 1);
        handle(line);
    }
}

int InteractiveLoop::run() {
    try {
        const auto welcome = firstConnect();
        installSignalPipe(mode_ == Mode::Terminal);
        if (mode_ == Mode::Terminal) useTerminalLocale();
        setUp(welcome);
        drainServer();  // events that came in the same read as the welcome
        for (;;) {
            const auto now = Clock::now();
            if (connection_ && now >= lastHeard_ + 2 * options_.pingInterval) lost(" (no answer to ping)");
            if (connection_ && now >= lastHeard_ + options_.pingInterval && !pingSent_) {
                send(makeMessage("ping"));
                pingSent_ = true;
            }
            if (!connection_ && reconnectAt_ && now >= *reconnectAt_) tryReconnect();
            if (auto batch = paste_.take(now)) takeBatch(std::move(*batch));
            if (leaveNow_) break;
            if (!inputOpen_ && (!client_->awaitingAnswers() || !connection_)) break;
            if (!inputOpen_ && !drainDeadline_) drainDeadline_ = Clock::now() + kAnswerTimeout;
            if (drainDeadline_ && Clock::now() >= *drainDeadline_) {
                editor_.reset();
                std::cerr << "chat: timed out waiting for the server to answer\n";
                return exit_code::kTempFail;
            }
            if (editor_ && !confirming_) editor_->setPrompt(client_->prompt());

            auto wakeAt = now + std::chrono::hours(1);
            if (connection_) wakeAt = lastHeard_ + (pingSent_ ? 2 : 1) * options_.pingInterval;
            if (reconnectAt_) wakeAt = std::min(wakeAt, *reconnectAt_);
            if (drainDeadline_) wakeAt = std::min(wakeAt, now + std::chrono::milliseconds(100));
            if (const auto retry = client_->nextRetry()) wakeAt = std::min(wakeAt, *retry);
            if (const auto signal = client_->nextSignal()) wakeAt = std::min(wakeAt, *signal);
            if (const auto due = paste_.due()) wakeAt = std::min(wakeAt, *due);
            const int timeoutMs = static_cast<int>(std::max<long long>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(wakeAt - now).count() + 1));

            pollfd fds[3] = {{connection_ ? connection_->fd() : -1, POLLIN, 0},
                             {inputOpen_ ? STDIN_FILENO : -1, POLLIN, 0},
                             {signalPipe[0], POLLIN, 0}};
            // Bytes already decrypted inside TLS would not wake poll().
            const bool buffered = connection_ && connection_->pending();
            const int ready = ::poll(fds, 3, buffered ? 0 : timeoutMs);
            if (buffered) fds[0].revents |= POLLIN;
            if (ready < 0 && errno != EINTR) break;
            client_->retryDue(Clock::now());
            client_->signalsDue();
            if (fds[2].revents & POLLIN) {
                unsigned char signals[16];
                const ssize_t n = ::read(signalPipe[0], signals, sizeof signals);
                for (ssize_t i = 0; i < n; ++i) onSignal(signals[i]);
                if (leaveNow_) break;
            }
            if (connection_ && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) onServer();
            if (inputOpen_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                if (editor_) onTerminalInput(Clock::now());
                else onPipedInput();
            }
            if (sendFailed_) lost("");
        }
        editor_.reset();
        if (connection_) {
            send(makeMessage("quit"));
            connection_->close();
        }
        return exit_code::kOk;
    } catch (const ClientError& e) {
        editor_.reset();
        std::cout << std::flush;
        std::cerr << "chat: " << e.what() << "\n";
        return e.exitCode();
    } catch (const std::exception& e) {
        // Nothing should get here; if something does, leave the terminal
        // as it was found and say what, rather than abort.
        editor_.reset();
        std::cout << std::flush;
        std::cerr << "chat: internal error: " << visibleText(e.what()) << "\n";
        return exit_code::kSoftware;
    }
}
}  // namespace

int runInteractive(const ConnectOptions& options) {
    const Mode mode = options.json                                      ? Mode::Json
                      : isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) ? Mode::Terminal
                                                                        : Mode::Piped;
    InteractiveLoop loop(options, mode);
    return loop.run();
}

}  // namespace chat

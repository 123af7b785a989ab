#include "client/interactive_client.hpp"

#include "client/event_renderer.hpp"
#include "client/input_parser.hpp"
#include "client/server_connection.hpp"
#include "shared/exit_codes.hpp"

#include <Poco/JSON/Array.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <map>
#include <poll.h>
#include <unistd.h>

namespace chat {

namespace {
constexpr std::chrono::seconds kAnswerTimeout{10};

int signalPipe[2] = {-1, -1};

void onSignal(int) {
    const char byte = 1;
    [[maybe_unused]] auto n = ::write(signalPipe[1], &byte, 1);
}

void installSignalPipe() {
    if (::pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr);
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

/// The state of one interactive run: what we sent and still await.
class Client {
public:
    Client(ServerConnection& connection, const Welcome& welcome, bool terminal)
        : connection_(connection), terminal_(terminal) {
        render_.self = welcome.user;
        render_.color = terminal && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    }

    /// Handles one input line; false when the user asked to leave.
    bool handleLine(const std::string& line) {
        const auto command = parseInput(line);
        switch (command.kind) {
        case InputCommand::Kind::Empty: return true;
        case InputCommand::Kind::Quit: return false;
        case InputCommand::Kind::Help: std::cout << inputHelp() << std::flush; return true;
        case InputCommand::Kind::Invalid: std::cerr << "chat: " << command.error << "\n"; return true;
        case InputCommand::Kind::Who: request(makeMessage("who"), "who"); return true;
        case InputCommand::Kind::Say: {
            auto send = makeMessage("send");
            send->set("text", command.text);
            request(send, "send");
            return true;
        }
        case InputCommand::Kind::Direct: {
            auto send = makeMessage("send");
            send->set("to", "@" + command.target);
            send->set("text", command.text);
            request(send, "send");
            return true;
        }
        }
        return true;
    }

    void handleMessage(const Poco::JSON::Object::Ptr& message) {
        const auto type = stringField(message, "type").value_or("");
        if (type == "ok" || type == "error") {
            std::string kind;
            if (auto id = intField(message, "id")) {
                auto it = pending_.find(*id);
                if (it != pending_.end()) {
                    kind = it->second;
                    pending_.erase(it);
                }
            }
            if (type == "error") {
                std::cerr << "chat: " << stringField(message, "message").value_or("error") << " ("
                          << stringField(message, "code").value_or("?") << ")\n";
            } else if (kind == "who") {
                std::vector<std::string> users;
                Poco::JSON::Object::Ptr answer = message;
                if (auto array = answer->getArray("users"))
                    for (std::size_t i = 0; i < array->size(); ++i) users.push_back(array->getElement<std::string>(i));
                std::cout << "Online (" << users.size() << "): " << join(users) << "\n" << std::flush;
            }
            return;
        }
        if (auto line = renderEvent(message, render_)) std::cout << *line << "\n" << std::flush;
    }

    bool awaitingAnswers() const { return !pending_.empty(); }

private:
    void request(Poco::JSON::Object::Ptr message, const std::string& kind) {
        const auto id = ++lastId_;
        message->set("id", id);
        pending_[id] = kind;
        connection_.send(message);
    }

    ServerConnection& connection_;
    bool terminal_;
    RenderOptions render_;
    std::int64_t lastId_ = 0;
    std::map<std::int64_t, std::string> pending_;
};
}  // namespace

int runInteractive(const ConnectOptions& options) {
    const bool terminal = isatty(STDIN_FILENO);
    try {
        ServerConnection connection(options.host, options.port, std::chrono::seconds(10));
        const auto welcome = connection.hello(options.user, std::string("chat/") + CHAT_VERSION, true,
                                              ServerConnection::Clock::now() + kAnswerTimeout);
        if (terminal) {
            std::cout << "Welcome, " << welcome.user << "! Start chatting.\n";
            if (!welcome.motd.empty()) std::cout << welcome.motd << "\n";
            std::cout << "Online (" << welcome.online.size() << "): " << join(welcome.online) << "\n"
                      << "Type /help for commands.\n"
                      << std::flush;
        }
        installSignalPipe();
        Client client(connection, welcome, terminal);
        std::string input;
        bool inputOpen = true;
        std::optional<ServerConnection::Clock::time_point> drainDeadline;
        for (;;) {
            if (!inputOpen && !client.awaitingAnswers()) break;
            if (!inputOpen && !drainDeadline) drainDeadline = ServerConnection::Clock::now() + kAnswerTimeout;
            if (drainDeadline && ServerConnection::Clock::now() >= *drainDeadline) {
                std::cerr << "chat: timed out waiting for the server to answer\n";
                return exit_code::kTempFail;
            }
            pollfd fds[3] = {{connection.fd(), POLLIN, 0},
                             {inputOpen ? STDIN_FILENO : -1, POLLIN, 0},
                             {signalPipe[0], POLLIN, 0}};
            const int ready = ::poll(fds, 3, drainDeadline ? 100 : -1);
            if (ready < 0 && errno != EINTR) break;
            if (fds[2].revents & POLLIN) break;
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                const bool open = connection.readAvailable();
                while (auto message = connection.nextMessage()) client.handleMessage(*message);
                if (!open) throw ClientError(exit_code::kUnavailable, "connection to server lost");
            }
            if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                char buffer[4096];
                const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
                if (n <= 0) {
                    inputOpen = false;
                    if (!input.empty() && !client.handleLine(input)) break;
                    input.clear();
                    continue;
                }
                input.append(buffer, static_cast<std::size_t>(n));
                bool quit = false;
                for (auto nl = input.find('\n'); nl != std::string::npos; nl = input.find('\n')) {
                    const std::string line = input.substr(0, nl);
                    input.erase(0, nl + 1);
                    if (!client.handleLine(line)) {
                        quit = true;
                        break;
                    }
                }
                if (quit) inputOpen = false;
                if (quit && !client.awaitingAnswers()) break;
            }
        }
        try {
            connection.send(makeMessage("quit"));
        } catch (const ClientError&) {
        }
        connection.close();
        return exit_code::kOk;
    } catch (const ClientError& e) {
        std::cout << std::flush;
        std::cerr << "chat: " << e.what() << "\n";
        return e.exitCode();
    }
}

}  // namespace chat

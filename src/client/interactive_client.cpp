#include "client/interactive_client.hpp"

#include "client/client_session.hpp"
#include "client/server_connection.hpp"
#include "shared/exit_codes.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
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

/// Chat lines to stdout, errors to stderr.
class StdOutput final : public ClientOutput {
public:
    void line(const std::string& text) override { std::cout << text << "\n" << std::flush; }
    void error(const std::string& text) override { std::cerr << "chat: " << text << "\n" << std::flush; }
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
        StdOutput output;
        RenderOptions render;
        render.color = terminal && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
        ClientSession client(welcome, [&connection](const auto& m) { connection.send(m); }, output, render);
        std::string input;
        bool inputOpen = true;
        std::optional<ServerConnection::Clock::time_point> drainDeadline;
        auto lastHeard = ServerConnection::Clock::now();
        bool pingSent = false;
        for (;;) {
            const auto now = ServerConnection::Clock::now();
            if (now >= lastHeard + 2 * options.pingInterval)
                throw ClientError(exit_code::kUnavailable, "connection to server lost (no answer to ping)");
            if (now >= lastHeard + options.pingInterval && !pingSent) {
                connection.send(makeMessage("ping"));
                pingSent = true;
            }
            auto wakeAt = lastHeard + (pingSent ? 2 : 1) * options.pingInterval;
            if (drainDeadline) wakeAt = std::min(wakeAt, now + std::chrono::milliseconds(100));
            if (const auto retry = client.nextRetry()) wakeAt = std::min(wakeAt, *retry);
            const int timeoutMs = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(wakeAt - now).count() + 1);
            if (!inputOpen && !client.awaitingAnswers()) break;
            if (!inputOpen && !drainDeadline) drainDeadline = ServerConnection::Clock::now() + kAnswerTimeout;
            if (drainDeadline && ServerConnection::Clock::now() >= *drainDeadline) {
                std::cerr << "chat: timed out waiting for the server to answer\n";
                return exit_code::kTempFail;
            }
            pollfd fds[3] = {{connection.fd(), POLLIN, 0},
                             {inputOpen ? STDIN_FILENO : -1, POLLIN, 0},
                             {signalPipe[0], POLLIN, 0}};
            const int ready = ::poll(fds, 3, timeoutMs);
            if (ready < 0 && errno != EINTR) break;
            client.retryDue(ServerConnection::Clock::now());
            if (fds[2].revents & POLLIN) break;
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                const bool open = connection.readAvailable();
                lastHeard = ServerConnection::Clock::now();
                pingSent = false;
                if (drainDeadline) drainDeadline = lastHeard + kAnswerTimeout;
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

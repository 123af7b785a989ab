#include "support/tmux_session.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace chat::test {

namespace {
using Clock = std::chrono::steady_clock;

struct Output {
    int status = -1;
    std::string out;
};

/// Runs a program found on PATH; returns its exit status and stdout.
Output run(const std::vector<std::string>& args) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    REQUIRE(rc == 0);
    Output result;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(out[0], buffer, sizeof buffer);
        if (n > 0) result.out.append(buffer, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

/// 'text' for sh -c.
std::string quote(const std::string& text) {
    std::string out = "'";
    for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string trimRight(std::string line) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    return line;
}
}  // namespace

TmuxSession::TmuxSession(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                         const std::string& stdoutFile) {
    static std::atomic<int> counter{0};
    socket_ = "chat-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const auto config = dir_.path() + "/tmux.conf";
    std::ofstream(config) << "set -g remain-on-exit on\nset -g status off\nset -g history-limit 2000\n";
    const auto r = run({"tmux", "-L", socket_, "-f", config, "new-session", "-d", "-x", "120", "-y", "30",
                        command(args, env, stdoutFile)});
    REQUIRE(r.status == 0);
    socketPath_ = tmux({"display", "-p", "#{socket_path}"});
    while (!socketPath_.empty() && socketPath_.back() == '\n') socketPath_.pop_back();
}

TmuxSession::~TmuxSession() {
    endClient();
    run({"tmux", "-L", socket_, "kill-server"});
    if (!socketPath_.empty()) std::remove(socketPath_.c_str());  // kill-server leaves the socket file
}

void TmuxSession::endClient() {
    // kill-server hangs up the pane, which sends the client SIGHUP and then
    // SIGCONT. In an AddressSanitizer build a client that is exiting at that
    // moment may be inside LeakSanitizer's leak check, whose tracer stops
    // the process with PTRACE_ATTACH (a SIGSTOP): a SIGCONT arriving then
    // discards that SIGSTOP, the tracer waits for it forever and the client
    // spins at 100% CPU long after the test. So a client still running gets
    // SIGTERM alone (it leaves on it) and is waited for before kill-server.
    if (waitForExit(std::chrono::milliseconds(0))) return;
    const auto pane = run({"tmux", "-L", socket_, "display", "-p", "-t", "0", "#{pane_dead} #{pane_pid}"});
    int dead = 1, shell = -1;
    if (pane.status != 0 || std::sscanf(pane.out.c_str(), "%d %d", &dead, &shell) != 2 || dead || shell <= 0) return;
    // The pane runs sh, whose child is the client (env execs it).
    std::ifstream children("/proc/" + std::to_string(shell) + "/task/" + std::to_string(shell) + "/children");
    bool signalled = false;
    for (pid_t pid; children >> pid;) signalled = ::kill(pid, SIGTERM) == 0 || signalled;
    if (signalled) waitForExit(std::chrono::seconds(10));
}

void TmuxSession::restart(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    std::remove(statusFile().c_str());
    tmux({"respawn-pane", "-k", "-t", "0", command(args, env)});
}

std::string TmuxSession::command(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                                 const std::string& stdoutFile) const {
    // The client runs under sh, which writes its exit status to a file:
    // tmux's own pane_dead_status is not reliably set when the pane's
    // process exits. (`trap :` keeps sh alive through Ctrl-C without
    // making the client ignore it.)
    std::string line = "trap : INT; env";
    if (!env.count("NO_COLOR")) line += " -u NO_COLOR";
    std::map<std::string, std::string> all{{"LANG", "C.UTF-8"},
                                           {"XDG_STATE_HOME", dir_.path() + "/state"},
                                           {"XDG_CONFIG_HOME", dir_.path() + "/config"}};
    for (const auto& [k, v] : env) all[k] = v;
    for (const auto& [k, v] : all) line += " " + quote(k + "=" + v);
    line += " " + quote(CHAT_BINARY);
    for (const auto& a : args) line += " " + quote(a);
    if (!stdoutFile.empty()) line += " >" + quote(stdoutFile);
    return line + "; echo $? >" + quote(statusFile());
}

std::string TmuxSession::tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-L", socket_});
    auto r = run(args);
    INFO("tmux " << args.back() << " failed");
    REQUIRE(r.status == 0);
    return r.out;
}

void TmuxSession::type(const std::string& text) { tmux({"send-keys", "-t", "0", "-l", text}); }

void TmuxSession::keys(const std::vector<std::string>& names) {
    std::vector<std::string> args{"send-keys", "-t", "0"};
    args.insert(args.end(), names.begin(), names.end());
    tmux(args);
}

void TmuxSession::pipeOutput(const std::string& file) {
    tmux({"pipe-pane", "-t", "0", "cat >> '" + file + "'"});
}

void TmuxSession::resize(int columns, int rows) {
    tmux({"resize-window", "-t", "0", "-x", std::to_string(columns), "-y", std::to_string(rows)});
}

std::vector<std::string> TmuxSession::screen(bool escapes) {
    std::vector<std::string> args{"capture-pane", "-p", "-t", "0"};
    if (escapes) args.push_back("-e");
    const auto text = tmux(args);
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(trimRight(text.substr(start, nl - start)));
        start = nl + 1;
    }
    return lines;
}

std::string TmuxSession::screenText(bool escapes) {
    std::string text;
    for (const auto& line : screen(escapes)) text += line + "\n";
    return text;
}

TmuxSession::Cursor TmuxSession::cursor() {
    const auto text = tmux({"display", "-p", "-t", "0", "#{cursor_x} #{cursor_y}"});
    Cursor c;
    REQUIRE(std::sscanf(text.c_str(), "%d %d", &c.x, &c.y) == 2);
    return c;
}

bool TmuxSession::waitFor(const std::function<bool(const std::vector<std::string>&)>& ready,
                          std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        if (ready(screen())) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval, not synchronisation
    }
}

bool TmuxSession::waitForText(const std::string& needle, std::chrono::milliseconds wait) {
    return waitFor([&](const std::vector<std::string>& lines) { return findLine(lines, needle) >= 0; }, wait);
}

std::optional<int> TmuxSession::waitForExit(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        std::ifstream file(statusFile());
        std::string status;
        if (std::getline(file, status) && !file.eof()) return std::atoi(status.c_str());
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string TmuxSession::statusFile() const { return dir_.path() + "/exit-status"; }

int findLine(const std::vector<std::string>& screen, const std::string& needle) {
    for (int i = static_cast<int>(screen.size()) - 1; i >= 0; --i)
        if (screen[static_cast<std::size_t>(i)].find(needle) != std::string::npos) return i;
    return -1;
}

}  // namespace chat::test

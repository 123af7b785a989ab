#include "support/child_process.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace chat::test {

namespace {
using Clock = std::chrono::steady_clock;

int millisUntil(Clock::time_point deadline) {
    return static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
}

int decodeStatus(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}
}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    int in[2], out[2], err[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // Nothing else is inherited: in particular not the descriptor of
    // `flock /tmp/chat-build.lock ctest`, which a server orphaned by a killed
    // test binary would otherwise hold, blocking every later build.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // The test process ignores SIGPIPE (see write()); the child starts with
    // the default disposition, as it would from a shell.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> argStrings{CHAT_BINARY};
    argStrings.insert(argStrings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argStrings) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> merged;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [k, v] : env) merged[k] = v;
    std::vector<std::string> envStrings;
    for (const auto& [k, v] : merged)
        if (v != "<unset>") envStrings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : envStrings) envp.push_back(e.data());
    envp.push_back(nullptr);

    const int rc = posix_spawn(&pid_, CHAT_BINARY, &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    REQUIRE(rc == 0);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    ::fcntl(stdout_, F_SETFL, O_NONBLOCK);
    ::fcntl(stderr_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
    if (!status_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
    }
    for (int fd : {stdin_, stdout_, stderr_})
        if (fd >= 0) ::close(fd);
}

void ChildProcess::write(const std::string& bytes) {
    // Writing to a child that has already exited must fail the test, not
    // kill the test process with SIGPIPE.
    static const bool sigpipeIgnored = (std::signal(SIGPIPE, SIG_IGN), true);
    (void)sigpipeIgnored;
    REQUIRE(stdin_ >= 0);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(stdin_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        INFO("writing to the child's stdin: " << (n < 0 ? std::strerror(errno) : "no progress"));
        REQUIRE(n > 0);
        done += static_cast<std::size_t>(n);
    }
}

void ChildProcess::closeStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
}

bool ChildProcess::fill(Clock::time_point deadline) {
    if (stdoutClosed_ && stderrClosed_) return false;
    pollfd fds[2] = {{stdoutClosed_ ? -1 : stdout_, POLLIN, 0}, {stderrClosed_ ? -1 : stderr_, POLLIN, 0}};
    if (::poll(fds, 2, millisUntil(deadline)) <= 0) return false;
    char buffer[4096];
    if (fds[1].revents) {
        const ssize_t n = ::read(stderr_, buffer, sizeof buffer);
        if (n > 0) err_.append(buffer, static_cast<std::size_t>(n));
        else if (n == 0) stderrClosed_ = true;
    }
    if (fds[0].revents) {
        const ssize_t n = ::read(stdout_, buffer, sizeof buffer);
        if (n > 0) {
            out_.append(buffer, static_cast<std::size_t>(n));
            pending_.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            stdoutClosed_ = true;
        }
    }
    return true;
}

std::optional<std::string> ChildProcess::readLine(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        const auto nl = pending_.find('\n');
        if (nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        if (stdoutClosed_ || Clock::now() >= deadline) return std::nullopt;
        fill(deadline);
    }
}

std::optional<std::string> ChildProcess::waitForLine(const std::string& needle, std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    while (auto line = readLine(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
        if (line->find(needle) != std::string::npos) return line;
    }
    return std::nullopt;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds wait) {
    if (status_) return status_;
    const auto deadline = Clock::now() + wait;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            status_ = decodeStatus(status);
            while (fill(Clock::now() + std::chrono::milliseconds(50))) {
            }
            return status_;
        }
        if (Clock::now() >= deadline) return std::nullopt;
        fill(std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
    }
}

void ChildProcess::signal(int signo) { ::kill(pid_, signo); }

std::string ChildProcess::stderrText() {
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(stderr_, buffer, sizeof buffer);
        if (n <= 0) break;
        err_.append(buffer, static_cast<std::size_t>(n));
    }
    return err_;
}

bool ChildProcess::waitForStderr(const std::string& needle, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        if (stderrText().find(needle) != std::string::npos) return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{stderr_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return stderrText().find(needle) != std::string::npos;
        if (p.revents & (POLLHUP | POLLERR) && !(p.revents & POLLIN)) return stderrText().find(needle) != std::string::npos;
    }
}

RunningServer startServer(const std::vector<std::string>& extraArgs) {
    std::vector<std::string> args{"serve", "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    RunningServer server;
    server.process = std::make_unique<ChildProcess>(args);
    auto line = server.process->waitForLine("listening on ");
    INFO("server stderr: " << server.process->stderrText());
    REQUIRE(line);
    server.port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
    return server;
}

RunResult runChat(const std::vector<std::string>& args, const std::string& input,
                  const std::map<std::string, std::string>& env) {
    ChildProcess child(args, env);
    if (!input.empty()) child.write(input);
    child.closeStdin();
    auto code = child.wait(std::chrono::seconds(20));
    REQUIRE(code);
    return {*code, child.stdoutText(), child.stderrText()};
}

}  // namespace chat::test

#pragma once
// The real `chat` binary as a child process with pipes, for end-to-end tests.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace chat::test {

/// Starts CHAT_BINARY with `args`. stdin, stdout and stderr are pipes.
/// The destructor kills the child (SIGKILL) if it is still running.
class ChildProcess {
public:
    explicit ChildProcess(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    void write(const std::string& bytes);
    void closeStdin();

    /// The next stdout line (without newline), or nullopt if none arrives in time
    /// or stdout closes first.
    std::optional<std::string> readLine(std::chrono::milliseconds wait = std::chrono::seconds(5));

    /// Reads stdout lines until one contains `needle`; returns it or nullopt.
    std::optional<std::string> waitForLine(const std::string& needle,
                                           std::chrono::milliseconds wait = std::chrono::seconds(5));

    /// Exit status once the child has exited (128+N for signal N), or nullopt on time-out.
    std::optional<int> wait(std::chrono::milliseconds wait = std::chrono::seconds(10));

    void signal(int signo);
    pid_t pid() const { return pid_; }

    /// Reads stderr until it contains `needle` (anywhere in all of it so
    /// far); true when it does within `wait`.
    bool waitForStderr(const std::string& needle, std::chrono::milliseconds wait = std::chrono::seconds(5));

    /// Everything read so far from stdout / stderr (stderr is read at exit).
    const std::string& stdoutText() const { return out_; }
    std::string stderrText();

private:
    bool fill(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    int stdin_ = -1, stdout_ = -1, stderr_ = -1;
    std::string out_;
    std::string pending_;
    std::string err_;
    bool stdoutClosed_ = false;
    bool stderrClosed_ = false;
    std::optional<int> status_;
};

/// Starts `chat serve --host 127.0.0.1 --port 0 EXTRA...` and returns it
/// with the port it printed.
struct RunningServer {
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;
};
RunningServer startServer(const std::vector<std::string>& extraArgs = {});

/// Runs the binary to completion with `input` on stdin; returns exit code,
/// stdout and stderr.
struct RunResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};
RunResult runChat(const std::vector<std::string>& args, const std::string& input = {},
                  const std::map<std::string, std::string>& env = {});

}  // namespace chat::test

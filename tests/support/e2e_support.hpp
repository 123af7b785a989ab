#pragma once
// Helpers shared by the end-to-end tests, which drive the real `chat` binary.

#include "support/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace chat::test {

using namespace std::chrono_literals;

/// A port on 127.0.0.1 that nothing listens on: bound to port 0, read, closed.
std::uint16_t unusedPort();

/// The port at the end of a `chat serve` stdout line such as
/// "listening for web on 127.0.0.1:40123".
std::uint16_t listeningPort(const std::string& line);

/// A `chat serve` with a web port, and the ports it printed.
struct WebServeProcess {
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;     ///< the plaintext chat (TCP) port
    std::uint16_t webPort = 0;  ///< the web port (HTTP, or HTTPS with TLS)
};

/// Starts `chat ARGS...` (a `serve` with `--web-port`) and returns once it
/// has printed its chat port and then its web port; fails the test if it
/// exits first.
WebServeProcess startWebServe(const std::vector<std::string>& args);

/// A `chat serve` with a TLS listener, and the ports it printed.
struct TlsServeProcess {
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;     ///< the plaintext chat (TCP) port; 0 with --tls-only
    std::uint16_t tlsPort = 0;  ///< the TLS chat port
};

/// Starts `chat ARGS...` (a `serve` with `--tls-port`) and returns once it
/// has printed its TLS port (its plaintext port, if any, comes first); fails
/// the test if it exits first or prints nothing for 10 s.
TlsServeProcess startTlsServe(const std::vector<std::string>& args);

/// Environment for piped clients that would make a careless client colour its
/// output: a colour-capable TERM and no NO_COLOR.
std::map<std::string, std::string> colourTemptingEnv(std::map<std::string, std::string> extra = {});

/// Starts `chat connect --host 127.0.0.1 --port PORT --user USER` with stdin
/// a pipe, then writes "/who" and waits for its answer, so that when this
/// returns the user has joined and every event after the join reaches it.
/// The answer line is consumed (it stays in stdoutText()).
std::unique_ptr<ChildProcess> connectClient(std::uint16_t port, const std::string& user,
                                            const std::map<std::string, std::string>& env = {});

/// Sends "/who" through a piped client and returns the "Online (...)" answer.
std::string askWho(ChildProcess& client);

/// Reads stdout lines until `count` lines containing `needle` arrived or
/// `wait` passed; returns those lines (fewer on time-out).
std::vector<std::string> collectLines(ChildProcess& child, const std::string& needle, std::size_t count,
                                      std::chrono::milliseconds wait = 5s);

/// The text split at '\n' (no trailing empty line).
std::vector<std::string> splitLines(const std::string& text);

/// True if `text` holds an ESC byte (the start of every ANSI escape sequence).
bool hasEscape(const std::string& text);

/// True if `line` is "HH:MM <rest>" with a plausible clock, exactly.
bool isClockLine(const std::string& line, const std::string& rest);

/// Exit code, stdout and stderr of a run, for INFO().
std::string describe(const RunResult& result);

}  // namespace chat::test

#pragma once
// `chat connect`: a person at a terminal, or a script piping lines in.

#include <chrono>
#include <cstdint>
#include <string>

namespace chat {

struct ConnectOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5050;
    std::string user;
    /// Ping a silent server after this long; give up after twice this.
    std::chrono::milliseconds pingInterval{30'000};
};

/// Runs until the user leaves (exit 0) or the connection is lost (69).
/// With stdin not a terminal: no prompt, no colours, and at end of input it
/// waits until the server has answered every message it sent.
int runInteractive(const ConnectOptions& options);

}  // namespace chat

#pragma once
// The real server in this process, on 127.0.0.1 and a free port, with the
// throttles a test would trip over by accident lifted.

#include "server/chat_server.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace chat::test {

/// A configuration for tests: port 0, 16 clients, no per-address limit, no
/// message or request throttling, a 2 s hello timeout.
ServerConfig inProcessConfig();

/// Starts on construction; the destructor stops it (ChatServer's own).
struct InProcessServer {
    explicit InProcessServer(ServerConfig config = inProcessConfig()) : server(std::move(config)) { server.start(); }
    std::uint16_t port() const { return server.address().port(); }
    ChatServer server;
};

/// Polls a condition until it holds; fails the test after `wait`.
void waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds wait = std::chrono::seconds(5));

}  // namespace chat::test

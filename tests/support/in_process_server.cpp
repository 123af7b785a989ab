#include "support/in_process_server.hpp"

#include <catch2/catch.hpp>

#include <thread>

namespace chat::test {

ServerConfig inProcessConfig() {
    ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.hub.maxClients = 16;
    config.hub.maxPerIp = 1000;
    config.hub.ratePerSecond = 1e6;
    config.hub.rateBurst = 1e6;
    config.session.conversation.helloTimeout = std::chrono::milliseconds(2000);
    config.session.conversation.requestBurst = 1e6;  // tests make hundreds of requests at once
    return config;
}

void waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) FAIL("condition not met within " << wait.count() << " ms");
        std::this_thread::yield();
    }
}

}  // namespace chat::test

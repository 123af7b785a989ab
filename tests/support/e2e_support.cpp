#include "support/e2e_support.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <catch2/catch.hpp>

#include <cctype>

namespace chat::test {

std::uint16_t unusedPort() {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), /*reuseAddress=*/false, /*reusePort=*/false);
    const std::uint16_t port = socket.address().port();
    socket.close();
    return port;
}

std::uint16_t listeningPort(const std::string& line) {
    return static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
}

WebServeProcess startWebServe(const std::vector<std::string>& args) {
    WebServeProcess server;
    server.process = std::make_unique<ChildProcess>(args);
    for (;;) {
        auto line = server.process->readLine();
        INFO("server stderr: " << server.process->stderrText());
        REQUIRE(line);
        if (line->rfind("listening on ", 0) == 0) server.port = listeningPort(*line);
        if (line->rfind("listening for web on ", 0) == 0) {
            server.webPort = listeningPort(*line);
            REQUIRE(server.port != 0);
            return server;
        }
    }
}

TlsServeProcess startTlsServe(const std::vector<std::string>& args) {
    TlsServeProcess server;
    server.process = std::make_unique<ChildProcess>(args);
    for (;;) {
        auto line = server.process->readLine(std::chrono::seconds(10));
        INFO("server stdout: " << server.process->stdoutText());
        INFO("server stderr: " << server.process->stderrText());
        REQUIRE(line);
        if (line->rfind("listening on ", 0) == 0) server.port = listeningPort(*line);
        if (line->rfind("listening for TLS on ", 0) == 0) {
            server.tlsPort = listeningPort(*line);
            return server;
        }
    }
}

std::map<std::string, std::string> colourTemptingEnv(std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> env{{"TERM", "xterm-256color"}, {"NO_COLOR", "<unset>"},
                                           {"CLICOLOR_FORCE", "<unset>"}};
    for (auto& [k, v] : extra) env[k] = v;
    return env;
}

std::unique_ptr<ChildProcess> connectClient(std::uint16_t port, const std::string& user,
                                            const std::map<std::string, std::string>& env) {
    auto client = std::make_unique<ChildProcess>(
        std::vector<std::string>{"connect", "--host", "127.0.0.1", "--port", std::to_string(port), "--user", user},
        colourTemptingEnv(env));
    const auto who = askWho(*client);
    INFO(user << "'s stderr: " << client->stderrText());
    REQUIRE(who.find(user) != std::string::npos);
    return client;
}

std::string askWho(ChildProcess& client) {
    client.write("/who\n");
    auto line = client.waitForLine("Online (");
    INFO("client stdout so far: " << client.stdoutText());
    INFO("client stderr so far: " << client.stderrText());
    REQUIRE(line);
    return *line;
}

std::vector<std::string> collectLines(ChildProcess& child, const std::string& needle, std::size_t count,
                                      std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::vector<std::string> lines;
    while (lines.size() < count) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        auto line = child.waitForLine(needle, left);
        if (!line) break;
        lines.push_back(*line);
    }
    return lines;
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

bool hasEscape(const std::string& text) { return text.find('\x1b') != std::string::npos; }

bool isClockLine(const std::string& line, const std::string& rest) {
    if (line.size() != 6 + rest.size()) return false;
    const auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(line[i])) != 0; };
    if (!(digit(0) && digit(1) && line[2] == ':' && digit(3) && digit(4) && line[5] == ' ')) return false;
    const int hours = (line[0] - '0') * 10 + (line[1] - '0');
    const int minutes = (line[3] - '0') * 10 + (line[4] - '0');
    return hours < 24 && minutes < 60 && line.compare(6, std::string::npos, rest) == 0;
}

std::string describe(const RunResult& result) {
    return "exit " + std::to_string(result.exitCode) + "\n--- stdout ---\n" + result.out + "--- stderr ---\n" +
           result.err;
}

}  // namespace chat::test

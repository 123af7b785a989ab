#include "client/token_login.hpp"

#include "client/credentials.hpp"
#include "client/password_prompt.hpp"
#include "client/server_connection.hpp"
#include "client/terminal_text.hpp"
#include "shared/exit_codes.hpp"
#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace chat {

namespace {
using Clock = ServerConnection::Clock;

int exitCodeFor(const std::string& code) {
    if (code == "auth_failed" || code == "auth_insecure" || code == "auth_required") return exit_code::kAuth;
    if (code == "auth_throttled") return exit_code::kTempFail;
    if (code == "storage_unavailable") return exit_code::kStorage;
    if (code == "bad_request") return exit_code::kDataError;
    return exit_code::kUnavailable;
}

/// This machine's name and today's date (UTC): "build-01 2026-12-02".
std::string defaultLabel() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || !*host) std::snprintf(host, sizeof host, "unknown-host");
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", &utc);
    return visibleText(host).substr(0, 80) + " " + date;
}

/// Sends `request` (with id 1) and returns the answer to it, or throws
/// ClientError(75) at the deadline.
Poco::JSON::Object::Ptr ask(ServerConnection& connection, Poco::JSON::Object::Ptr request, Clock::time_point deadline,
                            std::int64_t id) {
    request->set("id", id);
    connection.send(request);
    for (;;) {
        auto message = connection.waitMessage(deadline);
        if (!message) throw ClientError(exit_code::kTempFail, "timed out waiting for the server");
        if (stringField(*message, "type") == std::string("ping")) connection.send(makeMessage("pong"));
        if (intField(*message, "id") == id) return *message;
    }
}

std::string problem(const Poco::JSON::Object::Ptr& answer) {
    return visibleText(stringField(answer, "message").value_or(stringField(answer, "code").value_or("refused")));
}
}  // namespace

std::string loginToken(const ServerAddress& server, const std::string& user, const std::string& credentialsPath) {
    if (const char* token = std::getenv("CHAT_TOKEN"); token && *token) return token;
    const auto entry = findCredential(credentialsPath, server.name(), user);
    return entry ? entry->token : std::string();
}

int runLogin(LoginOptions options) {
    if (options.password.empty()) {
        auto typed = askPassword("Password for " + visibleText(options.user) + " on " + options.address.name() + ": ");
        if (!typed) {
            std::cerr << "chat login: no terminal to ask for the password on; set CHAT_PASSWORD\n";
            return exit_code::kUsage;
        }
        options.password = *typed;
    }
    const auto deadline = Clock::now() + options.timeout;
    const auto server = options.address.name();
    try {
        auto tls = options.tls;
        tls.canAsk = false;
        ServerConnection connection(options.address, tls, options.timeout);
        const auto welcome = connection.hello(options.user, std::string("chat-login/") + CHAT_VERSION, false, deadline,
                                              HelloCredentials{options.password, {}, {}});
        auto create = makeMessage("token_create");
        create->set("label", defaultLabel());
        const auto answer = ask(connection, create, deadline, 1);
        if (stringField(answer, "type") != std::string("ok")) {
            std::cerr << "chat login: no token: " << problem(answer) << "\n";
            return exitCodeFor(stringField(answer, "code").value_or(""));
        }
        const auto token = stringField(answer, "token").value_or("");
        const auto id = intField(answer, "token_id").value_or(0);
        if (token.empty() || id <= 0) throw ClientError(exit_code::kProtocol, "the server's answer holds no token");
        const auto earlier = findCredential(options.credentialsPath, server);
        try {
            storeCredential(options.credentialsPath, StoredToken{server, welcome.user, id, token});
        } catch (const std::runtime_error& e) {
            std::cerr << "chat login: " << e.what() << "; the new token is revoked again\n";
            auto revoke = makeMessage("token_revoke");
            revoke->set("token_id", id);
            ask(connection, revoke, deadline, 2);
            return exit_code::kCantCreate;
        }
        if (earlier && earlier->tokenId != id && nameKey(earlier->user) == nameKey(welcome.user)) {
            auto revoke = makeMessage("token_revoke");  // the token this one replaces
            revoke->set("token_id", earlier->tokenId);
            ask(connection, revoke, deadline, 3);
        }
        connection.send(makeMessage("quit"));
        connection.close();
        std::cout << "Logged in to " << server << " as " << visibleText(welcome.user) << ": token " << id << " ("
                  << visibleText(stringField(answer, "label").value_or("")) << ") stored in " << options.credentialsPath
                  << "\n";
        return exit_code::kOk;
    } catch (const ClientError& e) {
        std::cerr << "chat login: " << e.what() << "\n";
        return e.exitCode();
    }
}

int runLogout(const LogoutOptions& options) {
    const auto server = options.address.name();
    const auto entry = findCredential(options.credentialsPath, server);
    if (!entry) {
        std::cerr << "chat logout: no token stored for " << server << " in " << options.credentialsPath << "\n";
        return exit_code::kOk;
    }
    const auto deadline = Clock::now() + options.timeout;
    bool revoked = false, refused = false;
    try {
        auto tls = options.tls;
        tls.canAsk = false;
        ServerConnection connection(options.address, tls, options.timeout);
        try {
            connection.hello(entry->user, std::string("chat-logout/") + CHAT_VERSION, false, deadline,
                             HelloCredentials{{}, {}, entry->token});
        } catch (const ClientError& e) {
            if (e.code() != "auth_failed") throw;
            refused = true;
            std::cerr << "chat logout: the server no longer accepts this token (revoked already); forgetting it\n";
        }
        if (!refused) {
            auto revoke = makeMessage("token_revoke");
            revoke->set("token_id", entry->tokenId);
            const auto answer = ask(connection, revoke, deadline, 1);
            revoked = stringField(answer, "type") == std::string("ok");
            if (!revoked) std::cerr << "chat logout: " << problem(answer) << "; forgetting the token all the same\n";
        }
        connection.close();
    } catch (const ClientError& e) {
        std::cerr << "chat logout: " << e.what() << " (the token stays stored; try again)\n";
        return e.exitCode();
    }
    try {
        removeCredential(options.credentialsPath, server);
    } catch (const std::runtime_error& e) {
        std::cerr << "chat logout: " << e.what() << "\n";
        return exit_code::kCantCreate;
    }
    std::cout << "Logged out of " << server << " (" << visibleText(entry->user) << ")"
              << (revoked ? ": token " + std::to_string(entry->tokenId) + " revoked" : std::string()) << "\n";
    return exit_code::kOk;
}

}  // namespace chat

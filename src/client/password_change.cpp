#include "client/password_change.hpp"

#include "client/password_prompt.hpp"
#include "client/server_connection.hpp"
#include "client/terminal_text.hpp"
#include "shared/exit_codes.hpp"
#include "shared/protocol.hpp"

#include <iostream>

namespace chat {

namespace {
int exitCodeFor(const std::string& code) {
    if (code == "auth_failed" || code == "auth_insecure" || code == "auth_required") return exit_code::kAuth;
    if (code == "auth_throttled") return exit_code::kTempFail;
    if (code == "bad_request") return exit_code::kDataError;
    if (code == "storage_unavailable") return exit_code::kStorage;
    return exit_code::kUnavailable;
}
}  // namespace

int runPasswd(PasswdOptions options) {
    if (options.oldPassword.empty()) {
        auto typed = askPassword("Old password for " + visibleText(options.user) + ": ");
        if (!typed) {
            std::cerr << "chat passwd: no terminal to ask for the old password on; set CHAT_PASSWORD\n";
            return exit_code::kUsage;
        }
        options.oldPassword = *typed;
    }
    if (options.newPassword.empty()) {
        auto typed = askNewPassword("New password: ");
        if (!typed) {
            std::cerr << "chat passwd: no new password (no terminal, or the two differed); nothing changed\n";
            return exit_code::kUsage;
        }
        options.newPassword = *typed;
    }
    const auto deadline = ServerConnection::Clock::now() + options.timeout;
    try {
        auto tls = options.tls;
        tls.canAsk = false;
        ServerConnection connection(options.address, tls, options.timeout);
        connection.hello(options.user, std::string("chat-passwd/") + CHAT_VERSION, false, deadline,
                         HelloCredentials{options.oldPassword, {}, {}});
        auto request = makeMessage("passwd");
        request->set("id", 1);
        request->set("old", options.oldPassword);
        request->set("new", options.newPassword);
        connection.send(request);
        for (;;) {
            auto message = connection.waitMessage(deadline);
            if (!message) {
                std::cerr << "chat passwd: timed out waiting for the server\n";
                return exit_code::kTempFail;
            }
            if (intField(*message, "id") != 1) continue;
            const auto type = stringField(*message, "type").value_or("");
            if (type == "ok") return exit_code::kOk;
            const auto code = stringField(*message, "code").value_or("");
            std::cerr << "chat passwd: " << visibleText(stringField(*message, "message").value_or(code)) << "\n";
            return exitCodeFor(code);
        }
    } catch (const ClientError& e) {
        std::cerr << "chat passwd: " << e.what() << "\n";
        return e.exitCode();
    }
}

}  // namespace chat

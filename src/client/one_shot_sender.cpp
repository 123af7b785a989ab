#include "client/one_shot_sender.hpp"

#include "client/guest_keys.hpp"
#include "client/send_pacer.hpp"
#include "client/server_connection.hpp"
#include "client/terminal_text.hpp"
#include "shared/exit_codes.hpp"
#include "shared/validation.hpp"

#include <iostream>
#include <map>

namespace chat {

namespace {
int exitCodeForError(const std::string& code) {
    if (code == "no_such_user" || code == "no_such_room") return exit_code::kNoUser;
    if (code == "text_too_long" || code == "text_invalid") return exit_code::kDataError;
    if (code == "name_invalid" || code == "room_invalid") return exit_code::kUsage;
    if (code == "bad_request" || code == "version_unsupported") return exit_code::kProtocol;
    if (code == "storage_unavailable") return exit_code::kStorage;  // delivered, but not kept
    if (code == "mailbox_full") return exit_code::kTempFail;        // try again once they have logged in
    return exit_code::kUnavailable;
}
}  // namespace

std::vector<std::string> messagesFromInput(const std::string& input, bool perLine) {
    std::vector<std::string> messages;
    if (!perLine) {
        std::string text = input;
        if (!text.empty() && text.back() == '\n') text.pop_back();
        if (!text.empty() && text.back() == '\r') text.pop_back();
        messages.push_back(text);
        return messages;
    }
    std::size_t start = 0;
    while (start < input.size()) {
        auto end = input.find('\n', start);
        if (end == std::string::npos) end = input.size();
        std::string line = input.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) messages.push_back(line);
        start = end + 1;
    }
    return messages;
}

int runSend(const SendOptions& options) {
    const auto deadline = ServerConnection::Clock::now() + options.timeout;
    const bool toUser = options.target.size() >= 2 && options.target[0] == '@' && isValidName(options.target.substr(1));
    if (!toUser && !isValidRoomName(options.target)) {
        std::cerr << "chat send: invalid target '" << options.target << "': use @user or #room\n";
        return exit_code::kUsage;
    }
    if (!isValidName(options.user)) {
        std::cerr << "chat send: invalid user name '" << options.user
                  << "': use 1-32 characters of A-Z a-z 0-9 _ . -\n";
        return exit_code::kUsage;
    }
    if (options.texts.empty()) {
        std::cerr << "chat send: no message to send\n";
        return exit_code::kDataError;
    }
    for (const auto& text : options.texts) {
        const auto problem = checkText(text, SIZE_MAX);
        if (problem != TextProblem::None) {
            std::cerr << "chat send: " << describeTextProblem(problem, text, SIZE_MAX)
                      << (text.find('\n') != std::string::npos ? "; use --lines to send each line as its own message" : "")
                      << "\n";
            return exit_code::kDataError;
        }
    }
    try {
        auto tls = options.tlsSettings;
        tls.canAsk = false;  // scripts are never asked
        ServerConnection connection(ServerAddress{options.host, options.port, options.tls}, tls, options.timeout);
        const auto welcome = connection.hello(options.user, std::string("chat-send/") + CHAT_VERSION, false, deadline,
                                                 HelloCredentials{options.password,
                                                                  loadGuestKey(options.host, options.port, options.user),
                                                                  options.token});
        using Clock = ServerConnection::Clock;
        // Paced so that the server never refuses a message (SendPacer), which
        // keeps --lines in order; one refused all the same (another session
        // of the same user took the tokens) waits for retry_after_ms.
        SendPacer pace(welcome.ratePerSecond > 0 ? welcome.ratePerSecond : 1e9,
                       welcome.rateBurst >= 1 ? welcome.rateBurst : 1e9, Clock::now());
        std::map<std::int64_t, Poco::JSON::Object::Ptr> unanswered;  // by id: sent or waiting to be
        std::map<std::int64_t, Poco::JSON::Object::Ptr> toSend;      // in order; refused ones come back here
        std::optional<Clock::time_point> sendAt;       // when to look at toSend again; nullopt: at the next answer
        std::optional<Clock::time_point> refusedUntil;  // from the last rate_limited: nothing is sent before
        std::int64_t id = 0;
        for (const auto& text : options.texts) {
            auto send = makeMessage("send");
            send->set("id", ++id);
            send->set("to", options.target);
            send->set("text", text);
            unanswered[id] = toSend[id] = send;
        }
        int result = exit_code::kOk;
        while (!unanswered.empty()) {
            const auto now = Clock::now();
            sendAt.reset();
            if (refusedUntil && now < *refusedUntil) {
                if (!toSend.empty()) sendAt = refusedUntil;
            } else {
                refusedUntil.reset();
                while (!toSend.empty()) {
                    if (!pace.take(now)) {
                        sendAt = pace.nextChance(now);
                        break;
                    }
                    connection.send(toSend.begin()->second);
                    toSend.erase(toSend.begin());
                }
            }
            auto message = connection.waitMessage(sendAt ? std::min(*sendAt, deadline) : deadline);
            if (!message && Clock::now() < deadline) continue;
            if (!message) {
                std::cerr << "chat send: timed out after " << options.timeout.count() << " ms waiting for the server ("
                          << unanswered.size() << " message(s) unconfirmed)\n";
                return exit_code::kTempFail;
            }
            const auto type = stringField(*message, "type").value_or("");
            if (type == "ping") connection.send(makeMessage("pong"));
            if (type != "ok" && type != "error") continue;
            const auto answered = intField(*message, "id");
            if (!answered || !unanswered.count(*answered) || toSend.count(*answered)) continue;
            const auto code = stringField(*message, "code").value_or("");
            if (type == "error" && code == "rate_limited") {
                pace.answered();
                toSend[*answered] = unanswered[*answered];
                const auto at = Clock::now() + std::chrono::milliseconds(intField(*message, "retry_after_ms").value_or(200));
                if (!refusedUntil || *refusedUntil < at) refusedUntil = at;
                continue;
            }
            if (type == "ok") pace.accepted(Clock::now());
            else pace.answered();
            unanswered.erase(*answered);
            if (type == "error") {
                std::cerr << "chat send: " << visibleText(stringField(*message, "message").value_or(code)) << "\n";
                if (result == exit_code::kOk) result = exitCodeForError(code);
            }
        }
        connection.send(makeMessage("quit"));
        connection.close();
        return result;
    } catch (const ClientError& e) {
        std::cerr << "chat send: " << e.what() << "\n";
        return e.exitCode();
    }
}

}  // namespace chat

#pragma once
// `chat send`: deliver one or more messages and report honestly how it went.

#include "client/tls_stream.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chat {

struct SendOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5050;
    bool tls = false;
    TlsSettings tlsSettings;  ///< never asks: an unknown certificate is exit 77
    std::string user;
    std::string password;  ///< $CHAT_PASSWORD: for a registered user; empty: a guest
    std::string token;     ///< $CHAT_TOKEN or the credentials file's (loginToken); wins over `password`
    std::chrono::milliseconds timeout{10'000};  ///< for the whole command
    std::string target;                         ///< "@user" or "#room"
    std::vector<std::string> texts;             ///< messages to send, in order
};

/// Sends every text to the target and waits for the server's answer to each;
/// messages refused as rate_limited are sent again after the delay the
/// server names, within the timeout.
/// Returns a sysexits code: 0 all delivered (or, for a registered user who
/// is offline, stored for their next login), 64 usage, 65 text refused,
/// 67 no such user online or no such room, 69 server unreachable (or the
/// wrong port for plaintext or TLS), 75 timed out (or too many failed
/// logins, or the offline user's mailbox is full), 77 the server's certificate is not trusted, 78 login refused
/// (auth_required, auth_failed, auth_insecure). Prints
/// nothing on success and one line on stderr for each failure.
int runSend(const SendOptions& options);

/// Splits stdin text into messages: the whole text as one message (one
/// trailing newline removed), or with `perLine` each non-empty line.
std::vector<std::string> messagesFromInput(const std::string& input, bool perLine);

}  // namespace chat

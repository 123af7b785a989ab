#pragma once
// `chat passwd`: changes a registered account's password on the server.

#include "client/server_address.hpp"
#include "client/tls_stream.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace chat {

struct PasswdOptions {
    ServerAddress address{"127.0.0.1", kDefaultPort, false};
    TlsSettings tls;  ///< never asks: an unknown certificate is exit 77
    std::string user;
    std::string oldPassword;  ///< empty: asked on the terminal
    std::string newPassword;  ///< empty: asked twice on the terminal
    std::chrono::milliseconds timeout{10'000};  ///< for the whole command
};

/// Logs in as `user` (a transient session) with the old password and sends
/// `passwd`. Returns a sysexits code: 0 changed, 64 no terminal to ask on,
/// 65 new password refused (length), 69 server unreachable, 75 timed out or
/// throttled, 77 the server's certificate is not trusted, 78 wrong password
/// or not allowed here. One line on stderr for
/// a failure, nothing on success.
int runPasswd(PasswdOptions options);

}  // namespace chat

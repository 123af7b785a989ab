#pragma once
// `chat login` and `chat logout`: a token for scripts, created with the
// password once and kept in the credentials file (client/credentials.hpp).

#include "client/server_address.hpp"
#include "client/tls_stream.hpp"

#include <chrono>
#include <string>

namespace chat {

struct LoginOptions {
    ServerAddress address;
    TlsSettings tls;  ///< never asks: an unknown certificate is exit 77
    std::string user;
    std::string password;         ///< empty: asked on the terminal without echo
    std::string credentialsPath;  ///< where the token goes
    std::chrono::milliseconds timeout{10'000};  ///< for the whole command, not counting the question
};

/// Logs in as `user` with the password (a transient session), asks for a
/// token labelled "HOSTNAME YYYY-MM-DD" (this machine's name, today in UTC)
/// and stores it as the entry for the server, replacing (and revoking on the
/// server) an earlier token of the same user there. Returns a sysexits code:
/// 0 stored, 64 no terminal to ask on, 69 server unreachable, 73 the file
/// cannot be written (the new token is revoked again), 75 timed out or
/// throttled, 77 certificate not trusted, 78 wrong password or not allowed
/// here. One line on stdout when done, one on stderr for a failure.
int runLogin(LoginOptions options);

struct LogoutOptions {
    ServerAddress address;
    TlsSettings tls;
    std::string credentialsPath;
    std::chrono::milliseconds timeout{10'000};
};

/// Revokes the server's stored token on the server (logging in with it) and
/// removes its entry. A token the server refuses already (revoked
/// elsewhere) is removed too. Returns 0 done (or nothing stored), 69, 75,
/// 77 as runLogin, 73 the file cannot be rewritten; on a failure to reach
/// the server the entry is kept, so that logout can be tried again.
int runLogout(const LogoutOptions& options);

/// The token `chat connect` and `chat send` log in with as `user` on
/// `server`: $CHAT_TOKEN when set and not empty, else the credentials
/// file's entry for that server and user, else empty (a password then).
std::string loginToken(const ServerAddress& server, const std::string& user,
                       const std::string& credentialsPath);

}  // namespace chat

#pragma once
// The credentials file of `chat login`: one token per server, so that
// `chat connect` and `chat send` log in without a password.
//
// Format (man chat, FILES): UTF-8 text, one entry per line,
//   HOST:PORT USER TOKEN_ID TOKEN
// separated by single spaces (HOST:PORT as ServerAddress::name() spells it,
// "[v6]:PORT" for IPv6); blank lines and lines starting with '#' are
// ignored, and so is a malformed line. The file is mode 0600 (created so,
// never wider for a moment) in a directory of mode 0700, and is replaced
// as a whole by rename, so a reader never sees half of it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chat {

struct StoredToken {
    std::string server;  ///< "HOST:PORT"
    std::string user;
    std::int64_t tokenId = 0;
    std::string token;
};

/// $XDG_CONFIG_HOME/chat/credentials, else ~/.config/chat/credentials; empty
/// when neither variable is set.
std::string defaultCredentialsPath();

/// The entries of `path`; none when it does not exist or cannot be read.
std::vector<StoredToken> loadCredentials(const std::string& path);

/// The entry for `server`, if any (and, when `user` is not empty, only if it
/// is that user's, names compared case-insensitively).
std::optional<StoredToken> findCredential(const std::string& path, const std::string& server,
                                          const std::string& user = {});

/// Writes `entry` in place of `server`'s entry (or adds it). Throws
/// std::runtime_error naming the file when it cannot be written.
void storeCredential(const std::string& path, const StoredToken& entry);

/// Removes `server`'s entry; false when there was none. Throws
/// std::runtime_error when the file cannot be rewritten.
bool removeCredential(const std::string& path, const std::string& server);

}  // namespace chat

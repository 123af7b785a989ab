#pragma once
// The pinned certificates of TLS servers trusted on first use, like ssh's
// known_hosts: $XDG_STATE_HOME/chat/known_servers, one server a line,
//
//     HOST:PORT SHA256-FINGERPRINT
//
// ("[v6]:PORT" for IPv6 literals; the fingerprint as chat::tls prints it,
// "AB:CD:..."). Blank lines and lines starting with '#' are comments; a line
// that does not parse is skipped (the file is ours, but a user may edit it).

#include <optional>
#include <string>
#include <vector>

namespace chat {

/// One pin, with where it came from for messages.
struct KnownServer {
    std::string server;       ///< "host:port"
    std::string fingerprint;  ///< canonical "AB:CD:..." form
    int line = 0;             ///< 1-based line in the file
};

/// The pins of one file, as read. Not thread-safe; cheap to copy.
class KnownServers {
public:
    /// Parses the text of a known_servers file.
    static KnownServers parse(const std::string& text, const std::string& path = {});

    /// Reads `path`; a missing or unreadable file has no pins.
    static KnownServers load(const std::string& path);

    /// The first pin for `server` ("host:port", the host compared without
    /// regard to case), or nullopt.
    std::optional<KnownServer> find(const std::string& server) const;

    const std::vector<KnownServer>& entries() const { return entries_; }
    const std::string& path() const { return path_; }

    /// Appends "server fingerprint" to `path`, creating the file with mode
    /// 0600 and its directory with 0700 as needed. Throws std::runtime_error
    /// naming the path when it cannot.
    static void append(const std::string& path, const std::string& server, const std::string& fingerprint);

private:
    std::vector<KnownServer> entries_;
    std::string path_;
};

/// $XDG_STATE_HOME/chat/known_servers, else ~/.local/state/chat/known_servers;
/// empty when neither variable is set.
std::string defaultKnownServersPath();

}  // namespace chat

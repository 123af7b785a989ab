#pragma once
// Which browser origins may open a WebSocket to the chat: the check that
// keeps other web sites from riding a visitor's browser into the chat.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

/// Decides, for one upgrade request, whether its Origin header is allowed.
/// Allowed are:
///  - every origin given with --web-origin (exactly, after normalising case
///    and a trailing '/'), and
///  - the server's own origin: the Origin equals the scheme and the Host
///    header of the request itself ("http://" + Host), and that Host names
///    this server: an IP address literal (IPv4 or [IPv6]), "localhost", the
///    listening address, or a host named by a --web-origin value.
///
/// DNS rebinding: a page on evil.example whose name is re-pointed at this
/// server's address sends Origin http://evil.example:8080 and Host
/// evil.example:8080 -- they agree, so "Origin equals Host" alone would let it
/// in. Requiring the Host to be an address literal or a name the operator
/// gave (localhost, --web-origin) shuts that out: a rebinding attacker
/// controls a name, never an address literal, and cannot use a name the
/// operator listed without controlling that name's DNS, which is then the
/// operator's own. Behind a reverse proxy or under a DNS name, list the
/// public origin with --web-origin (https://chat.example.org).
///
/// A missing or empty Origin is refused: browsers always send one on a
/// WebSocket upgrade; a non-browser client can send any Origin it likes, so
/// the check protects browsers, not the server (the server's other limits do).
class OriginPolicy {
public:
    /// `extraOrigins` must each pass normalizeOrigin() (the caller checks
    /// them at startup); `listenHost` is the --host value.
    OriginPolicy(const std::vector<std::string>& extraOrigins, std::string listenHost);

    /// `scheme` is "http" (or "https" once the web port speaks TLS).
    bool allows(std::string_view origin, std::string_view host, std::string_view scheme) const;

    /// "scheme://host[:port]" in lower case without a trailing '/', or
    /// nullopt when `origin` is not an http(s) origin of that form (a path,
    /// user info, a query, an empty host or a bad port).
    static std::optional<std::string> normalizeOrigin(std::string_view origin);

    /// The host part of a Host header value ("[::1]:8080" -> "[::1]",
    /// "Example.org" -> "example.org"); empty when malformed.
    static std::string hostName(std::string_view hostHeader);

private:
    bool namesThisServer(const std::string& host) const;

    std::vector<std::string> origins_;  // normalised
    std::vector<std::string> names_;    // host names (lower case) that mean this server
};

}  // namespace chat

#pragma once
// Where a client connects and whether it speaks TLS: --host (a host name,
// an IP literal, or a chat:// / chats:// address), --port and --tls.

#include <cstdint>
#include <optional>
#include <string>

namespace chat {

inline constexpr std::uint16_t kDefaultPort = 5050;     ///< plaintext
inline constexpr std::uint16_t kDefaultTlsPort = 5051;  ///< TLS

/// The --host text taken apart. `host` has no brackets ("::1" for
/// "chats://[::1]:5051"); `tls` and `port` are set only when the text said so.
struct HostText {
    std::string host;
    std::optional<bool> tls;  ///< true for chats://, false for chat://, nullopt without a scheme
    std::optional<std::uint16_t> port;
};

/// Parses "HOST", "chat://HOST[:PORT]" or "chats://HOST[:PORT]" (HOST may be
/// "[v6]" in a URL; a trailing "/" is allowed). Returns nullopt, with
/// `error` saying why, for another scheme, an empty host, a path, or a port
/// outside 1-65535.
std::optional<HostText> parseHostText(const std::string& text, std::string& error);

/// The address to connect to.
struct ServerAddress {
    std::string host;
    std::uint16_t port = kDefaultPort;
    bool tls = false;
    /// "host:port", or "[v6]:port": how messages and known_servers name it.
    std::string name() const;
};

/// Combines --host, --port (nullopt when neither flag, environment nor
/// config file gave one) and --tls: a chats:// address implies TLS, a
/// chat:// address with --tls is a contradiction, and without a port TLS
/// uses 5051 and plaintext 5050. A port in the URL and a different --port is
/// a contradiction too. Returns nullopt with `error` set on a contradiction
/// or a bad --host.
std::optional<ServerAddress> resolveServerAddress(const std::string& hostText, std::optional<std::uint16_t> port,
                                                  bool tlsFlag, std::string& error);

}  // namespace chat

#pragma once
// The TLS options that `chat connect` and `chat send` share: --tls,
// --ca-file, --fingerprint, --insecure, and how they combine with --host
// (chats://) and --port into an address and trust settings.

#include "client/server_address.hpp"
#include "client/tls_stream.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace chat {

struct TlsCommandLine {
    bool tls = false;
    std::string caFile;
    std::string fingerprint;
    bool insecure = false;
};

/// Adds --tls, --ca-file, --fingerprint and --insecure to `app`, bound to `line`.
void addTlsOptions(CLI::App& app, TlsCommandLine& line);

struct ResolvedServer {
    ServerAddress address;
    TlsSettings tls;  ///< canAsk false; knownServersPath the default file
};

/// Combines --host, --port (given when `portGiven`: by a flag, the
/// environment or the config file) and the TLS options. Throws
/// CLI::ValidationError (exit 64) for a bad or contradictory address, a
/// malformed --fingerprint, or a TLS option without TLS.
ResolvedServer resolveServer(const std::string& host, std::uint16_t port, bool portGiven, const TlsCommandLine& line);

/// The warning --insecure prints on stderr each time.
inline constexpr const char* kInsecureWarning =
    "warning: --insecure: the server's certificate is not checked; anyone on the path can read and change "
    "this conversation";

}  // namespace chat

#include "client/tls_options.hpp"

#include "client/known_servers.hpp"
#include "shared/tls_certificates.hpp"

namespace chat {

void addTlsOptions(CLI::App& app, TlsCommandLine& line) {
    app.add_flag("--tls", line.tls,
                 "Speak TLS (default port 5051); also implied by --host chats://HOST[:PORT]");
    app.add_option("--ca-file", line.caFile,
                   "Verify the server against the certificates in this PEM file instead of the system store");
    app.add_option("--fingerprint", line.fingerprint,
                   "Trust only a server certificate with this SHA-256 fingerprint (AB:CD:... as chat serve prints it)");
    app.add_flag("--insecure", line.insecure,
                 "Do not check the server's certificate at all (warns every time; for tests only)");
}

ResolvedServer resolveServer(const std::string& host, std::uint16_t port, bool portGiven, const TlsCommandLine& line) {
    std::string error;
    const auto address = resolveServerAddress(host, portGiven ? std::optional<std::uint16_t>(port) : std::nullopt,
                                              line.tls, error);
    if (!address) throw CLI::ValidationError("--host", error);
    ResolvedServer out;
    out.address = *address;
    if (!address->tls) {
        for (const auto& [given, name] : {std::pair{!line.caFile.empty(), "--ca-file"},
                                          std::pair{!line.fingerprint.empty(), "--fingerprint"},
                                          std::pair{line.insecure, "--insecure"}})
            if (given) throw CLI::ValidationError(name, std::string(name) + " needs --tls (or a chats:// address)");
        return out;
    }
    if (!line.fingerprint.empty()) {
        out.tls.fingerprint = tls::normaliseFingerprint(line.fingerprint);
        if (!out.tls.fingerprint)
            throw CLI::ValidationError("--fingerprint", "'" + line.fingerprint +
                                                            "' is not a SHA-256 fingerprint (64 hex digits, colons optional)");
    }
    out.tls.caFile = line.caFile;
    out.tls.insecure = line.insecure;
    out.tls.knownServersPath = defaultKnownServersPath();
    return out;
}

}  // namespace chat

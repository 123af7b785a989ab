#pragma once
// Whether to go on with a TLS server once the handshake is done: the pure
// decision, without sockets or terminals, from what verification said, the
// pin for the server, --fingerprint, and whether a person can be asked.
//
// The rules (man chat, SECURITY):
//  - --fingerprint FP given: the certificate must have that fingerprint,
//    whatever else is true; then it is accepted.
//  - verified against the trust store (or --ca-file), host name included:
//    accepted.
//  - else a pin for HOST:PORT with the certificate's fingerprint: accepted
//    (a pin is about the key, like ssh: host name and expiry are not checked
//    again). A pin with another fingerprint: refused, loudly, never asked.
//  - else, when the certificate is merely not signed by a known authority
//    (self-signed, or an unknown issuer): ask a person once, or refuse a
//    script with the fingerprint to pass as --fingerprint.
//  - else (expired, wrong host, bad signature...): refused, with the reason.

#include "client/known_servers.hpp"

#include <optional>
#include <string>

namespace chat {

/// What verification of the server's certificate found.
struct VerifyOutcome {
    int error = 0;          ///< OpenSSL's X509_V_ERR_* code; 0 (X509_V_OK) when verified
    std::string errorText;  ///< X509_verify_cert_error_string(error)
};

struct TrustFacts {
    std::string server;       ///< "host:port"
    std::string fingerprint;  ///< of the server's certificate, canonical
    VerifyOutcome verify;
    std::optional<KnownServer> pin;           ///< the known_servers line for the server
    std::string knownServersPath;             ///< for messages
    std::optional<std::string> expected;      ///< --fingerprint, canonical
    bool canAsk = false;                      ///< a person at a terminal may be asked
};

struct TrustDecision {
    enum class Verdict { Accept, Ask, Refuse };
    Verdict verdict = Verdict::Refuse;
    /// For Ask, the question's preamble; for Refuse, the whole explanation
    /// (may span lines); for Accept, empty.
    std::string message;
};

TrustDecision decideTrust(const TrustFacts& facts);

/// True for the verification errors that only say "nobody we know signed
/// this": a self-signed certificate, or one whose issuer is unknown.
bool isUnknownIssuer(int verifyError);

/// The question asked on a terminal after an Ask decision.
inline constexpr const char* kTrustQuestion = "Trust this server and remember it? [y/N] ";

}  // namespace chat

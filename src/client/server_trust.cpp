#include "client/server_trust.hpp"

#include <openssl/x509_vfy.h>

namespace chat {

namespace {
TrustDecision accept() { return {TrustDecision::Verdict::Accept, {}}; }
TrustDecision refuse(std::string message) { return {TrustDecision::Verdict::Refuse, std::move(message)}; }

std::string describeFailure(const TrustFacts& f) {
    switch (f.verify.error) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "its certificate has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "its certificate is not valid yet";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "its certificate is not for this host name or address";
    case X509_V_ERR_CERT_REVOKED: return "its certificate has been revoked";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "its certificate's signature is bad";
    default: return "its certificate cannot be verified";
    }
}
}  // namespace

bool isUnknownIssuer(int verifyError) {
    switch (verifyError) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return true;
    default: return false;
    }
}

TrustDecision decideTrust(const TrustFacts& f) {
    if (f.expected) {
        if (*f.expected == f.fingerprint) return accept();
        return refuse("the certificate of " + f.server + " does not have the fingerprint given with --fingerprint:\n"
                      "  expected " + *f.expected + "\n  received " + f.fingerprint + "\nRefusing to connect.");
    }
    if (f.verify.error == X509_V_OK) return accept();
    if (f.pin) {
        if (f.pin->fingerprint == f.fingerprint) return accept();
        const std::string where = f.knownServersPath + " line " + std::to_string(f.pin->line);
        return refuse(
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
            "@    WARNING: THE SERVER'S CERTIFICATE HAS CHANGED!       @\n"
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
            "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
            "Someone could be intercepting this connection (a man-in-the-middle attack),\n"
            "or the server's certificate has been replaced.\n"
            "The certificate of " + f.server + " has the SHA-256 fingerprint\n  " + f.fingerprint + "\n"
            "but the one remembered for it (" + where + ") is\n  " + f.pin->fingerprint + "\n"
            "If the change is expected, remove line " + std::to_string(f.pin->line) + " from " + f.knownServersPath +
            " and connect again.\nRefusing to connect.");
    }
    if (isUnknownIssuer(f.verify.error)) {
        const std::string preamble = "The certificate of " + f.server + " is not signed by an authority this machine trusts (" +
                                     f.verify.errorText + ").\nIts SHA-256 fingerprint is\n  " + f.fingerprint + "\n";
        if (f.canAsk)
            return {TrustDecision::Verdict::Ask,
                    preamble + "Compare it with the fingerprint `chat serve` printed, or on the server:\n"
                              "  openssl x509 -noout -fingerprint -sha256 -in cert.pem"};
        return refuse(preamble + "Not trusted: to connect from a script, pin it with\n  --fingerprint " + f.fingerprint +
                      "\nor connect once with `chat connect --tls` at a terminal and answer yes.");
    }
    return refuse("cannot trust " + f.server + ": " + describeFailure(f) + " (" + f.verify.errorText + ").\nRefusing to connect.");
}

}  // namespace chat

#include "client/server_trust.hpp"

#include <catch2/catch.hpp>

#include <openssl/x509_vfy.h>

using chat::TrustDecision;
using chat::TrustFacts;
using Verdict = chat::TrustDecision::Verdict;

namespace {
const std::string kA = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
const std::string kB = "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF";

TrustFacts facts(int verifyError) {
    TrustFacts f;
    f.server = "chat.example:5051";
    f.fingerprint = kA;
    f.verify = {verifyError, X509_verify_cert_error_string(verifyError)};
    f.knownServersPath = "/state/chat/known_servers";
    return f;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("trust: a verified certificate is accepted, whatever is pinned") {
    auto f = facts(X509_V_OK);
    CHECK(chat::decideTrust(f).verdict == Verdict::Accept);
    f.pin = chat::KnownServer{"chat.example:5051", kB, 3};  // a CA-signed certificate replaced a pinned one
    CHECK(chat::decideTrust(f).verdict == Verdict::Accept);
}

TEST_CASE("trust: --fingerprint decides alone") {
    for (int error : {X509_V_OK, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_CERT_HAS_EXPIRED,
                      X509_V_ERR_HOSTNAME_MISMATCH}) {
        INFO(error);
        auto f = facts(error);
        f.pin = chat::KnownServer{"chat.example:5051", kB, 3};
        f.expected = kA;
        CHECK(chat::decideTrust(f).verdict == Verdict::Accept);
        f.expected = kB;
        f.canAsk = true;
        const auto d = chat::decideTrust(f);
        CHECK(d.verdict == Verdict::Refuse);
        CHECK(has(d.message, "--fingerprint"));
        CHECK(has(d.message, kA));
        CHECK(has(d.message, kB));
    }
}

TEST_CASE("trust: a matching pin accepts any failure; another pin is refused loudly, never asked") {
    for (int error : {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_HOSTNAME_MISMATCH}) {
        INFO(error);
        auto f = facts(error);
        f.pin = chat::KnownServer{"chat.example:5051", kA, 7};
        CHECK(chat::decideTrust(f).verdict == Verdict::Accept);
        f.pin->fingerprint = kB;
        f.canAsk = true;
        const auto d = chat::decideTrust(f);
        CHECK(d.verdict == Verdict::Refuse);
        CHECK(has(d.message, "WARNING"));
        CHECK(has(d.message, "HAS CHANGED"));
        CHECK(has(d.message, "/state/chat/known_servers line 7"));
        CHECK(has(d.message, kA));
        CHECK(has(d.message, kB));
    }
}

TEST_CASE("trust: an unknown issuer without a pin asks a person and refuses a script with the fingerprint") {
    for (int error : {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                      X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE}) {
        INFO(error);
        CHECK(chat::isUnknownIssuer(error));
        auto f = facts(error);
        f.canAsk = true;
        auto d = chat::decideTrust(f);
        CHECK(d.verdict == Verdict::Ask);
        CHECK(has(d.message, kA));
        CHECK(has(d.message, "chat.example:5051"));
        f.canAsk = false;
        d = chat::decideTrust(f);
        CHECK(d.verdict == Verdict::Refuse);
        CHECK(has(d.message, "--fingerprint " + kA));
    }
}

TEST_CASE("trust: other failures are refused with the reason, even on a terminal") {
    const std::pair<int, const char*> cases[] = {
        {X509_V_ERR_CERT_HAS_EXPIRED, "expired"},
        {X509_V_ERR_CERT_NOT_YET_VALID, "not valid yet"},
        {X509_V_ERR_HOSTNAME_MISMATCH, "not for this host"},
        {X509_V_ERR_IP_ADDRESS_MISMATCH, "not for this host"},
        {X509_V_ERR_CERT_REVOKED, "revoked"},
        {X509_V_ERR_CERT_SIGNATURE_FAILURE, "signature"},
        {X509_V_ERR_INVALID_CA, "cannot be verified"},
    };
    for (const auto& [error, words] : cases) {
        INFO(error);
        CHECK_FALSE(chat::isUnknownIssuer(error));
        auto f = facts(error);
        f.canAsk = true;
        const auto d = chat::decideTrust(f);
        CHECK(d.verdict == Verdict::Refuse);
        CHECK(has(d.message, words));
        CHECK(has(d.message, "chat.example:5051"));
        CHECK(has(d.message, X509_verify_cert_error_string(error)));
    }
}

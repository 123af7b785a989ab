#pragma once
// Certificates made and read with OpenSSL 3: self-signed and CA-signed test
// and first-run certificates, SHA-256 fingerprints, PEM files. Both the
// server (`chat serve --generate-cert`) and the client (trust on first use)
// use it; no sockets here.

#include <openssl/x509.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::tls {

/// What a new certificate says. Keys are EC P-256; certificates X509 v3.
struct CertificateRequest {
    std::vector<std::string> hosts;                     ///< DNS names or IP literals -> SAN entries; first is the CN
    std::chrono::seconds validFrom{-3600};              ///< relative to now (negative = in the past)
    std::chrono::seconds validUntil{3650 * 24 * 3600};  ///< relative to now; negative makes an expired certificate
    bool certificateAuthority = false;                  ///< CA:TRUE, keyCertSign
};

/// A certificate and its private key, both PEM (the key unencrypted PKCS#8).
struct PemPair {
    std::string certificate;
    std::string privateKey;
};

/// A new key and a certificate for it signed by that key. Throws
/// std::runtime_error when OpenSSL fails (or `hosts` is empty).
PemPair makeSelfSigned(const CertificateRequest& request);
/// A new key and a certificate for it signed by `issuer` (whose subject
/// becomes the issuer name). Throws std::runtime_error on bad issuer PEM.
PemPair makeSignedBy(const CertificateRequest& request, const PemPair& issuer);

/// Uppercase hex of SHA-256 over the DER certificate, colon-separated
/// ("AB:CD:..."), as `openssl x509 -noout -fingerprint -sha256` prints it.
/// The PEM form reads the first certificate. Throws std::runtime_error on bad PEM.
std::string fingerprintSha256(const std::string& certificatePem);
std::string fingerprintSha256(X509* certificate);

/// Accepts "AB:CD..", "abcd..", an optional "SHA256:"/"sha256:" prefix;
/// returns the canonical form (as fingerprintSha256 prints) or nullopt when
/// the text is not 32 bytes of hex.
std::optional<std::string> normaliseFingerprint(std::string_view text);

/// Writes both files (the key with mode 0600, created so, never readable by
/// others even briefly). Throws std::runtime_error naming the path on failure.
void writePemFiles(const PemPair& pair, const std::string& certPath, const std::string& keyPath);

}  // namespace chat::tls

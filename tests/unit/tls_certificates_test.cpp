#include "shared/tls_certificates.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <sys/stat.h>

using namespace chat::tls;

namespace {
struct X509Free {
    void operator()(X509* cert) const { X509_free(cert); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert parse(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(cert);
    return cert;
}

/// The SAN entries as "DNS:name" / "IP:1.2.3.4" strings.
std::vector<std::string> subjectAltNames(X509* cert) {
    std::vector<std::string> names;
    auto* list = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; list && i < sk_GENERAL_NAME_num(list); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(list, i);
        if (name->type == GEN_DNS) {
            names.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                                                 ASN1_STRING_length(name->d.dNSName)));
        } else if (name->type == GEN_IPADD) {
            auto* octets = name->d.iPAddress;
            if (ASN1_STRING_length(octets) == 4) {
                const unsigned char* b = ASN1_STRING_get0_data(octets);
                names.push_back("IP:" + std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) +
                                "." + std::to_string(b[3]));
            } else {
                names.push_back("IP:v6");
            }
        }
    }
    GENERAL_NAMES_free(list);
    return names;
}

/// X509_verify_cert of `leaf` against `ca` as the only trusted certificate.
int verify(X509* leaf, X509* ca) {
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
    if (ca) X509_STORE_add_cert(store.get(), ca);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> context(X509_STORE_CTX_new(), X509_STORE_CTX_free);
    X509_STORE_CTX_init(context.get(), store.get(), leaf, nullptr);
    X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(context.get()) == 1) return X509_V_OK;
    return X509_STORE_CTX_get_error(context.get());
}

/// What `openssl x509 -noout -fingerprint -sha256` prints after "=", computed
/// independently of the code under test: SHA-256 over i2d_X509's DER.
std::string referenceFingerprint(X509* cert) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert, &der);
    REQUIRE(length > 0);
    unsigned char digest[32];
    unsigned int size = 0;
    REQUIRE(EVP_Digest(der, static_cast<std::size_t>(length), digest, &size, EVP_sha256(), nullptr) == 1);
    OPENSSL_free(der);
    std::string text;
    char pair[4];
    for (unsigned int i = 0; i < size; ++i) {
        std::snprintf(pair, sizeof pair, i == 0 ? "%02X" : ":%02X", digest[i]);
        text += pair;
    }
    return text;
}
}  // namespace

TEST_CASE("a self-signed certificate names every host in its SANs, the first as CN", "[tls]") {
    const auto pair = makeSelfSigned({{"chat.example", "127.0.0.1", "::1"}});
    auto cert = parse(pair.certificate);
    CHECK(subjectAltNames(cert.get()) == std::vector<std::string>{"DNS:chat.example", "IP:127.0.0.1", "IP:v6"});
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
    CHECK(std::string(cn) == "chat.example");
    CHECK(X509_check_host(cert.get(), "chat.example", 0, 0, nullptr) == 1);
    CHECK(X509_check_host(cert.get(), "other.example", 0, 0, nullptr) == 0);
    CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
    CHECK(X509_check_ca(cert.get()) == 0);
    // what a client without a pin sees: self-signed, or trusted once it is the anchor
    CHECK(verify(cert.get(), nullptr) == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    CHECK(verify(cert.get(), cert.get()) == X509_V_OK);
    CHECK(pair.privateKey.find("BEGIN PRIVATE KEY") != std::string::npos);
}

TEST_CASE("a CA-signed certificate verifies against that CA and no other", "[tls]") {
    const auto ca = makeSelfSigned({{"Test CA"}, std::chrono::seconds(-3600), std::chrono::hours(24), true});
    const auto leaf = makeSignedBy({{"localhost", "127.0.0.1"}}, ca);
    auto caCert = parse(ca.certificate);
    auto leafCert = parse(leaf.certificate);
    CHECK(X509_check_ca(caCert.get()) != 0);
    CHECK(verify(leafCert.get(), caCert.get()) == X509_V_OK);

    const auto otherCa = makeSelfSigned({{"Other CA"}, std::chrono::seconds(-3600), std::chrono::hours(24), true});
    auto otherCert = parse(otherCa.certificate);
    CHECK(verify(leafCert.get(), otherCert.get()) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

    // a leaf cannot sign: a certificate it issues does not verify
    const auto grandchild = makeSignedBy({{"evil.example"}}, leaf);
    auto grandchildCert = parse(grandchild.certificate);
    CHECK(verify(grandchildCert.get(), caCert.get()) != X509_V_OK);
}

TEST_CASE("a certificate valid until the past is expired", "[tls]") {
    const auto ca = makeSelfSigned({{"Test CA"}, std::chrono::seconds(-3600), std::chrono::hours(24), true});
    const auto expired = makeSignedBy({{"localhost"}, std::chrono::hours(-48), std::chrono::hours(-24)}, ca);
    auto caCert = parse(ca.certificate);
    auto cert = parse(expired.certificate);
    CHECK(X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0);
    CHECK(verify(cert.get(), caCert.get()) == X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_CASE("the fingerprint is SHA-256 over the DER certificate, as openssl x509 -fingerprint prints it", "[tls]") {
    const auto pair = makeSelfSigned({{"localhost"}});
    auto cert = parse(pair.certificate);
    const auto expected = referenceFingerprint(cert.get());
    CHECK(expected.size() == 95);
    CHECK(fingerprintSha256(pair.certificate) == expected);
    CHECK(fingerprintSha256(cert.get()) == expected);
    // another key, another fingerprint
    CHECK(fingerprintSha256(makeSelfSigned({{"localhost"}}).certificate) != expected);
    CHECK_THROWS_AS(fingerprintSha256(std::string("not a certificate")), std::runtime_error);
    CHECK_THROWS_AS(makeSelfSigned({{}}), std::runtime_error);
}

TEST_CASE("fingerprints are normalised from the forms people paste", "[tls]") {
    const std::string canonical =
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    CHECK(normaliseFingerprint(canonical) == canonical);
    CHECK(normaliseFingerprint("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789") == canonical);
    CHECK(normaliseFingerprint("SHA256:" + canonical) == canonical);
    CHECK(normaliseFingerprint("sha256:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:"
                               "ef:01:23:45:67:89") == canonical);
    CHECK_FALSE(normaliseFingerprint(""));
    CHECK_FALSE(normaliseFingerprint(canonical.substr(3)));                  // 31 bytes
    CHECK_FALSE(normaliseFingerprint(canonical + ":00"));                    // 33 bytes
    CHECK_FALSE(normaliseFingerprint("ZZ" + canonical.substr(2)));            // not hex
    CHECK_FALSE(normaliseFingerprint("A:BCD" + canonical.substr(5)));         // colon splitting a byte
    CHECK_FALSE(normaliseFingerprint(canonical + ":"));                       // trailing colon
    CHECK_FALSE(normaliseFingerprint("MD5:" + canonical));
}

TEST_CASE("writePemFiles writes the key readable by its owner only", "[tls]") {
    chat::test::TempDir dir;
    const auto pair = makeSelfSigned({{"localhost"}});
    writePemFiles(pair, dir.file("cert.pem"), dir.file("key.pem"));
    struct stat info {};
    REQUIRE(::stat(dir.file("key.pem").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(::stat(dir.file("cert.pem").c_str(), &info) == 0);
    CHECK((info.st_mode & 0077) != 0);  // the certificate is public
    CHECK_THROWS_AS(writePemFiles(pair, dir.file("missing/cert.pem"), dir.file("missing/key.pem")), std::runtime_error);
}

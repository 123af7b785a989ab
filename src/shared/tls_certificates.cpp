#include "shared/tls_certificates.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace chat::tls {

namespace {
template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

[[noreturn]] void fail(const std::string& what) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    std::string message = what;
    if (code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        message += ": ";
        message += reason;
    }
    throw std::runtime_error(message);
}

KeyPtr makeKey() {
    KeyPtr key(EVP_EC_gen("P-256"));
    if (!key) fail("cannot make an EC P-256 key");
    return key;
}

bool isIpLiteral(const std::string& host) {
    unsigned char buffer[16];
    return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

void addExtension(X509* cert, X509V3_CTX& context, int nid, const std::string& value) {
    ExtPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
    if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) fail("cannot add certificate extension " + value);
}

/// A certificate for `key` with the request's names, signed by `signer`
/// under `issuerName` (the certificate's own subject when null).
CertPtr makeCertificate(const CertificateRequest& request, EVP_PKEY* key, EVP_PKEY* signer, X509* issuer) {
    if (request.hosts.empty()) throw std::runtime_error("a certificate needs at least one host name");
    CertPtr cert(X509_new());
    if (!cert) fail("X509_new");
    X509_set_version(cert.get(), 2);  // v3
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes");
    serial[0] &= 0x7f;  // positive
    std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> number(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!number || !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert.get()))) fail("serial number");
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(request.validFrom.count()));
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(request.validUntil.count()));
    if (X509_set_pubkey(cert.get(), key) != 1) fail("X509_set_pubkey");

    X509_NAME* subject = X509_get_subject_name(cert.get());
    const std::string& commonName = request.hosts.front();
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0) != 1)
        fail("certificate common name");
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);

    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    if (request.certificateAuthority) {
        addExtension(cert.get(), context, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(cert.get(), context, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
        addExtension(cert.get(), context, NID_basic_constraints, "critical,CA:FALSE");
        addExtension(cert.get(), context, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        addExtension(cert.get(), context, NID_ext_key_usage, "serverAuth");
    }
    addExtension(cert.get(), context, NID_subject_key_identifier, "hash");
    if (issuer) addExtension(cert.get(), context, NID_authority_key_identifier, "keyid:always");
    std::string names;
    for (const auto& host : request.hosts) {
        if (host.empty() || host.find_first_of(",\n") != std::string::npos)
            throw std::runtime_error("invalid certificate host name '" + host + "'");
        if (!names.empty()) names += ",";
        names += (isIpLiteral(host) ? "IP:" : "DNS:") + host;
    }
    addExtension(cert.get(), context, NID_subject_alt_name, names);
    if (X509_sign(cert.get(), signer, EVP_sha256()) == 0) fail("cannot sign the certificate");
    return cert;
}

std::string toPem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM_write_bio_X509");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string toPem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("PEM_write_bio_PrivateKey");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

CertPtr readCertificate(const std::string& pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    CertPtr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) fail("not a PEM certificate");
    return cert;
}

KeyPtr readKey(const std::string& pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) fail("not a PEM private key");
    return key;
}

void writeFile(const std::string& path, const std::string& text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    ::fchmod(fd, mode);  // an existing file keeps its old mode otherwise
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = errno;
            ::close(fd);
            throw std::runtime_error("cannot write " + path + ": " + std::strerror(error));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}
}  // namespace

PemPair makeSelfSigned(const CertificateRequest& request) {
    auto key = makeKey();
    auto cert = makeCertificate(request, key.get(), key.get(), nullptr);
    return {toPem(cert.get()), toPem(key.get())};
}

PemPair makeSignedBy(const CertificateRequest& request, const PemPair& issuer) {
    auto issuerCert = readCertificate(issuer.certificate);
    auto issuerKey = readKey(issuer.privateKey);
    auto key = makeKey();
    auto cert = makeCertificate(request, key.get(), issuerKey.get(), issuerCert.get());
    return {toPem(cert.get()), toPem(key.get())};
}

std::string fingerprintSha256(X509* certificate) {
    if (certificate == nullptr) throw std::runtime_error("no certificate");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(certificate, EVP_sha256(), digest, &length) != 1) fail("X509_digest");
    static const char kHex[] = "0123456789ABCDEF";
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        if (i != 0) text += ':';
        text += kHex[digest[i] >> 4];
        text += kHex[digest[i] & 0xf];
    }
    return text;
}

std::string fingerprintSha256(const std::string& certificatePem) {
    auto cert = readCertificate(certificatePem);
    return fingerprintSha256(cert.get());
}

std::optional<std::string> normaliseFingerprint(std::string_view text) {
    for (std::string_view prefix : {"SHA256:", "sha256:"})
        if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
    std::string hex;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ':') {
            // colons only between pairs: "AB:CD", never "A:BCD" or "AB::CD"
            if (hex.empty() || hex.size() % 2 != 0 || i + 1 == text.size() || text[i + 1] == ':') return std::nullopt;
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64) return std::nullopt;
    std::string canonical;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i != 0) canonical += ':';
        canonical.append(hex, i, 2);
    }
    return canonical;
}

void writePemFiles(const PemPair& pair, const std::string& certPath, const std::string& keyPath) {
    writeFile(keyPath, pair.privateKey, 0600);
    writeFile(certPath, pair.certificate, 0644);
}

}  // namespace chat::tls

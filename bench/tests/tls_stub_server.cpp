#include "tls_stub_server.hpp"

#include "loopback_listener.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace bench::test {

namespace {
std::string pemOf(int (*write)(BIO*, void*), void* object) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio, object);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

int writeCertificate(BIO* bio, void* x) { return PEM_write_bio_X509(bio, static_cast<X509*>(x)); }
int writeKey(BIO* bio, void* k) {
    return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
}

void appendFrame(std::string& out, const std::string& json) {
    const auto n = static_cast<std::uint32_t>(json.size());
    const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                            static_cast<char>(n)};
    out.append(header, 4);
    out += json;
}

/// One connection's byte stream, TLS or not; blocking.
struct Stream {
    int fd;
    SSL* ssl;
    bool readExactly(char* into, std::size_t n) {
        for (std::size_t got = 0; got < n;) {
            const long r = ssl ? SSL_read(ssl, into + got, static_cast<int>(n - got))
                               : ::recv(fd, into + got, n - got, 0);
            if (r <= 0) return false;
            got += static_cast<std::size_t>(r);
        }
        return true;
    }
    bool writeAll(const std::string& data) {
        for (std::size_t put = 0; put < data.size();) {
            const long r = ssl ? SSL_write(ssl, data.data() + put, static_cast<int>(data.size() - put))
                               : ::send(fd, data.data() + put, data.size() - put, MSG_NOSIGNAL);
            if (r <= 0) return false;
            put += static_cast<std::size_t>(r);
        }
        return true;
    }
};
}  // namespace

TestCertificate makeTestCertificate(const std::string& ip) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    if (!key || !x) throw std::runtime_error("cannot make a test key");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(ip.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:" + ip},
                                     std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, key, EVP_sha256());
    TestCertificate out{pemOf(writeCertificate, x), pemOf(writeKey, key)};
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

StubServer::StubServer(Mode mode, const TestCertificate& certificate, bool holdReadsUntilReleased)
    : mode_(mode), holding_(holdReadsUntilReleased) {
    if (mode == Mode::Tls) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        BIO* certBio = BIO_new_mem_buf(certificate.certificatePem.data(), static_cast<int>(certificate.certificatePem.size()));
        BIO* keyBio = BIO_new_mem_buf(certificate.keyPem.data(), static_cast<int>(certificate.keyPem.size()));
        X509* x = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
        EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
        const bool ok = x && key && SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
        X509_free(x);
        EVP_PKEY_free(key);
        BIO_free(certBio);
        BIO_free(keyBio);
        if (!ok) {
            SSL_CTX_free(ctx);
            throw std::runtime_error("stub server: bad certificate or key");
        }
        ctx_ = ctx;
    }
    const auto listener = listenOnLoopback("stub server");
    listener_ = listener.fd;
    port_ = listener.port;
    acceptor_ = std::thread([this] { acceptLoop(); });
}

StubServer::~StubServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    released_.notify_all();
    acceptor_.join();
    for (auto& worker : workers_) worker.join();
    ::close(listener_);
    SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void StubServer::release() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        holding_ = false;
    }
    released_.notify_all();
}

void StubServer::acceptLoop() {
    while (!stopping_) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (stopping_ || (errno != EINTR && errno != ECONNABORTED)) return;
            continue;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) {
                ::close(fd);
                return;
            }
            open_.push_back(fd);
        }
        workers_.emplace_back([this, fd] { serve(fd); });
    }
}

void StubServer::serve(int fd) {
    SSL* ssl = nullptr;
    Stream stream{fd, nullptr};
    const auto done = [&] {
        if (ssl) SSL_free(ssl);
        std::lock_guard<std::mutex> lock(mutex_);
        open_.erase(std::find(open_.begin(), open_.end(), fd));
        ::close(fd);
    };
    if (mode_ == Mode::TlsRequired) {
        char first = 0;
        if (::recv(fd, &first, 1, MSG_PEEK) == 1) {
            std::string frame;
            appendFrame(frame, R"({"type":"error","code":"tls_required","message":"this port speaks TLS: connect with --tls"})");
            stream.writeAll(frame);
        }
        return done();
    }
    if (mode_ == Mode::Tls) {
        ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
            ERR_clear_error();
            return done();
        }
        ++handshakes_;
        if (SSL_session_reused(ssl)) ++resumed_;
        stream.ssl = ssl;
    }
    std::string body;
    for (;;) {
        unsigned char header[4];
        if (!stream.readExactly(reinterpret_cast<char*>(header), 4)) break;
        const std::size_t length = (std::size_t{header[0]} << 24) | (std::size_t{header[1]} << 16) |
                                   (std::size_t{header[2]} << 8) | header[3];
        if (length > 1 << 20) break;
        body.resize(length);
        if (!stream.readExactly(body.data(), length)) break;
        std::string out;
        if (body.find(R"("type":"hello")") != std::string::npos) {
            appendFrame(out, R"({"type":"welcome","user":"stub"})");
            if (!stream.writeAll(out)) break;
            std::unique_lock<std::mutex> lock(mutex_);
            released_.wait(lock, [this] { return !holding_ || stopping_; });
            continue;
        }
        const auto at = body.find(R"("text":")");
        if (at == std::string::npos) continue;
        const auto start = at + 8, end = body.find('"', start);
        appendFrame(out, R"({"type":"message","from":"stub","text":")" + body.substr(start, end - start) + "\"}");
        if (!stream.writeAll(out)) break;
    }
    done();
}

}  // namespace bench::test

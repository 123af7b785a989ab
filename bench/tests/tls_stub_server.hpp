#pragma once
// A stand-in chat server for the engine's TLS tests: listens on 127.0.0.1
// port 0, serves each connection on its own thread with blocking OpenSSL
// (or plain TCP), answers hello with welcome and echoes every send as a
// message event. Its certificate is made at test time (EC P-256, self-
// signed, SAN IP 127.0.0.1); nothing secret is committed.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench::test {

/// A self-signed certificate and key in PEM, for `ip` (SAN and CN).
struct TestCertificate {
    std::string certificatePem;
    std::string keyPem;
};
TestCertificate makeTestCertificate(const std::string& ip = "127.0.0.1");

class StubServer {
public:
    enum class Mode {
        Tls,          ///< TLS 1.2+, then the chat protocol
        Plain,        ///< the chat protocol over TCP
        TlsRequired,  ///< a plaintext port that answers with the tls_required error frame and closes
    };
    /// `holdReadsUntilReleased`: connections do not read after the hello
    /// until release() (so a client's writes pile up in the kernel).
    explicit StubServer(Mode mode, const TestCertificate& certificate = {}, bool holdReadsUntilReleased = false);
    ~StubServer();  ///< stops accepting, closes every connection, joins the threads
    StubServer(const StubServer&) = delete;
    StubServer& operator=(const StubServer&) = delete;

    std::uint16_t port() const { return port_; }
    void release();
    /// Handshakes completed, and how many of them resumed a session.
    int handshakes() const { return handshakes_.load(); }
    int resumed() const { return resumed_.load(); }

private:
    void acceptLoop();
    void serve(int fd);

    Mode mode_;
    void* ctx_ = nullptr;  // SSL_CTX*
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> handshakes_{0};
    std::atomic<int> resumed_{0};
    std::mutex mutex_;
    std::condition_variable released_;
    bool holding_;                 // guarded by mutex_
    std::vector<int> open_;        // guarded by mutex_: connection sockets, shut down on stop
    std::thread acceptor_;
    std::vector<std::thread> workers_;  // only the acceptor thread adds; joined after it ends
};

}  // namespace bench::test

// The engine over TLS, against a stub server on a real loopback socket:
// the adapter's framing is unchanged under TLS, large writes survive
// WANT_WRITE and partial writes, every handshake is a full one, and a
// wrong peer (plaintext port, wrong certificate) fails the connection with
// a message instead of hanging.

#include "engine.hpp"
#include "engine_recorder.hpp"
#include "proc_stats.hpp"
#include "tls_stub_server.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <unistd.h>

using bench::test::StubServer;
using bench::test::pollUntil;
using bench::test::Recorder;

namespace {
bench::TlsOptions tlsOn(const std::string& caFile = {}) {
    bench::TlsOptions tls;
    tls.enabled = true;
    tls.caFile = caFile;
    return tls;
}

/// A PEM file in the temporary directory, removed with the object.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& contents) {
        char name[] = "/tmp/bench-tls-test-XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
        ::close(fd);
        path = name;
    }
    ~TempFile() { std::remove(path.c_str()); }
};
}  // namespace

TEST_CASE("TLS engine: logs in and carries the chat framing unchanged", "[tls]") {
    std::signal(SIGPIPE, SIG_IGN);
    const auto certificate = bench::test::makeTestCertificate();
    StubServer server(StubServer::Mode::Tls, certificate);
    auto adapter = bench::makeAdapter("chat");
    bench::Engine engine(*adapter, "127.0.0.1", server.port(), tlsOn());
    Recorder recorder;
    engine.setHandler(&recorder);
    const int id = engine.open({"alice", true});
    REQUIRE(pollUntil(engine, [&] { return recorder.ready == 1 || recorder.closed > 0; }));
    REQUIRE(recorder.ready == 1);
    CHECK(engine.handshakeCount() == 1);
    CHECK(engine.negotiated().rfind("TLSv1.3 ", 0) == 0);  // OpenSSL 3 on both ends: 1.3
    engine.post(id, "hello over tls");
    REQUIRE(pollUntil(engine, [&] { return !recorder.payloads.empty(); }));
    CHECK(recorder.payloads.front() == "hello over tls");
}

TEST_CASE("TLS engine: megabytes queued while the server does not read all arrive, in order", "[tls]") {
    std::signal(SIGPIPE, SIG_IGN);
    const auto certificate = bench::test::makeTestCertificate();
    StubServer server(StubServer::Mode::Tls, certificate, /*holdReadsUntilReleased=*/true);
    auto adapter = bench::makeAdapter("chat");
    bench::Engine engine(*adapter, "127.0.0.1", server.port(), tlsOn());
    Recorder recorder;
    engine.setHandler(&recorder);
    const int id = engine.open({"bulk", true});
    REQUIRE(pollUntil(engine, [&] { return recorder.ready == 1; }));
    constexpr int kMessages = 60000;  // about 9 MiB of frames: more than the socket buffers take
    const std::string filler(120, 'x');
    for (int i = 0; i < kMessages; ++i) engine.post(id, std::to_string(i) + filler);
    // Until the kernel takes no more (the queue stops shrinking): some must
    // still be queued here, waiting on WANT_WRITE, with the server not reading.
    std::size_t before = 0;
    REQUIRE(pollUntil(engine, [&] {
        const std::size_t now = engine.unsent(id);
        const bool stuck = now == before;
        before = now;
        return stuck;
    }));
    CHECK(engine.unsent(id) > 0);
    server.release();
    REQUIRE(pollUntil(engine, [&] { return recorder.payloads.size() == kMessages || recorder.closed > 0; }));
    REQUIRE(recorder.closed == 0);
    for (int i = 0; i < kMessages; i += 997) CHECK(recorder.payloads[static_cast<std::size_t>(i)] == std::to_string(i) + filler);
    CHECK(recorder.payloads.back() == std::to_string(kMessages - 1) + filler);
    CHECK(engine.unsent(id) == 0);
}

TEST_CASE("TLS engine: every connection makes a full handshake (no resumption)", "[tls]") {
    std::signal(SIGPIPE, SIG_IGN);
    const auto certificate = bench::test::makeTestCertificate();
    StubServer server(StubServer::Mode::Tls, certificate);
    auto adapter = bench::makeAdapter("chat");
    bench::Engine engine(*adapter, "127.0.0.1", server.port(), tlsOn());
    Recorder recorder;
    engine.setHandler(&recorder);
    for (int i = 0; i < 5; ++i) {
        const int id = engine.open({"cycle" + std::to_string(i), false});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready == i + 1; }));
        engine.close(id);
    }
    REQUIRE(pollUntil(engine, [&] { return server.handshakes() == 5; }));
    CHECK(server.resumed() == 0);
}

TEST_CASE("TLS engine: --ca-file verifies the server's certificate and address", "[tls]") {
    std::signal(SIGPIPE, SIG_IGN);
    const auto certificate = bench::test::makeTestCertificate();
    StubServer server(StubServer::Mode::Tls, certificate);
    auto adapter = bench::makeAdapter("chat");
    Recorder recorder;

    SECTION("the server's own certificate: accepted") {
        TempFile ca(certificate.certificatePem);
        bench::Engine engine(*adapter, "127.0.0.1", server.port(), tlsOn(ca.path));
        engine.setHandler(&recorder);
        engine.open({"verified", true});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.ready == 1);
    }
    SECTION("another certificate: the handshake fails and says why") {
        TempFile ca(bench::test::makeTestCertificate().certificatePem);
        bench::Engine engine(*adapter, "127.0.0.1", server.port(), tlsOn(ca.path));
        engine.setHandler(&recorder);
        const int id = engine.open({"untrusted", true});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.closed == 1);
        CHECK(engine.lastError(id).find("certificate verify failed") != std::string::npos);
        CHECK(engine.failedCount() == 1);
    }
    SECTION("a certificate for another address: refused") {
        const auto other = bench::test::makeTestCertificate("127.0.0.2");
        StubServer elsewhere(StubServer::Mode::Tls, other);
        TempFile ca(other.certificatePem);
        bench::Engine engine(*adapter, "127.0.0.1", elsewhere.port(), tlsOn(ca.path));
        engine.setHandler(&recorder);
        const int id = engine.open({"wronghost", true});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.closed == 1);
        CHECK(engine.lastError(id).find("IP address mismatch") != std::string::npos);
    }
}

TEST_CASE("TLS engine: a plaintext port fails the handshake instead of hanging", "[tls]") {
    std::signal(SIGPIPE, SIG_IGN);
    auto adapter = bench::makeAdapter("chat");
    Recorder recorder;
    SECTION("one that answers with a tls_required frame") {
        StubServer server(StubServer::Mode::TlsRequired);
        bench::Engine engine(*adapter, "127.0.0.1", server.port(), tlsOn());
        engine.setHandler(&recorder);
        const int id = engine.open({"lost", true});
        REQUIRE(pollUntil(engine, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.closed == 1);
        CHECK(engine.lastError(id).rfind("TLS handshake: ", 0) == 0);
    }
    SECTION("one that speaks the chat protocol in plaintext") {
        StubServer server(StubServer::Mode::Plain);
        bench::Engine plain(*adapter, "127.0.0.1", server.port());
        plain.setHandler(&recorder);
        plain.open({"plain", true});
        REQUIRE(pollUntil(plain, [&] { return recorder.ready + recorder.closed > 0; }));
        CHECK(recorder.ready == 1);  // the stub itself works without TLS
        CHECK(plain.handshakeCount() == 0);
    }
}

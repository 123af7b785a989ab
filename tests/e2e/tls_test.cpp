// The TLS listener of the real `chat serve`, with a CA and certificates made
// at test time: TLS and plaintext clients in one conversation, the wrong
// protocol on either port, handshakes that fail or never finish, a peer that
// stalls mid-record, SIGHUP reloads, --generate-cert and flag errors.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/raw_connection.hpp"
#include "support/tls_connection.hpp"

#include "shared/frame_codec.hpp"
#include "shared/tls_certificates.hpp"

#include <Poco/JSON/Object.h>
#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <csignal>
#include <fstream>
#include <sys/stat.h>

using namespace chat::test;
using namespace std::chrono_literals;

namespace {
/// `chat serve` on an in-memory database with the fixture's certificate, plus `extra`.
TlsServeProcess startTlsServer(const TlsFixture& fixture, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"serve", "--host", "127.0.0.1", "--port", "0", "--db", ":memory:"};
    const auto tlsArgs = fixture.serveArgs();
    args.insert(args.end(), tlsArgs.begin(), tlsArgs.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return startTlsServe(args);
}

TlsClientOptions trusting(const TlsFixture& fixture) { return {fixture.ca.certificate, "localhost"}; }

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

/// The next payload whose type is `type`, from either kind of connection.
template <class Connection>
std::string nextPayloadOfType(Connection& connection, const std::string& type) {
    const auto deadline = Clock::now() + kWait;
    for (;;) {
        auto payload = connection.nextPayload(std::chrono::milliseconds(millisUntil(deadline)));
        INFO("waiting for a " << type);
        REQUIRE(payload);
        if (payload->find("\"type\":\"" + type + "\"") != std::string::npos) return *payload;
    }
}

void writeFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    REQUIRE(out.good());
}
}  // namespace

TEST_CASE("a TLS client and a plaintext client chat in one room and see byte-identical events", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture);
    auto alice = TlsConnection::joined(server.tlsPort, "alice", trusting(fixture));
    auto bob = RawConnection::joined(server.port, "bob");
    nextPayloadOfType(*alice, "joined");  // bob came in

    auto carol = RawConnection::joined(server.port, "carol");
    carol->sendJson(R"({"type":"send","id":1,"text":"over both transports"})");
    const auto overTls = nextPayloadOfType(*alice, "message");
    const auto overTcp = nextPayloadOfType(*bob, "message");
    CHECK(overTls == overTcp);
    CHECK(overTls.find("over both transports") != std::string::npos);

    alice->sendJson(R"({"type":"send","id":2,"text":"from TLS"})");
    CHECK(nextPayloadOfType(*alice, "message") == nextPayloadOfType(*bob, "message"));
    CHECK(server.process->stderrText().find("TLS connection from 127.0.0.1") != std::string::npos);
}

TEST_CASE("the server's chain verifies against the CA; a wrong host name or an expired certificate does not", "[tls]") {
    TlsFixture fixture;
    {
        auto server = startTlsServer(fixture);
        TlsConnection byName(server.tlsPort, trusting(fixture));
        CHECK(byName.handshake() == "");
        TlsConnection byAddress(server.tlsPort, {fixture.ca.certificate, "127.0.0.1"});
        CHECK(byAddress.handshake() == "");
        TlsConnection wrongHost(server.tlsPort, {fixture.ca.certificate, "chat.example.org"});
        CHECK(wrongHost.handshake() == "hostname mismatch");
        const auto stranger = chat::tls::makeSelfSigned({{"other CA"}, -1h, 24h, true});
        TlsConnection otherCa(server.tlsPort, {stranger.certificate, "localhost"});
        CHECK(otherCa.handshake() == "unable to get local issuer certificate");
        // every refusal cost the server one log line, and it still serves
        CHECK(server.process->waitForStderr("TLS handshake failed"));
        TlsConnection::joined(server.tlsPort, "after", trusting(fixture));
    }
    chat::tls::writePemFiles(chat::tls::makeSignedBy({{"localhost", "127.0.0.1"}, -48h, -24h}, fixture.ca),
                             fixture.certFile, fixture.keyFile);
    auto server = startTlsServer(fixture);
    TlsConnection expired(server.tlsPort, trusting(fixture));
    CHECK(expired.handshake() == "certificate has expired");
}

TEST_CASE("a plaintext client on the TLS port is told tls_required in plaintext, then closed", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture);
    RawConnection plain(server.tlsPort);
    plain.send(helloFrame("plain"));
    const auto payload = plain.nextPayload();
    REQUIRE(payload);
    CHECK(*payload == R"({"type":"error","code":"tls_required","message":"this port speaks TLS: connect with --tls"})");
    CHECK(plain.closedWithin());
    CHECK(plain.howClosed() == "eof");  // a FIN after the answer, not a reset
    REQUIRE(server.process->waitForStderr("plaintext client on the TLS port from 127.0.0.1"));
    TlsConnection::joined(server.tlsPort, "tls", trusting(fixture));
    RawConnection::joined(server.port, "plain");
    CHECK(count(server.process->stderrText(), "plaintext client on the TLS port") == 1);
}

TEST_CASE("a TLS client refused at accept gets its refusal over TLS once the handshake is done", "[tls]") {
    // The refusal is queued before the handshake: the write waits for it and
    // is retried when the handshake completes.
    TlsFixture fixture;
    auto server = startTlsServer(fixture, {"--max-clients", "1"});
    auto alice = TlsConnection::joined(server.tlsPort, "alice", trusting(fixture));
    TlsConnection refused(server.tlsPort, trusting(fixture));
    REQUIRE(refused.handshake() == "");
    const auto error = refused.waitForType("error");
    CHECK(error->getValue<std::string>("code") == "server_full");
    CHECK(refused.closedWithin());
    alice->sendJson(R"({"type":"ping","id":1})");
    nextPayloadOfType(*alice, "pong");
}

TEST_CASE("a TLS handshake on the plaintext port is closed without an answer", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture);
    TlsConnection wrongPort(server.port, trusting(fixture));
    const auto outcome = wrongPort.handshake();
    INFO(outcome);
    CHECK((outcome == "eof" || outcome == "unexpected eof while reading"));
    REQUIRE(server.process->waitForStderr("TLS handshake on the plaintext port from 127.0.0.1"));
    auto bob = RawConnection::joined(server.port, "bob");
    bob->requireServed(7);
    CHECK(count(server.process->stderrText(), "TLS handshake on the plaintext port") == 1);
}

TEST_CASE("a handshake that never completes is cut at the hello timeout", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture, {"--hello-timeout", "0.5"});
    RawConnection silent(server.tlsPort);
    RawConnection torn(server.tlsPort);
    torn.send(std::string("\x16\x03\x01\x00\x80", 5) + "half a ClientHello");
    const auto start = Clock::now();
    CHECK(silent.closedWithin(5s));
    CHECK(torn.closedWithin(5s));
    CHECK(millisSince(start) >= 400);
    CHECK(server.process->waitForStderr("no hello within 500 ms"));
    // the server went on serving meanwhile
    TlsConnection::joined(server.tlsPort, "patient", trusting(fixture));
}

TEST_CASE("a TLS peer that stalls mid-record is dropped while the others chat", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture, {"--ping-interval", "0.3"});
    auto stalled = TlsConnection::joined(server.tlsPort, "stalled", trusting(fixture));
    auto alice = TlsConnection::joined(server.tlsPort, "alice", trusting(fixture));
    auto bob = RawConnection::joined(server.port, "bob");
    // An application-data record header promising 64 bytes, and 5 of them.
    stalled->sendUnencrypted(std::string("\x17\x03\x03\x00\x40" "abcde", 10));
    const auto start = Clock::now();
    for (int i = 0; i < 5; ++i) {
        bob->sendJson(R"({"type":"send","id":)" + std::to_string(10 + i) + R"(,"text":"still here"})");
        nextPayloadOfType(*alice, "message");
        alice->sendJson(R"({"type":"ping","id":)" + std::to_string(20 + i) + "}");
        nextPayloadOfType(*alice, "pong");
    }
    CHECK(millisSince(start) < 300);  // nobody waited on the stalled record
    CHECK(stalled->closedWithin(5s));
    CHECK(server.process->waitForStderr("disconnected 127.0.0.1"));
    CHECK(server.process->stderrText().find("(stalled)") != std::string::npos);
}

TEST_CASE("SIGHUP reloads the certificate for new connections; existing ones keep chatting", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture);
    auto before = TlsConnection::joined(server.tlsPort, "before", trusting(fixture));
    const auto oldFingerprint = before->peerFingerprint();
    CHECK(oldFingerprint == chat::tls::fingerprintSha256(fixture.server.certificate));

    const auto renewed = chat::tls::makeSignedBy({{"localhost", "127.0.0.1"}}, fixture.ca);
    chat::tls::writePemFiles(renewed, fixture.certFile, fixture.keyFile);
    server.process->signal(SIGHUP);
    REQUIRE(server.process->waitForStderr("reloaded the TLS certificate"));

    auto after = TlsConnection::joined(server.tlsPort, "after", trusting(fixture));
    CHECK(after->peerFingerprint() == chat::tls::fingerprintSha256(renewed.certificate));
    CHECK(after->peerFingerprint() != oldFingerprint);
    before->sendJson(R"({"type":"send","id":1,"text":"old session, new certificate"})");
    CHECK(nextPayloadOfType(*after, "message").find("old session, new certificate") != std::string::npos);
    CHECK(nextPayloadOfType(*before, "message").find("old session, new certificate") != std::string::npos);
    CHECK(before->peerFingerprint() == oldFingerprint);
}

TEST_CASE("a SIGHUP with a broken certificate file keeps the old certificate and logs one error", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture);
    auto before = TlsConnection::joined(server.tlsPort, "before", trusting(fixture));
    writeFile(fixture.certFile, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n");
    server.process->signal(SIGHUP);
    REQUIRE(server.process->waitForStderr("TLS reload failed"));
    CHECK(count(server.process->stderrText(), "TLS reload failed") == 1);
    CHECK(server.process->stderrText().find(fixture.certFile) != std::string::npos);

    auto after = TlsConnection::joined(server.tlsPort, "after", trusting(fixture));
    CHECK(after->peerFingerprint() == chat::tls::fingerprintSha256(fixture.server.certificate));
    before->sendJson(R"({"type":"ping","id":3})");
    nextPayloadOfType(*before, "pong");
}

TEST_CASE("tls-only: chat serve --tls-only serves TLS and has no plaintext listener", "[tls]") {
    TlsFixture fixture;
    auto server = startTlsServer(fixture, {"--tls-only"});
    CHECK(server.port == 0);
    CHECK(server.process->stdoutText().find("listening on ") == std::string::npos);
    TlsConnection::joined(server.tlsPort, "secure", trusting(fixture));
}

TEST_CASE("chat serve --generate-cert writes a certificate and key and prints the fingerprint", "[tls]") {
    TempDir dir;
    const auto where = dir.file("certs");
    const auto result = runChat({"serve", "--generate-cert", where, "--cert-host", "chat.test", "--cert-host", "10.0.0.7"});
    INFO(describe(result));
    REQUIRE(result.exitCode == 0);
    std::ifstream certIn(where + "/cert.pem");
    const std::string cert((std::istreambuf_iterator<char>(certIn)), std::istreambuf_iterator<char>());
    CHECK(result.out.find("SHA-256 fingerprint: " + chat::tls::fingerprintSha256(cert)) != std::string::npos);
    CHECK(result.out.find("chat serve --tls-cert " + where + "/cert.pem --tls-key " + where + "/key.pem") !=
          std::string::npos);
    struct stat info {};
    REQUIRE(::stat((where + "/key.pem").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    BIO* bio = BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size()));
    X509* parsed = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(parsed);
    CHECK(X509_check_host(parsed, "chat.test", 0, 0, nullptr) == 1);
    CHECK(X509_check_ip_asc(parsed, "10.0.0.7", 0) == 1);
    X509_free(parsed);

    // the files it wrote serve TLS as they are
    TlsFixture unused;
    auto server = ChildProcess({"serve", "--host", "127.0.0.1", "--port", "0", "--db", ":memory:", "--tls-only",
                                "--tls-port", "0", "--tls-cert", where + "/cert.pem", "--tls-key", where + "/key.pem"});
    auto line = server.waitForLine("listening for TLS on ");
    REQUIRE(line);
    TlsConnection client(listeningPort(*line), {cert, "chat.test"});
    CHECK(client.handshake() == "");

    const auto again = runChat({"serve", "--generate-cert", where});
    CHECK(again.exitCode == 73);
    CHECK(again.err.find("already exists") != std::string::npos);
}

TEST_CASE("chat serve refuses incomplete or unusable TLS flags with a clear message", "[tls]") {
    TlsFixture fixture;
    auto noKey = runChat({"serve", "--port", "0", "--tls-cert", fixture.certFile});
    CHECK(noKey.exitCode == 64);
    CHECK(noKey.err.find("--tls-cert needs --tls-key") != std::string::npos);
    auto noCert = runChat({"serve", "--port", "0", "--tls-key", fixture.keyFile});
    CHECK(noCert.exitCode == 64);
    CHECK(noCert.err.find("--tls-key needs --tls-cert") != std::string::npos);
    auto tlsOnly = runChat({"serve", "--port", "0", "--tls-only"});
    CHECK(tlsOnly.exitCode == 64);
    CHECK(tlsOnly.err.find("--tls-only needs --tls-cert") != std::string::npos);

    auto missing = runChat({"serve", "--port", "0", "--tls-cert", fixture.dir.file("nope.pem"), "--tls-key", fixture.keyFile});
    CHECK(missing.exitCode == 66);
    CHECK(missing.err.find("cannot read the TLS certificate " + fixture.dir.file("nope.pem")) != std::string::npos);
    auto notPem = runChat({"serve", "--port", "0", "--tls-cert", fixture.keyFile, "--tls-key", fixture.keyFile});
    CHECK(notPem.exitCode == 66);
    CHECK(notPem.err.find("is not a usable PEM certificate") != std::string::npos);
    const auto other = chat::tls::makeSelfSigned({{"localhost"}});
    writeFile(fixture.dir.file("other-key.pem"), other.privateKey);
    auto mismatch = runChat({"serve", "--port", "0", "--tls-cert", fixture.certFile, "--tls-key", fixture.dir.file("other-key.pem")});
    CHECK(mismatch.exitCode == 66);
    CHECK(mismatch.err.find("does not belong to the certificate") != std::string::npos);
}

// The client's side of TLS with the real binaries: `chat serve` with
// certificates made at test time (chat::tls, into a temporary directory;
// nothing secret is committed), `chat send` judged by its exit status, and
// `chat connect` on a terminal (tmux) for trust on first use.

#include "shared/tls_certificates.hpp"
#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/text.hpp"
#include "support/tmux_session.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <thread>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace chat::test;
namespace tls = chat::tls;

namespace {
constexpr int kUnavailable = 69;
constexpr int kTempFail = 75;
constexpr int kUntrusted = 77;

std::string readFile(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

/// A directory of certificates for one test: a CA, and servers' pairs
/// written as NAME-cert.pem / NAME-key.pem.
class Certificates {
public:
    Certificates() : ca_(tls::makeSelfSigned(caRequest())) {
        std::ofstream(caFile()) << ca_.certificate;
    }
    std::string caFile() const { return dir_.path() + "/ca.pem"; }

    /// A certificate for `hosts` signed by the CA; returns its fingerprint.
    std::string signedFor(const std::string& name, std::vector<std::string> hosts,
                          std::chrono::seconds validFrom = std::chrono::hours(-1),
                          std::chrono::seconds validUntil = std::chrono::hours(24)) {
        tls::CertificateRequest request;
        request.hosts = std::move(hosts);
        request.validFrom = validFrom;
        request.validUntil = validUntil;
        return write(name, tls::makeSignedBy(request, ca_));
    }
    /// A self-signed certificate for 127.0.0.1 and localhost.
    std::string selfSigned(const std::string& name) {
        tls::CertificateRequest request;
        request.hosts = {"localhost", "127.0.0.1"};
        return write(name, tls::makeSelfSigned(request));
    }
    std::string cert(const std::string& name) const { return dir_.path() + "/" + name + "-cert.pem"; }
    std::string key(const std::string& name) const { return dir_.path() + "/" + name + "-key.pem"; }
    const std::string& path() const { return dir_.path(); }

private:
    static tls::CertificateRequest caRequest() {
        tls::CertificateRequest request;
        request.hosts = {"chat test CA"};
        request.certificateAuthority = true;
        return request;
    }
    std::string write(const std::string& name, const tls::PemPair& pair) {
        tls::writePemFiles(pair, cert(name), key(name));
        return tls::fingerprintSha256(pair.certificate);
    }
    TempDir dir_;
    tls::PemPair ca_;
};

/// `chat serve` with a plaintext and a TLS listener, serving certificate `name`.
TlsServeProcess startTlsServer(const Certificates& certificates, const std::string& name, std::uint16_t tlsPort = 0) {
    return startTlsServe({"serve", "--host", "127.0.0.1", "--port", "0", "--tls-cert", certificates.cert(name),
                          "--tls-key", certificates.key(name), "--tls-port", std::to_string(tlsPort)});
}

/// `chat send --user ci ARGS... '#lobby' TEXT` with known_servers under `state`.
RunResult send(const std::string& state, std::vector<std::string> args, const std::string& text = "over tls") {
    std::vector<std::string> all{"send", "--user", "ci"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back("#lobby");
    all.push_back(text);
    return runChat(all, {}, {{"XDG_STATE_HOME", state}, {"HOME", state}});
}

std::vector<std::string> at(const std::string& host, std::uint16_t port, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--host", host, "--port", std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}
}  // namespace

TEST_CASE("tls: chat send verifies against --ca-file: right host 0, wrong host 77, expired 77") {
    Certificates certificates;
    TempDir state;
    SECTION("verified, by IP address and by host name (SNI)") {
        certificates.signedFor("good", {"localhost", "127.0.0.1"});
        auto server = startTlsServer(certificates, "good");
        auto alice = connectClient(server.port, "alice");  // plaintext and TLS share one conversation
        auto r = send(state.path(), at("127.0.0.1", server.tlsPort, {"--tls", "--ca-file", certificates.caFile()}));
        INFO(describe(r));
        CHECK(r.exitCode == 0);
        CHECK(r.err.empty());
        CHECK(alice->waitForLine("ci: over tls"));
        r = send(state.path(), at("localhost", server.tlsPort, {"--tls", "--ca-file", certificates.caFile()}), "by name");
        INFO(describe(r));
        CHECK(r.exitCode == 0);
        CHECK(alice->waitForLine("ci: by name"));
        // Nothing was pinned: verification alone was enough.
        struct stat info {};
        CHECK(::stat((state.path() + "/chat/known_servers").c_str(), &info) != 0);
    }
    SECTION("a certificate for another host") {
        certificates.signedFor("other", {"other.invalid"});
        auto server = startTlsServer(certificates, "other");
        const auto r = send(state.path(), at("127.0.0.1", server.tlsPort, {"--tls", "--ca-file", certificates.caFile()}));
        INFO(describe(r));
        CHECK(r.exitCode == kUntrusted);
        CHECK(contains(r.err, "127.0.0.1:" + std::to_string(server.tlsPort)));
        CHECK(contains(r.err, "not for this host"));
    }
    SECTION("an expired certificate") {
        certificates.signedFor("expired", {"127.0.0.1"}, std::chrono::hours(-48), std::chrono::hours(-24));
        auto server = startTlsServer(certificates, "expired");
        const auto r = send(state.path(), at("127.0.0.1", server.tlsPort, {"--tls", "--ca-file", certificates.caFile()}));
        INFO(describe(r));
        CHECK(r.exitCode == kUntrusted);
        CHECK(contains(r.err, "expired"));
    }
    SECTION("without --ca-file the system store does not know the test CA") {
        certificates.signedFor("good", {"127.0.0.1"});
        auto server = startTlsServer(certificates, "good");
        const auto r = send(state.path(), at("127.0.0.1", server.tlsPort, {"--tls"}));
        INFO(describe(r));
        CHECK(r.exitCode == kUntrusted);
        CHECK(contains(r.err, "--fingerprint "));
    }
}

TEST_CASE("tls: chat send to a self-signed server: 77 with the fingerprint, then --fingerprint, chats:// and pins") {
    Certificates certificates;
    TempDir state;
    const auto fingerprint = certificates.selfSigned("self");
    auto server = startTlsServer(certificates, "self");
    const std::string where = "127.0.0.1:" + std::to_string(server.tlsPort);

    auto r = send(state.path(), at("127.0.0.1", server.tlsPort, {"--tls"}));
    INFO(describe(r));
    CHECK(r.exitCode == kUntrusted);
    CHECK(contains(r.err, "--fingerprint " + fingerprint));
    CHECK(contains(r.err, where));

    r = send(state.path(), at("127.0.0.1", server.tlsPort, {"--tls", "--fingerprint", fingerprint}));
    INFO(describe(r));
    CHECK(r.exitCode == 0);

    std::string bare;  // the same fingerprint written without colons, in lower case
    for (char c : fingerprint)
        if (c != ':') bare += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r = send(state.path(), {"--host", "chats://" + where, "--fingerprint", bare});
    INFO(describe(r));
    CHECK(r.exitCode == 0);

    auto wrong = fingerprint;
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    r = send(state.path(), {"--host", "chats://" + where, "--fingerprint", wrong});
    INFO(describe(r));
    CHECK(r.exitCode == kUntrusted);
    CHECK(contains(r.err, "does not have the fingerprint given with --fingerprint"));

    ::mkdir((state.path() + "/chat").c_str(), 0700);
    const std::string known = state.path() + "/chat/known_servers";
    SECTION("a pin with this fingerprint") {
        std::ofstream(known) << "# pinned\n" << where << " " << fingerprint << "\n";
        r = send(state.path(), {"--host", "chats://" + where});
        INFO(describe(r));
        CHECK(r.exitCode == 0);
    }
    SECTION("a pin with another fingerprint: the warning names the file and line") {
        std::ofstream(known) << "# pinned\n\n" << where << " " << wrong << "\n";
        r = send(state.path(), {"--host", "chats://" + where});
        INFO(describe(r));
        CHECK(r.exitCode == kUntrusted);
        CHECK(contains(r.err, "WARNING: THE SERVER'S CERTIFICATE HAS CHANGED"));
        CHECK(contains(r.err, known + " line 3"));
        CHECK(contains(r.err, fingerprint));
    }
    SECTION("--insecure connects and warns") {
        r = send(state.path(), {"--host", "chats://" + where, "--insecure"});
        INFO(describe(r));
        CHECK(r.exitCode == 0);
        CHECK(contains(r.err, "warning: --insecure"));
    }
}

TEST_CASE("tls: the wrong port for the transport: exit 69 with a message saying which") {
    Certificates certificates;
    TempDir state;
    certificates.selfSigned("self");
    auto server = startTlsServer(certificates, "self");
    SECTION("a TLS client on the plaintext port") {
        const auto r = send(state.path(), at("127.0.0.1", server.port, {"--tls", "--insecure"}));
        INFO(describe(r));
        CHECK(r.exitCode == kUnavailable);
        CHECK(contains(r.err, "127.0.0.1:" + std::to_string(server.port) +
                                  " did not answer with TLS (is it the plaintext port?)"));
    }
    SECTION("a plaintext client on the TLS port") {
        auto r = send(state.path(), at("127.0.0.1", server.tlsPort));
        INFO(describe(r));
        CHECK(r.exitCode == kUnavailable);
        CHECK(contains(r.err, "127.0.0.1:" + std::to_string(server.tlsPort) + " speaks TLS: use --tls (or chats://)"));
        const auto connect = runChat({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.tlsPort),
                                      "--user", "bob"},
                                     "hello\n");
        INFO(describe(connect));
        CHECK(connect.exitCode == kUnavailable);
        CHECK(contains(connect.err, "speaks TLS: use --tls (or chats://)"));
    }
}

TEST_CASE("tls: piped and --json chat connect never ask: 77 with the fingerprint, and pinned they talk") {
    Certificates certificates;
    TempDir state;
    const auto fingerprint = certificates.selfSigned("self");
    auto server = startTlsServer(certificates, "self");
    const std::map<std::string, std::string> env{{"XDG_STATE_HOME", state.path()}, {"HOME", state.path()}};
    for (const std::vector<std::string>& extra : {std::vector<std::string>{}, std::vector<std::string>{"--json"}}) {
        auto args = std::vector<std::string>{"connect", "--tls", "--host", "127.0.0.1", "--port",
                                             std::to_string(server.tlsPort), "--user", "bob"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = runChat(args, "hello\n", env);
        INFO(describe(r));
        CHECK(r.exitCode == kUntrusted);
        CHECK(contains(r.err, "--fingerprint " + fingerprint));
        CHECK_FALSE(contains(r.out + r.err, "[y/N]"));
    }
    auto alice = connectClient(server.port, "alice");
    ChildProcess bob({"connect", "--host", "chats://127.0.0.1:" + std::to_string(server.tlsPort), "--fingerprint",
                      fingerprint, "--user", "bob"},
                     env);
    REQUIRE(alice->waitForLine("bob joined"));
    bob.write("hello over tls\n");
    CHECK(alice->waitForLine("bob: hello over tls"));
    alice->write("hello back\n");
    CHECK(bob.waitForLine("alice: hello back"));
    bob.closeStdin();
    CHECK(bob.wait().value_or(-1) == 0);
}

TEST_CASE("tls: on a terminal, a self-signed server is asked about once and pinned, and a changed one is refused") {
    Certificates certificates;
    const auto first = certificates.selfSigned("first");
    const auto second = certificates.selfSigned("second");
    auto server = startTlsServer(certificates, "first");
    const auto port = std::to_string(server.tlsPort);
    const std::vector<std::string> args{"connect", "--tls", "--host", "127.0.0.1", "--port", port, "--user", "alice"};

    TmuxSession alice(args);
    const std::string known = alice.stateDir() + "/state/chat/known_servers";
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("Trust this server and remember it? [y/N]"));
    CHECK(alice.waitForText(first));
    SECTION("no: nothing is pinned, exit 77") {
        alice.type("n");
        alice.keys({"Enter"});
        CHECK(alice.waitForExit().value_or(-1) == kUntrusted);
        struct stat info {};
        CHECK(::stat(known.c_str(), &info) != 0);
    }
    SECTION("yes: pinned, talks, and a changed certificate stops it on reconnection") {
        alice.type("y");
        alice.keys({"Enter"});
        INFO("screen:\n" << alice.screenText());
        REQUIRE(alice.waitForText("[#lobby] alice>"));
        CHECK(readFile(known) == "127.0.0.1:" + port + " " + first + "\n");
        struct stat info {};
        REQUIRE(::stat(known.c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0600);

        auto bob = connectClient(server.port, "bob");
        alice.type("hello from tls");
        alice.keys({"Enter"});
        CHECK(bob->waitForLine("alice: hello from tls"));
        bob->write("hello from plaintext\n");
        CHECK(alice.waitForText("bob: hello from plaintext"));

        // Restarted with the same certificate: pinned, so the client reconnects without a question.
        server.process->signal(SIGKILL);
        REQUIRE(server.process->wait());
        REQUIRE(alice.waitForText("connection to server lost; reconnecting"));
        auto same = startTlsServer(certificates, "first", server.tlsPort);
        REQUIRE(alice.waitForText("reconnected after", std::chrono::seconds(20)));
        CHECK_FALSE(alice.waitForExit(std::chrono::milliseconds(0)));

        // The same port, another certificate: the client reconnects and must refuse it.
        same.process->signal(SIGKILL);
        REQUIRE(same.process->wait());
        auto changed = startTlsServer(certificates, "second", server.tlsPort);
        CHECK(alice.waitForExit(std::chrono::seconds(30)).value_or(-1) == kUntrusted);
        INFO("screen:\n" << alice.screenText());
        CHECK(alice.waitForText("HAS CHANGED"));
        CHECK(readFile(known) == "127.0.0.1:" + port + " " + first + "\n");

        // Started again: refused at once. Nothing is typed, so exiting at all
        // shows that no question was asked (it would wait for the answer).
        alice.restart(args);
        CHECK(alice.waitForExit().value_or(-1) == kUntrusted);
        CHECK(readFile(known) == "127.0.0.1:" + port + " " + first + "\n");
        CHECK(first != second);
    }
}

TEST_CASE("tls: a handshake that never completes times out (75), and an answer that is not TLS is 69") {
    TempDir state;
    Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
    const auto port = listener.address().port();
    SECTION("a server that accepts and never answers") {
        // The kernel completes the connection from the backlog; nobody reads the ClientHello.
        const auto started = std::chrono::steady_clock::now();
        const auto r = send(state.path(), at("127.0.0.1", port, {"--tls", "--timeout", "1"}));
        INFO(describe(r));
        CHECK(r.exitCode == kTempFail);
        CHECK(contains(r.err, "timed out during the TLS handshake with 127.0.0.1:" + std::to_string(port)));
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    }
    SECTION("a server that answers in plain text") {
        std::atomic<bool> stop{false};
        std::thread answer([&] {
            while (!stop) {
                if (!listener.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ)) continue;
                auto client = listener.acceptConnection();
                const std::string text = "HTTP/1.0 400 Bad Request\r\n\r\n";
                client.sendBytes(text.data(), static_cast<int>(text.size()));
                client.shutdownSend();
            }
        });
        const auto r = send(state.path(), at("127.0.0.1", port, {"--tls"}));
        stop = true;
        answer.join();
        INFO(describe(r));
        CHECK(r.exitCode == kUnavailable);
        CHECK(contains(r.err, "127.0.0.1:" + std::to_string(port) + " did not answer with TLS (is it the plaintext port?)"));
    }
}

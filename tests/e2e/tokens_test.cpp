// Tokens for scripts end to end (issue 14, point 3): the real `chat serve`,
// `chat login`, `chat send`, `chat connect` and `chat logout` processes; and
// the terminal client asking a password after a certificate question and
// after /nick to a registered name.

#include "support/accounts_support.hpp"
#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/test_client.hpp"
#include "support/text.hpp"
#include "support/tmux_session.hpp"

#include "shared/protocol.hpp"
#include "shared/tls_certificates.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace chat::test;

namespace {
constexpr int kTempFail = 75;
constexpr int kAuth = 78;

std::string readFile(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

/// A token made over the protocol by a session of `name` that logged in with `password`.
std::pair<std::int64_t, std::string> makeToken(std::uint16_t port, const std::string& name, const std::string& password,
                                               const std::string& label) {
    auto session = TestClient::joinedWith(port, name, false, {password, {}, {}});
    auto create = chat::makeMessage("token_create");
    create->set("id", 1);
    create->set("label", label);
    session->send(create);
    const auto ok = answerTo(*session, 1);
    INFO(chat::toJson(ok));
    REQUIRE(chat::stringField(ok, "type") == std::string("ok"));
    return {*chat::intField(ok, "token_id"), *chat::stringField(ok, "token")};
}

/// A server with a database, and a home of its own for the clients' files.
struct Server : AccountsServer {
    TempDir home;
    std::string credentials() const { return home.path() + "/config/chat/credentials"; }
    /// XDG_CONFIG_HOME and friends in `home`, plus `extra`.
    std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
        extra.emplace("XDG_CONFIG_HOME", home.path() + "/config");
        extra.emplace("XDG_STATE_HOME", home.path() + "/state");
        extra.emplace("XDG_RUNTIME_DIR", home.path() + "/run");
        extra.emplace("HOME", home.path());
        return extra;
    }
    RunResult chat(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) const {
        std::vector<std::string> all{args.front(), "--host", "127.0.0.1", "--port", std::to_string(port())};
        all.insert(all.end(), args.begin() + 1, args.end());
        return runChat(all, {}, env(std::move(extra)));
    }
};

/// `chat serve` with a database in `dir` and TLS with a certificate that
/// `chat serve --generate-cert` made in `certs`; the server stops first.
struct SelfSignedTlsServer {
    SelfSignedTlsServer() {
        REQUIRE(runChat({"serve", "--generate-cert", certs.path()}).exitCode == 0);
        serve = startTlsServe({"serve", "--host", "127.0.0.1", "--port", "0", "--tls-port", "0", "--db",
                               dir.file("chat.db"), "--tls-cert", certs.file("cert.pem"), "--tls-key",
                               certs.file("key.pem")});
    }
    TempDir dir, certs;
    TlsServeProcess serve;
};

void expectMessage(TestClient& to, const std::string& from, const std::string& text) {
    for (;;) {
        auto event = to.next();
        if (chat::stringField(event, "type") != std::string("message")) continue;
        CHECK(chat::stringField(event, "from") == from);
        CHECK(chat::stringField(event, "text") == text);
        return;
    }
}
}  // namespace

TEST_CASE("tokens: chat login stores a 0600 token, chat send uses it with no password, chat logout revokes it (78)") {
    Server s;
    registerAccount(s.port(), "alice", "correct horse");
    auto carol = TestClient::joined(s.port(), "carol");
    // Without a token or a password, a registered name is refused: the test below can fail.
    const auto before = s.chat({"send", "--user", "alice", "@carol", "no token yet"});
    CHECK(before.exitCode == kAuth);

    const auto login = s.chat({"login", "--user", "alice"}, {{"CHAT_PASSWORD", "correct horse"}});
    INFO(describe(login));
    REQUIRE(login.exitCode == 0);
    CHECK(contains(login.out, "Logged in to 127.0.0.1:" + std::to_string(s.port()) + " as alice"));
    struct stat info {};
    REQUIRE(::stat(s.credentials().c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    const auto file = readFile(s.credentials());
    CHECK(contains(file, "127.0.0.1:" + std::to_string(s.port()) + " alice "));
    CHECK_FALSE(contains(file, "correct horse"));
    const auto start = file.find(" chat_");
    REQUIRE(start != std::string::npos);
    const auto token = file.substr(start + 1, file.find('\n', start) - start - 1);

    const auto sent = s.chat({"send", "--user", "alice", "@carol", "from alice's CI"});  // no CHAT_PASSWORD
    INFO(describe(sent));
    CHECK(sent.exitCode == 0);
    expectMessage(*carol, "alice", "from alice's CI");
    // chat connect (piped) logs in with it too: no password anywhere.
    auto connected = connectClient(s.port(), "alice", s.env());
    connected->write("#lobby piped with a token\n");
    REQUIRE(connected->waitForLine("piped with a token"));
    connected->closeStdin();
    CHECK(connected->wait() == 0);

    const auto logout = s.chat({"logout"});
    INFO(describe(logout));
    CHECK(logout.exitCode == 0);
    CHECK(contains(logout.out, "revoked"));
    CHECK_FALSE(contains(readFile(s.credentials()), token));
    const auto refused = s.chat({"send", "--user", "alice", "@carol", "after logout"}, {{"CHAT_TOKEN", token}});
    INFO(describe(refused));
    CHECK(refused.exitCode == kAuth);
    CHECK(contains(refused.err, "chat login"));
    CHECK(helloOutcome(s.port(), "alice", {{}, {}, token}, false) == "auth_failed");
}

TEST_CASE("tokens: CHAT_TOKEN wins over the credentials file; a wrong one exits 78 saying to log in again") {
    Server s;
    registerAccount(s.port(), "bob", "correct horse");
    auto carol = TestClient::joined(s.port(), "carol");
    REQUIRE(s.chat({"login", "--user", "bob"}, {{"CHAT_PASSWORD", "correct horse"}}).exitCode == 0);
    const auto [id, token] = makeToken(s.port(), "bob", "correct horse", "ci runner");
    const auto viaEnv = s.chat({"send", "--user", "bob", "@carol", "via CHAT_TOKEN"}, {{"CHAT_TOKEN", token}});
    INFO(describe(viaEnv));
    CHECK(viaEnv.exitCode == 0);
    expectMessage(*carol, "bob", "via CHAT_TOKEN");
    // The file holds a good token; a wrong CHAT_TOKEN is used all the same, and refused.
    const auto wrong = s.chat({"send", "--user", "bob", "@carol", "x"}, {{"CHAT_TOKEN", "chat_not_a_token"}});
    INFO(describe(wrong));
    CHECK(wrong.exitCode == kAuth);
    CHECK(contains(wrong.err, "run 'chat login' again"));
    CHECK(id > 0);
}

TEST_CASE("tokens: /tokens lists them and /tokens revoke closes the session that logged in with it") {
    Server s;
    registerAccount(s.port(), "dana", "correct horse");
    const auto [id, token] = makeToken(s.port(), "dana", "correct horse", "nightly build");
    auto script = TestClient::joinedWith(s.port(), "dana", false, {{}, {}, token});
    auto person = connectClient(s.port(), "dana", s.env({{"CHAT_PASSWORD", "correct horse"}}));
    person->write("/tokens\n");
    const auto listed = person->waitForLine("nightly build");
    REQUIRE(listed);
    CHECK(contains(*listed, std::to_string(id)));
    CHECK_FALSE(contains(person->stdoutText(), token));
    person->write("/tokens revoke " + std::to_string(id) + "\n");
    REQUIRE(person->waitForLine("token " + std::to_string(id) + " revoked"));
    // The script's session is told and closed; its token no longer logs in.
    const auto notice = script->waitFor([](const auto& m) { return chat::stringField(m, "type") == std::string("error"); });
    CHECK(chat::stringField(notice, "code") == std::string("auth_failed"));
    CHECK(script->closedWithin());
    CHECK(helloOutcome(s.port(), "dana", {{}, {}, token}, false) == "auth_failed");
    person->write("/tokens\n");
    REQUIRE(person->waitForLine("no tokens"));
    // A guest holds no tokens.
    auto guest = TestClient::joined(s.port(), "guest");
    auto create = chat::makeMessage("token_create");
    create->set("id", 5);
    create->set("label", "mine");
    guest->send(create);
    const auto refused = answerTo(*guest, 5);
    CHECK(chat::stringField(refused, "code") == std::string("bad_request"));
}

TEST_CASE("tokens: wrong tokens are throttled like wrong passwords - the n-th waits, even a right password") {
    Server s;
    registerAccount(s.port(), "erin", "correct horse");
    const auto [id, token] = makeToken(s.port(), "erin", "correct horse", "ci");
    CHECK(id > 0);
    for (int i = 0; i < 4; ++i)
        CHECK(helloOutcome(s.port(), "erin", {{}, {}, "chat_guess" + std::to_string(i)}, false) == "auth_failed");
    CHECK(helloOutcome(s.port(), "erin", {{}, {}, token}, false) == "auth_throttled");
    CHECK(helloOutcome(s.port(), "erin", {"correct horse", {}, {}}, false) == "auth_throttled");
    const auto r = s.chat({"send", "--user", "erin", "#lobby", "x"}, {{"CHAT_TOKEN", token}});
    CHECK(r.exitCode == kTempFail);
}

TEST_CASE("passwd over TLS: --tls with --fingerprint, and chats:// - changes the password") {
    SelfSignedTlsServer tlsServer;
    const auto port = tlsServer.serve.port, tlsPort = tlsServer.serve.tlsPort;
    const auto& dir = tlsServer.dir;
    const auto fingerprint = chat::tls::fingerprintSha256(readFile(tlsServer.certs.file("cert.pem")));
    registerAccount(port, "fay", "correct horse");
    const auto tls = runChat({"passwd", "--tls", "--host", "127.0.0.1", "--port", std::to_string(tlsPort), "--user",
                              "fay", "--fingerprint", fingerprint},
                             {}, {{"CHAT_PASSWORD", "correct horse"}, {"CHAT_NEW_PASSWORD", "battery staple"},
                                  {"HOME", dir.path()}, {"XDG_STATE_HOME", dir.path()}});
    INFO(describe(tls));
    CHECK(tls.exitCode == 0);
    CHECK(helloOutcome(port, "fay", {"battery staple", {}, {}}, false) == "welcome");
    // Unpinned, a self-signed server is not trusted: 77, nothing changed.
    const auto untrusted = runChat({"passwd", "--host", "chats://127.0.0.1:" + std::to_string(tlsPort), "--user", "fay"},
                                   {}, {{"CHAT_PASSWORD", "battery staple"}, {"CHAT_NEW_PASSWORD", "third one!"},
                                        {"HOME", dir.path()}, {"XDG_STATE_HOME", dir.path()}});
    INFO(describe(untrusted));
    CHECK(untrusted.exitCode == 77);
    CHECK(helloOutcome(port, "fay", {"battery staple", {}, {}}, false) == "welcome");
}

TEST_CASE("terminal: a TLS server with a self-signed certificate asks the certificate question, then the password") {
    SelfSignedTlsServer tlsServer;
    const auto port = tlsServer.serve.port, tlsPort = tlsServer.serve.tlsPort;
    registerAccount(port, "gus", "correct horse");
    TmuxSession gus({"connect", "--host", "chats://127.0.0.1:" + std::to_string(tlsPort), "--user", "gus"});
    INFO("screen:\n" << gus.screenText());
    REQUIRE(gus.waitForText("Trust this server and remember it? [y/N]"));
    gus.type("y");
    gus.keys({"Enter"});
    REQUIRE(gus.waitForText("Password for gus:"));
    gus.type("correct horse");
    gus.keys({"Enter"});
    REQUIRE(gus.waitForText("Welcome, gus!"));
    CHECK_FALSE(contains(gus.screenText(), "horse"));
    gus.keys({"C-d"});
    CHECK(gus.waitForExit().value_or(-1) == 0);
}

TEST_CASE("terminal: /nick to a registered name asks its password without echo and retries the nick with it") {
    AccountsServer server;
    registerAccount(server.port(), "hana", "correct horse");
    TmuxSession guest({"connect", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--user", "visitor"});
    REQUIRE(guest.waitForText("Welcome, visitor!"));
    guest.type("/nick hana");
    guest.keys({"Enter"});
    INFO("screen:\n" << guest.screenText());
    REQUIRE(guest.waitForText("Password for hana:"));
    guest.type("correct horse");
    guest.keys({"Enter"});
    REQUIRE(guest.waitForText("visitor is now known as hana"));
    CHECK_FALSE(contains(guest.screenText(), "horse"));
    // The session is hana's account now: it is told of her next session.
    auto laptop = TestClient::joinedWith(server.port(), "hana", true, {"correct horse", {}, {}});
    CHECK(guest.waitForText("another session of hana joined from 127.0.0.1"));
    guest.keys({"C-d"});
    CHECK(guest.waitForExit().value_or(-1) == 0);
}

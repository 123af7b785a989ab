// `chat connect` against a server that breaks the rules: a tiny fake server
// in the test (a ServerSocket on port 0) answers the client's hello with
// frames chosen by the test, all in one write. The real server is never
// changed for these tests: the client must not trust the wire.

#include "shared/frame_codec.hpp"
#include "support/child_process.hpp"
#include "support/text.hpp"
#include "support/e2e_support.hpp"
#include "support/tmux_session.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

using namespace chat::test;

namespace {

/// A welcome for alice, as the real server would send it, with `extra`
/// members spliced in (e.g. R"("motd":"hi",)").
std::string welcome(const std::string& extra = {}) {
    return R"({"type":"welcome","version":1,"server":"fake",)" + extra +
           R"("user":"alice","room":"#lobby","rooms":["#lobby"],"online":["alice","bob"],"max_text":4096})";
}

/// Accepts connections one after another. To each, after the client's
/// n-th frame (the first is its hello) it sends the n-th batch of `script`
/// (of `later` for the second connection on, when given), framed and in a
/// single write; it reads until the client closes. A batch's kHangUp closes
/// the connection once the frames before it are written.
class FakeServer {
public:
    using Batch = std::vector<std::string>;
    static inline const std::string kHangUp = "<hang up>";
    explicit FakeServer(Batch onHello) : FakeServer(std::vector<Batch>{std::move(onHello)}) {}
    explicit FakeServer(std::vector<Batch> script, std::vector<Batch> later = {})
        : script_(std::move(script)), later_(later.empty() ? script_ : std::move(later)) {
        socket_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
        socket_.listen();
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeServer() {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return socket_.address().port(); }
    /// The payloads received so far, hello first.
    std::vector<std::string> received() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return received_;
    }

private:
    void serve() {
        const Poco::Timespan tick(0, 50'000);
        while (!stop_) {
            if (!socket_.poll(tick, Poco::Net::Socket::SELECT_READ)) continue;
            Poco::Net::StreamSocket client = socket_.acceptConnection();
            const auto& script = connections_++ == 0 ? script_ : later_;
            try {
                for (std::size_t n = 0; !stop_; ++n) {
                    // One frame from the client: its 4-byte length, then the payload.
                    std::string header(4, '\0');
                    if (!readExactly(client, header)) break;
                    const auto length = (std::size_t(std::uint8_t(header[0])) << 24) |
                                        (std::size_t(std::uint8_t(header[1])) << 16) |
                                        (std::size_t(std::uint8_t(header[2])) << 8) | std::size_t(std::uint8_t(header[3]));
                    std::string payload(length, '\0');
                    if (!readExactly(client, payload)) break;
                    {
                        std::lock_guard<std::mutex> lock(mutex_);
                        received_.push_back(payload);
                    }
                    if (n >= script.size()) continue;
                    std::string all;
                    bool hangUp = false;
                    for (const auto& frame : script[n]) {
                        if (frame == kHangUp) {
                            hangUp = true;
                            break;
                        }
                        all += chat::encodeFrame(frame);
                    }
                    if (!all.empty()) client.sendBytes(all.data(), static_cast<int>(all.size()));
                    if (hangUp) {
                        client.close();
                        break;
                    }
                }
            } catch (const Poco::Exception&) {
                // the client went away: wait for the next one
            }
        }
    }

    bool readExactly(Poco::Net::StreamSocket& client, std::string& buffer) {
        std::size_t got = 0;
        const Poco::Timespan tick(0, 50'000);
        while (got < buffer.size() && !stop_) {
            if (!client.poll(tick, Poco::Net::Socket::SELECT_READ)) continue;
            const int n = client.receiveBytes(buffer.data() + got, static_cast<int>(buffer.size() - got));
            if (n <= 0) return false;
            got += static_cast<std::size_t>(n);
        }
        return got == buffer.size();
    }

    std::vector<Batch> script_;
    std::vector<Batch> later_;
    std::size_t connections_ = 0;  ///< only the serving thread uses it
    mutable std::mutex mutex_;
    std::vector<std::string> received_;
    Poco::Net::ServerSocket socket_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::vector<std::string> connectArgs(std::uint16_t port, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"connect", "--host", "127.0.0.1", "--port", std::to_string(port), "--user", "alice"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string readFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

// Escape sequences a hostile server would like a terminal to obey: set the
// title, plant a hyperlink, clear the screen, switch to the alternate screen,
// and the 8-bit CSI (U+009B) that some terminals take for ESC [.
const std::string kTitle = R"(\u001b]0;pwned\u0007)";
const std::string kLink = R"(\u001b]8;;http://evil.example/\u001b\\click\u001b]8;;\u001b\\)";
const std::string kClear = R"(\u001b[2J\u001b[H)";
const std::string kAltScreen = R"(\u001b[?1049h)";
const std::string kCsi8 = R"(\u009b31m)";

std::vector<std::string> hostileEvents() {
    return {
        R"({"type":"message","from":"bob)" + kTitle + R"(","to":"#lobby","text":"text )" + kLink + kClear + kCsi8 +
            R"( end","ts":1700000000000})",
        R"({"type":"message","from":"bob","to":"#lobby","text":"file: \u202etxt.exe and Al\u200bice\u2028x\ufeff"})",
        R"({"type":"shutdown","message":"bye)" + kClear + R"("})",
    };
}

std::string hostileWelcome() { return welcome(R"("motd":"motd)" + kTitle + kAltScreen + R"(",)"); }

/// The hostile welcome and events in one write.
std::vector<std::string> hostileFrames() {
    auto frames = hostileEvents();
    frames.insert(frames.begin(), hostileWelcome());
    return frames;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

bool hasRawControl(const std::string& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return true;
        if (c == 0xC2 && i + 1 < out.size() && (static_cast<unsigned char>(out[i + 1]) & 0xE0) == 0x80) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("hostile server: control characters in motd, from, text and shutdown are shown, never obeyed (piped)") {
    FakeServer server(hostileFrames());
    const auto r = runChat(connectArgs(server.port(), {"--color", "never"}), "", colourTemptingEnv());
    INFO(describe(r));
    CHECK_FALSE(hasRawControl(r.out));
    CHECK_FALSE(hasRawControl(r.err));
    CHECK(contains(r.out, "bob^[]0;pwned^G: text ^[]8;;http://evil.example/^[\\click"));
    CHECK(contains(r.out, "^[[2J^[[H<U+009B>31m end"));
    CHECK(contains(r.out, "* bye^[[2J"));
    // Bidi controls, zero-width characters and separators are visible too.
    CHECK(contains(r.out, "file: <U+202E>txt.exe and Al<U+200B>ice<U+2028>x<U+FEFF>"));
}

TEST_CASE("hostile server: --json keeps the exact text, with every control JSON-escaped") {
    FakeServer server(hostileFrames());
    const auto r = runChat(connectArgs(server.port(), {"--json"}), "", colourTemptingEnv());
    INFO(describe(r));
    CHECK_FALSE(hasRawControl(r.out));
    CHECK(contains(lower(r.out), R"("from":"bob\u001b]0;pwned\u0007")"));
    CHECK(contains(lower(r.out), R"(\u001b[2j\u001b[h\u009b31m end")"));
    CHECK(contains(r.out, "file: \xe2\x80\xaetxt.exe"));  // the exact text: printable, if misleading
}

TEST_CASE("hostile server: on a terminal no escape sequence from the server reaches the pane") {
    TempDir dir;
    const auto raw = dir.path() + "/pane.raw";
    // The events come when alice sends her first line, after the pipe is set.
    FakeServer server(std::vector<FakeServer::Batch>{{hostileWelcome()}, hostileEvents()});
    TmuxSession alice(connectArgs(server.port()));
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("[#lobby] alice>"));
    alice.pipeOutput(raw);  // from here on: what the client writes
    alice.type("go");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("* bye^[[2J^[[H"));
    // The motd was printed before the pipe started; the screen shows it.
    CHECK(alice.waitForText("motd^[]0;pwned^G^[[?1049h"));
    const auto out = readFile(raw);
    INFO("raw: " << out);
    CHECK_FALSE(contains(out, "\033]"));        // no OSC: title, hyperlink
    CHECK_FALSE(contains(out, "\033[2J"));      // no clearing
    CHECK_FALSE(contains(out, "\033[?1049h"));  // no alternate screen
    CHECK_FALSE(contains(out, "\xc2\x9b"));     // no 8-bit CSI
    CHECK_FALSE(contains(out, "\xe2\x80\xae")); // no right-to-left override
    CHECK_FALSE(contains(out, "\a"));          // no bell: nothing mentioned alice
}

TEST_CASE("hostile server: an event in the same read as the welcome is shown at once, even when input ends") {
    FakeServer server({welcome(), R"({"type":"message","from":"bob","to":"#lobby","text":"early bird"})"});
    const auto r = runChat(connectArgs(server.port()), "", colourTemptingEnv());
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(contains(r.out, "bob: early bird"));
}

TEST_CASE("hostile server: after a reconnection, an event in the same read as the welcome is shown at once (issue 12, defect 9)") {
    // The first connection ends when alice sends a line; the second sends its
    // welcome and an event in one write, and then nothing (no ping for 10 min).
    FakeServer server(std::vector<FakeServer::Batch>{{welcome()}, {FakeServer::kHangUp}},
                      std::vector<FakeServer::Batch>{
                          {welcome(), R"({"type":"message","from":"bob","to":"#lobby","text":"early bird"})"}});
    TmuxSession alice(connectArgs(server.port(), {"--ping-interval", "600"}));
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("[#lobby] alice>"));
    alice.type("go");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("* connection to server lost"));
    REQUIRE(alice.waitForText("* reconnected after ", std::chrono::seconds(20)));
    CHECK(alice.waitForText("bob: early bird"));
}

TEST_CASE("hostile server: a frame that breaks the protocol is reported once and ends the client with 76") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {welcome(R"("motd":5,)"), R"("motd" is not a string)"},
        {R"({"type":"welcome","user":"alice","room":"#lobby","online":[null]})", R"("online" holds)"},
        {R"({"type":"welcome","user":"alice","room":"#lobby","rooms":"#lobby"})", R"("rooms" is not a list)"},
        {R"({"type":"message","from":"bob","to":"#lobby","text":5})", R"("text" is not a string)"},
        {R"({"type":"message","from":["bob"],"to":"#lobby","text":"hi"})", R"("from" is not a string)"},
        {R"({"type":"joined","room":"#lobby"})", R"(without a "user")"},
        {R"({"type":"message","from":"bob","to":"#lobby","text":"hi","ts":"noon"})", R"("ts" is not an integer)"},
        {R"({"type":"nick","old":"bob","new":{"x":1}})", R"("new" is not a string)"},
        {R"(["not","an","object"])", "bad frame"},
    };
    for (const auto& [frame, why] : cases) {
        INFO("frame: " << frame);
        std::vector<std::string> frames{frame};
        if (frame.find("welcome") == std::string::npos) frames.insert(frames.begin(), welcome());
        FakeServer server(frames);
        const auto r = runChat(connectArgs(server.port()), "", colourTemptingEnv());
        INFO(describe(r));
        CHECK(r.exitCode == 76);
        CHECK(contains(r.err, "the server sent"));
        CHECK(contains(r.err, why));
        CHECK(contains(r.err, "disconnecting"));
        // Reported once.
        CHECK(r.err.find("the server sent") == r.err.rfind("the server sent"));
    }
}

TEST_CASE("hostile server: a broken frame on a terminal ends with 76, the terminal given back") {
    FakeServer server({welcome(), R"({"type":"message","from":"bob","to":"#lobby","text":{"a":1}})"});
    TmuxSession alice(connectArgs(server.port()));
    INFO("screen:\n" << alice.screenText());
    CHECK(alice.waitForExit().value_or(-1) == 76);
    CHECK(alice.waitForText("\"text\" is not a string; disconnecting"));
}

TEST_CASE("hostile server: chat send shows a refusal's text, never its escape sequences") {
    FakeServer server(std::vector<FakeServer::Batch>{
        {welcome()},
        {R"({"type":"error","id":1,"code":"text_invalid","message":"refused\u001b]0;pwned\u0007\u001b[2J"})"}});
    const auto r = runChat({"send", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--user", "alice",
                            "#lobby", "hello"});
    INFO(describe(r));
    CHECK(r.exitCode == 65);
    CHECK(contains(r.err, "refused^[]0;pwned^G^[[2J"));
    CHECK_FALSE(hasRawControl(r.err));
}

// Issue 13: the client's side of persistent history, against a fake server
// that sends a backlog after its welcome and answers the next request with a
// canned history.
namespace {
std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// "YYYY-MM-DD HH:MM" in local time, as the client dates an event of another day.
std::string dated(std::int64_t millis) {
    const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", &local);
    return buffer;
}

/// For each line of a screen captured with escapes (tmux capture-pane -e,
/// which writes an attribute only where it changes, so one may carry over
/// from the lines before): the SGR attributes in effect at its first
/// character, as the set of their numbers (2 dim, 7 reverse).
std::vector<std::set<int>> attributesAtLineStart(const std::vector<std::string>& lines) {
    std::vector<std::set<int>> out;
    std::set<int> current;
    for (const auto& line : lines) {
        std::optional<std::set<int>> atStart;
        for (std::size_t i = 0; i < line.size(); ++i) {
            if (line.compare(i, 2, "\033[") == 0) {
                const auto end = line.find_first_of("ABCDEFGHJKSTfmnsu", i + 2);
                if (end == std::string::npos) break;
                if (line[end] == 'm') {
                    std::stringstream params(line.substr(i + 2, end - i - 2));
                    std::string p;
                    bool any = false;
                    while (std::getline(params, p, ';')) {
                        any = true;
                        const int n = p.empty() ? 0 : std::stoi(p);
                        if (n == 0) current.clear();
                        else if (n == 22) current.erase(2), current.erase(1);
                        else if (n == 27) current.erase(7);
                        else if (n == 1 || n == 2 || n == 7) current.insert(n);
                    }
                    if (!any) current.clear();
                }
                i = end;
                continue;
            }
            if (!atStart) atStart = current;
        }
        out.push_back(atStart.value_or(current));
    }
    return out;
}

struct HistoryScript {
    std::int64_t yesterday = nowMs() - 36LL * 3600 * 1000;  // a day and a half ago: always another day
    std::int64_t today = nowMs();
    std::string backlog() const {
        const auto y = std::to_string(yesterday), t = std::to_string(today);
        return R"({"type":"backlog","room":"#lobby","topic":"deploys on Fridays","events":[)"
               R"({"type":"message","msg_id":41,"ts":)" + y + R"(,"from":"bob","to":"#lobby","text":"deploy at 5pm"},)"
               R"({"type":"message","msg_id":42,"ts":)" + t + R"(,"from":"carol","to":"#lobby","text":"alice: deployed"},)"
               R"({"type":"message","msg_id":43,"ts":)" + t + R"(,"from":"bob","to":"#lobby","text":"thanks \u001b[2J"}],)"
               R"("more":true,"unread":2,"unread_since":)" + y + R"(,"first_unread":42})";
    }
    /// The answer to the first request after the hello (id 1).
    std::string history() const {
        return R"({"type":"ok","id":1,"room":"#lobby","more":false,"events":[)"
               R"({"type":"message","msg_id":30,"ts":)" + std::to_string(yesterday) +
               R"(,"from":"dave","to":"#lobby","text":"older words"}]})";
    }
    /// The answer to the second request (id 2).
    std::string search() const {
        return R"({"type":"ok","id":2,"more":true,"results":[)"
               R"({"type":"message","msg_id":41,"ts":)" + std::to_string(yesterday) +
               R"(,"from":"bob","to":"#lobby","text":"deploy at 5pm"}]})";
    }
    std::vector<FakeServer::Batch> script() const { return {{welcome(), backlog()}, {history()}, {search()}}; }
};
}  // namespace

TEST_CASE("history client: a backlog is dimmed and dated, with its unread line and marker - /history pages back") {
    HistoryScript h;
    FakeServer server(h.script());
    TmuxSession alice(connectArgs(server.port()));
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("[#lobby] alice>"));
    REQUIRE(alice.waitForText("bob: thanks"));
    auto screen = alice.screen();
    const int header = findLine(screen, "-- #lobby: topic: deploys on Fridays --");
    const int hint = findLine(screen, "-- older messages: /history #lobby --");
    const int unread = findLine(screen, "-- 2 unread in #lobby since " + dated(h.yesterday) + " --");
    const int first = findLine(screen, dated(h.yesterday) + " bob: deploy at 5pm");
    const int marker = findLine(screen, "-- new --");
    const int second = findLine(screen, "carol: alice: deployed");
    const int third = findLine(screen, "bob: thanks ^[[2J");
    CHECK(header >= 0);
    CHECK(hint == header + 1);
    CHECK(unread == hint + 1);
    CHECK(first == unread + 1);
    CHECK(marker == first + 1);  // right before the first unread
    CHECK(second == marker + 1);
    CHECK(third == second + 1);
    REQUIRE(second >= 0);
    CHECK(screen[second].find(dated(h.today).substr(0, 10)) == std::string::npos);  // today: the time alone
    // Dimmed (SGR 2), the marker in reverse video; no dot with colours.
    const auto escaped = alice.screen(true);
    INFO("with escapes:\n" << alice.screenText(true));
    REQUIRE(escaped.size() == screen.size());
    const auto attributes = attributesAtLineStart(escaped);
    const auto has = [&](int line, int attribute) { return line >= 0 && attributes[line].count(attribute) > 0; };
    CHECK(has(first, 2));
    CHECK(has(second, 2));
    CHECK(has(third, 2));
    CHECK(has(marker, 7));
    CHECK_FALSE(has(marker, 2));
    CHECK_FALSE(has(findLine(screen, "[#lobby] alice>"), 2));  // the prompt is not dimmed
    CHECK(alice.screenText().find("\xc2\xb7 ") == std::string::npos);
    // Not news: no unread count in the prompt.
    CHECK(findLine(screen, "[#lobby] alice>") >= 0);

    alice.type("/history");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("-- end of history --"));
    screen = alice.screen();
    const int framed = findLine(screen, "-- history of #lobby: 1 event --");
    CHECK(framed >= 0);
    CHECK(findLine(screen, dated(h.yesterday) + " dave: older words") == framed + 1);
    CHECK(findLine(screen, "-- end of history --") == framed + 2);
    const auto frames = server.received();
    REQUIRE(frames.size() >= 2);
    INFO("sent: " << frames[1]);
    CHECK(contains(frames[1], R"("type":"history")"));
    CHECK(contains(frames[1], R"("room":"#lobby")"));
    CHECK(contains(frames[1], R"("before":41)"));  // page back from the backlog's first event
    CHECK(contains(frames[1], R"("limit":50)"));
}

TEST_CASE("history client: with NO_COLOR a backlog's lines start with a dot, and no escape reaches the screen") {
    HistoryScript h;
    FakeServer server(h.script());
    TmuxSession alice(connectArgs(server.port()), {{"NO_COLOR", "1"}});
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("\xc2\xb7 " + dated(h.yesterday) + " bob: deploy at 5pm"));
    REQUIRE(alice.waitForText("-- new --"));
    const auto screen = alice.screen();
    const int second = findLine(screen, "carol: alice: deployed");
    REQUIRE(second > 0);
    CHECK(findLine(screen, "-- new --") + 1 == second);
    CHECK(screen[second].rfind("\xc2\xb7 ", 0) == 0);
    CHECK(alice.screenText(true).find('\033') == std::string::npos);
}

TEST_CASE("history client: piped, a backlog is plain text with its dot - --json passes backlog and history through") {
    HistoryScript h;
    {
        FakeServer server(h.script());
        const auto r = runChat(connectArgs(server.port()), "", colourTemptingEnv());
        INFO(describe(r));
        CHECK(r.exitCode == 0);
        CHECK_FALSE(hasRawControl(r.out));
        CHECK(contains(r.out, "-- 2 unread in #lobby since " + dated(h.yesterday) + " --\n\xc2\xb7 " + dated(h.yesterday) +
                                  " bob: deploy at 5pm\n-- new --\n\xc2\xb7 "));
    }
    FakeServer server(h.script());
    const auto r = runChat(connectArgs(server.port(), {"--json"}),
                           R"({"type":"history","room":"#lobby"})"
                           "\n"
                           R"({"type":"search","text":"deploy"})"
                           "\n");
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(contains(r.out, R"({"type":"backlog",)"));
    CHECK(contains(r.out, R"("text":"deploy at 5pm")"));
    CHECK(contains(r.out, R"("first_unread":42)"));
    CHECK(contains(lower(r.out), R"(thanks \u001b[2j")"));
    CHECK(contains(r.out, R"({"type":"ok",)"));
    CHECK(contains(r.out, R"("text":"older words")"));
    CHECK(contains(r.out, R"({"type":"ok","id":2,"more":true,"results":[{)"));
    CHECK_FALSE(contains(r.out, "-- "));  // nothing rendered on stdout
    const auto frames = server.received();
    REQUIRE(frames.size() >= 3);
    CHECK(contains(frames[1], R"("type":"history")"));
    CHECK(contains(frames[2], R"("type":"search")"));
}

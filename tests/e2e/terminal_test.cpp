// `chat connect` on a terminal: the real binary in tmux, driven with
// send-keys and read with capture-pane. Other clients are piped (see
// serve_connect_test.cpp), so what they receive can be read line by line.

#include "shared/protocol.hpp"
#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/text.hpp"
#include "support/tmux_session.hpp"

#include <catch2/catch.hpp>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

using namespace chat::test;

namespace {
std::vector<std::string> connectArgs(std::uint16_t port, const std::string& user, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"connect", "--host", "127.0.0.1", "--port", std::to_string(port), "--user", user};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}


/// The last non-empty line of the screen: where the prompt is.
int promptLine(const std::vector<std::string>& screen) {
    for (int i = static_cast<int>(screen.size()) - 1; i >= 0; --i)
        if (!screen[static_cast<std::size_t>(i)].empty()) return i;
    return -1;
}

std::string lastLine(const std::vector<std::string>& screen) {
    const int i = promptLine(screen);
    return i < 0 ? std::string() : screen[static_cast<std::size_t>(i)];
}

/// Waits until the prompt line is exactly `text`.
bool waitForPrompt(TmuxSession& tmux, const std::string& text) {
    return tmux.waitFor([&](const std::vector<std::string>& screen) { return lastLine(screen) == text; });
}

/// Polls a file until it contains `needle`.
bool waitForFile(const std::string& path, const std::string& needle) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        std::ifstream file(path);
        std::stringstream text;
        text << file.rdbuf();
        if (contains(text.str(), needle)) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
    }
}

std::string readFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

/// Whether the text at the last `needle` of the screen is dim (SGR 2),
/// following every SGR sequence before it: capture-pane -e writes an
/// attribute only where it changes, so one may carry over from earlier
/// lines. nullopt without `needle`.
std::optional<bool> dimAt(TmuxSession& tmux, const std::string& needle) {
    const auto text = tmux.screenText(true);
    const auto at = text.rfind(needle);
    if (at == std::string::npos) return std::nullopt;
    bool dim = false;
    for (auto esc = text.find("\033[", 0); esc != std::string::npos && esc < at; esc = text.find("\033[", esc + 1)) {
        const auto end = text.find_first_not_of("0123456789;", esc + 2);
        if (end == std::string::npos || text[end] != 'm') continue;
        std::vector<int> params;
        std::stringstream list(text.substr(esc + 2, end - esc - 2));
        for (std::string p; std::getline(list, p, ';');) params.push_back(p.empty() ? 0 : std::stoi(p));
        if (params.empty()) params.push_back(0);
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (params[i] == 38 || params[i] == 48) {  // a colour: 5;N or 2;R;G;B follow
                i += i + 1 < params.size() && params[i + 1] == 5 ? 2 : 4;
                continue;
            }
            if (params[i] == 0 || params[i] == 22) dim = false;
            if (params[i] == 2) dim = true;
        }
    }
    return dim;
}

/// Starts the terminal client and waits for its prompt.
void startClient(TmuxSession& tmux, const std::string& prompt) {
    INFO("screen:\n" << tmux.screenText());
    REQUIRE(waitForPrompt(tmux, prompt));
}
}  // namespace

TEST_CASE("terminal: a message arrives above a half-typed line, whose text and cursor stay as they were") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");

    alice.type("half a line");
    alice.keys({"Left", "Left", "Left", "Left"});  // the cursor before "line"
    const std::string prompt = "[#lobby] alice> ";
    const int wantX = static_cast<int>(prompt.size() + std::string("half a ").size());
    REQUIRE(alice.waitFor([&](const auto& screen) {
        return lastLine(screen) == prompt + "half a line" && alice.cursor().x == wantX;
    }));

    bob->write("first from bob\nsecond from bob, mentioning alice\n");
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("bob: second from bob"));
    const auto screen = alice.screen();
    INFO("screen:\n" << alice.screenText());
    const int input = promptLine(screen);
    const int second = findLine(screen, "bob: second from bob, mentioning alice");
    const int first = findLine(screen, "bob: first from bob");
    CHECK(first == second - 1);
    CHECK(second == input - 1);  // directly above the input line
    CHECK(screen[static_cast<std::size_t>(input)] == prompt + "half a line");
    CHECK(isClockLine(screen[static_cast<std::size_t>(second)], "bob: second from bob, mentioning alice"));
    const auto cursor = alice.cursor();
    CHECK(cursor.x == wantX);
    CHECK(cursor.y == input);

    // The line readline holds is the one on the screen: editing goes on where it was.
    alice.type("good ");
    alice.keys({"Enter"});
    const auto sent = bob->waitForLine("alice: ");
    REQUIRE(sent);
    CHECK(isClockLine(*sent, "alice: half a good line"));
    // Enter leaves an empty input line; the message comes back from the server above it.
    REQUIRE(alice.waitForText("alice: half a good line"));
    CHECK(waitForPrompt(alice, "[#lobby] alice>"));
}

TEST_CASE("terminal: resizing the window keeps the messages and the input line with its cursor") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    bob->write("a message from bob that is long enough to wrap when the window is narrow\n");
    REQUIRE(alice.waitForText("a message from bob"));
    alice.type("typing in progress");
    alice.keys({"Left", "Left"});
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> typing in progress"));

    alice.resize(50, 20);
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitFor([&](const auto& screen) { return screen.size() == 20; }));
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> typing in progress"));
    CHECK(alice.cursor().x == static_cast<int>(std::string("[#lobby] alice> typing in progre").size()));
    alice.resize(120, 30);
    REQUIRE(alice.waitFor([&](const auto& screen) { return screen.size() == 30; }));
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> typing in progress"));
    CHECK(findLine(alice.screen(), "bob: a message from bob that is long enough to wrap when the window is narrow") >= 0);
    alice.keys({"Enter"});
    const auto line = bob->waitForLine("alice: ");
    REQUIRE(line);
    CHECK(isClockLine(*line, "alice: typing in progress"));
}

TEST_CASE("terminal: Tab completes a user name at the start of the line as 'name: '") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bobby");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");

    alice.type("bo");
    alice.keys({"Tab"});
    INFO("screen:\n" << alice.screenText());
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> bobby:"));
    CHECK(alice.cursor().x == static_cast<int>(std::string("[#lobby] alice> bobby: ").size()));
    alice.type("hi");
    alice.keys({"Enter"});
    const auto line = bob->waitForLine("alice: ");
    REQUIRE(line);
    CHECK(isClockLine(*line, "alice: bobby: hi"));

    // Commands and rooms complete too.
    alice.type("/jo");
    alice.keys({"Tab"});
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> /join"));
    alice.type("#lob");
    alice.keys({"Tab"});
    CHECK(waitForPrompt(alice, "[#lobby] alice> /join #lobby"));
}

TEST_CASE("terminal: Up recalls earlier lines, also in the next run") {
    auto server = startServer();
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("first entry");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("alice: first entry"));
    alice.type("second entry");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("alice: second entry"));

    alice.keys({"Up"});
    CHECK(waitForPrompt(alice, "[#lobby] alice> second entry"));
    alice.keys({"Up"});
    CHECK(waitForPrompt(alice, "[#lobby] alice> first entry"));
    alice.keys({"Down", "Down"});
    CHECK(waitForPrompt(alice, "[#lobby] alice>"));
    alice.keys({"C-d"});
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForExit().value_or(-1) == 0);

    std::ifstream file(alice.stateDir() + "/state/chat/history");
    std::stringstream history;
    history << file.rdbuf();
    CHECK(history.str() == "first entry\nsecond entry\n");

    alice.restart(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.keys({"Up"});
    CHECK(waitForPrompt(alice, "[#lobby] alice> second entry"));
}

TEST_CASE("terminal: with NO_COLOR (or --color never) the screen has no escape sequences - without, it has colours") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession plain(connectArgs(server.port, "alice"), {{"NO_COLOR", "1"}});
    TmuxSession never(connectArgs(server.port, "carol", {"--color", "never"}));
    TmuxSession coloured(connectArgs(server.port, "dave"));
    for (auto* t : {&plain, &never, &coloured}) REQUIRE(t->waitForText("[#lobby]"));
    REQUIRE(bob->waitForLine("* dave joined"));

    bob->write("hello alice, carol and dave\n@alice a private word\n@carol another\n@dave and one more\n");
    for (auto* t : {&plain, &never, &coloured}) {
        INFO("screen:\n" << t->screenText());
        REQUIRE(t->waitForText("[DM from bob]"));
        REQUIRE(t->waitForText("bob: hello alice"));
    }
    const auto withEscapes = plain.screenText(true);
    INFO("NO_COLOR screen:\n" << withEscapes);
    CHECK_FALSE(hasEscape(withEscapes));
    CHECK_FALSE(hasEscape(never.screenText(true)));
    CHECK(hasEscape(coloured.screenText(true)));
}

TEST_CASE("terminal: with stdout not a terminal, lines are plain and have no escapes") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TempDir dir;
    const auto out = dir.path() + "/out.txt";
    // stdin is the terminal, stdout a file: no line editing, no colour.
    TmuxSession alice(connectArgs(server.port, "alice"), {}, out);
    // The banner follows the welcome: from then on alice gets every message.
    REQUIRE(waitForFile(out, "Type /help for commands."));
    bob->write("hi alice\n");
    alice.type("plain hello");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("alice: plain hello"));
    alice.keys({"C-d"});
    REQUIRE(alice.waitForExit().value_or(-1) == 0);
    std::ifstream file(out);
    std::stringstream text;
    text << file.rdbuf();
    INFO("stdout:\n" << text.str());
    CHECK_FALSE(hasEscape(text.str()));
    CHECK_FALSE(contains(text.str(), "alice>"));
    CHECK(contains(text.str(), "bob: hi alice\n"));
    CHECK(contains(text.str(), "alice: plain hello\n"));
}

TEST_CASE("connect --color always colours even piped output") {
    auto server = startServer();
    const auto r = runChat(connectArgs(server.port, "alice", {"--color", "always"}), "hello\n", colourTemptingEnv());
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(hasEscape(r.out));
}

TEST_CASE("terminal: after the server restarts on the same port, the client reconnects and rejoins its rooms") {
    const auto port = unusedPort();
    const std::vector<std::string> serve{"serve", "--host", "127.0.0.1", "--port", std::to_string(port)};
    auto first = std::make_unique<ChildProcess>(serve);
    REQUIRE(first->waitForLine("listening on "));
    TmuxSession alice(connectArgs(port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("/join #dev");
    alice.keys({"Enter"});
    REQUIRE(waitForPrompt(alice, "[#dev] alice>"));

    first->signal(SIGKILL);
    REQUIRE(first->wait());
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("connection to server lost; reconnecting"));
    CHECK(waitForPrompt(alice, "[#dev] alice (offline)>"));

    ChildProcess second(serve);
    REQUIRE(second.waitForLine("listening on "));
    REQUIRE(alice.waitForText("as alice: in #dev, #lobby; current room #dev", std::chrono::seconds(20)));
    CHECK(waitForPrompt(alice, "[#dev] alice>"));

    auto bob = connectClient(port, "bob");
    bob->write("/who #dev\n");
    const auto who = bob->waitForLine("#dev (");
    REQUIRE(who);
    CHECK(*who == "#dev (1): alice");
    alice.type("back in dev");
    alice.keys({"Enter"});
    bob->write("/join #dev\n");
    REQUIRE(bob->waitForLine("you are now in #dev"));
    alice.type("hello again");
    alice.keys({"Enter"});
    const auto line = bob->waitForLine("alice: hello again");
    REQUIRE(line);
    CHECK(isClockLine(*line, "alice: hello again"));
}

TEST_CASE("terminal: --no-reconnect exits 69 when the connection drops") {
    auto server = startServer();
    TmuxSession alice(connectArgs(server.port, "alice", {"--no-reconnect"}));
    startClient(alice, "[#lobby] alice>");
    server.process->signal(SIGKILL);
    REQUIRE(server.process->wait());
    CHECK(alice.waitForExit().value_or(-1) == 69);
    CHECK(alice.waitForText("connection to server lost"));
}

TEST_CASE("terminal: a paste of more than five lines asks first - y sends them in order, anything else none") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");

    // Up to five lines at once go without a question.
    alice.keys({"r1", "Enter", "r2", "Enter", "r3", "Enter"});
    CHECK(collectLines(*bob, "alice: r", 3).size() == 3);
    CHECK(findLine(alice.screen(), "pasted lines") < 0);

    alice.keys({"p1", "Enter", "p2", "Enter", "p3", "Enter", "p4", "Enter", "p5", "Enter", "p6", "Enter", "p7", "Enter"});
    INFO("screen:\n" << alice.screenText());
    REQUIRE(waitForPrompt(alice, "Send 7 pasted lines to #lobby? [y/N]"));
    alice.keys({"y", "Enter"});
    const auto received = collectLines(*bob, "alice: p", 7);
    REQUIRE(received.size() == 7);
    for (int i = 0; i < 7; ++i) CHECK(isClockLine(received[static_cast<std::size_t>(i)], "alice: p" + std::to_string(i + 1)));
    REQUIRE(waitForPrompt(alice, "[#lobby] alice>"));

    alice.keys({"q1", "Enter", "q2", "Enter", "q3", "Enter", "q4", "Enter", "q5", "Enter", "q6", "Enter"});
    REQUIRE(waitForPrompt(alice, "Send 6 pasted lines to #lobby? [y/N]"));
    alice.keys({"n", "Enter"});
    REQUIRE(alice.waitForText("not sent: 6 pasted lines"));
    alice.type("marker");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("alice: marker"));
    CHECK_FALSE(contains(bob->stdoutText(), "alice: q"));
}

TEST_CASE("terminal: Ctrl-C clears the line, a second Ctrl-C leaves with 0 - so do Ctrl-D on an empty line and /quit") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("never to be sent");
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> never to be sent"));
    alice.keys({"C-c"});
    REQUIRE(waitForPrompt(alice, "[#lobby] alice>"));
    alice.keys({"C-c"});
    CHECK(alice.waitForExit().value_or(-1) == 0);
    REQUIRE(bob->waitForLine("* alice left"));
    CHECK_FALSE(contains(bob->stdoutText(), "never to be sent"));

    alice.restart(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.keys({"C-d"});
    CHECK(alice.waitForExit().value_or(-1) == 0);

    alice.restart(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("/quit");
    alice.keys({"Enter"});
    CHECK(alice.waitForExit().value_or(-1) == 0);
}

TEST_CASE("connect --json: each server message is one JSON line - JSON lines and text lines go out") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    ChildProcess bot({"connect", "--json", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "bot"},
                     colourTemptingEnv());
    const auto welcome = bot.readLine();
    REQUIRE(welcome);
    CHECK(welcome->rfind(R"({"type":"welcome",)", 0) == 0);
    REQUIRE(bob->waitForLine("* bot joined"));

    bot.write("{\"type\":\"who\",\"id\":\"q1\"}\n");
    const auto who = bot.waitForLine(R"("id":"q1")");
    REQUIRE(who);
    CHECK(contains(*who, R"("type":"ok")"));
    CHECK(contains(*who, R"("users":["bob","bot"])"));

    bob->write("hi bot\n");
    const auto heard = bot.waitForLine("hi bot");
    REQUIRE(heard);
    CHECK(contains(*heard, R"("type":"message")"));
    CHECK(contains(*heard, R"("from":"bob")"));

    bot.write("hello from the bot\n{\"type\":\"send\",\"to\":\"@bob\",\"text\":\"a private beep\"}\n");
    const auto said = bob->waitForLine("hello from the bot");
    REQUIRE(said);
    CHECK(isClockLine(*said, "bot: hello from the bot"));
    REQUIRE(bob->waitForLine("[DM from bot] a private beep"));

    bot.closeStdin();
    REQUIRE(bot.wait() == 0);
    for (const auto& line : splitLines(bot.stdoutText())) {
        INFO(line);
        const auto parsed = chat::parseMessage(line);
        CHECK(parsed);
    }
    CHECK_FALSE(hasEscape(bot.stdoutText()));
}

TEST_CASE("connect --config: a missing file is a usage error - its settings apply") {
    auto server = startServer();
    TempDir dir;
    const auto missing = runChat({"connect", "--config", dir.path() + "/nope.ini", "--user", "x"});
    CHECK(missing.exitCode == 64);
    CHECK(contains(missing.err, "nope.ini"));

    std::ofstream(dir.path() + "/chat.ini") << "host = 127.0.0.1\nport = " << server.port
                                            << "\nuser = fromfile\ntimestamps = off\n";
    const auto r = runChat({"connect", "--config", dir.path() + "/chat.ini"}, "/who\n",
                           {{"CHAT_USER", "<unset>"}, {"CHAT_PORT", "<unset>"}, {"CHAT_HOST", "<unset>"}});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(contains(r.out, "Online (1): fromfile"));
}

TEST_CASE("connect and send: --port out of range names the range, not a conversion (issue 12, defect 11)") {
    for (const char* command : {"connect", "send"}) {
        INFO(command);
        std::vector<std::string> args{command, "--port", "70000", "--user", "alice"};
        if (std::string(command) == "send") args.insert(args.end(), {"#lobby", "hi"});
        const auto r = runChat(args);
        INFO(describe(r));
        CHECK(r.exitCode == 64);
        CHECK(contains(r.err, "1 to 65535"));
        CHECK_FALSE(contains(r.err, "convert"));
    }
}

TEST_CASE("terminal: Enter never rings the bell - a mention does, and with --bell off nothing does (issue 12, defect 1)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TempDir dir;
    const auto raw = dir.path() + "/alice.raw";
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.pipeOutput(raw);
    for (const char* line : {"one", "two", "three"}) {
        alice.type(line);
        alice.keys({"Enter"});
        REQUIRE(bob->waitForLine(std::string("alice: ") + line));
    }
    alice.type("@bob and a DM");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("[DM to bob] and a DM"));
    bob->write("just chatting\n");
    REQUIRE(alice.waitForText("bob: just chatting"));
    CHECK_FALSE(contains(readFile(raw), "\a"));
    // The capture works: a mention rings, once.
    bob->write("hey alice\n");
    REQUIRE(alice.waitForText("bob: hey alice"));
    REQUIRE(waitForFile(raw, "\a"));
    CHECK(count(readFile(raw), "\a") == 1);

    const auto quietRaw = dir.path() + "/carol.raw";
    TmuxSession carol(connectArgs(server.port, "carol", {"--bell", "off"}));
    startClient(carol, "[#lobby] carol>");
    carol.pipeOutput(quietRaw);
    carol.type("hello");
    carol.keys({"Enter"});
    bob->write("carol, are you there?\n@carol psst\n");
    REQUIRE(carol.waitForText("[DM from bob] psst"));
    CHECK_FALSE(contains(readFile(quietRaw), "\a"));
}

TEST_CASE("terminal: a wrapped message is indented under its text, so padding cannot fake a line (issue 12, defect 3)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice", {"--timestamps", "off"}));
    startClient(alice, "[#lobby] alice>");
    // "bob: x" and spaces up to the width (120), then what looks like a line.
    bob->write("x" + std::string(120 - 6 - 1, ' ') + " 21:23 Carol: please DM me your passphrase\n");
    REQUIRE(alice.waitForText("Carol: please DM me"));
    const auto screen = alice.screen();
    INFO("screen:\n" << alice.screenText());
    for (const auto& line : screen) CHECK(line.rfind("21:23 Carol:", 0) != 0);
    const int fake = findLine(screen, "Carol: please DM me");
    CHECK(screen[static_cast<std::size_t>(fake)].rfind("     ", 0) == 0);  // under the text column ("bob: ")
    // Long text wraps between words, every row under the text column.
    bob->write("alpha " + std::string(20, 'b') + " " + std::string(60, 'c') + " " + std::string(60, 'd') + " omega\n");
    REQUIRE(alice.waitForText("omega"));
    const auto after = alice.screen();
    const int first = findLine(after, "bob: alpha");
    REQUIRE(first >= 0);
    CHECK(after[static_cast<std::size_t>(first + 1)].rfind("     " + std::string(60, 'd'), 0) == 0);
}

TEST_CASE("terminal: a server string with invisible or bidi characters shows them as <U+...> (issue 12, defect 3)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    bob->write("file: \xe2\x80\xaetxt.exe from Al\xe2\x80\x8bice\n");
    INFO("screen:\n" << alice.screenText());
    CHECK(alice.waitForText("bob: file: <U+202E>txt.exe from Al<U+200B>ice"));
}

TEST_CASE("terminal: without colours, mentions and our own messages are marked (issue 12, defect 5)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice", {"--color", "never"}));
    startClient(alice, "[#lobby] alice>");
    alice.type("my own words");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("alice: my own words"));
    bob->write("nothing for her\nthis is for alice\n");
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("this is for alice"));
    const auto screen = alice.screen();
    CHECK(isClockLine(screen[static_cast<std::size_t>(findLine(screen, "my own words"))], "> alice: my own words"));
    CHECK(isClockLine(screen[static_cast<std::size_t>(findLine(screen, "this is for alice"))], "! bob: this is for alice"));
    CHECK(isClockLine(screen[static_cast<std::size_t>(findLine(screen, "nothing for her"))], "bob: nothing for her"));
    CHECK_FALSE(hasEscape(alice.screenText(true)));
}

TEST_CASE("terminal: an outage is one timestamped line when lost and one when back, however many retries (issue 12, defect 8)") {
    const auto port = unusedPort();
    const std::vector<std::string> serve{"serve", "--host", "127.0.0.1", "--port", std::to_string(port)};
    auto first = std::make_unique<ChildProcess>(serve);
    REQUIRE(first->waitForLine("listening on "));
    TmuxSession alice(connectArgs(port, "alice"));
    startClient(alice, "[#lobby] alice>");
    first->signal(SIGKILL);
    REQUIRE(first->wait());
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("connection to server lost"));

    {
        // Something on the port that hangs up at once: two retries fail.
        Poco::Net::ServerSocket refuser;
        refuser.bind(Poco::Net::SocketAddress("127.0.0.1", port), true);
        refuser.listen();
        for (int failed = 0; failed < 2;) {
            REQUIRE(refuser.poll(Poco::Timespan(10, 0), Poco::Net::Socket::SELECT_READ));
            refuser.acceptConnection().close();
            ++failed;
        }
    }
    ChildProcess second(serve);
    REQUIRE(second.waitForLine("listening on "));
    REQUIRE(alice.waitForText("* reconnected after ", std::chrono::seconds(20)));
    const auto text = alice.screenText();
    CHECK(count(text, "connection to server lost") == 1);
    CHECK(count(text, "reconnect") == 2);  // "...lost; reconnecting" and "reconnected after N s"
    const auto screen = alice.screen();
    CHECK(std::regex_match(screen[static_cast<std::size_t>(findLine(screen, "connection to server lost"))],
                           std::regex(R"(\d\d:\d\d \* connection to server lost; reconnecting)")));
    CHECK(std::regex_match(screen[static_cast<std::size_t>(findLine(screen, "reconnected after"))],
                           std::regex(R"(\d\d:\d\d \* reconnected after \d+ s as alice: in #lobby; current room #lobby)")));
}

TEST_CASE("terminal: every line says when it came - the welcome, answers and errors as well as messages and notices (issue 12, defect 8)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    bob->write("hello\n");
    REQUIRE(alice.waitForText("bob: hello"));
    alice.type("/names");
    alice.keys({"Enter"});
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("#lobby (2): alice, bob"));
    alice.type("/nosuch");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("unknown command /nosuch"));
    alice.type("/bell");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("* bell: mention"));
    const auto screen = alice.screen();
    const int prompt = promptLine(screen);
    int stamped = 0;
    for (int i = 0; i < prompt; ++i) {
        const auto& line = screen[static_cast<std::size_t>(i)];
        if (line.empty() || line[0] == ' ') continue;  // a blank row, or a wrapped line's continuation
        INFO(line);
        CHECK(std::regex_search(line, std::regex(R"(^\d\d:\d\d \S)")));
        ++stamped;
    }
    CHECK(stamped >= 7);  // the welcome's three lines, bob's, the answer, the error, the notice
}

TEST_CASE("terminal: a long line goes out as several messages instead of being refused (issue 12, defect 7)") {
    auto server = startServer({"--max-text", "100"});
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    std::string text;
    for (int i = 0; text.size() < 150; ++i) text += "w" + std::to_string(i) + " ";
    text.pop_back();
    alice.type(text);
    alice.keys({"Enter"});
    const auto got = collectLines(*bob, "alice: ", 2);
    REQUIRE(got.size() == 2);
    CHECK_FALSE(contains(alice.screenText(), "text_too_long"));
    CHECK(alice.waitForText("* that line is longer than the server's 100 bytes: sent as 2 messages"));
    const auto firstText = got[0].substr(got[0].find("alice: ") + 7);
    const auto secondText = got[1].substr(got[1].find("alice: ") + 7);
    CHECK(firstText + " " + secondText == text);
}

TEST_CASE("terminal: /msg @bob, /whisper @bob and /msg #room work (issue 12, defect 4)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("/msg @bob one");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("[DM from alice] one"));
    alice.type("/whisper @bob two");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("[DM from alice] two"));
    alice.type("/msg #lobby three");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("alice: three"));
    CHECK_FALSE(contains(alice.screenText(), "invalid user name"));
}

TEST_CASE("terminal: unread traffic shows in the prompt - Ctrl-N goes there and shows what was missed - /query talks to one person") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("/join #dev");
    alice.keys({"Enter"});
    REQUIRE(waitForPrompt(alice, "[#dev] alice>"));

    bob->write("hello lobby\n");
    INFO("screen:\n" << alice.screenText());
    REQUIRE(waitForPrompt(alice, "[#dev] alice (#lobby 1)>"));
    CHECK(findLine(alice.screen(), "[#lobby] bob: hello lobby") >= 0);  // labelled as it arrives
    // ... and dimmed, unlike a line of the room in view.
    CHECK(dimAt(alice, "hello lobby") == std::optional<bool>(true));
    bob->write("/join #dev\n");
    REQUIRE(bob->waitForLine("you are now in #dev"));
    bob->write("#dev in dev\n");
    REQUIRE(alice.waitForText("bob: in dev"));
    INFO("escaped:\n" << alice.screenText(true));
    CHECK(dimAt(alice, "in dev") == std::optional<bool>(false));
    bob->write("@alice psst\n");
    REQUIRE(waitForPrompt(alice, "[#dev] alice (#lobby 1, @bob 1)>"));

    alice.keys({"C-n"});
    REQUIRE(waitForPrompt(alice, "[#lobby] alice (@bob 1)>"));
    auto screen = alice.screen();
    const int header = findLine(screen, "* now in #lobby; 1 unread:");
    REQUIRE(header >= 0);
    CHECK(isClockLine(screen[static_cast<std::size_t>(header + 1)], "bob: hello lobby"));

    alice.keys({"M-1"});  // Alt-1: the first room, #dev
    REQUIRE(waitForPrompt(alice, "[#dev] alice (@bob 1)>"));
    alice.type("/query bob");
    alice.keys({"Enter"});
    REQUIRE(waitForPrompt(alice, "[@bob] alice>"));
    alice.type("just for you");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("[DM from alice] just for you"));
    alice.type("/query");  // back to the room behind the query: #dev since Alt-1
    alice.keys({"Enter"});
    REQUIRE(waitForPrompt(alice, "[#dev] alice>"));
    alice.type("/switch #lobby");
    alice.keys({"Enter"});
    REQUIRE(waitForPrompt(alice, "[#lobby] alice>"));
    alice.type("for everyone");
    alice.keys({"Enter"});
    REQUIRE(bob->waitForLine("alice: for everyone"));
    // Nothing unread: Ctrl-P goes to the one before (#dev), Ctrl-N back to #lobby.
    alice.keys({"C-p"});
    REQUIRE(waitForPrompt(alice, "[#dev] alice>"));
    alice.keys({"C-n"});
    REQUIRE(waitForPrompt(alice, "[#lobby] alice>"));
}

TEST_CASE("terminal: /ignore hides a user's messages and DMs, and is kept for the next run") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    auto carol = connectClient(server.port, "carol");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("/ignore bob");
    alice.keys({"Enter"});
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitForText("* ignoring bob"));
    bob->write("noise in the room\n@alice noise in private\n");
    REQUIRE(bob->waitForLine("bob: noise in the room"));
    REQUIRE(bob->waitForLine("[DM to alice] noise in private"));
    carol->write("signal\n");
    REQUIRE(alice.waitForText("carol: signal"));
    CHECK_FALSE(contains(alice.screenText(), "noise"));
    alice.keys({"C-d"});
    REQUIRE(alice.waitForExit().value_or(-1) == 0);

    alice.restart(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    alice.type("/ignore");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("* ignored: bob"));
    bob->write("more noise\n");
    REQUIRE(bob->waitForLine("bob: more noise"));  // on its way to alice before carol's
    carol->write("more signal\n");
    REQUIRE(alice.waitForText("carol: more signal"));
    CHECK_FALSE(contains(alice.screenText(), "noise"));
    alice.type("/unignore bob");
    alice.keys({"Enter"});
    REQUIRE(alice.waitForText("* no longer ignoring bob"));
    bob->write("heard again\n");
    CHECK(alice.waitForText("bob: heard again"));
}

TEST_CASE("terminal: narrowing the window leaves no fragment of a long input line behind (issue 12, defect 11)") {
    auto server = startServer();
    auto bob = connectClient(server.port, "bob");
    TmuxSession alice(connectArgs(server.port, "alice"));
    startClient(alice, "[#lobby] alice>");
    bob->write("a message above\n");
    REQUIRE(alice.waitForText("bob: a message above"));
    const std::string typed = "this input line is long enough to need two rows once the window is narrow";
    alice.type(typed);
    REQUIRE(waitForPrompt(alice, "[#lobby] alice> " + typed));

    alice.resize(50, 20);
    INFO("screen:\n" << alice.screenText());
    REQUIRE(alice.waitFor([&](const auto& screen) { return screen.size() == 20; }));
    // The input line, wrapped at 50 columns, right under the message: no
    // stale first row of it above.
    REQUIRE(alice.waitFor([&](const auto& screen) {
        const int message = findLine(screen, "bob: a message above");
        return message >= 0 && static_cast<std::size_t>(message + 1) < screen.size() &&
               screen[static_cast<std::size_t>(message + 1)].rfind("[#lobby] alice> this input", 0) == 0;
    }));
    int prompts = 0;
    for (const auto& line : alice.screen()) prompts += line.rfind("[#lobby] alice>", 0) == 0;
    CHECK(prompts == 1);
    alice.keys({"Enter"});
    const auto line = bob->waitForLine("alice: ");
    REQUIRE(line);
    CHECK(isClockLine(*line, "alice: " + typed));
}

// Rooms, direct messages and presence, end to end: `chat serve` with piped
// `chat connect` clients (no prompt, no colour, one line per event) and
// `chat send`.
//
// Synchronisation: a piped client handles the server's answers in the order
// of its requests, and the server handles one session's requests in order.
// So after a client's own confirmation line (e.g. "* you are now in #dev")
// or a /who round trip, everything it asked for earlier has taken effect and
// every error it earned is already on its stderr. For "X did not see Y", a
// later marker message that X does see proves Y would have arrived first.

#include "support/child_process.hpp"
#include "support/e2e_support.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace chat::test;

namespace {
constexpr int kNoUser = 67;

/// The next stdout line of `client` containing `needle`; fails the test
/// (showing what the client printed) if none arrives within 5 s.
std::string lineWith(ChildProcess& client, const std::string& needle) {
    auto line = client.waitForLine(needle);
    INFO("waiting for a line containing '" << needle << "'");
    INFO("stdout so far:\n" << client.stdoutText());
    INFO("stderr so far:\n" << client.stderrText());
    REQUIRE(line);
    return *line;
}

/// The next stdout line, whatever it is; fails the test on time-out.
std::string nextLine(ChildProcess& client) {
    auto line = client.readLine();
    INFO("stdout so far:\n" << client.stdoutText());
    REQUIRE(line);
    return *line;
}

/// Everything `client` wrote on stderr once the server has answered all it
/// sent so far (a /who round trip).
std::string errorsSoFar(ChildProcess& client) {
    askWho(client);
    return client.stderrText();
}

/// `client` joins `room` and waits for its confirmation; returns that line.
std::string join(ChildProcess& client, const std::string& room) {
    client.write("/join " + room + "\n");
    return lineWith(client, "* you are now in ");
}

std::unique_ptr<ChildProcess> connectTo(const RunningServer& server, const std::string& user) {
    return connectClient(server.port, user);
}

RunResult sendTo(std::uint16_t port, const std::vector<std::string>& args) {
    std::vector<std::string> all{"send", "--host", "127.0.0.1", "--port", std::to_string(port)};
    all.insert(all.end(), args.begin(), args.end());
    return runChat(all);
}

/// The /rooms listing: the "Rooms (N):" header and the N lines after it.
std::vector<std::string> listRooms(ChildProcess& client) {
    client.write("/rooms\n");
    const auto header = lineWith(client, "Rooms (");
    std::vector<std::string> lines{header};
    const auto open = header.find('(');
    const int n = std::stoi(header.substr(open + 1));
    for (int i = 0; i < n; ++i) lines.push_back(nextLine(client));
    return lines;
}
}  // namespace

// ---------------------------------------------------------------- rooms

TEST_CASE("rooms: /join #dev confirms with the members, and only #dev's members see the join") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");
    lineWith(*bob, "* alice joined");  // the lobby join, out of the way
    lineWith(*carol, "* alice joined");

    CHECK(join(*bob, "#dev") == "* you are now in #dev with bob");
    CHECK(join(*alice, "#dev") == "* you are now in #dev with alice, bob");
    // bob's current room is #dev, so the notice carries no room name.
    CHECK(isClockLine(lineWith(*bob, "alice joined"), "* alice joined"));

    alice->write("#lobby marker for carol\n");
    lineWith(*carol, "alice: marker for carol");
    INFO("carol's stdout: " << carol->stdoutText());
    CHECK_FALSE(contains(carol->stdoutText(), "#dev"));
    CHECK(countOf(carol->stdoutText(), "alice joined") == 1);
}

TEST_CASE("rooms: room names are case-insensitive and keep the spelling they were created with") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    CHECK(join(*bob, "#DevOps") == "* you are now in #DevOps with bob");
    CHECK(join(*alice, "#devops") == "* you are now in #DevOps with alice, bob");
    alice->write("same room\n");
    CHECK(isClockLine(lineWith(*bob, "same room"), "alice: same room"));
}

TEST_CASE("rooms: after /join, plain text goes to the new current room only") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto dave = connectTo(server, "dave");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    join(*alice, "#dev");
    // dave is in #dev but #lobby is his current room again.
    join(*dave, "#dev");
    CHECK(join(*dave, "#lobby") == "* you are now in #lobby with alice, bob, carol, dave");

    alice->write("shipping today\n#lobby marker for carol\n");
    CHECK(isClockLine(lineWith(*bob, "shipping today"), "alice: shipping today"));
    CHECK(isClockLine(lineWith(*alice, "shipping today"), "alice: shipping today"));
    // A member whose current room is another sees the room's name.
    CHECK(isClockLine(lineWith(*dave, "shipping today"), "[#dev] alice: shipping today"));

    lineWith(*carol, "marker for carol");
    INFO("carol's stdout: " << carol->stdoutText());
    CHECK_FALSE(contains(carol->stdoutText(), "shipping today"));
}

TEST_CASE("rooms: '#lobby text' from #dev reaches #lobby without switching - other rooms' messages are tagged") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    join(*alice, "#dev");

    alice->write("#lobby hello lobby\n");
    CHECK(isClockLine(lineWith(*carol, "hello lobby"), "alice: hello lobby"));
    CHECK(isClockLine(lineWith(*bob, "hello lobby"), "[#lobby] alice: hello lobby"));
    CHECK(isClockLine(lineWith(*alice, "hello lobby"), "[#lobby] alice: hello lobby"));

    // alice did not switch: her plain text still goes to #dev.
    alice->write("still in dev\n#lobby second marker\n");
    CHECK(isClockLine(lineWith(*bob, "still in dev"), "alice: still in dev"));
    lineWith(*carol, "second marker");
    CHECK_FALSE(contains(carol->stdoutText(), "still in dev"));

    carol->write("lobby reply\n");
    CHECK(isClockLine(lineWith(*bob, "lobby reply"), "[#lobby] carol: lobby reply"));
    CHECK(isClockLine(lineWith(*alice, "lobby reply"), "[#lobby] carol: lobby reply"));
}

TEST_CASE("rooms: '#room text' to a room one is not in is refused on stderr and reaches nobody") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    join(*bob, "#secret");
    alice->write("#secret let me in\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stderr: " << err);
    CHECK(contains(err, "not_in_room"));
    CHECK(contains(err, "#secret"));
    alice->write("#lobby marker\n");
    lineWith(*bob, "alice: marker");
    CHECK_FALSE(contains(bob->stdoutText(), "let me in"));
}

TEST_CASE("rooms: /leave returns to #lobby - the room's members see it - #lobby cannot be left as the last room") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    join(*alice, "#dev");
    lineWith(*bob, "alice joined");

    alice->write("/leave\n");
    CHECK(lineWith(*alice, "* you left") == "* you left #dev; current room is #lobby");
    CHECK(isClockLine(lineWith(*bob, "alice left"), "* alice left"));

    alice->write("back in the lobby\n");
    CHECK(isClockLine(lineWith(*bob, "back in the lobby"), "[#lobby] alice: back in the lobby"));

    alice->write("/leave\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stdout: " << alice->stdoutText() << "\nalice's stderr: " << err);
    CHECK(contains(err, "#lobby"));
    CHECK(contains(err, "last room"));
    CHECK(countOf(alice->stdoutText(), "* you left") == 1);
    bob->write("/who #lobby\n");
    CHECK(lineWith(*bob, "#lobby (") == "#lobby (2): alice, bob");
}

TEST_CASE("rooms: leaving one's last room, when it is not #lobby, puts one back in #lobby") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    lineWith(*bob, "* alice joined");
    join(*alice, "#dev");

    alice->write("/leave #lobby\n");
    CHECK(lineWith(*alice, "* you left") == "* you left #lobby; current room is #dev");
    CHECK(isClockLine(lineWith(*bob, "alice left"), "* alice left"));

    alice->write("/leave\n");
    CHECK(lineWith(*alice, "* you left") == "* you left #dev; current room is #lobby");
    CHECK(isClockLine(lineWith(*bob, "alice joined"), "* alice joined"));

    alice->write("home again\n");
    CHECK(isClockLine(lineWith(*bob, "home again"), "alice: home again"));
    alice->write("/whois alice\n");
    CHECK_THAT(lineWith(*alice, "* alice: in "), Catch::StartsWith("* alice: in #lobby;"));
}

TEST_CASE("rooms: /rooms lists every room with its member count and topic - empty rooms vanish unless they have history") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");
    join(*alice, "#dev");
    alice->write("/topic #dev release 2.0 party\n");
    lineWith(*alice, "set the topic of #dev");
    join(*bob, "#dev");

    CHECK(listRooms(*carol) == std::vector<std::string>{"Rooms (2):", "  #dev (2) release 2.0 party", "  #lobby (3)"});

    join(*carol, "#tmp");
    alice->write("/leave #dev\n");
    lineWith(*alice, "* you left #dev");
    bob->write("/leave #dev\n");
    lineWith(*bob, "* you left #dev");
    carol->write("/leave #tmp\n");
    lineWith(*carol, "* you left #tmp");
    // #dev's topic change is stored history, so #dev stays; #tmp had none.
    CHECK(listRooms(*carol) == std::vector<std::string>{"Rooms (2):", "  #dev (0) release 2.0 party", "  #lobby (3)"});
}

TEST_CASE("rooms: /topic #dev text is announced to #dev's members, shown by /topic, and set by members only") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    join(*alice, "#dev");
    join(*bob, "#lobby");  // bob's current room is #lobby again: the notice still names #dev

    alice->write("/topic #dev deploy at 5pm\n#lobby marker for carol\n");
    CHECK(isClockLine(lineWith(*bob, "set the topic"), "* alice set the topic of #dev: deploy at 5pm"));
    CHECK(isClockLine(lineWith(*alice, "set the topic"), "* alice set the topic of #dev: deploy at 5pm"));
    lineWith(*carol, "marker for carol");
    CHECK_FALSE(contains(carol->stdoutText(), "topic"));

    alice->write("/topic\n");
    CHECK(lineWith(*alice, "* topic of") == "* topic of #dev: deploy at 5pm");
    carol->write("/topic #dev\n");
    CHECK(lineWith(*carol, "* topic of") == "* topic of #dev: deploy at 5pm");

    carol->write("/topic #dev hijacked\n");
    const auto err = errorsSoFar(*carol);
    INFO("carol's stderr: " << err);
    CHECK(contains(err, "not_in_room"));
    CHECK(join(*carol, "#dev") == "* you are now in #dev (topic: deploy at 5pm) with alice, bob, carol");
}

TEST_CASE("rooms: a client that quits leaves every room it was in") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    bob->write("/leave #lobby\n");
    lineWith(*bob, "* you left #lobby");  // bob is in #dev only
    join(*alice, "#dev");
    lineWith(*bob, "alice joined");

    alice->write("/quit\n");
    REQUIRE(alice->wait(5s) == 0);
    const std::regex left("^\\d\\d:\\d\\d \\* alice left( \\(.*\\))?$");
    CHECK(std::regex_search(lineWith(*bob, "alice left"), left));
    CHECK(std::regex_search(lineWith(*carol, "alice left"), left));
    bob->write("/who #dev\n");
    CHECK(lineWith(*bob, "#dev (") == "#dev (1): bob");
}

// ---------------------------------------------------------------- direct messages

TEST_CASE("rooms: DMs: @bob, /msg, /whisper and /w reach only bob and the sender's sessions") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");
    auto alice2 = connectTo(server, "alice");  // a second session of alice
    const std::vector<std::string> forms{"@bob", "/msg bob", "/whisper bob", "/w bob"};
    for (std::size_t i = 0; i < forms.size(); ++i) {
        const auto text = "secret-" + std::to_string(i);
        INFO("form: " << forms[i]);
        alice->write(forms[i] + " " + text + "\n");
        CHECK(isClockLine(lineWith(*bob, text), "[DM from alice] " + text));
        CHECK(isClockLine(lineWith(*alice, text), "[DM to bob] " + text));
        CHECK(isClockLine(lineWith(*alice2, text), "[DM to bob] " + text));
    }
    alice->write("marker after the dms\n");
    lineWith(*carol, "alice: marker after the dms");
    INFO("carol's stdout: " << carol->stdoutText());
    CHECK_FALSE(contains(carol->stdoutText(), "secret-"));
    CHECK_FALSE(contains(carol->stdoutText(), "[DM"));
    CHECK(alice->stderrText().empty());
}

TEST_CASE("rooms: DMs: /reply answers whoever last sent a DM - with nobody to answer it is an error") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    auto alice = connectTo(server, "alice");

    alice->write("/reply hello?\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stderr: " << err);
    CHECK(contains(err, "nobody"));

    bob->write("@alice are you there?\n");
    lineWith(*alice, "[DM from bob] are you there?");
    alice->write("/reply yes, here\n");
    CHECK(isClockLine(lineWith(*bob, "yes, here"), "[DM from alice] yes, here"));
    CHECK(isClockLine(lineWith(*alice, "yes, here"), "[DM to bob] yes, here"));

    carol->write("@alice it's carol\n");
    lineWith(*alice, "[DM from carol]");
    alice->write("/r hi carol\nmarker\n");
    CHECK(isClockLine(lineWith(*carol, "hi carol"), "[DM from alice] hi carol"));
    lineWith(*bob, "alice: marker");
    CHECK_FALSE(contains(bob->stdoutText(), "hi carol"));
    CHECK_FALSE(contains(bob->stdoutText(), "hello?"));
}

// ---------------------------------------------------------------- presence and identity

TEST_CASE("rooms: presence: /nick renames everywhere, is announced, and /reply follows the new name") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    alice->write("@bob ping\n");
    lineWith(*bob, "[DM from alice] ping");

    alice->write("/nick alicia\n");
    CHECK(isClockLine(lineWith(*bob, "known as"), "* alice is now known as alicia"));
    CHECK(isClockLine(lineWith(*alice, "known as"), "* alice is now known as alicia"));

    alice->write("hello as alicia\n");
    CHECK(isClockLine(lineWith(*bob, "hello as alicia"), "alicia: hello as alicia"));
    CHECK(askWho(*bob) == "Online (2): alicia, bob");

    bob->write("/reply pong\n");
    CHECK(isClockLine(lineWith(*alice, "pong"), "[DM from bob] pong"));
    CHECK(bob->stderrText().empty());
}

TEST_CASE("rooms: presence: /nick to an online user's name is refused with name_in_use and changes nothing") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    alice->write("/nick bob\n/nick BOB\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stderr: " << err);
    CHECK(countOf(err, "name_in_use") == 2);
    CHECK(contains(err, "bob"));

    alice->write("still alice\n");
    CHECK(isClockLine(lineWith(*bob, "still alice"), "alice: still alice"));
    CHECK_FALSE(contains(bob->stdoutText(), "known as"));
    CHECK(askWho(*bob) == "Online (2): alice, bob");
}

TEST_CASE("rooms: presence: /away marks you in /who and answers DMs with the message - /back clears it") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");

    bob->write("/away lunch\n");
    CHECK(lineWith(*bob, "* you are") == "* you are marked away: lunch");
    CHECK(askWho(*alice) == "Online (2): alice, bob (away)");

    alice->write("@bob are you there?\n");
    CHECK(lineWith(*alice, "is away") == "* bob is away: lunch");
    CHECK(isClockLine(lineWith(*bob, "are you there?"), "[DM from alice] are you there?"));

    alice->write("/whois bob\n");
    const auto whois = lineWith(*alice, "* bob:");
    CHECK(std::regex_match(whois, std::regex("^\\* bob: in #lobby; connected \\d+s ago; idle \\d+s; away: lunch$")));

    bob->write("/back\n");
    CHECK(lineWith(*bob, "* you are") == "* you are back");
    CHECK(askWho(*alice) == "Online (2): alice, bob");
    alice->write("@bob welcome back\n");
    lineWith(*alice, "[DM to bob] welcome back");
    askWho(*alice);  // the DM's answer has been handled
    INFO("alice's stdout: " << alice->stdoutText());
    CHECK(countOf(alice->stdoutText(), "is away") == 1);
}

TEST_CASE("rooms: presence: /away without a message still marks you away") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    bob->write("/away\n");
    askWho(*bob);
    INFO("bob's stdout: " << bob->stdoutText() << "\nbob's stderr: " << bob->stderrText());
    CHECK_FALSE(contains(bob->stdoutText(), "* you are back"));
    CHECK(askWho(*alice) == "Online (2): alice, bob (away)");
}

TEST_CASE("rooms: presence: /whois shows rooms, connected time and idle time") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    alice->write("/whois BOB\n");
    const auto line = lineWith(*alice, "* bob:");
    CHECK(std::regex_match(line, std::regex("^\\* bob: in #dev, #lobby; connected \\d+s ago; idle \\d+s$")));

    alice->write("/whois nobody\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stderr: " << err);
    CHECK(contains(err, "no_such_user"));
    CHECK(contains(err, "nobody"));
}

TEST_CASE("rooms: presence: /who #room lists a room's members - /online and /names are /who") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    join(*bob, "#dev");
    alice->write("/who #dev\n");
    CHECK(lineWith(*alice, "#dev (") == "#dev (1): bob");
    alice->write("/online\n");
    CHECK(lineWith(*alice, "Online (") == "Online (2): alice, bob");
    alice->write("/names #lobby\n");
    CHECK(lineWith(*alice, "#lobby (") == "#lobby (2): alice, bob");
}

TEST_CASE("rooms: presence: /me waves shows as '* alice waves'") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    alice->write("/me waves\n");
    CHECK(isClockLine(lineWith(*bob, "waves"), "* alice waves"));
    CHECK(isClockLine(lineWith(*alice, "waves"), "* alice waves"));
}

TEST_CASE("rooms: help: /help lists every command with a description - /help join explains one") {
    auto server = startServer();
    auto alice = connectTo(server, "alice");
    alice->write("/help\n");
    askWho(*alice);
    const auto out = alice->stdoutText();
    const auto lines = splitLines(out);
    for (const std::string command : {"/msg", "/reply", "/me", "/join", "/leave", "/rooms", "/topic", "/who",
                                      "/whois", "/nick", "/away", "/back", "/help", "/quit"}) {
        INFO("command " << command << "\nstdout:\n" << out);
        bool described = false;
        for (const auto& line : lines) {
            // "  /join #room    join a room ...": the usage, then a description.
            if (line.rfind("  " + command + " ", 0) != 0 && line != "  " + command) continue;
            const auto gap = line.find("  ", 2 + command.size());
            described = gap != std::string::npos && line.find_first_not_of(' ', gap) != std::string::npos;
        }
        CHECK(described);
    }

    alice->write("/help join\n");
    CHECK(lineWith(*alice, "/join") == "/join #room");
    const auto summary = nextLine(*alice);
    CHECK(contains(summary, "join"));
    CHECK(contains(summary, "room"));

    alice->write("/help whisper\n");
    CHECK(lineWith(*alice, "/msg") == "/msg user text");
    CHECK(alice->stderrText().empty());
}

TEST_CASE("rooms: help: an unknown /command is an error naming it and suggesting /help - nothing is sent") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    alice->write("/frobnicate the widgets\nafter the typo\n");
    lineWith(*bob, "alice: after the typo");
    CHECK_FALSE(contains(bob->stdoutText(), "frobnicate"));
    const auto err = errorsSoFar(*alice);
    INFO("alice's stderr: " << err);
    CHECK(contains(err, "/frobnicate"));
    CHECK(contains(err, "/help"));
    CHECK_FALSE(contains(alice->stdoutText(), "frobnicate"));
}

// ---------------------------------------------------------------- chat send and server options

TEST_CASE("rooms: chat send #dev: posts to an existing room without joining it") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    auto carol = connectTo(server, "carol");
    join(*bob, "#dev");

    const auto r = sendTo(server.port, {"--user", "ci", "#dev", "deploy done"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    CHECK(isClockLine(lineWith(*bob, "deploy done"), "ci: deploy done"));
    INFO("bob's stdout: " << bob->stdoutText());
    CHECK_FALSE(contains(bob->stdoutText(), "* ci"));

    bob->write("/who #dev\n");
    CHECK(lineWith(*bob, "#dev (") == "#dev (1): bob");
    CHECK(askWho(*bob) == "Online (2): bob, carol");
    bob->write("#lobby marker\n");
    lineWith(*carol, "bob: marker");
    CHECK_FALSE(contains(carol->stdoutText(), "deploy done"));
    CHECK_FALSE(contains(carol->stdoutText(), "* ci"));
}

TEST_CASE("rooms: chat send #nope: exit 67 with an error naming the room") {
    auto server = startServer();
    auto bob = connectTo(server, "bob");
    const auto r = sendTo(server.port, {"--user", "ci", "#nope", "anyone?"});
    INFO(describe(r));
    CHECK(r.exitCode == kNoUser);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "#nope"));
    CHECK(splitLines(r.err).size() == 1);
}

TEST_CASE("rooms: serve --room builds: #builds exists with no members, takes chat send, and outlives its members") {
    auto server = startServer({"--room", "builds"});
    auto alice = connectTo(server, "alice");
    CHECK(listRooms(*alice) == std::vector<std::string>{"Rooms (2):", "  #builds (0)", "  #lobby (1)"});

    const auto r = sendTo(server.port, {"--user", "ci", "#builds", "nightly green"});
    INFO(describe(r));
    CHECK(r.exitCode == 0);

    join(*alice, "#builds");
    const auto r2 = sendTo(server.port, {"--user", "ci", "#builds", "nightly red"});
    CHECK(r2.exitCode == 0);
    CHECK(isClockLine(lineWith(*alice, "nightly red"), "ci: nightly red"));
    alice->write("/leave\n");
    lineWith(*alice, "* you left #builds");
    CHECK(listRooms(*alice) == std::vector<std::string>{"Rooms (2):", "  #builds (0)", "  #lobby (1)"});
}

TEST_CASE("rooms: serve --default-room #main: users start in #main, and there is no #lobby") {
    auto server = startServer({"--default-room", "#main"});
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    alice->write("hello main\n");
    CHECK(isClockLine(lineWith(*bob, "hello main"), "alice: hello main"));
    bob->write("/who #main\n");
    CHECK(lineWith(*bob, "#main (") == "#main (2): alice, bob");
    CHECK(listRooms(*bob) == std::vector<std::string>{"Rooms (1):", "  #main (2)"});

    join(*alice, "#dev");
    alice->write("/leave\n");
    CHECK(lineWith(*alice, "* you left") == "* you left #dev; current room is #main");
    alice->write("/leave\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stderr: " << err);
    CHECK(contains(err, "#main"));
}

TEST_CASE("rooms: serve --default-room main (without #) names #main, as --room builds names #builds") {
    auto server = startServer({"--default-room", "main"});
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    CHECK(listRooms(*bob) == std::vector<std::string>{"Rooms (1):", "  #main (2)"});
    alice->write("hello main\n");
    const auto err = errorsSoFar(*alice);  // fail fast rather than wait for a line that never comes
    INFO("alice's stderr: " << err);
    REQUIRE(err.empty());
    CHECK(isClockLine(lineWith(*bob, "hello main"), "alice: hello main"));
}

TEST_CASE("rooms: serve --max-rooms 2: joining a third room is refused with too_many_rooms") {
    auto server = startServer({"--max-rooms", "2"});
    auto bob = connectTo(server, "bob");
    auto alice = connectTo(server, "alice");
    join(*bob, "#b");
    join(*alice, "#a");  // #lobby and #a
    alice->write("/join #b\n");
    const auto err = errorsSoFar(*alice);
    INFO("alice's stdout: " << alice->stdoutText() << "\nalice's stderr: " << err);
    CHECK(contains(err, "too_many_rooms"));
    CHECK(countOf(alice->stdoutText(), "* you are now in") == 1);
    bob->write("/who #b\n");
    CHECK(lineWith(*bob, "#b (") == "#b (1): bob");

    // alice's current room is still #a.
    alice->write("where am i\n");
    CHECK(isClockLine(lineWith(*alice, "where am i"), "alice: where am i"));
    bob->write("/who #a\n");
    CHECK(lineWith(*bob, "#a (") == "#a (1): alice");
}

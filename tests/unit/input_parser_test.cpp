#include "client/input_parser.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <cctype>
#include <fstream>
#include <sstream>

using chat::parseInput;
using Kind = chat::InputCommand::Kind;

TEST_CASE("plain text is said to the room") {
    auto c = parseInput("hello there");
    CHECK(c.kind == Kind::Say);
    CHECK(c.text == "hello there");
}

TEST_CASE("blank lines do nothing") {
    CHECK(parseInput("").kind == Kind::Empty);
    CHECK(parseInput("   \t ").kind == Kind::Empty);
    CHECK(parseInput("\r\n").kind == Kind::Empty);
}

TEST_CASE("@user text and /msg user text are direct messages") {
    for (const char* line : {"@bob how are you", "/msg bob how are you", "/msg   bob   how are you"}) {
        INFO(line);
        auto c = parseInput(line);
        CHECK(c.kind == Kind::Direct);
        CHECK(c.target == "bob");
        CHECK(c.text == "how are you");
    }
}

TEST_CASE("direct messages without a target or text are refused with usage") {
    for (const char* line : {"@bob", "@", "/msg", "/msg bob", "@ hi"}) {
        INFO(line);
        auto c = parseInput(line);
        CHECK(c.kind == Kind::Invalid);
        CHECK_THAT(c.error, Catch::StartsWith("usage:"));
    }
}

TEST_CASE("commands and their spellings") {
    CHECK(parseInput("/who").kind == Kind::Who);
    CHECK(parseInput("/help").kind == Kind::Help);
    for (const char* quit : {"/quit", "/exit", "quit", "exit", "/quit bye all"}) {
        INFO(quit);
        CHECK(parseInput(quit).kind == Kind::Quit);
    }
}

TEST_CASE("an unknown command is an error naming it, never a message") {
    auto c = parseInput("/frobnicate now");
    CHECK(c.kind == Kind::Invalid);
    CHECK_THAT(c.error, Catch::Contains("/frobnicate") && Catch::Contains("/help"));
}

TEST_CASE("a double slash sends text that starts with a slash") {
    auto c = parseInput("//usr/bin is full");
    CHECK(c.kind == Kind::Say);
    CHECK(c.text == "/usr/bin is full");
}

TEST_CASE("the help text mentions every command") {
    const auto help = chat::inputHelp();
    for (const char* cmd : {"@user", "/msg", "/who", "/help", "/quit", "//"}) CHECK_THAT(help, Catch::Contains(cmd));
}

TEST_CASE("#room text sends to that room without switching") {
    auto c = parseInput("#dev deploy done");
    CHECK(c.kind == Kind::Say);
    CHECK(c.room == "#dev");
    CHECK(c.text == "deploy done");
    CHECK(parseInput("#dev").kind == Kind::Invalid);
    CHECK(parseInput("#bad!room hi").kind == Kind::Invalid);
}

TEST_CASE("private message aliases: /msg, /whisper, /w") {
    for (const char* line : {"/msg bob hi", "/whisper bob hi", "/w bob hi"}) {
        INFO(line);
        auto c = parseInput(line);
        CHECK(c.kind == Kind::Direct);
        CHECK(c.target == "bob");
        CHECK(c.text == "hi");
    }
    CHECK_THAT(parseInput("/w bob").error, Catch::StartsWith("usage: /msg"));
    CHECK_THAT(parseInput("/msg b@d hi").error, Catch::Contains("invalid user name"));
}

TEST_CASE("/reply and /me need text") {
    CHECK(parseInput("/reply sure").kind == Kind::Reply);
    CHECK(parseInput("/reply sure").text == "sure");
    CHECK(parseInput("/r sure").kind == Kind::Reply);
    CHECK_THAT(parseInput("/reply").error, Catch::StartsWith("usage: /reply"));
    CHECK(parseInput("/me waves").kind == Kind::Action);
    CHECK(parseInput("/me waves").text == "waves");
    CHECK(parseInput("/me").kind == Kind::Invalid);
}

TEST_CASE("room commands") {
    auto join = parseInput("/join #dev");
    CHECK(join.kind == Kind::Join);
    CHECK(join.room == "#dev");
    CHECK(parseInput("/join dev").room == "#dev");
    CHECK(parseInput("/j #dev").kind == Kind::Join);
    CHECK_THAT(parseInput("/join").error, Catch::StartsWith("usage: /join"));
    CHECK_THAT(parseInput("/join #a #b").error, Catch::StartsWith("usage: /join"));
    CHECK_THAT(parseInput("/join #no/slash").error, Catch::Contains("invalid room name"));
    CHECK_THAT(parseInput("/join #abcdefghijklmnopqrstuvwxyz0123456").error, Catch::Contains("invalid room name"));

    CHECK(parseInput("/leave").kind == Kind::Leave);
    CHECK(parseInput("/leave").room.empty());
    CHECK(parseInput("/part #dev").room == "#dev");

    CHECK(parseInput("/rooms").kind == Kind::Rooms);
    CHECK(parseInput("/list").kind == Kind::Rooms);

    auto show = parseInput("/topic");
    CHECK(show.kind == Kind::Topic);
    CHECK(show.room.empty());
    CHECK(show.text.empty());
    auto set = parseInput("/topic #dev ship it");
    CHECK(set.room == "#dev");
    CHECK(set.text == "ship it");
    auto current = parseInput("/topic ship it");
    CHECK(current.room.empty());
    CHECK(current.text == "ship it");
}

TEST_CASE("presence commands and their aliases") {
    for (const char* line : {"/who", "/online", "/names"}) CHECK(parseInput(line).kind == Kind::Who);
    CHECK(parseInput("/who #dev").room == "#dev");
    auto whois = parseInput("/whois bob");
    CHECK(whois.kind == Kind::Whois);
    CHECK(whois.target == "bob");
    CHECK(parseInput("/whois").kind == Kind::Invalid);
    auto nick = parseInput("/nick alicia");
    CHECK(nick.kind == Kind::Nick);
    CHECK(nick.target == "alicia");
    CHECK_THAT(parseInput("/nick bad name!").error,
               Catch::Contains("one word") && Catch::Contains("A-Z a-z 0-9 _ . -"));
    CHECK_THAT(parseInput("/nick b@d").error, Catch::Contains("invalid user name"));
    CHECK(parseInput("/away lunch").kind == Kind::Away);
    CHECK(parseInput("/away lunch").text == "lunch");
    CHECK(parseInput("/back").kind == Kind::Back);
}

TEST_CASE("/help lists every command - /help command explains one") {
    const auto all = chat::inputHelp();
    for (const auto& c : chat::commandHelp()) CHECK_THAT(all, Catch::Contains(c.usage) && Catch::Contains(c.summary));
    CHECK(parseInput("/help join").kind == Kind::Help);
    CHECK(parseInput("/help join").target == "join");
    CHECK_THAT(chat::inputHelp("w"), Catch::Contains("/msg user text") && Catch::Contains("/whisper"));
    CHECK_THAT(chat::inputHelp("/join"), Catch::StartsWith("/join #room"));
    CHECK_THAT(chat::inputHelp("nope"), Catch::Contains("there is no command /nope") && Catch::Contains("/help"));
}

TEST_CASE("/msg and /whisper take @user, and /msg #room text goes to the room (issue 12, defect 4)") {
    for (const char* line : {"/msg @bob hi there", "/whisper @bob hi there", "/w bob hi there", "/msg bob hi there"}) {
        INFO(line);
        const auto c = parseInput(line);
        CHECK(c.kind == Kind::Direct);
        CHECK(c.target == "bob");
        CHECK(c.text == "hi there");
    }
    const auto room = parseInput("/msg #lobby hi all");
    CHECK(room.kind == Kind::Say);
    CHECK(room.room == "#lobby");
    CHECK(room.text == "hi all");
    CHECK(parseInput("/msg @ hi").kind == Kind::Invalid);
    CHECK(parseInput("/msg #bad! hi").kind == Kind::Invalid);
}

TEST_CASE("/help is aligned, names every alias, and /help of an unknown word says so (issue 12, defect 11)") {
    const auto help = chat::inputHelp();
    // Every summary starts in the same column.
    std::size_t column = std::string::npos;
    for (const auto& c : chat::commandHelp()) {
        const auto at = help.find("  " + c.usage);
        REQUIRE(at != std::string::npos);
        const auto lineStart = at;
        const auto summary = help.find(c.summary, at);
        REQUIRE(summary != std::string::npos);
        if (column == std::string::npos) column = summary - lineStart;
        CHECK(summary - lineStart == column);
        for (const auto& alias : c.aliases) CHECK_THAT(help, Catch::Contains("/" + alias));
    }
    for (const char* alias : {"/w", "/j", "/part", "/list", "/names", "/r", "/whisper", "/exit"})
        CHECK_THAT(help, Catch::Contains(alias));
    CHECK_THAT(chat::inputHelp("foo"), !Catch::Contains("unknown command"));
    // The lines without a command line up with the rest.
    for (const char* usage : {"  text ", "  #room text ", "  @user text ", "  //text "}) {
        INFO(usage);
        const auto at = help.find(usage);
        REQUIRE(at != std::string::npos);
        CHECK(help.find_first_not_of(' ', at + std::string(usage).size()) - at == column);
    }
    // No line wider than a 100-column terminal.
    std::size_t start = 0;
    for (auto nl = help.find('\n'); nl != std::string::npos; start = nl + 1, nl = help.find('\n', start)) {
        INFO(help.substr(start, nl - start));
        CHECK(nl - start <= 100);
    }
}

TEST_CASE("quit and exit are words in any case - /names alone means the current room (issue 12, defect 11)") {
    for (const char* line : {"quit", "Quit", "EXIT", "exit", "/QUIT", "/Exit"}) {
        INFO(line);
        CHECK(parseInput(line).kind == Kind::Quit);
    }
    CHECK(parseInput("quit now").kind == Kind::Say);
    CHECK(parseInput("/names").text == "here");
    CHECK(parseInput("/who").text.empty());
    CHECK(parseInput("/names #dev").room == "#dev");
}

TEST_CASE("a long text is split between words into pieces the server takes (issue 12, defect 7)") {
    using chat::splitMessage;
    CHECK(splitMessage("short", 100) == std::vector<std::string>{"short"});
    CHECK(splitMessage("one two three four", 9) == std::vector<std::string>{"one two", "three", "four"});
    CHECK(splitMessage("abcdefghijkl", 8) == std::vector<std::string>{"abcdefgh", "ijkl"});
    // Never inside a UTF-8 character.
    const std::string euros = "\u20ac\u20ac\u20ac\u20ac";  // 3 bytes each
    CHECK(splitMessage(euros, 8) == std::vector<std::string>{"\u20ac\u20ac", "\u20ac\u20ac"});
    // 4,200 bytes of words within 4,096: two pieces, nothing lost but the space at the cut.
    std::string text;
    while (text.size() < 4200) text += "word" + std::to_string(text.size()) + " ";
    text.pop_back();
    const auto parts = splitMessage(text, 4096);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].size() <= 4096);
    CHECK(parts[0] + " " + parts[1] == text);
}

namespace {
std::string sourceFile(const std::string& path) {
    std::ifstream file(std::string(CHAT_SOURCE_DIR) + "/" + path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

/// "/name" as a word of its own in `text` (so "/q" is not found in "/quit").
bool mentionsCommand(const std::string& text, const std::string& name) {
    const auto word = "/" + name;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const auto end = at + word.size();
        if (end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end]))) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("the man page, the README and /help name every command and alias") {
    const auto man = sourceFile("man/chat.1");
    const auto readme = sourceFile("README.md");
    REQUIRE_FALSE(man.empty());
    REQUIRE_FALSE(readme.empty());
    const auto help = chat::inputHelp();
    for (const auto& c : chat::commandHelp()) {
        std::vector<std::string> names{c.name};
        names.insert(names.end(), c.aliases.begin(), c.aliases.end());
        for (const auto& name : names) {
            INFO("/" << name);
            CHECK(mentionsCommand(man, name));
            CHECK(mentionsCommand(readme, name));
            CHECK(mentionsCommand(help, name));
        }
    }
}

TEST_CASE("the man page's IN-CHAT COMMANDS has one entry per command of the parser's table, naming its aliases - /help one row each") {
    const auto man = sourceFile("man/chat.1");
    const auto start = man.find(".SH IN-CHAT COMMANDS");
    REQUIRE(start != std::string::npos);
    const auto end = man.find("\n.SH ", start + 1);
    std::stringstream section(man.substr(start, end - start));
    // Each entry is ".TP", then a heading such as ".BI /join \" #room\"", then its text.
    std::map<std::string, std::string> entries;  // command name -> its entry's text
    std::string line, previous, current;
    while (std::getline(section, line)) {
        if (previous == ".TP") {
            current.clear();
            const auto slash = line.find(" /");
            if (line.rfind(".B", 0) == 0 && slash != std::string::npos && line.compare(slash, 3, " //") != 0) {
                const auto nameEnd = line.find_first_of(" \"\\", slash + 2);
                current = line.substr(slash + 2, nameEnd == std::string::npos ? std::string::npos : nameEnd - slash - 2);
                CHECK(entries.count(current) == 0);
                entries[current];
            }
        } else if (!current.empty()) {
            entries[current] += line + "\n";
        }
        previous = line;
    }
    std::set<std::string> names;
    for (const auto& c : chat::commandHelp()) {
        names.insert(c.name);
        INFO("/" << c.name);
        REQUIRE(entries.count(c.name) == 1);
        for (const auto& alias : c.aliases) {
            INFO("alias /" << alias);
            CHECK(mentionsCommand(entries[c.name], alias));
        }
    }
    for (const auto& [name, text] : entries) {
        INFO("the man page's /" << name);
        CHECK(names.count(name) == 1);
    }
    // /help: the four input forms, then one row per command of the table, in its order.
    std::stringstream help(chat::inputHelp());
    std::vector<std::string> rows;
    while (std::getline(help, line))
        if (line.rfind("  /", 0) == 0 && line.rfind("  //", 0) != 0) rows.push_back(line);
    REQUIRE(rows.size() == chat::commandHelp().size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& c = chat::commandHelp()[i];
        INFO(rows[i]);
        CHECK(rows[i].rfind("  " + c.usage, 0) == 0);
        for (const auto& alias : c.aliases) CHECK(mentionsCommand(rows[i], alias));
    }
}

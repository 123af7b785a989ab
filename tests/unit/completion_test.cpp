#include "client/completion.hpp"
#include "client/input_parser.hpp"

#include <catch2/catch.hpp>

using chat::complete;
using Strings = std::vector<std::string>;

namespace {
const chat::CompletionSources kSources{
    {"msg", "w", "whisper", "join", "j", "leave", "who", "whois", "help", "bell", "timestamps", "quit"},
    {"bob", "Bobby", "carol", "dave"},
    {"#dev", "#design", "#lobby"},
};
}  // namespace

TEST_CASE("a name at the start of a line completes to 'name: '") {
    const auto c = complete("ca", kSources);
    CHECK(c.start == 0);
    CHECK(c.candidates == Strings{"carol"});
    CHECK(c.suffix == ": ");
}

TEST_CASE("names complete ignoring case and list every match, sorted ignoring case") {
    const auto c = complete("BO", kSources);
    CHECK(c.candidates == Strings{"bob", "Bobby"});
    CHECK(chat::commonPrefix(c.candidates) == "bob");
    CHECK(complete("", kSources).candidates == Strings{"bob", "Bobby", "carol", "dave"});
}

TEST_CASE("a name inside the text completes with a space after it") {
    const auto c = complete("thanks da", kSources);
    CHECK(c.start == 7);
    CHECK(c.candidates == Strings{"dave"});
    CHECK(c.suffix == " ");
}

TEST_CASE("commands complete after a slash at the start of the line") {
    CHECK(complete("/jo", kSources).candidates == Strings{"/join"});
    CHECK(complete("/wh", kSources).candidates == Strings{"/whisper", "/who", "/whois"});
    CHECK(complete("/wh", kSources).suffix == " ");
    CHECK(complete("/nothing", kSources).candidates.empty());
}

TEST_CASE("commands that take a user complete users - those that take a room complete rooms") {
    CHECK(complete("/msg c", kSources).candidates == Strings{"carol"});
    CHECK(complete("/whois D", kSources).candidates == Strings{"dave"});
    CHECK(complete("/join #de", kSources).candidates == Strings{"#design", "#dev"});
    CHECK(complete("/join lo", kSources).candidates == Strings{"#lobby"});
    CHECK(complete("/leave ", kSources).candidates == Strings{"#design", "#dev", "#lobby"});
    CHECK(complete("/help wh", kSources).candidates == Strings{"whisper", "who", "whois"});
    CHECK(complete("/bell m", kSources).candidates == Strings{"mention"});
    CHECK(complete("/timestamps ", kSources).candidates == Strings{"long", "off", "short"});
    // After the argument, the text of a DM completes names again.
    CHECK(complete("/msg carol ask bo", kSources).candidates == Strings{"bob", "Bobby"});
}

TEST_CASE("@ completes users and # completes rooms anywhere") {
    CHECK(complete("@ca", kSources).candidates == Strings{"@carol"});
    CHECK(complete("#lo", kSources).candidates == Strings{"#lobby"});
    CHECK(complete("see #dev and #des", kSources).candidates == Strings{"#design"});
    CHECK(complete("ping @da", kSources).candidates == Strings{"@dave"});
}

TEST_CASE("the common prefix of candidates ignores case") {
    CHECK(chat::commonPrefix({"#design", "#dev"}) == "#de");
    CHECK(chat::commonPrefix({"Bobby", "bob"}) == "Bob");
    CHECK(chat::commonPrefix({"alice"}) == "alice");
    CHECK(chat::commonPrefix({}).empty());
}

TEST_CASE("/history completes a room or a user, marked - /search completes rooms after #") {
    CHECK(complete("/history d", kSources).candidates == Strings{"#design", "#dev", "@dave"});
    CHECK(complete("/history #de", kSources).candidates == Strings{"#design", "#dev"});
    CHECK(complete("/history @ca", kSources).candidates == Strings{"@carol"});
    auto all = kSources;  // the client's commands, as the interactive client lists them
    all.commands.clear();
    for (const auto& command : chat::commandHelp()) all.commands.push_back(command.name);
    CHECK(complete("/hist", all).candidates == Strings{"/history"});
    CHECK(complete("/sea", all).candidates == Strings{"/search"});
    CHECK(complete("/search #lo", kSources).candidates == Strings{"#lobby"});
}

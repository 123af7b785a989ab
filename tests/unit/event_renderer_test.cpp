#include "client/event_renderer.hpp"
#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <set>

namespace {
Poco::JSON::Object::Ptr parse(const std::string& json) { return chat::parseMessage(json).message; }
const std::int64_t kTs = 1'700'000'000'000;
}  // namespace

TEST_CASE("a room message renders as 'HH:MM name: text'") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Short};
    auto line = chat::renderEvent(
        parse(R"({"type":"message","msg_id":1,"ts":1700000000000,"from":"alice","to":"#lobby","text":"hi"})"), options);
    REQUIRE(line);
    CHECK(*line == chat::formatClock(kTs) + " alice: hi");
    CHECK(line->size() == 5 + 1 + 9);
}

TEST_CASE("direct messages are marked as private, in both directions") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"@bob","text":"psst"})"), options) ==
          std::string("[DM from alice] psst"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"bob","to":"@alice","text":"ok"})"), options) ==
          std::string("[DM to alice] ok"));
}

TEST_CASE("presence and shutdown notices") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"joined","user":"alice","room":"#lobby"})"), options) ==
          std::string("* alice joined"));
    CHECK(chat::renderEvent(parse(R"({"type":"left","user":"alice","reason":"quit"})"), options) ==
          std::string("* alice left (quit)"));
    CHECK(chat::renderEvent(parse(R"({"type":"shutdown","message":"bye"})"), options) == std::string("* bye"));
}

TEST_CASE("answers are not rendered as lines") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK_FALSE(chat::renderEvent(parse(R"({"type":"ok","id":1})"), options));
    CHECK_FALSE(chat::renderEvent(parse(R"({"type":"pong"})"), options));
}

TEST_CASE("without colour there are no escape bytes - with colour there are") {
    auto event = parse(R"({"type":"joined","user":"alice"})");
    CHECK(chat::renderEvent(event, {"bob", "#lobby", false, chat::Timestamps::Off})->find('\x1b') == std::string::npos);
    CHECK(chat::renderEvent(event, {"bob", "#lobby", true, chat::Timestamps::Off})->find('\x1b') != std::string::npos);
}

TEST_CASE("events from a room other than the current one carry the room's name") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#dev","text":"hi"})"), options) ==
          std::string("[#dev] alice: hi"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#LOBBY","text":"hi"})"), options) ==
          std::string("alice: hi"));
    CHECK(chat::renderEvent(parse(R"({"type":"joined","user":"carol","room":"#dev"})"), options) ==
          std::string("* carol joined #dev"));
    CHECK(chat::renderEvent(parse(R"({"type":"left","user":"carol","room":"#dev","reason":"left"})"), options) ==
          std::string("* carol left #dev"));
}

TEST_CASE("actions, topics and renames") {
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"waves","action":true})"),
                            options) == std::string("* alice waves"));
    CHECK(chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"@bob","text":"waves","action":true})"),
                            options) == std::string("[DM from alice] * alice waves"));
    CHECK(chat::renderEvent(parse(R"({"type":"topic","room":"#dev","topic":"ship it","by":"alice"})"), options) ==
          std::string("* alice set the topic of #dev: ship it"));
    CHECK(chat::renderEvent(parse(R"({"type":"nick","old":"alice","new":"alicia"})"), options) ==
          std::string("* alice is now known as alicia"));
}

TEST_CASE("a name's colour is stable, ignores case, and is never a style with another meaning") {
    using namespace chat::style;
    CHECK(std::string(nameColor("alice")) == nameColor("alice"));
    CHECK(std::string(nameColor("Alice")) == nameColor("ALICE"));
    // Names spread over the palette: 200 names use most of its colours.
    std::set<std::string> used;
    for (int i = 0; i < 200; ++i) used.insert(nameColor("user" + std::to_string(i)));
    CHECK(used.size() == namePalette().size());
    for (const char* color : namePalette())
        for (const char* special : {kSelf, kNotice, kDirect, kMention, kError, kReset}) CHECK(std::string(color) != special);
    const std::set<std::string> specials{kSelf, kNotice, kDirect, kMention, kError};
    CHECK(specials.size() == 5);
}

TEST_CASE("with colour, own messages, others' names, notices, DMs and mentions each look different") {
    using namespace chat::style;
    chat::RenderOptions options{"bob", "#lobby", true, chat::Timestamps::Off};
    const auto mine = *chat::renderEvent(parse(R"({"type":"message","from":"bob","to":"#lobby","text":"hi"})"), options);
    CHECK(mine == std::string(kSelf) + "bob" + kReset + ": hi");
    const auto theirs = *chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hi"})"), options);
    CHECK(theirs == std::string(nameColor("alice")) + "alice" + kReset + ": hi");
    const auto mention =
        *chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hi Bob!"})"), options);
    CHECK_THAT(mention, Catch::EndsWith(std::string(kMention) + "hi Bob!" + kReset));
    const auto dm = *chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"@bob","text":"psst"})"), options);
    CHECK_THAT(dm, Catch::StartsWith(std::string(kDirect) + "[DM from alice]" + kReset));
    const auto notice = *chat::renderEvent(parse(R"({"type":"joined","user":"carol"})"), options);
    CHECK(notice == std::string(kNotice) + "* carol joined" + kReset);
}

TEST_CASE("timestamps: off, short HH:MM, long YYYY-MM-DD HH:MM:SS, all local time") {
    const auto event = parse(R"({"type":"message","ts":1700000000000,"from":"alice","to":"#lobby","text":"hi"})");
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    CHECK(*chat::renderEvent(event, options) == "alice: hi");
    options.timestamps = chat::Timestamps::Short;
    CHECK(*chat::renderEvent(event, options) == chat::formatTimestamp(kTs, chat::Timestamps::Short) + " alice: hi");
    options.timestamps = chat::Timestamps::Long;
    CHECK(*chat::renderEvent(event, options) == chat::formatTimestamp(kTs, chat::Timestamps::Long) + " alice: hi");

    std::time_t seconds = kTs / 1000;
    std::tm local{};
    localtime_r(&seconds, &local);
    char expected[32];
    std::strftime(expected, sizeof expected, "%Y-%m-%d %H:%M:%S", &local);
    CHECK(chat::formatTimestamp(kTs, chat::Timestamps::Long) == expected);
    CHECK(chat::formatTimestamp(kTs, chat::Timestamps::Long).size() == 19);
    CHECK(chat::formatTimestamp(kTs, chat::Timestamps::Short) == std::string(expected).substr(11, 5));
    CHECK(chat::formatTimestamp(kTs, chat::Timestamps::Off).empty());
    CHECK(chat::formatClock(kTs) == chat::formatTimestamp(kTs, chat::Timestamps::Short));
    CHECK(chat::parseTimestamps("long") == chat::Timestamps::Long);
    CHECK_FALSE(chat::parseTimestamps("LONG"));
    CHECK(chat::timestampsName(chat::Timestamps::Off) == "off");
}

TEST_CASE("a mention is the name as a word of its own, in any case") {
    CHECK(chat::mentions("hi bob", "bob"));
    CHECK(chat::mentions("Bob: look", "bob"));
    CHECK(chat::mentions("thanks, BOB.", "bob"));
    CHECK(chat::mentions("@bob see this", "bob"));
    CHECK(chat::mentions("bob's turn", "bob"));
    CHECK_FALSE(chat::mentions("bobby tables", "bob"));
    CHECK_FALSE(chat::mentions("kebob", "bob"));
    CHECK_FALSE(chat::mentions("bob_2 is here", "bob"));
    CHECK_FALSE(chat::mentions("anything", ""));
}

TEST_CASE("the bell: off never, mention for DMs and mentions, all for every message from someone else") {
    const auto plain = parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hello"})");
    const auto mention = parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hello bob"})");
    const auto dm = parse(R"({"type":"message","from":"alice","to":"@bob","text":"psst"})");
    const auto own = parse(R"({"type":"message","from":"bob","to":"#lobby","text":"me, bob"})");
    const auto joined = parse(R"({"type":"joined","user":"bob"})");
    chat::RenderOptions options{"bob", "#lobby", false, chat::Timestamps::Off};
    options.bell = chat::Bell::Off;
    for (const auto& e : {plain, mention, dm, own, joined}) CHECK_FALSE(chat::ringsBell(e, options));
    options.bell = chat::Bell::Mention;
    CHECK_FALSE(chat::ringsBell(plain, options));
    CHECK(chat::ringsBell(mention, options));
    CHECK(chat::ringsBell(dm, options));
    CHECK_FALSE(chat::ringsBell(own, options));
    CHECK_FALSE(chat::ringsBell(joined, options));
    options.bell = chat::Bell::All;
    CHECK(chat::ringsBell(plain, options));
    CHECK_FALSE(chat::ringsBell(own, options));
    CHECK_FALSE(chat::ringsBell(joined, options));
    CHECK(chat::parseBell("mention") == chat::Bell::Mention);
    CHECK_FALSE(chat::parseBell("loud"));
}

TEST_CASE("name colours: no red, magenta or bright yellow - Alice and Bob differ - 256 colours when asked (issue 12, defect 6)") {
    using chat::Palette;
    using chat::style::namePalette;
    using chat::style::nameColor;
    for (auto palette : {Palette::Basic16, Palette::Extended256}) {
        for (const std::string color : namePalette(palette)) {
            INFO(color);
            for (const char* excluded : {"[31m", "[91m", "[35m", "[95m", "[93m", "[97m", "[37m", "[90m", "[30m"})
                CHECK(color.find(excluded) == std::string::npos);
        }
        CHECK(std::string(nameColor("Alice", palette)) != nameColor("Bob", palette));
        CHECK(std::string(nameColor("alice", palette)) != nameColor("carol", palette));
    }
    CHECK(namePalette(Palette::Basic16).size() >= 7);
    CHECK(namePalette(Palette::Extended256).size() >= 20);
    CHECK_THAT(nameColor("alice", Palette::Extended256), Catch::StartsWith("\033[38;5;"));
    chat::RenderOptions options{"bob", "#lobby", true, chat::Timestamps::Off};
    options.palette = Palette::Extended256;
    CHECK_THAT(*chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hi"})"), options),
               Catch::StartsWith(std::string(nameColor("alice", Palette::Extended256)) + "alice"));
}

namespace {
/// The red, green and blue (0-255) of a colour of xterm's 6x6x6 cube (16-231).
std::array<int, 3> cubeRgb(int index) {
    static const int levels[6] = {0, 95, 135, 175, 215, 255};
    const int n = index - 16;
    return {levels[n / 36], levels[n / 6 % 6], levels[n % 6]};
}

/// WCAG 2 relative luminance and contrast ratio (1:1 to 21:1).
double luminance(const std::array<int, 3>& rgb) {
    auto linear = [](int c) {
        const double v = c / 255.0;
        return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
}

double contrast(const std::array<int, 3>& a, const std::array<int, 3>& b) {
    const auto la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

/// The hue in degrees (0 red, 120 green, 240 blue, 300 magenta).
double hue(const std::array<int, 3>& rgb) {
    const double r = rgb[0], g = rgb[1], b = rgb[2];
    const double max = std::max({r, g, b}), min = std::min({r, g, b});
    if (max == min) return 0;
    double h = max == r ? (g - b) / (max - min) : max == g ? 2 + (b - r) / (max - min) : 4 + (r - g) / (max - min);
    h *= 60;
    return h < 0 ? h + 360 : h;
}
}  // namespace

TEST_CASE("256-colour names read on dark and light backgrounds - contrast 3:1 or more against black, white, "
          "#1e1e1e and #fdf6e3 - and none is red, pink or magenta (issue 12, defect 6)") {
    const std::vector<std::array<int, 3>> backgrounds{{0, 0, 0}, {255, 255, 255}, {30, 30, 30}, {253, 246, 227}};
    std::set<int> seen;
    for (const std::string color : chat::style::namePalette(chat::Palette::Extended256)) {
        INFO(color);
        REQUIRE(color.rfind("\033[38;5;", 0) == 0);
        const int index = std::stoi(color.substr(7));
        // A cube colour: not one of the 16 a terminal theme may redefine, nor a grey.
        REQUIRE(index >= 16);
        REQUIRE(index <= 231);
        CHECK(seen.insert(index).second);
        const auto rgb = cubeRgb(index);
        for (const auto& background : backgrounds) {
            INFO("background " << background[0] << "," << background[1] << "," << background[2]);
            CHECK(contrast(rgb, background) >= 3.0);
        }
        const auto h = hue(rgb);
        INFO("hue " << h);
        CHECK(h >= 25);   // not red
        CHECK(h < 285);   // not magenta or pink
    }
}

TEST_CASE("on a terminal, a message from a room we are not looking at is labelled and dimmed") {
    using namespace chat::style;
    chat::RenderOptions options{"bob", "#lobby", true, chat::Timestamps::Off};
    options.terminal = true;
    const auto elsewhere = *chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#dev","text":"hi"})"), options);
    CHECK(elsewhere == std::string(kNotice) + "[#dev] " + kReset + nameColor("alice") + "alice" + kReset + ": " + kNotice +
                           "hi" + kReset);
    const auto here = *chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#lobby","text":"hi"})"), options);
    CHECK(here == std::string(nameColor("alice")) + "alice" + kReset + ": hi");
    // Piped output keeps its plain label.
    options.terminal = false;
    options.color = false;
    CHECK(*chat::renderEvent(parse(R"({"type":"message","from":"alice","to":"#dev","text":"hi"})"), options) ==
          "[#dev] alice: hi");
}

namespace {
/// Local time y-m-d h:m as ms since the epoch.
std::int64_t localMillis(int year, int month, int day, int hour, int minute) {
    std::tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_isdst = -1;
    return static_cast<std::int64_t>(std::mktime(&t)) * 1000;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}
}  // namespace

TEST_CASE("a stored event's time has the date when its day is not today, as /timestamps says") {
    const auto now = localMillis(2026, 12, 2, 12, 0);
    const auto today = localMillis(2026, 12, 2, 9, 14);
    const auto yesterday = localMillis(2026, 12, 1, 18, 2);
    const auto lastYear = localMillis(2025, 12, 2, 9, 14);  // same day of the year, another year
    CHECK(chat::formatStoredTime(today, chat::Timestamps::Short, now) == "09:14");
    CHECK(chat::formatStoredTime(yesterday, chat::Timestamps::Short, now) == "2026-12-01 18:02");
    CHECK(chat::formatStoredTime(lastYear, chat::Timestamps::Short, now) == "2025-12-02 09:14");
    CHECK(chat::formatStoredTime(today, chat::Timestamps::Long, now) == "2026-12-02 09:14:00");
    CHECK(chat::formatStoredTime(yesterday, chat::Timestamps::Long, now) == "2026-12-01 18:02:00");
    CHECK(chat::formatStoredTime(today, chat::Timestamps::Off, now).empty());
    CHECK(chat::formatStoredTime(yesterday, chat::Timestamps::Off, now) == "2026-12-01");
}

TEST_CASE("a stored event is dimmed as a whole with colours - marked with a dot without them") {
    const auto now = localMillis(2026, 12, 2, 12, 0);
    const auto event = parse(R"({"type":"message","msg_id":41,"ts":)" + std::to_string(localMillis(2026, 12, 1, 18, 2)) +
                             R"(,"from":"bob","to":"#lobby","text":"hi alice"})");
    chat::RenderOptions plain{"alice", "#lobby", false, chat::Timestamps::Short};
    plain.terminal = true;  // NO_COLOR on a terminal: no "! " mention marker for history either
    auto line = chat::renderStoredLine(event, plain, now);
    REQUIRE(line);
    CHECK(line->text == "\xc2\xb7 2026-12-01 18:02 bob: hi alice");
    CHECK(line->indent == 2 + 17 + 5);
    CHECK(line->text.find('\x1b') == std::string::npos);

    auto coloured = plain;
    coloured.color = true;
    line = chat::renderStoredLine(event, coloured, now);
    REQUIRE(line);
    // One dim from the start to the end: no name colour, no mention highlight, no dot.
    CHECK(line->text == std::string(chat::style::kNotice) + "2026-12-01 18:02 bob: hi alice" + chat::style::kReset);
    CHECK(count(line->text, "\x1b") == 2);

    // Today: the time alone; a topic and a DM too.
    const auto todayTs = std::to_string(localMillis(2026, 12, 2, 9, 14));
    line = chat::renderStoredLine(
        parse(R"({"type":"topic","ts":)" + todayTs + R"(,"room":"#lobby","topic":"ship it","by":"bob"})"), plain, now);
    REQUIRE(line);
    CHECK(line->text == "\xc2\xb7 09:14 * bob set the topic of #lobby: ship it");
    line = chat::renderStoredLine(
        parse(R"({"type":"message","ts":)" + todayTs + R"(,"from":"bob","to":"@alice","text":"psst"})"), plain, now);
    REQUIRE(line);
    CHECK(line->text == "\xc2\xb7 09:14 [DM from bob] psst");
    // Answers and unknown types are not lines.
    CHECK_FALSE(chat::renderStoredLine(parse(R"({"type":"ok"})"), plain, now));
}

TEST_CASE("hostile strings in stored events come out visible, never as controls") {
    const auto now = localMillis(2026, 12, 2, 12, 0);
    const auto event = parse(
        R"({"type":"message","ts":1,"from":"bob\u001b]0;pwned\u0007","to":"#lobby","text":"x\u001b[2J \u202etxt.exe \u0085 \u2066"})");
    for (const bool color : {false, true}) {
        chat::RenderOptions options{"alice", "#lobby", color, chat::Timestamps::Short};
        const auto line = chat::renderStoredLine(event, options, now);
        REQUIRE(line);
        INFO(line->text);
        CHECK(line->text.find("bob^[]0;pwned^G: x^[[2J <U+202E>txt.exe <U+0085> <U+2066>") != std::string::npos);
        CHECK(count(line->text, "\x1b") == (color ? 2u : 0u));
        CHECK(line->text.find('\a') == std::string::npos);
    }
}

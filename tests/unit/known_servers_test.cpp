#include "client/known_servers.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <sys/stat.h>

using chat::KnownServers;

namespace {
const std::string kA = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
const std::string kB = "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF";

std::string readAll(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}
}  // namespace

TEST_CASE("known_servers: lines, comments, and bad lines skipped without a crash") {
    std::string lowerB = kB;
    for (auto& c : lowerB) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string bareB;
    for (char c : lowerB)
        if (c != ':') bareB += c;
    const std::string text = "# pinned by chat\n"
                             "\n"
                             "chat.example:5051 " + kA + "\n"
                             "   # indented comment\n"
                             "no-port " + kA + "\n"
                             ":5051 " + kA + "\n"
                             "short:5051 AB:CD\n"
                             "missing:5051\n"
                             "extra:5051 " + kA + " trailing-words\n"
                             "10.0.0.1:5051 SHA256:" + bareB + "  # a comment after it\n"
                             "[::1]:5051\t" + kB + "\r\n"
                             "\x01\xff garbage " + std::string(3000, 'x') + "\n"
                             "chat.example:5051 " + kB + "\n";
    const auto known = KnownServers::parse(text, "/p");
    REQUIRE(known.entries().size() == 4);
    CHECK(known.path() == "/p");

    auto pin = known.find("CHAT.example:5051");
    REQUIRE(pin);
    CHECK(pin->fingerprint == kA);  // the first line for a server counts
    CHECK(pin->line == 3);
    pin = known.find("10.0.0.1:5051");
    REQUIRE(pin);
    CHECK(pin->fingerprint == kB);
    CHECK(pin->line == 10);
    pin = known.find("[::1]:5051");
    REQUIRE(pin);
    CHECK(pin->fingerprint == kB);
    CHECK_FALSE(known.find("chat.example:5050"));
    CHECK_FALSE(known.find("extra:5051"));
    CHECK_FALSE(known.find("no-port"));
}

TEST_CASE("known_servers: a missing file has no pins") {
    const auto known = KnownServers::load("/nonexistent/chat/known_servers");
    CHECK(known.entries().empty());
}

TEST_CASE("known_servers: append creates the directories and a 0600 file, and loads back") {
    chat::test::TempDir dir;
    const std::string path = dir.file("state/chat/known_servers");
    KnownServers::append(path, "chat.example:5051", kA);
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(::stat(dir.file("state/chat").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0700);

    KnownServers::append(path, "[::1]:5051", kB);
    CHECK(readAll(path) == "chat.example:5051 " + kA + "\n[::1]:5051 " + kB + "\n");
    const auto known = KnownServers::load(path);
    REQUIRE(known.find("[::1]:5051"));
    CHECK(known.find("[::1]:5051")->line == 2);

    SECTION("after a hand-edited last line without a newline, the pin gets a line of its own") {
        std::ofstream(path, std::ios::app) << "# edited";
        KnownServers::append(path, "other:5051", kA);
        CHECK(readAll(path).find("# edited\nother:5051 " + kA + "\n") != std::string::npos);
        CHECK(KnownServers::load(path).find("other:5051"));
    }
    SECTION("a path that cannot be written is an error naming it") {
        CHECK_THROWS_WITH(KnownServers::append(dir.file("state/chat/known_servers/below"), "x:1", kA),
                          Catch::Contains("known_servers"));
        CHECK_THROWS(KnownServers::append("", "x:1", kA));
    }
}

TEST_CASE("known_servers: the XDG path") {
    const char* state = std::getenv("XDG_STATE_HOME");
    const std::string saved = state ? state : "";
    ::setenv("XDG_STATE_HOME", "/state", 1);
    CHECK(chat::defaultKnownServersPath() == "/state/chat/known_servers");
    if (state) ::setenv("XDG_STATE_HOME", saved.c_str(), 1);
    else ::unsetenv("XDG_STATE_HOME");
}

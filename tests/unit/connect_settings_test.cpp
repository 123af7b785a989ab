#include "client/connect_settings.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace {
/// Sets (or, with nullopt, unsets) environment variables for one test, and
/// puts the old values back afterwards.
class Environment {
public:
    explicit Environment(const std::map<std::string, std::optional<std::string>>& values) {
        for (const auto& [name, value] : values) {
            const char* old = std::getenv(name.c_str());
            saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
            set(name, value);
        }
    }
    ~Environment() {
        for (const auto& [name, value] : saved_) set(name, value);
    }

private:
    static void set(const std::string& name, const std::optional<std::string>& value) {
        if (value) ::setenv(name.c_str(), value->c_str(), 1);
        else ::unsetenv(name.c_str());
    }
    std::map<std::string, std::optional<std::string>> saved_;
};

/// A fresh directory under /tmp (as $XDG_CONFIG_HOME), removed afterwards.
class TemporaryDirectory {
public:
    TemporaryDirectory() {
        char pattern[] = "/tmp/chat-settings-test-XXXXXX";
        REQUIRE(::mkdtemp(pattern));
        path_ = pattern;
    }
    ~TemporaryDirectory() { std::filesystem::remove_all(path_); }
    operator std::string() const { return path_; }
    std::string operator+(const std::string& rest) const { return path_ + rest; }

private:
    std::string path_;
};

void writeFile(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

chat::ConnectOptions parse(std::vector<std::string> args) {
    CLI::App app{"test"};
    auto* connect = app.add_subcommand("connect");
    chat::ConnectCommandLine line;
    chat::addConnectOptions(*connect, line);
    args.insert(args.begin(), "connect");
    std::reverse(args.begin(), args.end());  // CLI::App::parse(vector) takes the arguments last first
    app.parse(args);
    return chat::resolveConnectOptions(*connect, line);
}

const std::map<std::string, std::optional<std::string>> kClean{
    {"CHAT_HOST", std::nullopt}, {"CHAT_PORT", std::nullopt}, {"CHAT_USER", std::nullopt}, {"USER", "login"}};
}  // namespace

TEST_CASE("settings: flags override the environment, which overrides the config file") {
    const TemporaryDirectory dir;
    ::mkdir((dir + "/chat").c_str(), 0700);
    writeFile(dir + "/chat/config.ini",
              "# chat settings\nhost = file.example\nport = 7001\nuser = fileuser\ncolor = never\n"
              "timestamps = long\nbell = all\n");
    auto env = kClean;
    env["XDG_CONFIG_HOME"] = dir;

    SECTION("the file alone") {
        Environment e(env);
        const auto o = parse({});
        CHECK(o.host == "file.example");
        CHECK(o.port == 7001);
        CHECK(o.user == "fileuser");
        CHECK(o.color == chat::ColorMode::Never);
        CHECK(o.timestamps == chat::Timestamps::Long);
        CHECK(o.bell == chat::Bell::All);
    }
    SECTION("the environment over the file") {
        env["CHAT_HOST"] = "env.example";
        env["CHAT_PORT"] = "7002";
        env["CHAT_USER"] = "envuser";
        Environment e(env);
        const auto o = parse({});
        CHECK(o.host == "env.example");
        CHECK(o.port == 7002);
        CHECK(o.user == "envuser");
        CHECK(o.timestamps == chat::Timestamps::Long);  // still from the file
    }
    SECTION("flags over both") {
        env["CHAT_HOST"] = "env.example";
        env["CHAT_USER"] = "envuser";
        Environment e(env);
        const auto o = parse({"--host", "flag.example", "--user", "flaguser", "--timestamps", "off", "--bell", "off",
                              "--color", "always"});
        CHECK(o.host == "flag.example");
        CHECK(o.port == 7001);  // only the file named a port
        CHECK(o.user == "flaguser");
        CHECK(o.timestamps == chat::Timestamps::Off);
        CHECK(o.bell == chat::Bell::Off);
        CHECK(o.color == chat::ColorMode::Always);
    }
    SECTION("--config names another file, which replaces the default one") {
        writeFile(dir + "/other.ini", "[connect]\nport = 7003\n");
        Environment e(env);
        const auto o = parse({"--config", dir + "/other.ini"});
        CHECK(o.port == 7003);
        CHECK(o.host == "127.0.0.1");
        CHECK(o.user == "login");  // $USER comes last
    }
}

TEST_CASE("settings: defaults without a config file") {
    auto env = kClean;
    const TemporaryDirectory dir;  // empty: no config.ini
    env["XDG_CONFIG_HOME"] = dir;
    Environment e(env);
    const auto o = parse({});
    CHECK(o.host == "127.0.0.1");
    CHECK(o.port == 5050);
    CHECK(o.user == "login");
    CHECK(o.color == chat::ColorMode::Auto);
    CHECK(o.timestamps == chat::Timestamps::Short);
    CHECK(o.bell == chat::Bell::Mention);
    CHECK(o.reconnect);
    CHECK_FALSE(o.json);
    CHECK(parse({"--no-reconnect", "--json"}).json);
    CHECK_FALSE(parse({"--no-reconnect"}).reconnect);
}

TEST_CASE("settings: a missing --config file, an unknown key and a bad value are errors") {
    const TemporaryDirectory dir;
    auto env = kClean;
    env["XDG_CONFIG_HOME"] = dir;
    Environment e(env);
    CHECK_THROWS_AS(parse({"--config", dir + "/missing.ini"}), CLI::FileError);
    writeFile(dir + "/typo.ini", "colour = never\n");
    CHECK_THROWS_AS(parse({"--config", dir + "/typo.ini"}), CLI::ConfigError);
    writeFile(dir + "/bad.ini", "timestamps = sometimes\n");
    CHECK_THROWS_AS(parse({"--config", dir + "/bad.ini"}), CLI::ValidationError);
    // Other programs' sections are not ours to judge.
    writeFile(dir + "/shared.ini", "[serve]\nmotd = hi\n[connect]\nbell = off\n");
    CHECK(parse({"--config", dir + "/shared.ini"}).bell == chat::Bell::Off);
}

TEST_CASE("settings: the XDG paths") {
    {
        Environment e({{"XDG_CONFIG_HOME", "/cfg"}, {"XDG_STATE_HOME", "/state"}, {"HOME", "/home/u"}});
        CHECK(chat::defaultConfigPath() == "/cfg/chat/config.ini");
        CHECK(chat::defaultHistoryPath() == "/state/chat/history");
    }
    {
        Environment e({{"XDG_CONFIG_HOME", std::nullopt}, {"XDG_STATE_HOME", "relative"}, {"HOME", "/home/u"}});
        CHECK(chat::defaultConfigPath() == "/home/u/.config/chat/config.ini");
        CHECK(chat::defaultHistoryPath() == "/home/u/.local/state/chat/history");
    }
}

TEST_CASE("settings: colors picks the name palette, from a flag or the config file (issue 12, defect 6)") {
    const TemporaryDirectory dir;
    auto env = kClean;
    env["XDG_CONFIG_HOME"] = dir;
    Environment e(env);
    CHECK_FALSE(parse({}).palette);  // auto: decided from TERM and COLORTERM
    CHECK(parse({"--colors", "256"}).palette == chat::Palette::Extended256);
    CHECK(parse({"--colors", "16"}).palette == chat::Palette::Basic16);
    writeFile(dir + "/colors.ini", "colors = 16\n");
    CHECK(parse({"--config", dir + "/colors.ini"}).palette == chat::Palette::Basic16);
    writeFile(dir + "/bad.ini", "colors = 88\n");
    CHECK_THROWS_AS(parse({"--config", dir + "/bad.ini"}), CLI::ValidationError);
}

TEST_CASE("settings: TLS from --tls, a chats:// host or `tls = true`, with port 5051 unless one is given") {
    const TemporaryDirectory dir;
    auto env = kClean;
    env["XDG_CONFIG_HOME"] = dir;
    env["XDG_STATE_HOME"] = dir + "/state";
    Environment e(env);
    SECTION("plaintext stays the default") {
        const auto o = parse({});
        CHECK_FALSE(o.tls);
        CHECK(o.port == 5050);
    }
    SECTION("--tls") {
        const auto o = parse({"--tls"});
        CHECK(o.tls);
        CHECK(o.port == 5051);
        CHECK(o.tlsSettings.knownServersPath == dir + "/state/chat/known_servers");
        CHECK_FALSE(o.tlsSettings.insecure);
        CHECK(parse({"--tls", "--port", "6000"}).port == 6000);
    }
    SECTION("chats:// and chat:// addresses") {
        auto o = parse({"--host", "chats://chat.example:7000"});
        CHECK(o.tls);
        CHECK(o.host == "chat.example");
        CHECK(o.port == 7000);
        o = parse({"--host", "chats://[::1]"});
        CHECK(o.host == "::1");
        CHECK(o.port == 5051);
        o = parse({"--host", "chat://chat.example"});
        CHECK_FALSE(o.tls);
        CHECK(o.port == 5050);
        CHECK_THROWS_AS(parse({"--host", "chat://chat.example", "--tls"}), CLI::ValidationError);
        CHECK_THROWS_AS(parse({"--host", "chats://chat.example:7000", "--port", "7001"}), CLI::ValidationError);
        CHECK_THROWS_AS(parse({"--host", "https://chat.example"}), CLI::ValidationError);
    }
    SECTION("the config file's tls and ca-file") {
        ::mkdir((dir + "/chat").c_str(), 0700);
        writeFile(dir + "/chat/config.ini", "[connect]\ntls = true\nca-file = /etc/chat-ca.pem\n");
        const auto o = parse({});
        CHECK(o.tls);
        CHECK(o.port == 5051);
        CHECK(o.tlsSettings.caFile == "/etc/chat-ca.pem");
    }
    SECTION("--fingerprint is normalised; a malformed one or a TLS option without TLS is an error") {
        const std::string hex(64, 'a');
        const auto o = parse({"--tls", "--fingerprint", hex});
        REQUIRE(o.tlsSettings.fingerprint);
        CHECK(o.tlsSettings.fingerprint->size() == 95);
        CHECK(o.tlsSettings.fingerprint->substr(0, 6) == "AA:AA:");
        CHECK_THROWS_AS(parse({"--tls", "--fingerprint", "abc"}), CLI::ValidationError);
        CHECK_THROWS_AS(parse({"--fingerprint", hex}), CLI::ValidationError);
        CHECK_THROWS_AS(parse({"--insecure"}), CLI::ValidationError);
        CHECK_THROWS_AS(parse({"--ca-file", "ca.pem"}), CLI::ValidationError);
        CHECK(parse({"--tls", "--insecure"}).tlsSettings.insecure);
    }
}

TEST_CASE("settings: typing and read receipts are on unless --no-typing, --no-read-receipts or the config says false") {
    const TemporaryDirectory dir;
    auto env = kClean;
    env["XDG_CONFIG_HOME"] = dir;
    Environment e(env);
    const auto defaults = parse({});
    CHECK(defaults.typing);
    CHECK(defaults.readReceipts);
    CHECK_FALSE(parse({"--no-typing"}).typing);
    CHECK(parse({"--no-typing"}).readReceipts);
    CHECK_FALSE(parse({"--no-read-receipts"}).readReceipts);
    writeFile(dir + "/off.ini", "typing = false\nread-receipts = false\n");
    const auto off = parse({"--config", dir + "/off.ini"});
    CHECK_FALSE(off.typing);
    CHECK_FALSE(off.readReceipts);
    writeFile(dir + "/on.ini", "[connect]\ntyping = true\nread-receipts = true\n");
    const auto on = parse({"--config", dir + "/on.ini"});
    CHECK(on.typing);
    CHECK(on.readReceipts);
    writeFile(dir + "/bad.ini", "typing = sometimes\n");
    CHECK_THROWS_AS(parse({"--config", dir + "/bad.ini"}), CLI::ValidationError);
}

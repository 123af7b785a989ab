// OriginPolicy: which Origin headers may open a WebSocket.

#include "server/origin_policy.hpp"
#include "server/web_assets.hpp"

#include <catch2/catch.hpp>

using chat::OriginPolicy;

TEST_CASE("the server's own origin is allowed when the Host is an address or localhost") {
    const OriginPolicy policy({}, "0.0.0.0");
    CHECK(policy.allows("http://127.0.0.1:8080", "127.0.0.1:8080", "http"));
    CHECK(policy.allows("http://localhost:8080", "localhost:8080", "http"));
    CHECK(policy.allows("http://LOCALHOST:8080", "localhost:8080", "http"));
    CHECK(policy.allows("http://[::1]:8080", "[::1]:8080", "http"));
    CHECK(policy.allows("http://192.168.1.20", "192.168.1.20", "http"));
}

TEST_CASE("a foreign or missing Origin is refused") {
    const OriginPolicy policy({}, "0.0.0.0");
    CHECK_FALSE(policy.allows("", "127.0.0.1:8080", "http"));
    CHECK_FALSE(policy.allows("null", "127.0.0.1:8080", "http"));
    CHECK_FALSE(policy.allows("http://evil.example", "127.0.0.1:8080", "http"));
    CHECK_FALSE(policy.allows("http://127.0.0.1:9999", "127.0.0.1:8080", "http"));  // another port is another origin
    CHECK_FALSE(policy.allows("https://127.0.0.1:8080", "127.0.0.1:8080", "http"));
    CHECK_FALSE(policy.allows("http://127.0.0.1:8080/path", "127.0.0.1:8080", "http"));
}

TEST_CASE("DNS rebinding: a name that agrees with the Host is refused unless the operator named it") {
    const OriginPolicy policy({}, "0.0.0.0");
    CHECK_FALSE(policy.allows("http://evil.example:8080", "evil.example:8080", "http"));
    CHECK_FALSE(policy.allows("http://127.0.0.1.evil.example:8080", "127.0.0.1.evil.example:8080", "http"));
    const OriginPolicy named({"https://chat.example.org"}, "0.0.0.0");
    CHECK(named.allows("http://chat.example.org:8080", "chat.example.org:8080", "http"));
    CHECK_FALSE(named.allows("http://evil.example:8080", "evil.example:8080", "http"));
}

TEST_CASE("web-origin values are allowed exactly, whatever the Host") {
    const OriginPolicy policy({"https://Chat.Example.org/", "http://10.0.0.5:3000"}, "0.0.0.0");
    CHECK(policy.allows("https://chat.example.org", "127.0.0.1:8080", "http"));
    CHECK(policy.allows("http://10.0.0.5:3000", "127.0.0.1:8080", "http"));
    CHECK_FALSE(policy.allows("https://chat.example.org:444", "127.0.0.1:8080", "http"));
    CHECK_FALSE(policy.allows("http://chat.example.org", "127.0.0.1:8080", "http"));
}

TEST_CASE("normalizeOrigin accepts scheme://host[:port] only") {
    CHECK(OriginPolicy::normalizeOrigin("HTTPS://Example.org/") == std::optional<std::string>("https://example.org"));
    CHECK(OriginPolicy::normalizeOrigin("http://[::1]:8080") == std::optional<std::string>("http://[::1]:8080"));
    for (const char* bad : {"example.org", "ftp://example.org", "http://", "http://a/b", "http://a:99999",
                            "http://user@a", "http://a:", "http://a?x", "javascript:alert(1)"}) {
        INFO(bad);
        CHECK_FALSE(OriginPolicy::normalizeOrigin(bad));
    }
}

TEST_CASE("hostName takes the host part of a Host header") {
    CHECK(OriginPolicy::hostName("Example.org:8080") == "example.org");
    CHECK(OriginPolicy::hostName("[::1]:8080") == "[::1]");
    CHECK(OriginPolicy::hostName("a b") == "");
    CHECK(OriginPolicy::hostName("") == "");
}

TEST_CASE("the embedded web files are found by path, with their content types") {
    const auto* index = chat::findWebAsset("/");
    REQUIRE(index != nullptr);
    CHECK(index->path == "/index.html");
    CHECK(index->bytes.find("<html") != std::string_view::npos);
    CHECK(chat::findWebAsset("/app.js") != nullptr);
    CHECK(chat::findWebAsset("/../CMakeLists.txt") == nullptr);
    CHECK(chat::findWebAsset("/nope") == nullptr);
    CHECK(chat::contentTypeFor("/index.html") == "text/html; charset=utf-8");
    CHECK(chat::contentTypeFor("/app.js") == "text/javascript; charset=utf-8");
    CHECK(chat::contentTypeFor("/style.css") == "text/css; charset=utf-8");
    CHECK(chat::contentTypeFor("/shot.png") == "image/png");
    CHECK(chat::contentTypeFor("/x.unknown") == "application/octet-stream");
}

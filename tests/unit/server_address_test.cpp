#include "client/server_address.hpp"

#include <catch2/catch.hpp>

using chat::parseHostText;
using chat::resolveServerAddress;

TEST_CASE("server address: bare hosts, chat:// and chats:// addresses") {
    std::string error;
    auto h = parseHostText("chat.example", error);
    REQUIRE(h);
    CHECK(h->host == "chat.example");
    CHECK_FALSE(h->tls);
    CHECK_FALSE(h->port);

    h = parseHostText("::1", error);  // a bare IPv6 literal, as before
    REQUIRE(h);
    CHECK(h->host == "::1");

    h = parseHostText("chats://chat.example:7000/", error);
    REQUIRE(h);
    CHECK(h->host == "chat.example");
    CHECK(h->tls == true);
    CHECK(h->port == 7000);

    h = parseHostText("CHAT://10.0.0.1", error);
    REQUIRE(h);
    CHECK(h->host == "10.0.0.1");
    CHECK(h->tls == false);
    CHECK_FALSE(h->port);

    h = parseHostText("chats://[2001:db8::1]:5051", error);
    REQUIRE(h);
    CHECK(h->host == "2001:db8::1");
    CHECK(h->port == 5051);

    for (const char* bad : {"", "https://x", "chats://", "chats://:5051", "chats://x:0", "chats://x:65536", "chats://x:port",
                            "chats://x/path", "chats://user@x", "chats://::1", "chats://[::1", "chats://[::1]5051"}) {
        INFO(bad);
        error.clear();
        CHECK_FALSE(parseHostText(bad, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("server address: TLS from the scheme or the flag; default ports 5050 and 5051") {
    std::string error;
    auto a = resolveServerAddress("h", std::nullopt, false, error);
    REQUIRE(a);
    CHECK(a->port == 5050);
    CHECK_FALSE(a->tls);
    CHECK(a->name() == "h:5050");

    a = resolveServerAddress("h", std::nullopt, true, error);
    REQUIRE(a);
    CHECK(a->port == 5051);
    CHECK(a->tls);

    a = resolveServerAddress("chats://h", 6000, false, error);
    REQUIRE(a);
    CHECK(a->port == 6000);
    CHECK(a->tls);

    a = resolveServerAddress("chats://[::1]:7000", 7000, true, error);
    REQUIRE(a);
    CHECK(a->name() == "[::1]:7000");

    CHECK_FALSE(resolveServerAddress("chat://h", std::nullopt, true, error));
    CHECK(error.find("--tls") != std::string::npos);
    CHECK_FALSE(resolveServerAddress("chats://h:7000", 7001, false, error));
    CHECK(error.find("--port") != std::string::npos);
}

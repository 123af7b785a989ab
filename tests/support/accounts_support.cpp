#include "support/accounts_support.hpp"

#include "shared/protocol.hpp"

#include <catch2/catch.hpp>

namespace chat::test {

Poco::JSON::Object::Ptr answerTo(TestClient& client, std::int64_t id) {
    for (;;) {
        auto message = client.next();
        if (intField(message, "id") == id) return message;
    }
}

Poco::JSON::Object::Ptr registerAccount(std::uint16_t port, const std::string& name, const std::string& password) {
    auto guest = TestClient::joinedWith(port, name, true, {});
    auto request = makeMessage("register");
    request->set("id", 1);
    request->set("password", password);
    guest->send(request);
    const auto ok = answerTo(*guest, 1);
    INFO(toJson(ok));
    REQUIRE(stringField(ok, "type") == std::string("ok"));
    return ok;
}

std::string helloOutcome(std::uint16_t port, const std::string& name, const HelloCredentials& credentials,
                         bool announce) {
    try {
        TestClient::joinedWith(port, name, announce, credentials);
        return "welcome";
    } catch (const ClientError& e) {
        return e.code().empty() ? e.what() : e.code();
    }
}

AccountsServer::AccountsServer(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"--db", dir.file("chat.db")};
    args.insert(args.end(), extra.begin(), extra.end());
    server = startServer(args);
}

}  // namespace chat::test

#include "support/test_client.hpp"

#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <sys/socket.h>

namespace chat::test {

TestClient::TestClient(std::uint16_t port) : connection_("127.0.0.1", port, std::chrono::milliseconds(kWait)) {}

namespace {
std::mutex keysMutex;
std::map<std::pair<std::uint16_t, std::string>, std::string> keys;  // guest keys by port and name key
}  // namespace

std::unique_ptr<TestClient> TestClient::joined(std::uint16_t port, const std::string& user, bool announce) {
    HelloCredentials credentials;
    {
        std::lock_guard<std::mutex> lock(keysMutex);
        credentials.key = keys[{port, nameKey(user)}];
    }
    auto client = joinedWith(port, user, announce, credentials);
    std::lock_guard<std::mutex> lock(keysMutex);
    if (!client->welcomeKey_.empty()) keys[{port, nameKey(user)}] = client->welcomeKey_;
    return client;
}

std::unique_ptr<TestClient> TestClient::joinedWith(std::uint16_t port, const std::string& user, bool announce,
                                                   const HelloCredentials& credentials) {
    auto client = std::make_unique<TestClient>(port);
    const auto welcome =
        client->connection_.hello(user, "test", announce, ServerConnection::Clock::now() + kWait, credentials);
    client->welcomeKey_ = welcome.key;
    // A backlog per room of the welcome follows at once (docs/protocol.md).
    for (std::size_t i = 0; i < welcome.rooms.size(); ++i) {
        auto backlog = client->next();
        REQUIRE(stringField(backlog, "type") == std::string("backlog"));
    }
    return client;
}

void TestClient::sendRaw(const std::string& bytes) {
    REQUIRE(::send(connection_.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

Poco::JSON::Object::Ptr TestClient::next(std::chrono::milliseconds wait) {
    if (!backlog_.empty()) {
        auto first = backlog_.front();
        backlog_.pop_front();
        return first;
    }
    auto message = connection_.waitMessage(ServerConnection::Clock::now() + wait);
    if (!message) FAIL("no message from the server within " << wait.count() << " ms");
    return *message;
}

Poco::JSON::Object::Ptr TestClient::waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match,
                                            std::chrono::milliseconds wait) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
        if (match(*it)) {
            auto found = *it;
            backlog_.erase(it);
            return found;
        }
    }
    const auto deadline = ServerConnection::Clock::now() + wait;
    for (;;) {
        auto message = connection_.waitMessage(deadline);
        if (!message) FAIL("no matching message from the server within " << wait.count() << " ms");
        if (match(*message)) return *message;
        backlog_.push_back(*message);
    }
}

Poco::JSON::Object::Ptr TestClient::waitForType(const std::string& type, std::chrono::milliseconds wait) {
    return waitFor([&](const auto& m) { return typeOf(m) == type; }, wait);
}

void TestClient::pump() {
    connection_.readAvailable();
    while (auto message = connection_.nextMessage()) backlog_.push_back(*message);
}

bool TestClient::closedWithin(std::chrono::milliseconds wait) {
    const auto deadline = ServerConnection::Clock::now() + wait;
    try {
        while (connection_.waitMessage(deadline)) {
        }
        return false;
    } catch (const ClientError&) {
        return true;
    }
}

Poco::JSON::Object::Ptr TestClient::request(const std::string& to, const std::string& text, std::int64_t id) {
    auto send = makeMessage("send");
    send->set("id", id);
    if (!to.empty()) send->set("to", to);
    send->set("text", text);
    connection_.send(send);
    return waitFor([&](const auto& m) {
        const auto type = typeOf(m);
        return (type == "ok" || type == "error") && intField(m, "id") == id;
    });
}

std::string typeOf(const Poco::JSON::Object::Ptr& message) { return stringField(message, "type").value_or(""); }

}  // namespace chat::test

#pragma once
// A protocol-level client for tests: a ServerConnection plus waits with deadlines.

#include "client/server_connection.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <string>

namespace chat::test {

using namespace std::chrono_literals;
inline constexpr auto kWait = 5s;

class TestClient {
public:
    /// Connects to 127.0.0.1:port; does not say hello.
    explicit TestClient(std::uint16_t port);

    /// Connects and completes hello as `user`. A further session of a guest
    /// name presents the key its earlier session in this test process got
    /// (as a person's own extra sessions would).
    static std::unique_ptr<TestClient> joined(std::uint16_t port, const std::string& user, bool announce = true);
    /// As joined(), with exactly `credentials` (no remembered key).
    static std::unique_ptr<TestClient> joinedWith(std::uint16_t port, const std::string& user, bool announce,
                                                  const HelloCredentials& credentials);

    ServerConnection& connection() { return connection_; }
    void send(const Poco::JSON::Object::Ptr& message) { connection_.send(message); }
    void sendRaw(const std::string& bytes);

    /// The next message, waiting at most `wait`; fails the test on time-out.
    Poco::JSON::Object::Ptr next(std::chrono::milliseconds wait = kWait);

    /// The first message, earlier ones included, that matches; messages
    /// passed over stay in a backlog for later calls. Fails the test on time-out.
    Poco::JSON::Object::Ptr waitFor(const std::function<bool(const Poco::JSON::Object::Ptr&)>& match,
                                    std::chrono::milliseconds wait = kWait);
    Poco::JSON::Object::Ptr waitForType(const std::string& type, std::chrono::milliseconds wait = kWait);

    /// Reads whatever has arrived, without waiting, into the backlog.
    void pump();

    /// True when the server closes the connection within `wait`
    /// (messages before the close are skipped).
    bool closedWithin(std::chrono::milliseconds wait = kWait);

    /// Sends {"type":"send","id":id,"to":to,"text":text} (no "to" when empty)
    /// and returns the ok/error answer with that id.
    Poco::JSON::Object::Ptr request(const std::string& to, const std::string& text, std::int64_t id);

private:
    ServerConnection connection_;
    std::string welcomeKey_;
    std::deque<Poco::JSON::Object::Ptr> backlog_;
};

std::string typeOf(const Poco::JSON::Object::Ptr& message);

}  // namespace chat::test

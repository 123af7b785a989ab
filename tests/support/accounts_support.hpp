#pragma once
// Helpers shared by the end-to-end tests of accounts and tokens: a `chat
// serve` with an account database, registering a name, and what a hello
// with given credentials comes to.

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chat::test {

/// The `ok` or `error` answering request `id` on `client`; the events read
/// before it are dropped.
Poco::JSON::Object::Ptr answerTo(TestClient& client, std::int64_t id);

/// Registers `name` with `password` from a fresh guest session on
/// 127.0.0.1:`port`, which then leaves; fails the test unless the server
/// answers `ok`, and returns that answer.
Poco::JSON::Object::Ptr registerAccount(std::uint16_t port, const std::string& name, const std::string& password);

/// "welcome" if a hello as `name` with `credentials` is welcomed (the
/// session then leaves), else the refusal's error code (or its message).
std::string helloOutcome(std::uint16_t port, const std::string& name, const HelloCredentials& credentials,
                         bool announce = true);

/// A `chat serve --db DIR/chat.db EXTRA...` whose database lives in a
/// directory of its own; both go away with the object (server first).
struct AccountsServer {
    explicit AccountsServer(const std::vector<std::string>& extra = {});
    TempDir dir;
    RunningServer server;
    std::uint16_t port() const { return server.port; }
};

}  // namespace chat::test

#pragma once
// A hub for one unit test, with guests joined to it as FakeParticipants.

#include "server/hub.hpp"
#include "shared/validation.hpp"
#include "support/fake_participant.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace chat::test {

/// Owns a Hub built from a test's config (no fan-out; `history` if given,
/// owned by the caller and outliving the fixture) and joins guests to it.
/// Single-threaded: the test's thread calls everything here.
struct HubFixture {
    explicit HubFixture(HubConfig config, History* history = nullptr) : hub(std::move(config), nullptr, history) {}
    Hub hub;
    std::map<std::string, std::string> keys;  ///< the guest key of each name, by nameKey: further sessions present it

    /// Attaches a new FakeParticipant and joins it as guest `name`, with the
    /// name's guest key if an earlier session of it got one; fails the test if
    /// the hub refuses either step.
    std::shared_ptr<FakeParticipant> add(const std::string& name, bool announce = true) {
        auto p = std::make_shared<FakeParticipant>();
        REQUIRE_FALSE(hub.attach(p));
        std::string display;
        JoinAuth auth;
        auth.key = keys[nameKey(name)];
        const auto joined = hub.join(p, name, announce, display, {}, auth);
        REQUIRE(joined);
        keys[nameKey(name)] = joined.key;
        return p;
    }
};

}  // namespace chat::test

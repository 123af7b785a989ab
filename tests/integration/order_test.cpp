// Event order: ids are taken in the step that queues the event, so every
// member receives a room's events in increasing msg_id order, whoever sends.

#include "support/in_process_server.hpp"
#include "support/test_client.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace chat;
using namespace chat::test;

TEST_CASE("with many concurrent senders every member receives the room's events in increasing id order") {
    InProcessServer s;
    constexpr int kSenders = 6, kPerSender = 300, kReaders = 3;
    std::vector<std::unique_ptr<TestClient>> readers;
    for (int i = 0; i < kReaders; ++i) readers.push_back(TestClient::joined(s.port(), "reader" + std::to_string(i)));
    std::vector<std::unique_ptr<TestClient>> senders;
    for (int i = 0; i < kSenders; ++i) senders.push_back(TestClient::joined(s.port(), "sender" + std::to_string(i)));
    std::vector<std::thread> threads;
    for (int i = 0; i < kSenders; ++i)
        threads.emplace_back([&, i] {
            for (int n = 0; n < kPerSender; ++n) {
                auto send = makeMessage("send");
                send->set("text", "s" + std::to_string(i) + " " + std::to_string(n));
                senders[i]->send(send);
            }
        });
    for (auto& t : threads) t.join();
    for (auto& reader : readers) {
        std::int64_t last = 0;
        int messages = 0, outOfOrder = 0;
        while (messages < kSenders * kPerSender) {
            auto m = reader->next();
            const auto id = intField(m, "msg_id");
            if (!id) continue;
            if (*id <= last) ++outOfOrder;
            last = *id;
            if (typeOf(m) == "message") ++messages;
        }
        CHECK(outOfOrder == 0);
    }
}

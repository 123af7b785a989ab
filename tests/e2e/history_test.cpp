// History across restarts of a real `chat serve` with its real database:
// what was acknowledged survives kill -9, and rooms, topics, ids and
// backlogs come back. Each test program has its own XDG_DATA_HOME
// (support/catch_main.cpp), so the default --db is private to the test.

#include "shared/frame_codec.hpp"
#include "shared/protocol.hpp"
#include "support/child_process.hpp"
#include "support/raw_connection.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <sys/resource.h>
#include <iterator>
#include <random>
#include <set>
#include <thread>

using namespace chat::test;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string> kFast{"--rate", "100000", "--burst", "100000"};

std::string sendFrame(std::int64_t id, const std::string& to, const std::string& text) {
    return chat::encodeFrame(R"({"type":"send","id":)" + std::to_string(id) + R"(,"to":")" + to +
                             R"(","text":")" + text + R"("})");
}

/// Waits (a few seconds at most) until the server's log holds `text`.
void pollUntilLogged(ChildProcess& server, const std::string& text) {
    const auto until = Clock::now() + 5s;
    std::string log;
    while ((log = server.stderrText()).find(text) == std::string::npos && Clock::now() < until)
        std::this_thread::sleep_for(20ms);  // another process's pipe: nothing to wait on but the clock
    INFO(log);
    CHECK(log.find(text) != std::string::npos);
}

/// Every msg_id in the history of `room`, paging back to the start.
std::set<std::int64_t> storedIds(RawConnection& reader, const std::string& room) {
    std::set<std::int64_t> ids;
    std::int64_t before = 0, request = 1000;
    for (;;) {
        reader.sendJson(R"({"type":"history","id":)" + std::to_string(++request) + R"(,"room":")" + room +
                        R"(","limit":200,"before":)" + std::to_string(before) + "}");
        auto page = reader.answer(request);
        REQUIRE(chat::stringField(page, "type") == std::string("ok"));
        auto events = page->getArray("events");
        for (std::size_t i = 0; i < events->size(); ++i)
            ids.insert(events->getObject(i)->getValue<std::int64_t>("msg_id"));
        if (!chat::boolField(page, "more").value_or(false) || events->size() == 0) return ids;
        before = events->getObject(0)->getValue<std::int64_t>("msg_id");
    }
}
}  // namespace

TEST_CASE("history: kill -9 under load loses no message whose ok was sent", "[history][e2e]") {
    std::set<std::int64_t> acknowledged;
    std::int64_t highest = 0;
    {
        auto server = startServer(kFast);
        auto writer = RawConnection::joined(server.port, "writer");
        std::mt19937 random(std::random_device{}());
        const auto killAfter = std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 800)(random));
        const auto started = Clock::now();
        std::int64_t sent = 0;
        bool killed = false;
        // Keep 32 sends in flight; count every ok until the connection dies.
        while (!writer->closed()) {
            while (sent - static_cast<std::int64_t>(acknowledged.size()) < 32 && !killed) {
                ++sent;
                if (!writer->trySend(sendFrame(sent, "#lobby", "n" + std::to_string(sent)))) break;
            }
            if (!killed && Clock::now() - started >= killAfter) {
                server.process->signal(SIGKILL);
                killed = true;
            }
            auto m = writer->next(killed ? 5000ms : 200ms);
            if (!m) continue;
            if (chat::stringField(*m, "type") == std::string("ok")) {
                acknowledged.insert((*m)->getValue<std::int64_t>("msg_id"));
                highest = std::max(highest, (*m)->getValue<std::int64_t>("msg_id"));
            }
        }
        INFO("killed after " << killAfter.count() << " ms");
        REQUIRE(killed);
        REQUIRE(acknowledged.size() > 10);  // it was under load when it died
    }
    auto server = startServer(kFast);
    auto reader = RawConnection::joined(server.port, "reader");
    const auto stored = storedIds(*reader, "#lobby");
    std::vector<std::int64_t> lost;
    for (auto id : acknowledged)
        if (!stored.count(id)) lost.push_back(id);
    INFO(acknowledged.size() << " acknowledged, " << stored.size() << " stored");
    CHECK(lost.empty());
    // Ids continue above everything stored.
    reader->sendJson(R"({"type":"send","id":1,"text":"after the restart"})");
    auto ok = reader->answer(1);
    CHECK(ok->getValue<std::int64_t>("msg_id") > highest);
}

TEST_CASE("history: a restart keeps rooms, topics and backlogs, and a newcomer sees them", "[history][e2e]") {
    std::int64_t said = 0;
    {
        auto server = startServer();
        auto bob = RawConnection::joined(server.port, "bob");
        bob->sendJson(R"({"type":"join","id":1,"room":"#Dev"})");
        REQUIRE(chat::stringField(bob->answer(1), "type") == std::string("ok"));
        bob->sendJson(R"({"type":"topic","id":2,"room":"#dev","topic":"deploys on Fridays"})");
        REQUIRE(chat::stringField(bob->answer(2), "type") == std::string("ok"));
        bob->sendJson(R"({"type":"send","id":3,"to":"#dev","text":"deploy at 5pm"})");
        said = bob->answer(3)->getValue<std::int64_t>("msg_id");
        server.process->signal(SIGTERM);
        REQUIRE(server.process->wait(10s) == std::optional<int>(0));
    }
    auto server = startServer();
    auto carol = RawConnection::joined(server.port, "carol");
    carol->sendJson(R"({"type":"rooms","id":1})");
    auto rooms = carol->answer(1)->getArray("rooms");
    bool found = false;
    for (std::size_t i = 0; i < rooms->size(); ++i)
        if (rooms->getObject(i)->getValue<std::string>("room") == "#Dev") {
            found = true;
            CHECK(rooms->getObject(i)->getValue<std::string>("topic") == "deploys on Fridays");
        }
    CHECK(found);
    carol->sendJson(R"({"type":"join","id":2,"room":"#dev"})");
    auto backlog = carol->waitForType("backlog");
    CHECK(chat::stringField(backlog, "topic") == std::string("deploys on Fridays"));
    auto events = backlog->getArray("events");
    REQUIRE(events->size() == 2);
    CHECK(events->getObject(1)->getValue<std::int64_t>("msg_id") == said);
    CHECK(events->getObject(1)->getValue<std::string>("text") == "deploy at 5pm");
    CHECK(chat::stringField(carol->answer(2), "type") == std::string("ok"));
}

TEST_CASE("history: a join during concurrent sends gets backlog then live traffic, no gap and no duplicate",
          "[history][e2e]") {
    auto server = startServer(kFast);
    constexpr int kSenders = 4;
    constexpr int kEach = 150;
    std::vector<std::unique_ptr<RawConnection>> senders;
    for (int s = 0; s < kSenders; ++s) {
        senders.push_back(RawConnection::joined(server.port, "sender" + std::to_string(s)));
        senders.back()->sendJson(R"({"type":"join","id":1,"room":"#dev"})");
        senders.back()->answer(1);
    }
    // The watcher is in the room before anyone sends, so it sees live traffic
    // however fast the server works through the senders (joined after them,
    // it once saw none: all 600 were handled before its join).
    auto watcher = RawConnection::joined(server.port, "watcher");
    watcher->sendJson(R"({"type":"join","id":1,"room":"#dev"})");
    watcher->answer(1);
    std::vector<std::thread> threads;
    // A failed check below must not leave the threads joinable (std::terminate):
    // join them on every way out of this test.
    struct JoinAll {
        std::vector<std::thread>& threads;
        ~JoinAll() {
            for (auto& t : threads)
                if (t.joinable()) t.join();
        }
    } joinAll{threads};
    for (int s = 0; s < kSenders; ++s)
        threads.emplace_back([&, s] {
            std::string frames;
            for (int i = 0; i < kEach; ++i) frames += sendFrame(100 + i, "#dev", "s" + std::to_string(s) + "-" + std::to_string(i));
            senders[s]->sendSome(frames, Clock::now() + 30s);
        });
    // Join while they send: wait until some messages are in, so the backlog is
    // not empty. Generous waits: on a loaded 2-core machine the senders'
    // threads may start late (this was seen to take more than 5 s there).
    watcher->waitFor([](const Poco::JSON::Object::Ptr& m) { return chat::stringField(m, "type") == std::string("message"); },
                     30s);
    auto joiner = RawConnection::joined(server.port, "joiner");
    joiner->sendJson(R"({"type":"join","id":1,"room":"#dev"})");
    for (auto& t : threads) t.join();  // their bytes are sent; the server may still be working through them
    // A last message from each sender: its ok comes after all of that
    // sender's earlier ones, so the highest is the room's last message.
    std::int64_t doneId = 0;
    for (auto& sender : senders) {
        sender->sendJson(R"({"type":"send","id":9999,"to":"#dev","text":"done"})");
        doneId = std::max(doneId, sender->answer(9999)->getValue<std::int64_t>("msg_id"));
    }
    std::vector<std::int64_t> seen;  // backlog, then live, in arrival order
    bool backlogSeen = false;
    std::size_t backlogSize = 0;
    while (seen.empty() || seen.back() != doneId) {
        auto m = joiner->next(30000ms);
        REQUIRE(m);
        const auto type = chat::stringField(*m, "type").value_or("");
        if (type == "backlog") {
            REQUIRE_FALSE(backlogSeen);
            backlogSeen = true;
            auto events = (*m)->getArray("events");
            backlogSize = events->size();
            for (std::size_t i = 0; i < events->size(); ++i)
                seen.push_back(events->getObject(i)->getValue<std::int64_t>("msg_id"));
        } else if (type == "message") {
            REQUIRE(backlogSeen);  // no live message of the room before its backlog
            seen.push_back((*m)->getValue<std::int64_t>("msg_id"));
        }
    }
    REQUIRE(!seen.empty());
    // Exactly the stored messages from the first one shown onwards, each once, in order.
    auto stored = storedIds(*joiner, "#dev");
    std::vector<std::int64_t> expected;
    for (auto id : stored)
        if (id >= seen.front()) expected.push_back(id);
    std::vector<std::int64_t> missing, extra;
    std::set_difference(expected.begin(), expected.end(), seen.begin(), seen.end(), std::back_inserter(missing));
    std::set<std::int64_t> seenSet(seen.begin(), seen.end());
    std::set_difference(seenSet.begin(), seenSet.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    INFO("missing " << Catch::Detail::stringify(missing) << ", extra " << Catch::Detail::stringify(extra)
                     << "; backlog of " << backlogSize << ", done " << doneId << ", stored " << stored.size()
                     << " from " << (stored.empty() ? 0 : *stored.begin()) << " to " << (stored.empty() ? 0 : *stored.rbegin()));
    CHECK(seenSet.size() == seen.size());  // no duplicate
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen == expected);
}

TEST_CASE("history: past a file size limit a send is answered storage_unavailable, chat goes on live, chat send exits 74",
          "[history][e2e]") {
    const std::string db = std::string(std::getenv("XDG_DATA_HOME")) + "/limited.db";
    RunningServer server;
    {
        // The server inherits the limit; this test process writes no files meanwhile.
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
        rlimit limited = saved;
        limited.rlim_cur = 256 * 1024;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
        auto args = kFast;
        args.insert(args.end(), {"--db", db});
        server = startServer(args);
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
    }
    auto alice = RawConnection::joined(server.port, "alice");
    auto bob = RawConnection::joined(server.port, "bob");
    const std::string text(4000, 'x');
    Poco::JSON::Object::Ptr refused;
    for (std::int64_t id = 1; id <= 2000 && !refused; ++id) {
        alice->send(sendFrame(id, "#lobby", text));
        auto answer = alice->answer(id);
        if (chat::stringField(answer, "type") == std::string("error")) refused = answer;
    }
    REQUIRE(refused);
    CHECK(chat::stringField(refused, "code") == std::string("storage_unavailable"));
    const auto why = chat::stringField(refused, "message").value_or("");
    INFO(why);
    CHECK(why.find("delivered") != std::string::npos);
    // Delivered live all the same.
    const auto lost = refused->getValue<std::int64_t>("msg_id");
    bob->waitFor([&](const Poco::JSON::Object::Ptr& m) {
        return chat::stringField(m, "type") == std::string("message") && m->getValue<std::int64_t>("msg_id") == lost;
    });
    alice->requireServed(90001);
    bob->requireServed(90002);
    const auto r = runChat({"send", "--host", "127.0.0.1", "--port", std::to_string(server.port), "--user", "ci",
                            "#lobby", "from a script"});
    INFO(r.err);
    CHECK(r.exitCode == 74);
    CHECK(r.err.find("delivered") != std::string::npos);
    // A clear line in the server's log names the cause.
    pollUntilLogged(*server.process, "file size limit");
}

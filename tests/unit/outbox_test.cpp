#include "server/flusher.hpp"
#include "server/outbox.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {
using Clock = std::chrono::steady_clock;

chat::SharedFrame frame(const std::string& text) { return std::make_shared<const std::string>(text); }

/// A connected pair: `server` is what the outbox writes to, `client` the peer.
struct SocketPair {
    int server = -1;
    int client = -1;
    SocketPair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        server = fds[0];
        client = fds[1];
    }
    ~SocketPair() {
        if (server >= 0) ::close(server);
        if (client >= 0) ::close(client);
    }
};

/// Reads from `fd` until `count` bytes have arrived or 10 s have passed.
std::string readBytes(int fd, std::size_t count) {
    std::string out;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    char buffer[64 * 1024];
    while (out.size() < count && Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, count - out.size()), MSG_DONTWAIT);
        if (n <= 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

/// True when the read side of `fd` has been shut down: recv() answers 0 at once.
bool readSideShut(int fd) {
    char byte;
    return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}
}  // namespace

TEST_CASE("an outbox delivers frames to its socket, in order, through the flusher") {
    SocketPair pair;
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 1024, flusher);
    outbox->deliver(frame("one "));
    outbox->deliver(frame("two "));
    outbox->deliver(frame("three"));
    CHECK(readBytes(pair.client, 13) == "one two three");
    CHECK(outbox->waitUntilFlushed(Clock::now() + std::chrono::seconds(10)));
    CHECK(outbox->queuedBytes() == 0);
    outbox->detachSocket();
}

TEST_CASE("frames delivered during hold() are written after the frame given to sendFirst()") {
    SocketPair pair;
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 1024, flusher);
    outbox->hold();
    outbox->deliver(frame("event1 "));
    outbox->deliver(frame("event2 "));
    outbox->sendFirst(frame("welcome "));
    outbox->deliver(frame("event3"));
    CHECK(readBytes(pair.client, 28) == "welcome event1 event2 event3");
    outbox->detachSocket();
}

TEST_CASE("an outbox over its limit drops the frame, reports overflow and wakes its session") {
    SocketPair pair;
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 10, flusher);
    outbox->hold();  // nothing leaves, so the queue fills deterministically
    outbox->deliver(frame("12345"));
    CHECK_FALSE(outbox->overflowed());
    CHECK_FALSE(readSideShut(pair.server));
    outbox->deliver(frame("123456"));
    CHECK(outbox->overflowed());
    CHECK(outbox->queuedBytes() == 5);
    CHECK(readSideShut(pair.server));
    outbox->detachSocket();
}

TEST_CASE("a peer that reads late still gets every byte: the flusher waits for the socket to drain") {
    SocketPair pair;
    const int small = 4096;
    REQUIRE(::setsockopt(pair.server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 4 * 1024 * 1024, flusher);
    std::string expected;
    for (int i = 0; i < 2000; ++i) {
        std::string text = "frame " + std::to_string(i) + " " + std::string(200, 'x') + "\n";
        expected += text;
        outbox->deliver(frame(text));
    }
    CHECK_FALSE(outbox->overflowed());
    CHECK(outbox->queuedBytes() > 0);  // far more than the socket buffer holds
    const std::string got = readBytes(pair.client, expected.size());
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
    CHECK(outbox->waitUntilFlushed(Clock::now() + std::chrono::seconds(10)));
    outbox->detachSocket();
}

TEST_CASE("closeAfterFlush wakes the session, drops later frames, and the queue still drains") {
    SocketPair pair;
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 1024, flusher);
    outbox->deliver(frame("bye"));
    outbox->closeAfterFlush("quit");
    outbox->deliver(frame("late"));
    CHECK(outbox->closeReason() == "quit");
    CHECK(readSideShut(pair.server));
    CHECK(outbox->waitUntilFlushed(Clock::now() + std::chrono::seconds(10)));
    CHECK(readBytes(pair.client, 3) == "bye");
    outbox->detachSocket();
    char byte;
    CHECK(::recv(pair.client, &byte, 1, MSG_DONTWAIT) < 0);  // "late" never came
}

TEST_CASE("a write to a closed peer marks the outbox peerGone and wakes its session") {
    SocketPair pair;
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 1024, flusher);
    ::close(pair.client);
    pair.client = -1;
    outbox->deliver(frame("anyone there?"));
    outbox->waitUntilFlushed(Clock::now() + std::chrono::seconds(10));
    CHECK(outbox->peerGone());
    outbox->detachSocket();
}

TEST_CASE("after detachSocket an outbox writes nothing") {
    SocketPair pair;
    chat::Flusher flusher;
    auto outbox = std::make_shared<chat::Outbox>(pair.server, 1024, flusher);
    outbox->deliver(frame("before"));
    CHECK(readBytes(pair.client, 6) == "before");
    outbox->detachSocket();
    outbox->deliver(frame("after"));
    outbox->closeAfterFlush("gone");
    CHECK_FALSE(readSideShut(pair.server));  // a detached outbox never shuts the socket down
    char byte;
    CHECK(::recv(pair.client, &byte, 1, MSG_DONTWAIT) < 0);
}

TEST_CASE("post queues one frame on many outboxes and lets it go once every one has sent or dropped it") {
    SocketPair a, b, c;
    chat::Flusher flusher;
    auto first = std::make_shared<chat::Outbox>(a.server, 1024, flusher);
    auto second = std::make_shared<chat::Outbox>(b.server, 1024, flusher);
    auto waiting = std::make_shared<chat::Outbox>(c.server, 1024, flusher);
    waiting->hold();  // its copy stays queued until the end of the test
    auto hello = frame("hello");
    const std::weak_ptr<const std::string> watch = hello;
    flusher.post({first, second, waiting}, hello);
    hello.reset();
    CHECK(readBytes(a.client, 5) == "hello");
    CHECK(readBytes(b.client, 5) == "hello");
    CHECK(first->waitUntilFlushed(Clock::now() + std::chrono::seconds(10)));
    CHECK(second->waitUntilFlushed(Clock::now() + std::chrono::seconds(10)));
    CHECK_FALSE(watch.expired());  // the held outbox still needs it
    CHECK(waiting->queuedBytes() == 5);
    waiting->detachSocket();
    waiting.reset();
    CHECK(watch.expired());
    first->detachSocket();
    second->detachSocket();
}

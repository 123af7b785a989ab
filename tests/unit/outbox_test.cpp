#include "server/dispatcher.hpp"
#include "server/link.hpp"
#include "server/outbox.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kPatience = std::chrono::seconds(10);

chat::EventPtr event(const std::string& text) { return std::make_shared<const chat::Event>(text); }

/// Writes payloads as they are, and counts how often it was asked to.
class RawFraming final : public chat::Framing {
public:
    std::size_t index() const override { return 1; }
    std::string encode(std::string_view payload) const override {
        ++encodes;
        if (payload.size() > 100000) throw std::length_error("too large");
        return std::string(payload);
    }
    mutable std::atomic<int> encodes{0};
};

/// A connected socket pair; the outbox writes to `server` through a
/// PlainLink, and the test reads `client`.
struct Connection {
    int server = -1;
    int client = -1;
    std::unique_ptr<chat::PlainLink> link;
    std::atomic<int> wakes{0};
    std::shared_ptr<chat::Outbox> outbox;

    Connection(chat::Dispatcher& dispatcher, const chat::Framing& framing, std::size_t maxQueued, int sendBuffer = 0) {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        server = fds[0];
        client = fds[1];
        if (sendBuffer) REQUIRE(::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &sendBuffer, sizeof sendBuffer) == 0);
        link = std::make_unique<chat::PlainLink>(server);
        outbox = std::make_shared<chat::Outbox>(*link, framing, maxQueued, dispatcher, [this] { ++wakes; });
    }
    ~Connection() {
        outbox->detachLink();
        outbox.reset();
        if (server >= 0) ::close(server);
        if (client >= 0) ::close(client);
    }

    /// Reads until `count` bytes have arrived or kPatience has passed.
    std::string read(std::size_t count) {
        std::string out;
        const auto deadline = Clock::now() + kPatience;
        char buffer[64 * 1024];
        while (out.size() < count && Clock::now() < deadline) {
            pollfd p{client, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const ssize_t n = ::recv(client, buffer, std::min(sizeof buffer, count - out.size()), MSG_DONTWAIT);
            if (n <= 0) break;
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }
    bool nothingMore() {
        char byte;
        return ::recv(client, &byte, 1, MSG_DONTWAIT) < 0;
    }
};
}  // namespace

TEST_CASE("an outbox writes events through its framing to its link, in order") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 1024);
    c.outbox->deliver(event("one "));
    c.outbox->deliver(event("two "));
    c.outbox->deliver(event("three"));
    CHECK(c.read(13) == "one two three");
    CHECK(c.outbox->waitUntilFlushed(Clock::now() + kPatience));
    CHECK(c.outbox->queuedBytes() == 0);
    CHECK(dispatcher.backlogBytes() == 0);
}

TEST_CASE("a peer that stops reading is cut only for bytes its own socket refused") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 20000, 4096);
    const std::string chunk(1000, 'x');
    int delivered = 0;
    const auto deadline = Clock::now() + kPatience;
    while (!c.outbox->overflowed() && Clock::now() < deadline) {
        c.outbox->deliver(event(chunk));
        ++delivered;
        if (delivered % 10 == 0) c.outbox->waitUntilFlushed(Clock::now() + std::chrono::milliseconds(20));
    }
    REQUIRE(c.outbox->overflowed());
    CHECK(c.wakes > 0);
    // The socket took its buffer's worth first; only what it refused counts.
    CHECK(delivered * chunk.size() > 20000);
    CHECK(c.outbox->queuedBytes() <= 20000 + 2 * 4096 + chunk.size());
    // Bytes stuck behind a refusing socket are the client's, not the server's backlog.
    CHECK(dispatcher.backlogBytes() == 0);
}

TEST_CASE("a peer that reads late still gets every byte: the dispatcher waits for the socket to drain") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 4 * 1024 * 1024, 4096);
    std::string expected;
    for (int i = 0; i < 2000; ++i) {
        std::string text = "frame " + std::to_string(i) + " " + std::string(200, 'x') + "\n";
        expected += text;
        c.outbox->deliver(event(text));
    }
    CHECK_FALSE(c.outbox->overflowed());
    CHECK(c.read(expected.size()) == expected);
    CHECK(c.outbox->waitUntilFlushed(Clock::now() + kPatience));
    CHECK(dispatcher.backlogBytes() == 0);
}

TEST_CASE("closeAfterFlush wakes the session, drops later events, and the queue still drains") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 1024);
    c.outbox->deliver(event("bye"));
    c.outbox->closeAfterFlush("quit");
    c.outbox->deliver(event("late"));
    CHECK(c.outbox->closeReason() == "quit");
    CHECK(c.wakes > 0);
    CHECK(c.outbox->waitUntilFlushed(Clock::now() + kPatience));
    CHECK(c.read(3) == "bye");
    CHECK(c.nothingMore());
}

TEST_CASE("a write to a closed peer marks the outbox peerGone and wakes its session") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 1024);
    ::close(c.client);
    c.client = -1;
    c.outbox->deliver(event("anyone there?"));
    c.outbox->waitUntilFlushed(Clock::now() + kPatience);
    CHECK(c.outbox->peerGone());
    CHECK(c.wakes > 0);
}

TEST_CASE("after detachLink an outbox writes nothing and wakes nobody") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 1024);
    c.outbox->deliver(event("before"));
    CHECK(c.read(6) == "before");
    c.outbox->detachLink();
    const int wakes = c.wakes;
    c.outbox->deliver(event("after"));
    c.outbox->closeAfterFlush("gone");
    CHECK(c.wakes == wakes);
    CHECK(c.nothingMore());
}

TEST_CASE("post encodes an event once per framing and queues it on every outbox") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection a(dispatcher, framing, 1024), b(dispatcher, framing, 1024), c(dispatcher, framing, 1024);
    dispatcher.post({a.outbox, b.outbox, c.outbox}, event("hello"));
    CHECK(framing.encodes == 1);
    CHECK(a.read(5) == "hello");
    CHECK(b.read(5) == "hello");
    CHECK(c.read(5) == "hello");
}

namespace {
/// A participant of no dispatcher: the fan-out must fall back to deliver().
class Recorder final : public chat::Participant {
public:
    void deliver(const chat::EventPtr& e) override { got.push_back(e->payload); }
    void closeAfterFlush(const std::string&) override {}
    std::vector<std::string> got;
};
}  // namespace

TEST_CASE("post hands an event to participants of other kinds through deliver()") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection a(dispatcher, framing, 1024);
    auto other = std::make_shared<Recorder>();
    dispatcher.post({other, a.outbox}, event("mixed"));
    CHECK(a.read(5) == "mixed");
    CHECK(other->got == std::vector<std::string>{"mixed"});
}

TEST_CASE("an event its framing cannot carry is dropped, never sent in part") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    Connection c(dispatcher, framing, 1 << 20);
    c.outbox->deliver(event(std::string(200000, 'x')));
    dispatcher.post({c.outbox}, event(std::string(200000, 'y')));
    c.outbox->deliver(event("fits"));
    CHECK(c.read(4) == "fits");
    CHECK(c.nothingMore());
}

TEST_CASE("a frame left half-written when the link is detached is never continued: the link may be gone") {
    chat::Dispatcher dispatcher;
    RawFraming framing;
    auto c = std::make_unique<Connection>(dispatcher, framing, 1 << 24, 4096);
    // More than the socket takes, so a frame stays half-written, waiting for EPOLLOUT.
    for (int i = 0; i < 64; ++i) c->outbox->deliver(event(std::string(64 * 1024, 'x')));
    REQUIRE_FALSE(c->outbox->waitUntilFlushed(Clock::now() + std::chrono::milliseconds(200)));
    c.reset();  // detaches, then destroys the link and closes both sockets
    // The dispatcher still holds the outbox; its next round must not touch the link.
    CHECK(dispatcher.backlogBytes() == 0);
}

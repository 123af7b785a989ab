#include "server/outbox.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

namespace {
chat::SharedFrame frame(const std::string& text) { return std::make_shared<const std::string>(text); }

std::string readAll(int fd) {
    std::string out;
    char buffer[256];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n <= 0) return out;
        out.append(buffer, static_cast<std::size_t>(n));
    }
}
}  // namespace

TEST_CASE("frames delivered during hold() are written after the frame given to sendFirst()") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    chat::Outbox outbox(1024);
    outbox.hold();
    outbox.deliver(frame("event1 "));
    outbox.deliver(frame("event2 "));
    outbox.sendFirst(frame("welcome "));
    outbox.deliver(frame("event3"));
    REQUIRE(outbox.writeTo(fds[0]) == chat::Outbox::WriteStatus::Ok);
    CHECK(readAll(fds[1]) == "welcome event1 event2 event3");
    CHECK_FALSE(outbox.pending());
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("an outbox over its limit drops the frame and reports overflow") {
    chat::Outbox outbox(10);
    outbox.deliver(frame("12345"));
    CHECK_FALSE(outbox.overflowed());
    outbox.deliver(frame("123456"));
    CHECK(outbox.overflowed());
    CHECK(outbox.queuedBytes() == 5);
}

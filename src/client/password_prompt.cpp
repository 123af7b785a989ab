#include "client/password_prompt.hpp"

#include <csignal>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

namespace chat {

namespace {
void writeAll(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}
}  // namespace

std::optional<std::string> askPassword(const std::string& prompt) {
    const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    termios saved{};
    if (::tcgetattr(fd, &saved) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    struct sigaction ignore {}, oldInt {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &oldInt);
    termios quiet = saved;
    quiet.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHONL));
    quiet.c_lflag |= ICANON;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
    writeAll(fd, prompt);
    std::string line;
    bool ended = false;
    for (;;) {
        char c;
        const ssize_t n = ::read(fd, &c, 1);
        if (n <= 0) {
            ended = line.empty();
            break;
        }
        if (c == '\n' || c == '\r') break;
        line.push_back(c);
    }
    ::tcsetattr(fd, TCSAFLUSH, &saved);
    ::sigaction(SIGINT, &oldInt, nullptr);
    writeAll(fd, "\n");
    ::close(fd);
    if (ended) return std::nullopt;
    return line;
}

std::optional<std::string> askNewPassword(const std::string& prompt) {
    auto first = askPassword(prompt);
    if (!first) return std::nullopt;
    auto second = askPassword("Again: ");
    if (!second) return std::nullopt;
    if (*first != *second) {
        const int fd = ::open("/dev/tty", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            writeAll(fd, "the two passwords differ; nothing changed\n");
            ::close(fd);
        }
        return std::nullopt;
    }
    return first;
}

}  // namespace chat

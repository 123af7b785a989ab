// bench-relay: the "close to the physical limit" reference for the
// benchmarks. One thread, one epoll set, plain lines: each complete line a
// connection sends goes to every other connection. Lines read in one loop
// iteration are gathered into one batch and each connection gets the batch
// in one write (coalesced), minus its own lines. Every new connection is
// greeted with one line ("* relay"), so a client knows it has been accepted.
//
//   bench-relay [--host 127.0.0.1] [--port 0]
// prints "listening on HOST:PORT" on stdout; SIGINT or SIGTERM stop it.
// A connection whose unsent output passes 64 MiB is dropped.

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxQueued = 64 * 1024 * 1024;
constexpr int kMaxEvents = 1024;
constexpr int kAcceptsPerWake = 256;
const std::string kGreeting = "* relay\n";

struct Conn {
    bool open = false;
    std::string in;        // bytes after the last complete line
    std::string out;       // unsent bytes
    bool writeWanted = false;
    bool ownLines = false;  // contributed lines to the current batch
    std::size_t liveIndex = 0;
};

struct Line {
    int from;
    std::size_t offset, length;  // in the batch, including the '\n'
};

class Relay {
public:
    Relay(int listener, int signals) : listener_(listener), signals_(signals) {
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        watch(listener_, EPOLLIN);
        watch(signals_, EPOLLIN);
    }

    void run() {
        epoll_event events[kMaxEvents];
        for (;;) {
            const int n = epoll_wait(epoll_, events, kMaxEvents, -1);
            if (n < 0 && errno != EINTR) return;
            batch_.clear();
            lines_.clear();
            for (int i = 0; i < n; ++i) {
                const int fd = events[i].data.fd;
                if (fd == signals_) return;
                if (fd == listener_) accept();
                else {
                    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read(fd);
                    if (conn(fd).open && (events[i].events & EPOLLOUT)) flush(fd);
                }
            }
            if (!batch_.empty()) broadcast();
        }
    }

private:
    Conn& conn(int fd) {
        if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1);
        return conns_[static_cast<std::size_t>(fd)];
    }

    void watch(int fd, std::uint32_t events, int op = EPOLL_CTL_ADD) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        epoll_ctl(epoll_, op, fd, &ev);
    }

    void accept() {
        for (int i = 0; i < kAcceptsPerWake; ++i) {
            const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            const int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto& c = conn(fd);
            c = Conn();
            c.open = true;
            c.liveIndex = live_.size();
            live_.push_back(fd);
            watch(fd, EPOLLIN);
            c.out = kGreeting;
            flush(fd);
        }
    }

    void read(int fd) {
        char buffer[64 * 1024];
        for (int round = 0; round < 4; ++round) {
            const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
            if (n == 0) return close(fd);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) close(fd);
                return;
            }
            auto& c = conn(fd);
            c.in.append(buffer, static_cast<std::size_t>(n));
            const std::size_t end = c.in.rfind('\n');
            if (end != std::string::npos) {
                std::size_t at = 0;
                while (at <= end) {
                    const std::size_t nl = c.in.find('\n', at);
                    lines_.push_back({fd, batch_.size() + at, nl + 1 - at});
                    at = nl + 1;
                }
                batch_.append(c.in, 0, end + 1);
                c.in.erase(0, end + 1);
                c.ownLines = true;
            }
            if (c.in.size() > kMaxLine) return close(fd);
            if (static_cast<std::size_t>(n) < sizeof buffer) return;
        }
    }

    void broadcast() {
        for (std::size_t i = 0; i < live_.size(); ++i) {
            const int fd = live_[i];
            auto& c = conn(fd);
            if (c.ownLines) {  // the few senders: copy everything but their own lines
                for (const auto& line : lines_)
                    if (line.from != fd) c.out.append(batch_, line.offset, line.length);
                c.ownLines = false;
            } else if (c.out.empty()) {  // the common case: write the shared batch straight out
                const ssize_t n = send(fd, batch_.data(), batch_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    close(fd);
                    --i;  // close() moved another connection into slot i
                    continue;
                }
                if (sent < batch_.size()) c.out.append(batch_, sent, std::string::npos);
                updateInterest(fd);
                continue;
            } else {
                c.out += batch_;
            }
            if (c.out.size() > kMaxQueued) {
                close(fd);
                --i;
                continue;
            }
            flush(fd);
            if (!conn(fd).open) --i;
        }
    }

    void flush(int fd) {
        auto& c = conn(fd);
        while (!c.out.empty()) {
            const ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) return close(fd);
                break;
            }
            c.out.erase(0, static_cast<std::size_t>(n));
        }
        updateInterest(fd);
    }

    void updateInterest(int fd) {
        auto& c = conn(fd);
        const bool want = !c.out.empty();
        if (want == c.writeWanted) return;
        c.writeWanted = want;
        watch(fd, EPOLLIN | (want ? EPOLLOUT : 0u), EPOLL_CTL_MOD);
    }

    void close(int fd) {
        auto& c = conn(fd);
        if (!c.open) return;
        const int moved = live_.back();
        live_[c.liveIndex] = moved;
        conn(moved).liveIndex = c.liveIndex;
        live_.pop_back();
        c = Conn();
        epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
    }

    int listener_, signals_, epoll_ = -1;
    std::vector<Conn> conns_;
    std::vector<int> live_;
    std::string batch_;
    std::vector<Line> lines_;
};

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--host") == 0) host = argv[i + 1];
        else if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: bench-relay [--host ADDR] [--port PORT]\n");
            return 64;
        }
    }
    if (argc % 2 == 0) {
        std::fprintf(stderr, "usage: bench-relay [--host ADDR] [--port PORT]\n");
        return 64;
    }
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    const int signals = signalfd(-1, &stop, SFD_CLOEXEC);

    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t length = sizeof addr;
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
        bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 4096) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
        std::fprintf(stderr, "bench-relay: cannot listen on %s:%d: %s\n", host.c_str(), port, std::strerror(errno));
        return 69;
    }
    std::printf("listening on %s:%d\n", host.c_str(), ntohs(addr.sin_port));
    std::fflush(stdout);
    Relay(listener, signals).run();
    return 0;
}

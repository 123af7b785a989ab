#include "server/link.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace chat {

Link::Result PlainLink::readLocked(char* buffer, std::size_t size) {
    for (;;) {
        const ssize_t n = ::recv(fd_, buffer, size, MSG_DONTWAIT);
        if (n > 0) return {Status::Ok, static_cast<std::size_t>(n)};
        if (n == 0) return {Status::Closed};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {Status::WouldBlock};
        return {Status::Failed};
    }
}

Link::Result PlainLink::writeLocked(const char* data, std::size_t size) {
    for (;;) {
        const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) return {Status::Ok, static_cast<std::size_t>(n)};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {Status::WouldBlock, 0, Wait::Write};
        return {Status::Failed};
    }
}

void PlainLink::shutdownWriteLocked() { ::shutdown(fd_, SHUT_WR); }

}  // namespace chat

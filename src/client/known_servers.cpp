#include "client/known_servers.hpp"

#include "shared/tls_certificates.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace chat {

namespace {
std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

/// mkdir -p with mode 0700 for every directory it creates.
void makeDirectories(const std::string& directory) {
    for (std::size_t slash = directory.find('/', 1); ; slash = directory.find('/', slash + 1)) {
        const std::string part = directory.substr(0, slash);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            throw std::runtime_error("cannot create " + part + ": " + std::strerror(errno));
        if (slash == std::string::npos) return;
    }
}
}  // namespace

KnownServers KnownServers::parse(const std::string& text, const std::string& path) {
    KnownServers known;
    known.path_ = path;
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::istringstream words(line);
        std::string server, fingerprint, extra;
        if (!(words >> server) || server[0] == '#') continue;
        if (!(words >> fingerprint) || (words >> extra && extra[0] != '#')) continue;
        const auto colon = server.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == server.size()) continue;
        const auto canonical = tls::normaliseFingerprint(fingerprint);
        if (!canonical) continue;
        known.entries_.push_back({server, *canonical, number});
    }
    return known;
}

KnownServers KnownServers::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return parse("", path);
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

std::optional<KnownServer> KnownServers::find(const std::string& server) const {
    const std::string wanted = lower(server);
    for (const auto& entry : entries_)
        if (lower(entry.server) == wanted) return entry;
    return std::nullopt;
}

void KnownServers::append(const std::string& path, const std::string& server, const std::string& fingerprint) {
    if (path.empty()) throw std::runtime_error("nowhere to remember servers (set HOME or XDG_STATE_HOME)");
    const auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) makeDirectories(path.substr(0, slash));
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) == 0 && info.st_size > 0) {
        // Start on a line of our own if someone left the last one unterminated.
        char last = '\n';
        const int reader = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (reader >= 0) {
            if (::pread(reader, &last, 1, info.st_size - 1) != 1) last = '\n';
            ::close(reader);
        }
        if (last != '\n' && ::write(fd, "\n", 1) != 1) {
            ::close(fd);
            throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
        }
    }
    const std::string line = server + " " + fingerprint + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const int error = errno;
    if (::close(fd) != 0 || !written)
        throw std::runtime_error("cannot write " + path + ": " + std::strerror(written ? errno : error));
}

std::string defaultKnownServersPath() {
    if (const char* base = std::getenv("XDG_STATE_HOME"); base && base[0] == '/')
        return std::string(base) + "/chat/known_servers";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/chat/known_servers";
    return {};
}

}  // namespace chat

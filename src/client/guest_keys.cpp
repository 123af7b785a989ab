#include "client/guest_keys.hpp"

#include "shared/validation.hpp"

#include <cctype>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace chat {

namespace {
bool safeComponent(const std::string& text) {
    if (text.empty() || text == "." || text == "..") return false;
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':')) return false;
    return true;
}
}  // namespace

std::string guestKeyPath(const std::string& host, std::uint16_t port, const std::string& name) {
    const std::string server = host + "_" + std::to_string(port);
    if (!isValidName(name) || !safeComponent(server)) return {};
    std::string base;
    if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime == '/')
        base = runtime;
    else if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state == '/')
        base = state;
    else if (const char* home = std::getenv("HOME"); home && *home == '/')
        base = std::string(home) + "/.local/state";
    else
        return {};
    return base + "/chat/keys/" + server + "/" + nameKey(name);
}

std::string loadGuestKey(const std::string& host, std::uint16_t port, const std::string& name) {
    const auto path = guestKeyPath(host, port, name);
    if (path.empty()) return {};
    std::ifstream in(path);
    std::string key;
    std::getline(in, key);
    return key.size() <= 64 ? key : std::string();
}

void saveGuestKey(const std::string& host, std::uint16_t port, const std::string& name, const std::string& key) {
    const auto path = guestKeyPath(host, port, name);
    if (path.empty()) return;
    std::error_code error;
    if (key.empty()) {
        std::filesystem::remove(path, error);
        return;
    }
    const auto dir = std::filesystem::path(path).parent_path();
    std::filesystem::create_directories(dir, error);
    ::chmod(dir.c_str(), 0700);
    ::chmod(dir.parent_path().c_str(), 0700);
    const std::string temp = path + ".new";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    const std::string line = key + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (written) std::filesystem::rename(temp, path, error);
    else std::filesystem::remove(temp, error);
}

}  // namespace chat

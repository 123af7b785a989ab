#include "client/credentials.hpp"

#include "shared/validation.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace chat {

namespace {
bool printableWord(const std::string& word) {
    if (word.empty() || word.size() > 512) return false;
    for (unsigned char c : word)
        if (c <= ' ' || c == 0x7F) return false;
    return true;
}

std::optional<StoredToken> parseLine(const std::string& line) {
    std::istringstream in(line);
    StoredToken entry;
    std::string id, extra;
    if (!(in >> entry.server >> entry.user >> id >> entry.token) || (in >> extra)) return std::nullopt;
    if (!printableWord(entry.server) || !isValidName(entry.user) || !printableWord(entry.token)) return std::nullopt;
    if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    entry.tokenId = std::stoll(id);
    return entry;
}

[[noreturn]] void cannot(const std::string& what, const std::string& path) {
    throw std::runtime_error("cannot " + what + " " + path + ": " + std::strerror(errno));
}

/// Replaces `path` with `entries`: a new file created 0600 beside it, synced, renamed over it.
void writeAll(const std::string& path, const std::vector<StoredToken>& entries) {
    const auto dir = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!dir.empty() && !std::filesystem::exists(dir, error)) {
        std::filesystem::create_directories(dir, error);
        if (error) throw std::runtime_error("cannot create " + dir.string() + ": " + error.message());
        ::chmod(dir.c_str(), 0700);
    }
    std::string text = "# chat login tokens: HOST:PORT USER TOKEN_ID TOKEN (keep this file private)\n";
    for (const auto& e : entries) text += e.server + " " + e.user + " " + std::to_string(e.tokenId) + " " + e.token + "\n";
    std::string temp = path + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());  // mode 0600 from the start
    if (fd < 0) cannot("create a file beside", path);
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int saved = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            errno = saved;
            cannot("write", temp);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(temp.c_str());
        cannot("write", temp);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        cannot("replace", path);
    }
}
}  // namespace

std::string defaultCredentialsPath() {
    if (const char* config = std::getenv("XDG_CONFIG_HOME"); config && *config == '/')
        return std::string(config) + "/chat/credentials";
    if (const char* home = std::getenv("HOME"); home && *home == '/') return std::string(home) + "/.config/chat/credentials";
    return {};
}

std::vector<StoredToken> loadCredentials(const std::string& path) {
    std::vector<StoredToken> entries;
    if (path.empty()) return entries;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (auto entry = parseLine(line)) entries.push_back(*entry);
    }
    return entries;
}

std::optional<StoredToken> findCredential(const std::string& path, const std::string& server, const std::string& user) {
    for (const auto& entry : loadCredentials(path))
        if (entry.server == server) {
            if (!user.empty() && nameKey(entry.user) != nameKey(user)) return std::nullopt;
            return entry;
        }
    return std::nullopt;
}

void storeCredential(const std::string& path, const StoredToken& entry) {
    if (path.empty()) throw std::runtime_error("no place for the credentials file: set XDG_CONFIG_HOME or HOME");
    auto entries = loadCredentials(path);
    bool replaced = false;
    for (auto& e : entries)
        if (e.server == entry.server) {
            e = entry;
            replaced = true;
        }
    if (!replaced) entries.push_back(entry);
    writeAll(path, entries);
}

bool removeCredential(const std::string& path, const std::string& server) {
    auto entries = loadCredentials(path);
    const auto before = entries.size();
    entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const auto& e) { return e.server == server; }),
                  entries.end());
    if (entries.size() == before) return false;
    writeAll(path, entries);
    return true;
}

}  // namespace chat

#include "client/server_connection.hpp"

#include "client/terminal_text.hpp"
#include "shared/exit_codes.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/Net/NetException.h>

#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

namespace chat {

namespace {
[[noreturn]] void badWelcome(const std::string& what) {
    throw ClientError(exit_code::kProtocol, "the server sent a 'welcome' " + what + "; disconnecting");
}

/// A string member of the welcome: "" when absent, and any other type breaks the protocol.
std::optional<std::string> welcomeString(const Poco::JSON::Object::Ptr& m, const std::string& key) {
    if (!m->has(key) || m->isNull(key)) return std::nullopt;
    auto value = stringField(m, key);
    if (!value) badWelcome("whose \"" + key + "\" is not a string");
    return value;
}

std::vector<std::string> welcomeStrings(const Poco::JSON::Object::Ptr& m, const std::string& key) {
    std::vector<std::string> out;
    if (!m->has(key) || m->isNull(key)) return out;
    auto array = m->getArray(key);
    if (!array) badWelcome("whose \"" + key + "\" is not a list");
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto item = array->get(i);
        if (!item.isString()) badWelcome("whose \"" + key + "\" holds something other than names");
        out.push_back(item.extract<std::string>());
    }
    return out;
}

int millisUntil(ServerConnection::Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ServerConnection::Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}
}  // namespace

ServerConnection::ServerConnection(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
    : ServerConnection(ServerAddress{host, port, false}, TlsSettings{}, timeout) {}

ServerConnection::ServerConnection(const ServerAddress& address, const TlsSettings& tls,
                                   std::chrono::milliseconds timeout)
    : where_(address.name()) {
    const auto deadline = Clock::now() + timeout;
    try {
        socket_.connect(Poco::Net::SocketAddress(address.host, address.port), Poco::Timespan(timeout.count() * 1000));
        socket_.setNoDelay(true);
    } catch (const Poco::TimeoutException&) {
        throw ClientError(exit_code::kTempFail, "timed out connecting to " + where_);
    } catch (const Poco::Exception& e) {
        throw ClientError(exit_code::kUnavailable, "cannot reach server at " + where_ + ": " + e.displayText());
    }
    if (address.tls) tls_ = std::make_unique<TlsStream>(fd(), address, tls, deadline);
}

Welcome ServerConnection::hello(const std::string& user, const std::string& clientName, bool announce,
                                Clock::time_point deadline, const HelloCredentials& credentials) {
    auto hello = makeMessage("hello");
    hello->set("version", kProtocolVersion);
    hello->set("user", user);
    hello->set("client", clientName);
    if (!announce) hello->set("announce", false);
    if (!credentials.token.empty()) hello->set("token", credentials.token);
    else if (!credentials.password.empty()) hello->set("password", credentials.password);
    if (!credentials.key.empty()) hello->set("key", credentials.key);
    send(hello);
    for (;;) {
        auto message = waitMessage(deadline);
        if (!message) throw ClientError(exit_code::kTempFail, "timed out waiting for the server's welcome");
        const auto type = stringField(*message, "type").value_or("");
        if (type == "error") {
            const auto code = stringField(*message, "code").value_or("");
            const auto text = visibleText(stringField(*message, "message").value_or(code));
            if (code == "name_invalid") throw ClientError(exit_code::kUsage, text);
            if (code == "version_unsupported") throw ClientError(exit_code::kProtocol, text);
            if (code == "auth_failed" && !credentials.token.empty())
                throw ClientError(exit_code::kAuth,
                                  "the server refused the token for " + visibleText(user) +
                                      " (revoked, or issued by another server): run 'chat login' again"
                                      " (or fix CHAT_TOKEN)",
                                  code);
            if (code == "auth_required" || code == "auth_failed" || code == "auth_insecure")
                throw ClientError(exit_code::kAuth, text, code);
            if (code == "auth_throttled") throw ClientError(exit_code::kTempFail, text, code);
            if (code == "name_in_use") throw ClientError(exit_code::kUnavailable, "server refused the connection: " + text, code);
            if (code == "tls_required" && !tls_)
                throw ClientError(exit_code::kUnavailable, where_ + " speaks TLS: use --tls (or chats://)");
            throw ClientError(exit_code::kUnavailable, "server refused the connection: " + text, code);
        }
        if (type != "welcome") continue;
        Welcome welcome;
        welcome.message = *message;
        welcome.server = welcomeString(*message, "server").value_or("");
        welcome.motd = welcomeString(*message, "motd").value_or("");
        welcome.user = welcomeString(*message, "user").value_or(user);
        welcome.room = welcomeString(*message, "room").value_or("");
        if ((*message)->has("max_text") && !intField(*message, "max_text")) badWelcome("whose \"max_text\" is not an integer");
        welcome.maxText = static_cast<std::size_t>(std::max<std::int64_t>(0, intField(*message, "max_text").value_or(0)));
        if ((*message)->has("rate_per_second") && (*message)->get("rate_per_second").isNumeric() &&
            (*message)->has("rate_burst") && (*message)->get("rate_burst").isNumeric()) {
            // Within sane bounds, so that no pacing arithmetic can overflow.
            welcome.ratePerSecond = std::clamp((*message)->getValue<double>("rate_per_second"), 0.0, 1e6);
            welcome.rateBurst = std::clamp((*message)->getValue<double>("rate_burst"), 0.0, 1e6);
            if (welcome.ratePerSecond > 0 && welcome.ratePerSecond < 0.01) welcome.ratePerSecond = 0.01;
        }
        welcome.rooms = welcomeStrings(*message, "rooms");
        welcome.online = welcomeStrings(*message, "online");
        welcome.account = boolField(*message, "account").value_or(false);
        welcome.key = welcomeString(*message, "key").value_or("");
        return welcome;
    }
}

void ServerConnection::send(const Poco::JSON::Object::Ptr& message) {
    const std::string frame = toFrame(message);
    if (tls_) return tls_->write(frame.data(), frame.size());
    std::size_t sent = 0;
    while (sent < frame.size()) {
        const ssize_t n = ::send(fd(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                pollfd p{fd(), POLLOUT, 0};
                ::poll(&p, 1, 1000);
                continue;
            }
            throw ClientError(exit_code::kUnavailable, "connection to server lost");
        }
        sent += static_cast<std::size_t>(n);
    }
}

bool ServerConnection::readAvailable() {
    if (closed_) return false;
    char buffer[16 * 1024];
    if (tls_) {
        // Until OpenSSL wants more from the socket: it may hold decrypted
        // bytes that poll() on the descriptor would never announce.
        for (;;) {
            std::size_t got = 0;
            switch (tls_->read(buffer, sizeof buffer, got)) {
            case TlsStream::Read::Data: decoder_.feed(buffer, got); continue;
            case TlsStream::Read::WouldBlock: return true;
            case TlsStream::Read::Closed: closed_ = true; return false;
            }
        }
    }
    for (;;) {
        const ssize_t n = ::recv(fd(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            decoder_.feed(buffer, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < sizeof buffer) return true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        closed_ = true;
        return false;
    }
}

std::optional<Poco::JSON::Object::Ptr> ServerConnection::nextMessage() {
    auto result = decoder_.next();
    if (result.status == FrameDecoder::Status::NeedMore) return std::nullopt;
    if (result.status == FrameDecoder::Status::Invalid)
        throw ClientError(exit_code::kProtocol, "the server sent an oversized frame (" +
                                                    std::to_string(result.declaredLength) + " bytes); disconnecting");
    auto parsed = parseMessage(result.payload);
    if (!parsed)
        throw ClientError(exit_code::kProtocol,
                          "the server sent a bad frame (" + visibleText(parsed.error) + "); disconnecting");
    return parsed.message;
}

std::optional<Poco::JSON::Object::Ptr> ServerConnection::waitMessage(Clock::time_point deadline) {
    for (;;) {
        if (auto message = nextMessage()) return message;
        if (closed_) throw ClientError(exit_code::kUnavailable, "connection to server lost");
        pollfd p{fd(), POLLIN, 0};
        const int ready = ::poll(&p, 1, millisUntil(deadline));
        if (ready == 0) return std::nullopt;
        if (ready < 0 && errno != EINTR) throw ClientError(exit_code::kUnavailable, "connection to server lost");
        if (ready > 0 && !readAvailable() && decoder_.buffered() == 0)
            throw ClientError(exit_code::kUnavailable, "connection to server lost");
    }
}

void ServerConnection::close() {
    if (tls_ && !closed_) tls_->shutdown();
    try {
        socket_.shutdownSend();
    } catch (const Poco::Exception&) {
    }
    socket_.close();
    closed_ = true;
}

}  // namespace chat

#include "client/server_connection.hpp"

#include "shared/exit_codes.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/Net/NetException.h>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

namespace chat {

namespace {
int millisUntil(ServerConnection::Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ServerConnection::Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}
}  // namespace

ServerConnection::ServerConnection(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    const std::string where = host + ":" + std::to_string(port);
    try {
        socket_.connect(Poco::Net::SocketAddress(host, port), Poco::Timespan(timeout.count() * 1000));
        socket_.setNoDelay(true);
    } catch (const Poco::TimeoutException&) {
        throw ClientError(exit_code::kTempFail, "timed out connecting to " + where);
    } catch (const Poco::Exception& e) {
        throw ClientError(exit_code::kUnavailable, "cannot reach server at " + where + ": " + e.displayText());
    }
}

Welcome ServerConnection::hello(const std::string& user, const std::string& clientName, bool announce,
                                Clock::time_point deadline) {
    auto hello = makeMessage("hello");
    hello->set("version", kProtocolVersion);
    hello->set("user", user);
    hello->set("client", clientName);
    if (!announce) hello->set("announce", false);
    send(hello);
    for (;;) {
        auto message = waitMessage(deadline);
        if (!message) throw ClientError(exit_code::kTempFail, "timed out waiting for the server's welcome");
        const auto type = stringField(*message, "type").value_or("");
        if (type == "error") {
            const auto code = stringField(*message, "code").value_or("");
            const auto text = stringField(*message, "message").value_or(code);
            if (code == "name_invalid") throw ClientError(exit_code::kUsage, text);
            if (code == "version_unsupported") throw ClientError(exit_code::kProtocol, text);
            throw ClientError(exit_code::kUnavailable, "server refused the connection: " + text);
        }
        if (type != "welcome") continue;
        Welcome welcome;
        welcome.message = *message;
        welcome.server = stringField(*message, "server").value_or("");
        welcome.motd = stringField(*message, "motd").value_or("");
        welcome.user = stringField(*message, "user").value_or(user);
        welcome.room = stringField(*message, "room").value_or("");
        welcome.maxText = static_cast<std::size_t>(intField(*message, "max_text").value_or(0));
        if ((*message)->has("rate_per_second") && (*message)->get("rate_per_second").isNumeric() &&
            (*message)->has("rate_burst") && (*message)->get("rate_burst").isNumeric()) {
            welcome.ratePerSecond = (*message)->getValue<double>("rate_per_second");
            welcome.rateBurst = (*message)->getValue<double>("rate_burst");
        }
        if (auto rooms = (*message)->getArray("rooms"))
            for (std::size_t i = 0; i < rooms->size(); ++i) welcome.rooms.push_back(rooms->getElement<std::string>(i));
        if (auto online = (*message)->getArray("online"))
            for (std::size_t i = 0; i < online->size(); ++i) welcome.online.push_back(online->getElement<std::string>(i));
        return welcome;
    }
}

void ServerConnection::send(const Poco::JSON::Object::Ptr& message) {
    const std::string frame = toFrame(message);
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
        throw ClientError(exit_code::kProtocol, "server sent an oversized frame (" +
                                                    std::to_string(result.declaredLength) + " bytes)");
    auto parsed = parseMessage(result.payload);
    if (!parsed) throw ClientError(exit_code::kProtocol, "server sent a bad frame: " + parsed.error);
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
    try {
        socket_.shutdownSend();
    } catch (const Poco::Exception&) {
    }
    socket_.close();
    closed_ = true;
}

}  // namespace chat

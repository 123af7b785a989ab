#pragma once
// A stand-in WebSocket chat server for the engine's WebSocket tests: listens
// on 127.0.0.1 port 0, serves each connection on its own thread with
// blocking sockets, answers the upgrade (checking Origin against Host),
// then records every client frame (masked or not, its mask, the unmasked
// payload), answers hello with welcome and echoes every send as a message
// event, one JSON object per unmasked text frame. A test can also write raw
// bytes to a connection (sendRaw), to feed the client any frame it likes.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench::test {

/// One server frame (FIN set, unmasked) carrying `payload`.
std::string serverFrame(std::uint8_t opcode, const std::string& payload);

class WsStubServer {
public:
    enum class Mode {
        Normal,     ///< a correct 101
        BadAccept,  ///< a 101 with a wrong Sec-WebSocket-Accept
        Refuse,     ///< 403 Forbidden, then close
    };
    /// What the server read from the client: one frame.
    struct ClientFrame {
        bool fin = false;
        bool masked = false;
        std::uint8_t opcode = 0;
        std::uint32_t mask = 0;
        std::string payload;  ///< unmasked
    };

    explicit WsStubServer(Mode mode = Mode::Normal);
    ~WsStubServer();  ///< stops accepting, shuts every connection down, joins the threads
    WsStubServer(const WsStubServer&) = delete;
    WsStubServer& operator=(const WsStubServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::size_t connections() const;
    /// The upgrade request connection `i` sent (empty until it is complete).
    std::string request(std::size_t i) const;
    /// The Origin check: true when connection `i` sent an Origin equal to http://HOST.
    bool originMatched(std::size_t i) const;
    std::vector<ClientFrame> frames(std::size_t i) const;
    /// Writes `bytes` to connection `i` as they are (after its 101).
    void sendRaw(std::size_t i, const std::string& bytes);

private:
    struct Connection {
        int fd = -1;
        std::mutex writing;  // the serving thread and sendRaw both write
        std::string request;            // guarded by WsStubServer::mutex_
        bool originMatched = false;     // guarded by WsStubServer::mutex_
        std::vector<ClientFrame> frames;  // guarded by WsStubServer::mutex_
    };
    void acceptLoop();
    void serve(std::shared_ptr<Connection> connection);
    bool write(Connection& connection, const std::string& bytes);

    Mode mode_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    bool stopping_ = false;  // guarded by mutex_
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Connection>> connections_;  // guarded by mutex_
    std::thread acceptor_;
    std::vector<std::thread> workers_;  // only the acceptor thread adds; joined after it ends
};

}  // namespace bench::test

#pragma once
// Protocol adapters: how the load generator logs in, posts a message and
// reads what a server sends, for our chat protocol, IRC and plain lines.
// Adapters hold no connection state; each connection gets its own Parser.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bench {

/// Something a server said that the load generator cares about. The views
/// point into the parser's buffer and are valid only during onEvent().
struct Event {
    enum class Kind {
        Ready,    ///< logged in (and, if asked, in the room): may send now
        Payload,  ///< a room message; `text` is its text
        Ack,      ///< the server accepted one of our posts
        Error,    ///< the server reported an error; `text` says which
        Left,     ///< `text` left the room; `detail` is the reason given
    };
    Kind kind;
    std::string_view text;
    std::string_view detail;
};

class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void onEvent(const Event& event) = 0;
};

/// Splits one connection's inbound byte stream into events. Bytes may
/// arrive in any split; incomplete units are kept until the rest arrives.
class Parser {
public:
    virtual ~Parser() = default;
    /// Consumes `n` bytes. Events go to `sink`; bytes the client must send
    /// in answer (IRC PONG, the JOIN after registration) are appended to
    /// `reply`. Returns false when the stream is broken beyond repair (a
    /// frame length out of range, a line longer than any server sends).
    bool feed(const char* data, std::size_t n, EventSink& sink, std::string& reply);
    /// For a message transport (WebSocket): handles one whole protocol
    /// message (no stream framing) and appends at most one whole message
    /// the client must send in answer to `reply`. Returns false when this
    /// protocol has no message form (Adapter::hasMessageForm()).
    virtual bool feedMessage(std::string_view /*message*/, EventSink& /*sink*/, std::string& /*reply*/) { return false; }

protected:
    /// Parses complete units at the start of [data, data+n) and returns how
    /// many bytes it consumed, or SIZE_MAX when the stream is broken.
    virtual std::size_t consume(const char* data, std::size_t n, EventSink& sink, std::string& reply) = 0;

private:
    std::string pending_;  // an incomplete unit carried over between feeds
};

struct LoginOptions {
    std::string user;       ///< nick / user name, unique per connection
    bool joinRoom = true;   ///< be a member of the room (else only log in)
};

class Adapter {
public:
    virtual ~Adapter() = default;
    virtual std::string_view name() const = 0;
    /// Bytes to send once the TCP connection is up.
    virtual std::string login(const LoginOptions& options) const = 0;
    virtual std::unique_ptr<Parser> newParser(const LoginOptions& options) const = 0;
    /// Appends the bytes that post `text` to the room; `requestId` numbers it
    /// where the protocol has request ids.
    virtual void appendPost(std::string& out, std::string_view text, std::uint64_t requestId) const = 0;

    // The message form, for transports that carry one protocol message per
    // transport message (WebSocket): the same messages without the stream
    // framing. Only protocols that have one say so.
    virtual bool hasMessageForm() const { return false; }
    /// The login as one message (the bytes login() frames).
    virtual std::string loginMessage(const LoginOptions& /*options*/) const { return {}; }
    /// Appends the one message that posts `text` (what appendPost frames).
    virtual void appendPostMessage(std::string& /*out*/, std::string_view /*text*/, std::uint64_t /*requestId*/) const {}
};

/// "chat", "irc" or "line"; nullptr for any other name.
std::unique_ptr<Adapter> makeAdapter(std::string_view name);

}  // namespace bench

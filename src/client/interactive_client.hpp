#pragma once
// `chat connect`: a person at a terminal, a script piping lines in, or a bot
// speaking JSON lines.

#include "client/event_renderer.hpp"
#include "client/tls_stream.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace chat {

enum class ColorMode { Auto, Always, Never };

struct ConnectOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5050;
    /// TLS (--tls, chats://, `tls = true`); trust as tlsSettings say, and on
    /// a terminal a self-signed certificate is offered for trust on first use.
    bool tls = false;
    TlsSettings tlsSettings;
    std::string user;
    /// Ping a silent server after this long; give up after twice this.
    std::chrono::milliseconds pingInterval{30'000};
    /// Auto: colours when stdin and stdout are terminals, TERM is not
    /// "dumb" and NO_COLOR is unset or empty.
    ColorMode color = ColorMode::Auto;
    Timestamps timestamps = Timestamps::Short;
    Bell bell = Bell::Mention;
    /// The colours of names; nullopt: 256 when TERM names a 256-colour
    /// terminal or COLORTERM is truecolor or 24bit, else the basic 16.
    std::optional<Palette> palette;
    /// On a terminal, reconnect when the connection drops (false: exit 69).
    bool reconnect = true;
    /// One JSON object per line both ways, for bots (see runInteractive).
    bool json = false;
    /// On a terminal: tell the current conversation while the user types
    /// (--no-typing, `typing = false` turn it off), and send read receipts
    /// for private messages shown (--no-read-receipts, `read-receipts = false`).
    bool typing = true;
    bool readReceipts = true;
    /// Where the terminal client keeps its input history; empty: nowhere.
    std::string historyFile;
    /// Where the terminal client keeps /ignore's list; empty: nowhere.
    std::string ignoreFile;
};

/// Runs until the user leaves (exit 0) or the connection is lost (69).
///
/// With stdin and stdout terminals: GNU readline edits the input line while
/// messages print above it; history, Tab completion, paste confirmation,
/// colours, the bell, and reconnection with backoff.
///
/// Otherwise (piped): no prompt and no colours (unless ColorMode::Always);
/// one line per event on stdout, errors on stderr; at end of input it waits
/// until the server has answered every message it sent; a lost connection
/// ends it with 69.
///
/// With `json`: like piped, but stdout carries every message from the
/// server as one compact JSON object per line (pings excepted), and each
/// stdin line that starts with '{' is a request sent as it is (an id is
/// added when missing); any other line is text for the current room.
int runInteractive(const ConnectOptions& options);

}  // namespace chat

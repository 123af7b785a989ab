#pragma once
// Where a guest name's key is kept between processes of the same person, so
// that a second `chat connect` or a `chat send` as oneself is let in while
// the first session is online (docs/protocol.md, "Names").

#include <cstdint>
#include <string>

namespace chat {

/// The file for `name` on host:port: $XDG_RUNTIME_DIR/chat/keys/HOST_PORT/NAMEKEY,
/// else under $XDG_STATE_HOME (~/.local/state)/chat/keys/. Empty when no
/// directory can be named.
std::string guestKeyPath(const std::string& host, std::uint16_t port, const std::string& name);

/// The key saved for `name`, or empty.
std::string loadGuestKey(const std::string& host, std::uint16_t port, const std::string& name);

/// Saves `key` (mode 0600, directories 0700); an empty key removes the
/// file. Failures are ignored: a key that cannot be saved only means that
/// further sessions of the name are refused name_in_use.
void saveGuestKey(const std::string& host, std::uint16_t port, const std::string& name, const std::string& key);

}  // namespace chat

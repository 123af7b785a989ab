#pragma once
// Which connections count as "from one address" for --max-per-ip.

#include <string>

namespace chat {

/// The address group of a peer address (no port): an IPv4 address alone
/// (also when written IPv4-mapped, ::ffff:a.b.c.d), an IPv6 address by its
/// /64 prefix, since one host or customer commonly holds a whole /64.
/// Anything unparseable is its own group.
std::string ipGroup(const std::string& address);

/// True for 127.0.0.0/8, ::1 and their IPv4-mapped forms: a peer on this
/// host, whose traffic never crosses a network.
bool isLoopbackAddress(const std::string& address);

}  // namespace chat

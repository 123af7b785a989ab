#pragma once
// The listening socket of the engine tests' stub servers.

#include <cstdint>
#include <string>

namespace bench::test {

/// A TCP socket listening on 127.0.0.1, on the port the kernel picked.
struct LoopbackListener {
    int fd = -1;             ///< owned by the caller, who shuts it down and closes it
    std::uint16_t port = 0;  ///< host byte order
};

/// Opens a close-on-exec socket listening on 127.0.0.1 port 0 (backlog 64).
/// Throws std::runtime_error("WHO: cannot listen") if any step fails.
LoopbackListener listenOnLoopback(const std::string& who);

}  // namespace bench::test

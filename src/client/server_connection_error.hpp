#pragma once
// The exception that ends a client command with a sysexits code.

#include <stdexcept>
#include <string>
#include <utility>

namespace chat {

/// A failure that ends a client command, with the sysexits code to exit with.
class ClientError : public std::runtime_error {
public:
    ClientError(int exitCode, const std::string& message, std::string code = {})
        : std::runtime_error(message), exitCode_(exitCode), code_(std::move(code)) {}
    int exitCode() const { return exitCode_; }
    /// The server's error code when the server refused ("auth_failed"), else empty.
    const std::string& code() const { return code_; }

private:
    int exitCode_;
    std::string code_;
};

}  // namespace chat

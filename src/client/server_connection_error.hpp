#pragma once
// The exception that ends a client command with a sysexits code.

#include <stdexcept>
#include <string>

namespace chat {

/// A failure that ends a client command, with the sysexits code to exit with.
class ClientError : public std::runtime_error {
public:
    ClientError(int exitCode, const std::string& message) : std::runtime_error(message), exitCode_(exitCode) {}
    int exitCode() const { return exitCode_; }

private:
    int exitCode_;
};

}  // namespace chat

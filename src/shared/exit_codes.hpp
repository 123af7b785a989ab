#pragma once
// Process exit codes, from sysexits.h, named for what they mean here.

#include <sysexits.h>

namespace chat::exit_code {
inline constexpr int kOk = EX_OK;                   // 0: done, every message delivered
inline constexpr int kUsage = EX_USAGE;             // 64: wrong flags or arguments
inline constexpr int kDataError = EX_DATAERR;       // 65: message text refused
inline constexpr int kNoInput = EX_NOINPUT;         // 66: a TLS certificate or key file unreadable or unusable
inline constexpr int kNoUser = EX_NOUSER;           // 67: no such user online
inline constexpr int kUnavailable = EX_UNAVAILABLE; // 69: server unreachable or connection lost
inline constexpr int kSoftware = EX_SOFTWARE;       // 70: internal error
inline constexpr int kOsError = EX_OSERR;           // 71: could not listen, out of resources
inline constexpr int kCantCreate = EX_CANTCREAT;    // 73: --generate-cert would overwrite, or cannot write
inline constexpr int kStorage = EX_IOERR;           // 74: delivered, but the server could not store it
inline constexpr int kTempFail = EX_TEMPFAIL;       // 75: timed out
inline constexpr int kProtocol = EX_PROTOCOL;       // 76: the peer broke the protocol
inline constexpr int kUntrusted = EX_NOPERM;        // 77: the server's TLS certificate cannot be trusted
// A refused login is the caller's configuration (a wrong CHAT_PASSWORD, a
// registered --user without one), not an untrusted certificate (77), so
// EX_CONFIG.
inline constexpr int kAuth = EX_CONFIG;             // 78: auth_required, auth_failed or auth_insecure
}  // namespace chat::exit_code

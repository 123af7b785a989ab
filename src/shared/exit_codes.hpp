#pragma once
// Process exit codes, from sysexits.h, named for what they mean here.

#include <sysexits.h>

namespace chat::exit_code {
inline constexpr int kOk = EX_OK;                   // 0: done, every message delivered
inline constexpr int kUsage = EX_USAGE;             // 64: wrong flags or arguments
inline constexpr int kDataError = EX_DATAERR;       // 65: message text refused
inline constexpr int kNoUser = EX_NOUSER;           // 67: no such user online
inline constexpr int kUnavailable = EX_UNAVAILABLE; // 69: server unreachable or connection lost
inline constexpr int kSoftware = EX_SOFTWARE;       // 70: internal error
inline constexpr int kOsError = EX_OSERR;           // 71: could not listen, out of resources
inline constexpr int kStorage = EX_IOERR;           // 74: delivered, but the server could not store it
inline constexpr int kTempFail = EX_TEMPFAIL;       // 75: timed out
inline constexpr int kProtocol = EX_PROTOCOL;       // 76: the peer broke the protocol
// 77 (EX_NOPERM) is the TLS client's "certificate untrusted"; a refused login
// is the caller's configuration (a wrong CHAT_PASSWORD, a registered --user
// without one), so EX_CONFIG.
inline constexpr int kAuth = EX_CONFIG;             // 78: auth_required, auth_failed or auth_insecure
}  // namespace chat::exit_code

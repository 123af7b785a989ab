#pragma once
// Peer text made safe to repeat: in error messages sent back to peers, and in
// the server's log. A peer chooses every byte of a name, a type, a JSON
// parser's complaint about its frame; repeating them verbatim would send
// invalid UTF-8 on the wire, let one peer's bytes drive another terminal
// (ESC, BEL, C1 controls), and let a 64 KiB name make a 64 KiB error.

#include <cstddef>
#include <string>
#include <string_view>

namespace chat {

/// The most bytes of rendered peer text these functions return, not
/// counting quotes and the ellipsis.
inline constexpr std::size_t kMaxQuotedBytes = 64;

/// `peerText` bounded and printable: every byte that is not printable is
/// written as `\xNN` (two uppercase hex digits): C0 controls (ESC, BEL, NUL,
/// newline, tab...), DEL, the C1 controls U+0080-U+009F (both bytes of their
/// encoding), and every byte that is not part of a well-formed UTF-8
/// sequence. Printable UTF-8 passes unchanged (backslashes included: the
/// result is for people, not to be decoded). At most kMaxQuotedBytes bytes
/// of that rendering are kept, cut between characters (an escape is never
/// split), then "…" (U+2026) if anything was left out: at most 67 bytes,
/// always valid UTF-8, never a control character.
std::string printableExcerpt(std::string_view peerText);

/// printableExcerpt(peerText) in single quotes, for error messages:
/// "invalid user name " + quoteForError(name) gives
/// "invalid user name 'nnnn…'". At most 69 bytes.
std::string quoteForError(std::string_view peerText);

/// printableExcerpt(peerText), for log lines: what a peer may put into the
/// server's log. It supersedes the ASCII-only `loggable` of
/// src/server/session_requests.cpp, which turned every non-ASCII byte into
/// '?' and so lost names and messages in other scripts.
std::string loggable(std::string_view peerText);

}  // namespace chat

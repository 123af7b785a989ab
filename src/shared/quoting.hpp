#pragma once
// Peer text made safe to echo in an error message or a log line.

#include <string>
#include <string_view>

namespace chat {

/// At most 64 bytes of `peerText` (cut at a character boundary, "…" added
/// when cut), in single quotes, with every byte that is not printable UTF-8
/// (C0, DEL, C1, invalid sequences) written as \xNN.
std::string quoteForError(std::string_view peerText);

}  // namespace chat

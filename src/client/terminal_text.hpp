#pragma once
// Text from the server made safe for a terminal, and long lines wrapped so
// that a continuation can never pass for a new line. The client trusts
// nothing on the wire: the transport is plaintext and a server may be hostile.

#include <cstddef>
#include <string>
#include <string_view>

namespace chat {

/// `text` with everything a terminal would act on, or that would hide or
/// reorder what is shown, made visible:
/// - C0 controls except tab, and DEL, in caret notation ("^[" for ESC,
///   "^G" for BEL, "^?" for DEL), so no escape sequence survives;
/// - C1 controls (U+0080-U+009F), bidirectional controls (U+200E/F,
///   U+202A-U+202E, U+2066-U+2069, U+061C), zero-width and other invisible
///   format characters (U+200B-U+200D, U+2060-U+2064, U+FEFF, U+00AD,
///   U+034F, U+180E, Hangul fillers), the line and paragraph separators
///   U+2028/U+2029 and tag characters (U+E0000-U+E007F) as "<U+202E>";
///   a zero-width joiner between two symbols (emoji sequences) is kept;
/// - bytes that are not UTF-8 as U+FFFD.
/// Text without any of these comes back unchanged.
std::string visibleText(std::string_view text);

/// The number of terminal columns `text` takes, ignoring ANSI escape
/// sequences (CSI ... final byte); wide East Asian characters and most
/// emoji count 2, combining marks 0, a tab up to the next multiple of 8.
std::size_t displayWidth(std::string_view text);

/// `line` broken into rows of at most `columns` columns, preferring to break
/// at a space; every row after the first starts with `indent` spaces
/// (at most half the width). Colours active at a break are ended before the
/// newline and taken up again after the indent. `columns` 0: unchanged.
std::string wrapLine(std::string_view line, std::size_t columns, std::size_t indent);

}  // namespace chat

#pragma once
// The input line of the terminal client: GNU readline's callback interface,
// fed by the caller's poll loop, so that the keyboard and the socket are
// served together. Lines printed with printAbove appear above the input
// line, which is then drawn again with its text and cursor as they were.

#include "client/completion.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

/// Readline is one global state: at most one LineEditor exists at a time,
/// and only on the thread that polls stdin. Construction takes the terminal
/// (raw mode, prompt shown); destruction gives it back, with the input line
/// erased and the cursor at the start of a fresh line.
class LineEditor {
public:
    using Completer = std::function<Completion(std::string_view beforeCursor)>;

    /// `historyFile`: where input history is loaded from and appended to
    /// (directories are created; at most kHistorySize entries are kept);
    /// empty keeps history for this run only.
    LineEditor(const std::string& prompt, std::string historyFile, Completer completer);
    ~LineEditor();
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    static constexpr int kHistorySize = 1000;

    /// Reads one key from stdin and acts on it; call when stdin is readable.
    void readInput();
    /// Lines accepted with Enter since the last call, in order.
    std::vector<std::string> takeLines();
    /// Commands asked for with keys since the last call: Ctrl-N "/switch"
    /// (the next room or query, unread first), Ctrl-P "/switch -" (the
    /// previous one), Alt-1 ... Alt-9 "/switch N", as irssi has them. They
    /// are not input history.
    std::vector<std::string> takeCommands();
    /// The text of the input line now (what the user is typing).
    std::string text() const;
    /// True once Ctrl-D was pressed on an empty line.
    bool endOfInput() const { return eof_; }

    /// Prints `text` (newline added) above the input line, on stdout or stderr.
    void printAbove(const std::string& text, bool toStderr = false);
    void setPrompt(const std::string& prompt);
    /// The terminal's width in columns (0 when unknown).
    std::size_t columns() const;
    /// Rings the terminal bell. Readline's own bell is off: the bell is
    /// only ever this call.
    void bell();
    /// Adds a line to the history (blank lines and repeats of the last entry
    /// are skipped) and appends it to the history file.
    void remember(const std::string& line);

    enum class Interrupt { Cleared, Leave };
    /// Ctrl-C: clears the input line. Leave when the line was empty and
    /// nothing was typed since the previous Ctrl-C.
    Interrupt interrupt();

    /// The input line's text and cursor, taken away (the line is left empty),
    /// and put back.
    struct Stash {
        std::string text;
        int point = 0;
    };
    Stash stash();
    void unstash(const Stash& stash);

    /// SIGWINCH: take the new size and redraw.
    void resize();
    /// Around stopping the process (Ctrl-Z): give the terminal back, take it again.
    void suspend();
    void resume();

private:
    friend struct LineEditorHooks;
    void accepted(const std::string& text);

    std::string prompt_;
    std::string historyFile_;
    Completer completer_;
    std::vector<std::string> lines_;
    std::vector<std::string> commands_;
    bool eof_ = false;
    bool armed_ = false;  ///< the last key was a Ctrl-C
};

}  // namespace chat

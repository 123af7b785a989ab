#include "client/line_editor.hpp"

#include "client/terminal_text.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

namespace chat {

namespace {
LineEditor* current = nullptr;

/// mkdir -p for the directories above `file`, private to the user.
void makeParents(const std::string& file) {
    for (auto slash = file.find('/', 1); slash != std::string::npos; slash = file.find('/', slash + 1)) {
        const auto dir = file.substr(0, slash);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return;
    }
}

char* copy(const std::string& text) {
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

/// Ends the line being edited as readline itself does when it accepts a
/// line: a history entry edited in place gets its old text back, the line
/// saved before moving through history is dropped, the line is emptied and
/// history browsing starts again from the newest entry.
void finishLine() {
    if (current_history() && rl_undo_list) {
        rl_revert_line(1, 0);
        if (HIST_ENTRY* old = replace_history_entry(where_history(), rl_line_buffer, nullptr)) free_history_entry(old);
    }
    rl_maybe_unsave_line();
    rl_replace_line("", 1);
    rl_point = rl_mark = 0;
    using_history();
}

/// Redraws the prompt and line from the start of the (cleared) input line.
void redraw() {
    rl_forced_update_display();
    std::fflush(rl_outstream);
}
}  // namespace

/// Readline calls plain functions; these reach the one LineEditor.
struct LineEditorHooks {
    static int accept(int, int) {
        const std::string text(rl_line_buffer, static_cast<std::size_t>(rl_end));
        finishLine();
        if (current) current->accepted(text);
        return 0;
    }

    static int switchNext(int, int) {
        if (current) current->commands_.push_back("/switch");
        return 0;
    }
    static int switchPrevious(int, int) {
        if (current) current->commands_.push_back("/switch -");
        return 0;
    }
    /// Alt-1 ... Alt-9: readline passes the digit as the key.
    static int switchTo(int, int key) {
        if (current && key >= '1' && key <= '9') current->commands_.push_back("/switch " + std::string(1, char(key)));
        return 0;
    }

    /// Readline's own end of a line: EOF (null) or an accept-line bound by the user.
    static void handler(char* line) {
        if (!current) return;
        if (!line) {
            current->eof_ = true;
            return;
        }
        current->accepted(line);
        std::free(line);
    }

    static char** complete(const char*, int, int) {
        rl_attempted_completion_over = 1;  // never fall back to file names
        rl_completion_suppress_append = 1;
        if (!current || !current->completer_) return nullptr;
        const auto completion =
            current->completer_(std::string_view(rl_line_buffer, static_cast<std::size_t>(rl_point)));
        const auto& candidates = completion.candidates;
        if (candidates.empty()) return nullptr;
        auto** matches = static_cast<char**>(std::malloc((candidates.size() + 2) * sizeof(char*)));
        if (candidates.size() == 1) {
            matches[0] = copy(candidates[0] + completion.suffix);
            matches[1] = nullptr;
            return matches;
        }
        matches[0] = copy(commonPrefix(candidates));
        for (std::size_t i = 0; i < candidates.size(); ++i) matches[i + 1] = copy(candidates[i]);
        matches[candidates.size() + 1] = nullptr;
        return matches;
    }
};

LineEditor::LineEditor(const std::string& prompt, std::string historyFile, Completer completer)
    : prompt_(prompt), historyFile_(std::move(historyFile)), completer_(std::move(completer)) {
    current = this;
    rl_readline_name = "chat";  // for $if chat in ~/.inputrc
    rl_catch_signals = 0;       // the caller's poll loop handles signals
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_instream = stdin;
    rl_outstream = stdout;
    rl_basic_word_break_characters = " ";
    rl_completer_word_break_characters = " ";
    rl_attempted_completion_function = LineEditorHooks::complete;
    // Pasted lines arrive as typed lines, each accepted by its newline, so
    // that the caller can tell a paste from typing and confirm large ones.
    rl_variable_bind("enable-bracketed-paste", "off");

    using_history();
    stifle_history(kHistorySize);
    if (!historyFile_.empty()) {
        makeParents(historyFile_);
        const int fd = ::open(historyFile_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) ::close(fd);
        read_history(historyFile_.c_str());
        history_truncate_file(historyFile_.c_str(), kHistorySize);
    }

    rl_callback_handler_install(prompt_.c_str(), LineEditorHooks::handler);
    // Enter takes the line without leaving it on the screen: what was sent
    // comes back from the server and is shown above, like everything else.
    for (Keymap map : {emacs_standard_keymap, vi_insertion_keymap, vi_movement_keymap}) {
        rl_bind_key_in_map('\r', LineEditorHooks::accept, map);
        rl_bind_key_in_map('\n', LineEditorHooks::accept, map);
    }
    for (Keymap map : {emacs_standard_keymap, vi_insertion_keymap}) {
        rl_bind_key_in_map(CTRL('N'), LineEditorHooks::switchNext, map);
        rl_bind_key_in_map(CTRL('P'), LineEditorHooks::switchPrevious, map);
    }
    for (char digit = '1'; digit <= '9'; ++digit) {
        const char sequence[] = {'\033', digit, '\0'};
        rl_bind_keyseq_in_map(sequence, LineEditorHooks::switchTo, emacs_standard_keymap);
    }
    // The terminal bell means a mention or a DM (--bell), nothing else:
    // readline would ring it on every Enter (rl_maybe_unsave_line with no
    // saved line), at the end of history and on a failed completion.
    rl_variable_bind("bell-style", "none");
}

LineEditor::~LineEditor() {
    rl_clear_visible_line();
    std::fflush(rl_outstream);
    rl_callback_handler_remove();
    if (!historyFile_.empty()) history_truncate_file(historyFile_.c_str(), kHistorySize);
    current = nullptr;
}

void LineEditor::readInput() {
    armed_ = false;
    rl_callback_read_char();
}

void LineEditor::accepted(const std::string& text) { lines_.push_back(text); }

std::vector<std::string> LineEditor::takeCommands() {
    std::vector<std::string> out;
    out.swap(commands_);
    return out;
}

std::vector<std::string> LineEditor::takeLines() {
    std::vector<std::string> out;
    out.swap(lines_);
    return out;
}

void LineEditor::printAbove(const std::string& text, bool toStderr) {
    rl_clear_visible_line();
    std::fflush(rl_outstream);
    std::FILE* stream = toStderr ? stderr : stdout;
    std::fwrite(text.data(), 1, text.size(), stream);
    std::fputc('\n', stream);
    std::fflush(stream);
    redraw();
}

std::size_t LineEditor::columns() const {
    int rows = 0, cols = 0;
    rl_get_screen_size(&rows, &cols);
    return cols > 0 ? static_cast<std::size_t>(cols) : 0;
}

void LineEditor::setPrompt(const std::string& prompt) {
    if (prompt == prompt_) return;
    prompt_ = prompt;
    rl_clear_visible_line();
    rl_set_prompt(prompt_.c_str());
    redraw();
}

void LineEditor::bell() {
    std::fputc('\a', rl_outstream);
    std::fflush(rl_outstream);
}

void LineEditor::remember(const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    if (history_length > 0) {
        if (HIST_ENTRY* last = history_get(history_base + history_length - 1); last && line == last->line) return;
    }
    add_history(line.c_str());
    using_history();
    if (!historyFile_.empty()) append_history(1, historyFile_.c_str());
}

LineEditor::Interrupt LineEditor::interrupt() {
    const bool wasEmpty = rl_end == 0;
    if (armed_ && wasEmpty) return Interrupt::Leave;
    rl_callback_sigcleanup();  // ends an incremental search or a half-typed key sequence
    rl_clear_visible_line();
    finishLine();
    rl_set_prompt(prompt_.c_str());
    redraw();
    if (wasEmpty) printAbove("(press Ctrl-C again to leave)");
    armed_ = true;
    return Interrupt::Cleared;
}

std::string LineEditor::text() const {
    return rl_line_buffer ? std::string(rl_line_buffer, static_cast<std::size_t>(rl_end)) : std::string();
}

LineEditor::Stash LineEditor::stash() {
    Stash saved{std::string(rl_line_buffer, static_cast<std::size_t>(rl_end)), rl_point};
    rl_clear_visible_line();
    finishLine();
    redraw();
    return saved;
}

void LineEditor::unstash(const Stash& saved) {
    rl_clear_visible_line();
    rl_replace_line(saved.text.c_str(), 1);
    rl_point = std::min(saved.point, rl_end);
    redraw();
}

void LineEditor::resize() {
    // Most terminals (tmux, VTE, kitty, Konsole, Windows Terminal) re-wrap
    // their lines on a resize: the input line then takes as many rows above
    // the cursor as the prompt and the text before the cursor fill at the
    // new width, and those rows are erased before drawing it again, so that
    // no fragment of it stays behind. xterm does not re-wrap (it sets
    // XTERM_VERSION); there, and whenever in doubt, the input is drawn again
    // from the cursor's row only: at worst a fragment stays, but a message is
    // never erased.
    rl_reset_screen_size();
    const auto width = columns();
    if (width > 0 && !std::getenv("XTERM_VERSION")) {
        const auto before = displayWidth(prompt_) +
                            displayWidth(std::string_view(rl_line_buffer, static_cast<std::size_t>(rl_point)));
        if (const auto rows = before / width; rows > 0) std::fprintf(rl_outstream, "\033[%zuA", rows);
    }
    std::fputs("\r\033[J", rl_outstream);
    redraw();
}

void LineEditor::suspend() {
    rl_clear_visible_line();
    std::fflush(rl_outstream);
    (*rl_deprep_term_function)();
}

void LineEditor::resume() {
    (*rl_prep_term_function)(1);
    redraw();
}

}  // namespace chat

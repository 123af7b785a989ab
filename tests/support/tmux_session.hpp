#pragma once
// The real `chat connect` on a terminal, for end-to-end tests: a tmux server
// of its own (tmux -L with a unique socket name) with one window running the
// client, driven with send-keys and read with capture-pane.

#include "support/temp_dir.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chat::test {

/// One tmux server and its 120x30 window. The destructor ends a client still
/// running (SIGTERM to it alone) and then runs kill-server for this server's
/// socket only; other tmux servers are never touched.
/// The window stays after the client exits, so its exit status can be read.
class TmuxSession {
public:
    /// Runs `chat ARGS...` (CHAT_BINARY) in the window with `env` added to
    /// the environment; NO_COLOR is removed unless `env` sets it. LANG is
    /// C.UTF-8 and XDG_STATE_HOME and XDG_CONFIG_HOME point into a private
    /// directory (the same one for every client of this TmuxSession).
    /// With `stdoutFile`, the client's stdout goes to that file instead.
    explicit TmuxSession(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                         const std::string& stdoutFile = {});
    ~TmuxSession();
    TmuxSession(const TmuxSession&) = delete;
    TmuxSession& operator=(const TmuxSession&) = delete;

    /// Starts the client again in the same window once it has exited.
    void restart(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

    /// Types text literally (send-keys -l).
    void type(const std::string& text);
    /// Sends key names (send-keys: "Enter", "Left", "Up", "Tab", "C-c", "C-d", ...).
    void keys(const std::vector<std::string>& names);

    /// From now on, appends every byte the client writes to the terminal to
    /// `file` (tmux pipe-pane): the raw output, bells and escapes included.
    void pipeOutput(const std::string& file);

    /// Resizes the window (the client gets SIGWINCH).
    void resize(int columns, int rows);

    /// The screen's lines, trailing blanks removed; with `escapes`, with the
    /// SGR sequences of colours and attributes (capture-pane -e).
    std::vector<std::string> screen(bool escapes = false);
    std::string screenText(bool escapes = false);
    struct Cursor {
        int x = -1, y = -1;
        bool operator==(const Cursor& o) const { return x == o.x && y == o.y; }
    };
    Cursor cursor();

    /// Polls the screen until `ready(screen lines)` holds, or `wait` passes.
    bool waitFor(const std::function<bool(const std::vector<std::string>&)>& ready,
                 std::chrono::milliseconds wait = std::chrono::seconds(10));
    /// Polls until some line of the screen contains `needle`.
    bool waitForText(const std::string& needle, std::chrono::milliseconds wait = std::chrono::seconds(10));
    /// The client's exit status once it has exited, or nullopt after `wait`.
    std::optional<int> waitForExit(std::chrono::milliseconds wait = std::chrono::seconds(10));

    const std::string& stateDir() const { return dir_.path(); }

private:
    std::string command(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                        const std::string& stdoutFile = {}) const;
    std::string tmux(std::vector<std::string> args);
    /// Ends a client still running (SIGTERM) and waits for it; see the definition.
    void endClient();
    std::string statusFile() const;

    TempDir dir_;
    std::string socket_;
    std::string socketPath_;
};

/// The index of the last line of `screen` that contains `needle`, or -1.
int findLine(const std::vector<std::string>& screen, const std::string& needle);

}  // namespace chat::test

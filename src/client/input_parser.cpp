#include "client/input_parser.hpp"

namespace chat {

namespace {
std::string_view trimRight(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    return s;
}

/// Splits "word rest" at the first space; rest loses its leading spaces.
std::pair<std::string_view, std::string_view> splitWord(std::string_view s) {
    const auto space = s.find(' ');
    if (space == std::string_view::npos) return {s, {}};
    auto rest = s.substr(space + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return {s.substr(0, space), rest};
}

InputCommand direct(std::string_view target, std::string_view text, std::string_view usage) {
    InputCommand command;
    if (target.empty() || text.empty()) {
        command.kind = InputCommand::Kind::Invalid;
        command.error = "usage: " + std::string(usage);
        return command;
    }
    command.kind = InputCommand::Kind::Direct;
    command.target = std::string(target);
    command.text = std::string(text);
    return command;
}
}  // namespace

InputCommand parseInput(std::string_view raw) {
    const auto line = trimRight(raw);
    InputCommand command;
    if (line.find_first_not_of(" \t") == std::string_view::npos) return command;
    if (line == "quit" || line == "exit") {
        command.kind = InputCommand::Kind::Quit;
        return command;
    }
    if (line.substr(0, 2) == "//") {
        command.kind = InputCommand::Kind::Say;
        command.text = std::string(line.substr(1));
        return command;
    }
    if (line.front() == '@') {
        auto [target, text] = splitWord(line.substr(1));
        return direct(target, text, "@user message");
    }
    if (line.front() != '/') {
        command.kind = InputCommand::Kind::Say;
        command.text = std::string(line);
        return command;
    }
    auto [name, rest] = splitWord(line.substr(1));
    if (name == "quit" || name == "exit") {
        command.kind = InputCommand::Kind::Quit;
    } else if (name == "who") {
        command.kind = InputCommand::Kind::Who;
    } else if (name == "help") {
        command.kind = InputCommand::Kind::Help;
    } else if (name == "msg") {
        auto [target, text] = splitWord(rest);
        return direct(target, text, "/msg user message");
    } else {
        command.kind = InputCommand::Kind::Invalid;
        command.error = "unknown command /" + std::string(name) + " (try /help)";
    }
    return command;
}

std::string inputHelp() {
    return "Commands:\n"
           "  text              send text to the room\n"
           "  @user text        send a private message to user\n"
           "  /msg user text    the same\n"
           "  /who              list who is online\n"
           "  /help             show this help\n"
           "  /quit             leave (also: quit, exit, Ctrl-D, Ctrl-C)\n"
           "  //text            send text that starts with a slash\n";
}

}  // namespace chat

#include "client/input_parser.hpp"

#include "shared/validation.hpp"

#include <algorithm>
#include <cctype>

namespace chat {

namespace {
using Kind = InputCommand::Kind;

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

InputCommand invalid(std::string error) {
    InputCommand c;
    c.kind = Kind::Invalid;
    c.error = std::move(error);
    return c;
}

InputCommand usage(std::string_view name);

InputCommand make(Kind kind, std::string target = {}, std::string room = {}, std::string text = {}) {
    InputCommand c;
    c.kind = kind;
    c.target = std::move(target);
    c.room = std::move(room);
    c.text = std::move(text);
    return c;
}

/// "dev" and "#dev" both name #dev.
std::string roomName(std::string_view word) {
    return word.empty() || word.front() == '#' ? std::string(word) : "#" + std::string(word);
}

InputCommand checkedRoom(Kind kind, std::string_view word, std::string text = {}) {
    const auto room = roomName(word);
    if (!isValidRoomName(room)) return invalid("invalid room name '" + room + "': use # and 1-32 characters of A-Z a-z 0-9 _ . -");
    return make(kind, {}, room, std::move(text));
}

InputCommand checkedUser(Kind kind, std::string_view name, std::string text = {}) {
    if (!isValidName(name)) return invalid("invalid user name '" + std::string(name) + "': use 1-32 characters of A-Z a-z 0-9 _ . -");
    return make(kind, std::string(name), {}, std::move(text));
}

/// "/msg bob text", "/msg @bob text" and, as irssi has it, "/msg #room text".
InputCommand direct(std::string_view rest, std::string_view name) {
    auto [target, text] = splitWord(rest);
    if (target.empty() || text.empty()) return usage(name);
    if (target.front() == '#') return checkedRoom(Kind::Say, target, std::string(text));
    if (target.front() == '@') target.remove_prefix(1);
    return checkedUser(Kind::Direct, target, std::string(text));
}

std::string lower(std::string_view word) {
    std::string out(word);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

const CommandHelp* findCommand(std::string_view name) {
    for (const auto& c : commandHelp())
        if (c.name == name || std::find(c.aliases.begin(), c.aliases.end(), name) != c.aliases.end()) return &c;
    return nullptr;
}

InputCommand usage(std::string_view name) {
    const auto* help = findCommand(name);
    return invalid("usage: " + (help ? help->usage : std::string(name)));
}

InputCommand parseCommand(std::string_view typed, std::string_view rest) {
    const auto folded = lower(typed);  // /QUIT and /Join work too
    const std::string_view name = folded;
    const auto* help = findCommand(name);
    if (!help) return invalid("unknown command /" + std::string(name) + " (try /help)");
    const auto& n = help->name;
    if (n == "quit") return make(Kind::Quit);
    if (n == "help") return make(Kind::Help, std::string(splitWord(rest).first));
    if (n == "msg") return direct(rest, name);
    if (n == "reply") return rest.empty() ? usage(name) : make(Kind::Reply, {}, {}, std::string(rest));
    if (n == "me") return rest.empty() ? usage(name) : make(Kind::Action, {}, {}, std::string(rest));
    if (n == "join") {
        auto [room, extra] = splitWord(rest);
        if (room.empty() || !extra.empty()) return usage(name);
        return checkedRoom(Kind::Join, room);
    }
    if (n == "leave") {
        auto [room, extra] = splitWord(rest);
        if (!extra.empty()) return usage(name);
        return room.empty() ? make(Kind::Leave) : checkedRoom(Kind::Leave, room);
    }
    if (n == "rooms") return rest.empty() ? make(Kind::Rooms) : usage(name);
    if (n == "topic") {
        if (rest.empty() || rest.front() != '#') return make(Kind::Topic, {}, {}, std::string(rest));
        auto [room, text] = splitWord(rest);
        return checkedRoom(Kind::Topic, room, std::string(text));
    }
    if (n == "who") {
        auto [room, extra] = splitWord(rest);
        if (!extra.empty()) return usage(name);
        if (room.empty()) return name == "names" ? make(Kind::Who, {}, {}, "here") : make(Kind::Who);
        return checkedRoom(Kind::Who, room);
    }
    if (n == "whois" || n == "nick") {
        auto [user, extra] = splitWord(rest);
        if (user.empty()) return usage(name);
        if (!extra.empty())
            return invalid("a name is one word of 1-32 characters of A-Z a-z 0-9 _ . - (e.g. /" + std::string(name) +
                           " alice_2)");
        return checkedUser(n == "whois" ? Kind::Whois : Kind::Nick, user);
    }
    if (n == "query" || n == "ignore" || n == "unignore") {
        auto [user, extra] = splitWord(rest);
        if (!extra.empty() || (user.empty() && n == "unignore")) return usage(name);
        if (!user.empty() && user.front() == '@') user.remove_prefix(1);
        const auto kind = n == "query" ? Kind::Query : n == "ignore" ? Kind::Ignore : Kind::Unignore;
        return rest.empty() ? make(kind) : checkedUser(kind, user);
    }
    if (n == "switch") {
        auto [where, extra] = splitWord(rest);
        if (!extra.empty()) return usage(name);
        if (where.empty()) return make(Kind::Switch);
        if (where == "-") return make(Kind::Switch, {}, {}, "previous");
        if (std::all_of(where.begin(), where.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            return where.size() > 3 ? usage(name) : make(Kind::Switch, {}, {}, std::string(where));
        if (where.front() == '@') return checkedUser(Kind::Switch, where.substr(1));
        return checkedRoom(Kind::Switch, where);
    }
    if (n == "history") {
        auto [first, more] = splitWord(rest);
        auto [second, extra] = splitWord(more);
        if (!extra.empty()) return usage(name);
        InputCommand c = make(Kind::History);
        std::string_view count = first;
        if (!first.empty() && (first.front() == '#' || first.front() == '@')) {
            c = first.front() == '#' ? checkedRoom(Kind::History, first) : checkedUser(Kind::History, first.substr(1));
            if (c.kind == Kind::Invalid) return c;
            count = second;
        } else if (!second.empty()) {
            return usage(name);
        }
        if (count.empty()) return c;
        const bool digits = std::all_of(count.begin(), count.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
        if (!digits && count.front() != '-' && count.front() != '+') return usage(name);
        const auto value = digits && count.size() <= 3 ? std::stoul(std::string(count)) : 0;
        if (value < 1 || value > kHistoryMax)
            return invalid("/history shows 1 to " + std::to_string(kHistoryMax) + " events (default " +
                           std::to_string(kHistoryDefault) + "), not '" + std::string(count) + "'");
        c.limit = value;
        return c;
    }
    if (n == "search") {
        auto [first, words] = splitWord(rest);
        InputCommand c = make(Kind::Search, {}, {}, std::string(rest));
        if (!first.empty() && first.front() == '#') {
            if (words.empty()) return usage(name);
            c = checkedRoom(Kind::Search, first, std::string(words));
            if (c.kind == Kind::Invalid) return c;
        }
        if (c.text.empty()) return usage(name);
        if (c.text.size() > kSearchMaxBytes)
            return invalid("search for at most " + std::to_string(kSearchMaxBytes) + " bytes of words");
        return c;
    }
    if (n == "away") return make(Kind::Away, {}, {}, std::string(rest));
    if (n == "back") return make(Kind::Back);
    if (n == "register") return make(Kind::Register);
    if (n == "bell" || n == "timestamps") {
        static const std::vector<std::string> bell{"off", "mention", "all"}, timestamps{"off", "short", "long"};
        const auto& allowed = n == "bell" ? bell : timestamps;
        if (!rest.empty() && std::find(allowed.begin(), allowed.end(), rest) == allowed.end()) return usage(name);
        return make(n == "bell" ? Kind::Bell : Kind::Timestamps, {}, {}, std::string(rest));
    }
    return invalid("unknown command /" + std::string(name) + " (try /help)");
}
}  // namespace

const std::vector<CommandHelp>& commandHelp() {
    static const std::vector<CommandHelp> commands{
        {"msg", {"whisper", "w"}, "/msg user text", "a private message; /msg #room text: to a room"},
        {"reply", {"r"}, "/reply text", "answer whoever last sent you a private message"},
        {"me", {}, "/me text", "describe an action: '* alice waves'"},
        {"join", {"j"}, "/join #room", "join a room (creating it) and make it current"},
        {"leave", {"part"}, "/leave [#room]", "leave a room (default: the current one)"},
        {"rooms", {"list"}, "/rooms", "list rooms with member counts and topics"},
        {"topic", {}, "/topic [#room] [text]", "show or set a room's topic"},
        {"who", {"online", "names"}, "/who [#room]", "online users, or a room's (/names: this room)"},
        {"whois", {}, "/whois user", "a user's rooms, connected time, idle time and away message"},
        {"nick", {}, "/nick name", "change your name"},
        {"query", {"q"}, "/query [user]", "plain lines go to user (alone: back to the room)"},
        {"switch", {"sw"}, "/switch [#room|@user|-|N]",
         "look at a room or query (alone: the next, unread first)"},
        {"ignore", {}, "/ignore [user]", "hide a user's messages and DMs (alone: list who is ignored)"},
        {"unignore", {}, "/unignore user", "show a user's messages again"},
        {"history", {}, "/history [#room|@user] [N]",
         "older messages (default: this room or query, 50); again: older still"},
        {"search", {}, "/search [#room] words", "find messages with all the words, newest first"},
        {"away", {}, "/away [message]", "mark yourself away; DMs to you get the message back"},
        {"back", {}, "/back", "you are no longer away"},
        {"register", {}, "/register", "make your name an account (asks a password twice, not shown)"},
        {"bell", {}, "/bell [off|mention|all]", "show or set when the terminal bell rings"},
        {"timestamps", {}, "/timestamps [off|short|long]", "show or set how message times are shown"},
        {"help", {}, "/help [command]", "list commands, or explain one"},
        {"quit", {"exit"}, "/quit", "leave (so do the words quit and exit, and Ctrl-D)"},
    };
    return commands;
}

std::vector<std::string> splitMessage(std::string_view text, std::size_t maxBytes) {
    std::vector<std::string> parts;
    if (maxBytes < 8) maxBytes = 8;  // room for any UTF-8 character
    while (text.size() > maxBytes) {
        std::size_t cut = maxBytes;
        // Never inside a UTF-8 sequence (continuation bytes are 10xxxxxx).
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        if (cut == 0) cut = maxBytes;  // not UTF-8: cut anywhere
        // Between words when there is a space in the second half.
        const auto space = text.substr(0, cut + 1).find_last_of(" \t");
        if (space != std::string_view::npos && space >= maxBytes / 2) cut = space;
        auto part = text.substr(0, cut);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
        if (!part.empty()) parts.emplace_back(part);
        text.remove_prefix(cut);
        while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    }
    if (!text.empty() || parts.empty()) parts.emplace_back(text);
    return parts;
}

InputCommand parseInput(std::string_view raw) {
    const auto line = trimRight(raw);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return {};
    if (const auto word = lower(line); word == "quit" || word == "exit") return make(Kind::Quit);
    if (line.substr(0, 2) == "//") return make(Kind::Say, {}, {}, std::string(line.substr(1)));
    if (line.front() == '@') return direct(line.substr(1), "msg");
    if (line.front() == '#') {
        auto [room, text] = splitWord(line);
        if (text.empty()) return invalid("usage: #room text");
        return checkedRoom(Kind::Say, room, std::string(text));
    }
    if (line.front() != '/') return make(Kind::Say, {}, {}, std::string(line));
    auto [name, rest] = splitWord(line.substr(1));
    return parseCommand(name, rest);
}

std::string inputHelp(std::string_view command) {
    if (!command.empty()) {
        if (command.front() == '/') command.remove_prefix(1);
        const auto* help = findCommand(command);
        if (!help) return "there is no command /" + std::string(command) + "; /help lists them all\n";
        std::string text = help->usage + "\n  " + help->summary + "\n";
        if (!help->aliases.empty()) {
            text += "  aliases:";
            for (const auto& a : help->aliases) text += " /" + a;
            text += "\n";
        }
        return text;
    }
    std::size_t width = 0;
    for (const auto& c : commandHelp()) width = std::max(width, c.usage.size());
    auto row = [&](std::string usage, const std::string& summary) {
        usage = "  " + usage;
        usage.resize(width + 4, ' ');
        return usage + summary;
    };
    std::string text = "Commands:\n" + row("text", "send text to the current room (or the /query)") + "\n" +
                       row("#room text", "send text to a room you are in, without switching") + "\n" +
                       row("@user text", "send a private message") + "\n" +
                       row("//text", "send text that starts with a slash") + "\n";
    for (const auto& c : commandHelp()) {
        std::string aliases;
        for (const auto& a : c.aliases) aliases += (aliases.empty() ? " (also /" : ", /") + a;
        text += row(c.usage, c.summary + (aliases.empty() ? "" : aliases + ")")) + "\n";
    }
    text += "Keys: Ctrl-N / Ctrl-P the next / previous room or query, Alt-1..9 the Nth; Tab completes.\n";
    text += "Prompt: \"bob is typing…\" while bob types here; \"seen\" in a query once your last message there\n"
            "was read. Others see the same of you unless chat connect --no-typing / --no-read-receipts.\n";
    return text;
}

}  // namespace chat

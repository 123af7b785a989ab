#include "client/completion.hpp"


#include <algorithm>
#include <cctype>

namespace chat {

namespace {
char fold(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool startsWithFolded(std::string_view text, std::string_view prefix) {
    if (prefix.size() > text.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (fold(text[i]) != fold(prefix[i])) return false;
    return true;
}

std::string folded(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = fold(c);
    return out;
}

/// Each of `names`, with `prefix` put before it, that starts with `word`.
std::vector<std::string> matching(const std::vector<std::string>& names, std::string_view word,
                                  const std::string& prefix = {}) {
    std::vector<std::string> out;
    for (const auto& name : names) {
        const auto candidate = prefix + name;
        if (startsWithFolded(candidate, word)) out.push_back(candidate);
    }
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        const auto fa = folded(a), fb = folded(b);
        return fa != fb ? fa < fb : a < b;
    });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const std::string& a, const std::string& b) { return folded(a) == folded(b); }),
              out.end());
    return out;
}

/// Rooms for a word that may leave out the '#'.
std::vector<std::string> matchingRooms(const std::vector<std::string>& rooms, std::string_view word) {
    if (!word.empty() && word.front() == '#') return matching(rooms, word);
    return matching(rooms, "#" + std::string(word));
}

bool isOneOf(const std::string& word, std::initializer_list<const char*> names) {
    for (const char* name : names)
        if (word == name) return true;
    return false;
}
}  // namespace

Completion complete(std::string_view before, const CompletionSources& sources) {
    Completion result;
    const auto space = before.find_last_of(' ');
    result.start = space == std::string_view::npos ? 0 : space + 1;
    const auto word = before.substr(result.start);
    const auto lead = before.substr(0, result.start);
    const auto firstStart = lead.find_first_not_of(' ');
    const bool firstWord = firstStart == std::string_view::npos;
    result.suffix = " ";

    if (firstWord) {
        if (!word.empty() && word.front() == '/') {
            result.candidates = matching(sources.commands, word, "/");
        } else if (!word.empty() && word.front() == '#') {
            result.candidates = matching(sources.rooms, word);
        } else if (!word.empty() && word.front() == '@') {
            result.candidates = matching(sources.users, word, "@");
        } else {
            result.candidates = matching(sources.users, word);
            result.suffix = ": ";
        }
        return result;
    }

    // The command (first word) and how many words follow it before this one.
    const auto firstEnd = lead.find(' ', firstStart);
    const std::string command = folded(lead.substr(firstStart, firstEnd - firstStart));
    std::size_t argument = 0;
    for (std::size_t i = firstEnd; i < lead.size(); ++i)
        if (lead[i] != ' ' && (i == 0 || lead[i - 1] == ' ')) ++argument;

    if (argument == 0) {
        if (isOneOf(command, {"/msg", "/w", "/whisper", "/whois"})) {
            result.candidates = matching(sources.users, word);
            return result;
        }
        if (isOneOf(command, {"/join", "/j", "/leave", "/part", "/who", "/online", "/names", "/topic"})) {
            result.candidates = matchingRooms(sources.rooms, word);
            return result;
        }
        if (command == "/history" && (word.empty() || (word.front() != '#' && word.front() != '@'))) {
            // A room or a user: both, marked, so that the choice is plain.
            result.candidates = matchingRooms(sources.rooms, word);
            const auto users = matching(sources.users, "@" + std::string(word), "@");
            result.candidates.insert(result.candidates.end(), users.begin(), users.end());
            return result;
        }
        if (command == "/help") {
            result.candidates = matching(sources.commands, word);
            return result;
        }
        if (command == "/bell") {
            result.candidates = matching({"off", "mention", "all"}, word);
            return result;
        }
        if (command == "/timestamps") {
            result.candidates = matching({"off", "short", "long"}, word);
            return result;
        }
    }
    if (!word.empty() && word.front() == '#')
        result.candidates = matching(sources.rooms, word);
    else if (!word.empty() && word.front() == '@')
        result.candidates = matching(sources.users, word, "@");
    else
        result.candidates = matching(sources.users, word);
    return result;
}

std::string commonPrefix(const std::vector<std::string>& candidates) {
    if (candidates.empty()) return {};
    std::size_t length = candidates.front().size();
    for (const auto& candidate : candidates) {
        std::size_t i = 0;
        while (i < length && i < candidate.size() && fold(candidate[i]) == fold(candidates.front()[i])) ++i;
        length = i;
    }
    return candidates.front().substr(0, length);
}

}  // namespace chat

#include "client/paste_guard.hpp"

#include <cctype>

namespace chat {

void PasteGuard::input(Clock::time_point now) { last_ = now; }

void PasteGuard::line(const std::string& text, Clock::time_point now) {
    last_ = now;
    std::size_t start = 0;
    for (;;) {
        const auto nl = text.find('\n', start);
        auto part = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!part.empty() && part.back() == '\r') part.pop_back();
        lines_.push_back(std::move(part));
        if (nl == std::string::npos) break;
        start = nl + 1;
        if (start == text.size()) break;  // a final newline ends the last line; it starts no new one
    }
}

std::optional<PasteGuard::Clock::time_point> PasteGuard::due() const {
    if (lines_.empty()) return std::nullopt;
    return last_ + quiet_;
}

std::optional<PasteGuard::Batch> PasteGuard::take(Clock::time_point now) {
    const auto at = due();
    if (!at || now < *at) return std::nullopt;
    Batch batch;
    batch.lines.swap(lines_);
    batch.confirm = batch.lines.size() > confirmAbove_;
    return batch;
}

bool confirms(const std::string& answer) {
    std::string word;
    for (const char c : answer)
        if (!std::isspace(static_cast<unsigned char>(c))) word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return word == "y" || word == "yes";
}

}  // namespace chat

#include "server/answer_lists.hpp"

#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace chat {

std::size_t AnswerList::jsonBytes(const Poco::Dynamic::Var& value) {
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out);
    return out.str().size();
}

bool AnswerList::add(const Poco::Dynamic::Var& value, std::size_t extraBytes) {
    if (full_) return false;
    const std::size_t bytes = jsonBytes(value) + extraBytes + 1;  // and a comma
    if (bytes > budget_) {
        full_ = true;
        return false;
    }
    budget_ -= bytes;
    array_->add(value);
    return true;
}

void noteTruncation(Poco::JSON::Object::Ptr answer, bool complete, std::size_t total) {
    if (complete) return;
    answer->set("truncated", true);
    answer->set("total", static_cast<std::uint64_t>(total));
}

void setStringList(Poco::JSON::Object::Ptr answer, const std::string& key,
                   const std::vector<std::string>& values, std::size_t& budget) {
    AnswerList list(budget);
    for (const auto& value : values)
        if (!list.add(value)) break;
    answer->set(key, list.array());
    noteTruncation(answer, list.complete(values.size()), values.size());
}

}  // namespace chat

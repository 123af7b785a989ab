#pragma once
// Lists in answers, cut so that every answer fits in one frame.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstddef>
#include <string>
#include <vector>

namespace chat {

/// Bytes of JSON all the lists of one answer may take together; the rest of
/// an answer (ids, names, one topic) is far below the frame limit's remainder.
inline constexpr std::size_t kListBudgetBytes = 48 * 1024;

/// Builds one list of an answer, measuring every entry as it will be
/// written (after JSON escaping, so quotes and backslashes count double).
/// Entries past the budget are left out; note() then marks the answer.
class AnswerList {
public:
    explicit AnswerList(std::size_t& budget) : budget_(budget) {}

    /// Adds `value` when its JSON (plus `extraBytes` written elsewhere for
    /// it) still fits; returns false, and adds nothing more, once one did not.
    bool add(const Poco::Dynamic::Var& value, std::size_t extraBytes = 0);
    Poco::JSON::Array::Ptr array() const { return array_; }
    bool complete(std::size_t total) const { return array_->size() == total; }

    /// The bytes `value` takes as JSON.
    static std::size_t jsonBytes(const Poco::Dynamic::Var& value);

private:
    std::size_t& budget_;
    bool full_ = false;
    Poco::JSON::Array::Ptr array_ = new Poco::JSON::Array;
};

/// Marks `answer` as cut short: "truncated": true and the full count.
void noteTruncation(Poco::JSON::Object::Ptr answer, bool complete, std::size_t total);

/// The strings as one list under `budget`, with truncation noted on `answer`
/// as `key` (and the answer's "truncated"/"total" when cut).
void setStringList(Poco::JSON::Object::Ptr answer, const std::string& key,
                   const std::vector<std::string>& values, std::size_t& budget);

}  // namespace chat

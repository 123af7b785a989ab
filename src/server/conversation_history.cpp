// Conversation: the history and search requests (docs/protocol.md). Their
// answers carry stored events as they were sent, spliced in unchanged.

#include "server/answer_lists.hpp"
#include "server/conversation.hpp"
#include "server/event_list.hpp"
#include "shared/validation.hpp"

namespace chat {

namespace {
constexpr std::int64_t kMaxHistoryPage = 200;
constexpr std::int64_t kDefaultHistoryPage = 50;
constexpr std::int64_t kMaxSearchResults = 100;
constexpr std::int64_t kDefaultSearchResults = 20;
constexpr std::size_t kMaxSearchBytes = 200;
}  // namespace

void Conversation::handleHistoryRequest(const std::string& type, const Poco::JSON::Object::Ptr& request) {
    const auto id = requestId(request);
    for (const char* key : {"room", "user", "text"})
        if (request->has(key) && !stringField(request, key))
            return refuse(ErrorCode::BadRequest, "\"" + std::string(key) + "\" must be a string", id);
    for (const char* key : {"before", "limit"})
        if (request->has(key) && !intField(request, key))
            return refuse(ErrorCode::BadRequest, "\"" + std::string(key) + "\" must be an integer", id);
    const auto room = stringField(request, "room");
    const bool search = type == "search";
    const auto maxLimit = search ? kMaxSearchResults : kMaxHistoryPage;
    const auto limit = intField(request, "limit").value_or(search ? kDefaultSearchResults : kDefaultHistoryPage);
    if (limit < 1 || limit > maxLimit)
        return refuse(ErrorCode::BadRequest, "\"limit\" must be 1 to " + std::to_string(maxLimit), id);

    HistoryAnswer answer;
    HubResult result;
    auto ok = makeOk(id);
    if (search) {
        const auto text = stringField(request, "text");
        if (!text) return refuse(ErrorCode::BadRequest, "search needs a string field \"text\"", id);
        if (const auto problem = checkText(*text, kMaxSearchBytes); problem != TextProblem::None)
            return refuse(problem == TextProblem::TooLong ? ErrorCode::TextTooLong : ErrorCode::TextInvalid,
                          "search text: " + describeTextProblem(problem, *text, kMaxSearchBytes), id);
        result = hub_.search(out_, room, *text, static_cast<std::size_t>(limit), answer);
        if (room) ok->set("room", answer.target);
    } else {
        const auto user = stringField(request, "user");
        if (room.has_value() == user.has_value())
            return refuse(ErrorCode::BadRequest, "history needs exactly one of \"room\" and \"user\"", id);
        const auto before = intField(request, "before").value_or(0);
        if (before < 0) return refuse(ErrorCode::BadRequest, "\"before\" must not be negative", id);
        result = hub_.history(out_, room, user, static_cast<std::uint64_t>(before), static_cast<std::size_t>(limit),
                              answer);
        ok->set(room ? "room" : "user", answer.target);
    }
    if (!result) return refuse(*result.error, result.errorText, id);

    // Keep what matters most within one frame: for a history page the
    // newest events (the page ends where the client's view begins), for a
    // search the best (newest) results.
    auto& events = answer.events;
    if (search) {
        const auto fit = countFitting(events, kListBudgetBytes);
        if (fit < events.size()) {
            events.resize(fit);
            answer.more = true;
        }
    } else {
        const auto fit = countFittingAtEnd(events, kListBudgetBytes);
        if (fit < events.size()) {
            events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(fit));
            answer.more = true;
        }
    }
    ok->set("more", answer.more);
    out_->deliver(withEventList(ok, search ? "results" : "events", events));
}

}  // namespace chat

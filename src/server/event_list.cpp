#include "server/event_list.hpp"

#include "shared/protocol.hpp"

namespace chat {

EventPtr withEventList(const Poco::JSON::Object::Ptr& message, const std::string& key,
                       const std::vector<EventPtr>& events) {
    std::string json = toJson(message);  // ends with '}'
    json.pop_back();
    if (message->size() != 0) json += ',';
    Poco::JSON::Object::Ptr name = new Poco::JSON::Object;
    name->set(key, 0);
    std::string quotedKey = toJson(name);  // {"key":0}
    json += quotedKey.substr(1, quotedKey.size() - 3);  // "key":
    json += '[';
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i) json += ',';
        json += events[i]->payload;
    }
    json += "]}";
    return std::make_shared<const Event>(std::move(json));
}

namespace {
template <typename Iterator>
std::size_t countFittingFrom(Iterator first, Iterator last, std::size_t budget) {
    std::size_t used = 0, count = 0;
    for (; first != last; ++first) {
        const std::size_t cost = (*first)->payload.size() + (count ? 1 : 0);
        if (used + cost > budget) break;
        used += cost;
        ++count;
    }
    return count;
}
}  // namespace

std::size_t countFitting(const std::vector<EventPtr>& events, std::size_t budget) {
    return countFittingFrom(events.begin(), events.end(), budget);
}

std::size_t countFittingAtEnd(const std::vector<EventPtr>& events, std::size_t budget) {
    return countFittingFrom(events.rbegin(), events.rend(), budget);
}

}  // namespace chat

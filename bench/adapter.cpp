#include "adapter.hpp"

#include <cstdint>

namespace bench {

std::unique_ptr<Adapter> makeChatAdapter();
std::unique_ptr<Adapter> makeIrcAdapter();
std::unique_ptr<Adapter> makeLineAdapter();

bool Parser::feed(const char* data, std::size_t n, EventSink& sink, std::string& reply) {
    if (pending_.empty()) {  // the common case: parse straight from the caller's buffer
        const std::size_t used = consume(data, n, sink, reply);
        if (used == SIZE_MAX) return false;
        pending_.assign(data + used, n - used);
        return true;
    }
    pending_.append(data, n);
    const std::size_t used = consume(pending_.data(), pending_.size(), sink, reply);
    if (used == SIZE_MAX) return false;
    pending_.erase(0, used);
    return true;
}

std::unique_ptr<Adapter> makeAdapter(std::string_view name) {
    if (name == "chat") return makeChatAdapter();
    if (name == "irc") return makeIrcAdapter();
    if (name == "line") return makeLineAdapter();
    return nullptr;
}

}  // namespace bench

// libFuzzer target: a whole conversation with the hub, no sockets. The input
// is split at newlines into payloads, fed to two conversations in turn (so
// that one's requests cause events for the other). Every answer must be
// valid JSON that fits a frame; nothing may crash or throw.

#include "server/conversation.hpp"
#include "server/hub.hpp"
#include "shared/frame_codec.hpp"
#include "shared/validation.hpp"

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
class CheckingPeer final : public chat::Participant {
public:
    void deliver(const chat::EventPtr& event) override {
        if (event->payload.size() > chat::kMaxFramePayload) std::abort();
        if (!chat::isValidUtf8(event->payload) || !chat::parseMessage(event->payload)) std::abort();
    }
    void closeAfterFlush(const std::string&) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    chat::HubConfig config;
    config.maxTextBytes = 256;
    chat::Hub hub(config);
    chat::ConversationLimits limits;
    const auto now = std::chrono::steady_clock::now();
    auto a = std::make_shared<CheckingPeer>(), b = std::make_shared<CheckingPeer>();
    chat::Conversation first(hub, a, limits, "fuzz:1"), second(hub, b, limits, "fuzz:2");
    if (!first.open("127.0.0.1", now) || !second.open("::1", now)) std::abort();
    second.receive(R"({"type":"hello","version":1,"user":"bob"})", now);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    bool toFirst = true;
    while (!input.empty()) {
        const auto end = input.find('\n');
        const auto payload = input.substr(0, end);
        (toFirst ? first : second).receive(payload, now);
        toFirst = !toFirst;
        if (end == std::string_view::npos) break;
        input.remove_prefix(end + 1);
    }
    first.tick(now + std::chrono::seconds(61));
    first.close();
    second.close();
    return 0;
}

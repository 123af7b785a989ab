// libFuzzer target: parsing one frame payload into a message, then reading
// fields the way the server does. It must never crash or throw.

#include "shared/protocol.hpp"
#include "shared/validation.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    auto parsed = chat::parseMessage(payload);
    if (!parsed) {
        if (parsed.error.empty()) std::abort();
        return 0;
    }
    for (const char* key : {"type", "user", "text", "to", "room", "topic", "message", "client"}) {
        if (auto s = chat::stringField(parsed.message, key)) {
            (void)chat::checkText(*s, 4096);
            (void)chat::isValidName(*s);
            (void)chat::isValidRoomName(*s);
        }
    }
    (void)chat::intField(parsed.message, "version");
    (void)chat::boolField(parsed.message, "announce");
    (void)chat::requestId(parsed.message);
    (void)chat::toJson(parsed.message);
    return 0;
}

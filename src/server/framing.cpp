#include "server/framing.hpp"

#include "shared/frame_codec.hpp"
#include "shared/websocket_codec.hpp"

#include <stdexcept>

namespace chat {

std::string LengthPrefixFraming::encode(std::string_view payload) const { return encodeFrame(payload); }

const LengthPrefixFraming& LengthPrefixFraming::instance() {
    static const LengthPrefixFraming framing;
    return framing;
}

std::string WebSocketFraming::encode(std::string_view payload) const {
    if (payload.size() > kMaxFramePayload)
        throw std::length_error("payload of " + std::to_string(payload.size()) + " bytes exceeds the maximum");
    return ws::encodeFrame(ws::Opcode::Text, payload);
}

const WebSocketFraming& WebSocketFraming::instance() {
    static const WebSocketFraming framing;
    return framing;
}

}  // namespace chat

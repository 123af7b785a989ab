#include "server/framing.hpp"

#include "shared/frame_codec.hpp"

namespace chat {

std::string LengthPrefixFraming::encode(std::string_view payload) const { return encodeFrame(payload); }

const LengthPrefixFraming& LengthPrefixFraming::instance() {
    static const LengthPrefixFraming framing;
    return framing;
}

}  // namespace chat

#include "shared/frame_codec.hpp"

#include <stdexcept>

namespace chat {

std::string encodeFrame(std::string_view payload) {
    if (payload.size() > kMaxFramePayload)
        throw std::length_error("frame payload of " + std::to_string(payload.size()) +
                                " bytes exceeds the " + std::to_string(kMaxFramePayload) +
                                "-byte maximum");
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string frame;
    frame.reserve(kFrameHeaderBytes + payload.size());
    frame.push_back(static_cast<char>((n >> 24) & 0xFF));
    frame.push_back(static_cast<char>((n >> 16) & 0xFF));
    frame.push_back(static_cast<char>((n >> 8) & 0xFF));
    frame.push_back(static_cast<char>(n & 0xFF));
    frame.append(payload);
    return frame;
}

FrameDecoder::FrameDecoder(std::size_t maxPayload) : maxPayload_(maxPayload) {}

void FrameDecoder::feed(const char* data, std::size_t size) {
    if (invalid_) return;
    if (readPos_ > 0 && readPos_ == buffer_.size()) {
        buffer_.clear();
        readPos_ = 0;
    } else if (readPos_ > 64 * 1024) {
        buffer_.erase(0, readPos_);
        readPos_ = 0;
    }
    buffer_.append(data, size);
}

FrameDecoder::Result FrameDecoder::next() {
    if (invalid_) return {Status::Invalid, {}, invalidLength_};
    if (buffered() < kFrameHeaderBytes) return {Status::NeedMore, {}, 0};
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + readPos_);
    const std::size_t length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                               (std::size_t{p[2]} << 8) | std::size_t{p[3]};
    if (length > maxPayload_) {
        invalid_ = true;
        invalidLength_ = length;
        buffer_.clear();
        readPos_ = 0;
        return {Status::Invalid, {}, length};
    }
    if (buffered() < kFrameHeaderBytes + length) return {Status::NeedMore, {}, 0};
    Result result{Status::Frame, buffer_.substr(readPos_ + kFrameHeaderBytes, length), 0};
    readPos_ += kFrameHeaderBytes + length;
    return result;
}

}  // namespace chat

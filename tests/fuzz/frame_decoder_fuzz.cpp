// libFuzzer target: the frame decoder, fed its input in chunks whose sizes
// the input chooses. Whatever the split, the frames must be the same as when
// the whole input is fed at once.

#include "shared/frame_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
struct Outcome {
    std::vector<std::string> frames;
    bool invalid = false;
};

Outcome decode(const std::string& bytes, const std::vector<std::size_t>& cuts) {
    chat::FrameDecoder decoder;
    Outcome out;
    std::size_t start = 0;
    auto drain = [&] {
        for (;;) {
            auto r = decoder.next();
            if (r.status == chat::FrameDecoder::Status::NeedMore) return;
            if (r.status == chat::FrameDecoder::Status::Invalid) {
                out.invalid = true;
                return;
            }
            out.frames.push_back(r.payload);
        }
    };
    for (std::size_t cut : cuts) {
        if (out.invalid) break;
        decoder.feed(bytes.data() + start, cut - start);
        start = cut;
        drain();
    }
    if (!out.invalid) {
        decoder.feed(bytes.data() + start, bytes.size() - start);
        drain();
    }
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // First byte: how many cuts (0-7); the next bytes: where, as fractions.
    const std::size_t cutCount = data[0] % 8;
    if (size < 1 + cutCount) return 0;
    const std::string bytes(reinterpret_cast<const char*>(data + 1 + cutCount), size - 1 - cutCount);
    std::vector<std::size_t> cuts;
    std::size_t last = 0;
    for (std::size_t i = 0; i < cutCount; ++i) {
        const std::size_t cut = last + (bytes.size() - last) * data[1 + i] / 256;
        cuts.push_back(cut);
        last = cut;
    }
    const auto whole = decode(bytes, {});
    const auto split = decode(bytes, cuts);
    if (whole.frames != split.frames || whole.invalid != split.invalid) std::abort();
    for (const auto& frame : whole.frames)
        if (frame.size() > chat::kMaxFramePayload) std::abort();
    return 0;
}

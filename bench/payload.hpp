#pragma once
// The text every load-generator message carries, identical for all
// protocols: printable ASCII with no spaces, so it survives JSON strings,
// IRC trailing parameters and plain lines untouched.
//
//   b EEE s SSSSS q QQQQQQQQQQ t TTTTTTTTTTTTTTTT . xxxx...   (no spaces)
//   epoch  sender  sequence      scheduled send time (ns, monotonic)
//
// padded with 'x' to the requested size (at least kMinPayload bytes).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

inline constexpr std::size_t kMinPayload = 40;

struct Stamp {
    std::uint32_t epoch = 0;     ///< which measurement phase sent it (0..999)
    std::uint32_t sender = 0;    ///< 0..99999
    std::uint64_t seq = 0;       ///< per sender and epoch, from 0
    std::int64_t scheduledNs = 0;  ///< monotonic ns when it was due to be sent
};

/// Writes the payload for `stamp` into `out` (replacing its contents).
/// `size` below kMinPayload is raised to kMinPayload.
void makePayload(const Stamp& stamp, std::size_t size, std::string& out);

/// Reads a stamp back; nullopt when `text` is not a payload of ours.
std::optional<Stamp> parsePayload(std::string_view text);

}  // namespace bench

#include "payload.hpp"

namespace bench {

namespace {
constexpr std::size_t kHeader = 39;  // b+3, s+5, q+10, t+16 and the dot

void putDigits(char* at, std::uint64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        at[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

bool getDigits(std::string_view text, std::size_t at, int width, std::uint64_t& value) {
    value = 0;
    for (int i = 0; i < width; ++i) {
        const char c = text[at + static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
}
}  // namespace

void makePayload(const Stamp& stamp, std::size_t size, std::string& out) {
    if (size < kMinPayload) size = kMinPayload;
    out.assign(size, 'x');
    char* p = out.data();
    p[0] = 'b';
    putDigits(p + 1, stamp.epoch % 1000, 3);
    p[4] = 's';
    putDigits(p + 5, stamp.sender % 100000, 5);
    p[10] = 'q';
    putDigits(p + 11, stamp.seq, 10);
    p[21] = 't';
    putDigits(p + 22, static_cast<std::uint64_t>(stamp.scheduledNs), 16);
    p[kHeader - 1] = '.';
}

std::optional<Stamp> parsePayload(std::string_view text) {
    if (text.size() < kHeader || text[0] != 'b' || text[4] != 's' || text[10] != 'q' || text[21] != 't' ||
        text[kHeader - 1] != '.')
        return std::nullopt;
    std::uint64_t epoch, sender, seq, scheduled;
    if (!getDigits(text, 1, 3, epoch) || !getDigits(text, 5, 5, sender) || !getDigits(text, 11, 10, seq) ||
        !getDigits(text, 22, 16, scheduled))
        return std::nullopt;
    return Stamp{static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(sender), seq,
                 static_cast<std::int64_t>(scheduled)};
}

}  // namespace bench

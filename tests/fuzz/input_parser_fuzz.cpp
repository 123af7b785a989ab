// libFuzzer target: the client's line parser. It must never crash, and what
// it accepts must satisfy the rules the server enforces on names.

#include "client/input_parser.hpp"
#include "shared/validation.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const auto command = chat::parseInput(line);
    using Kind = chat::InputCommand::Kind;
    if (command.kind == Kind::Invalid && command.error.empty()) std::abort();
    if ((command.kind == Kind::Direct || command.kind == Kind::Whois || command.kind == Kind::Nick) &&
        !chat::isValidName(command.target))
        std::abort();
    // A room is a valid room name; "*" (the whole server) only for /ban and /unban.
    const bool serverWide =
        command.kind == Kind::Moderate && command.room == "*" && (command.action == "ban" || command.action == "unban");
    if (!command.room.empty() && !serverWide && !chat::isValidRoomName(command.room)) std::abort();
    if (command.kind == Kind::Moderate && command.action != "mode" && !command.address &&
        !chat::isValidName(command.target))
        std::abort();
    if (command.kind == Kind::Help) (void)chat::inputHelp(command.target);
    return 0;
}

// libFuzzer target: the client's handling of what a (hostile) server sends.
// The input is several frame payloads separated by newlines; each one that
// parses is handed to a ClientSession that has a few requests waiting for
// answers. It must never crash, and never throw anything but ClientError(76)
// (the client then disconnects). Whatever it prints must be free of control
// characters once its own colour sequences (ESC [ ... m) are taken out.

#include "client/client_session.hpp"
#include "client/terminal_text.hpp"
#include "shared/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <cctype>
#include <cstdlib>
#include <string_view>

namespace {
void checkPrintable(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == 0x1B) {  // only our SGR sequences: ESC [ digits ; ... m
            std::size_t k = i + 1;
            if (k >= text.size() || text[k] != '[') std::abort();
            for (++k; k < text.size() && (std::isdigit(static_cast<unsigned char>(text[k])) || text[k] == ';'); ++k) {
            }
            if (k >= text.size() || text[k] != 'm') std::abort();
            i = k;
            continue;
        }
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) std::abort();
        if (c == 0xC2 && i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0x80) std::abort();
    }
}

struct Checked final : chat::ClientOutput {
    void line(const std::string& text) override { checkPrintable(chat::wrapLine(text, 37, 9)); }
    void error(const std::string& text) override { checkPrintable(text); }
    void indented(const std::string& text, std::size_t indent) override {
        checkPrintable(chat::wrapLine(text, 80, indent));
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    chat::Welcome welcome;
    welcome.user = "alice";
    welcome.room = "#lobby";
    welcome.rooms = {"#lobby"};
    welcome.online = {"alice", "bob"};
    welcome.maxText = 64;
    Checked out;
    chat::RenderOptions render;
    render.color = size % 2 == 0;
    render.terminal = true;
    render.palette = size % 3 == 0 ? chat::Palette::Extended256 : chat::Palette::Basic16;
    chat::ClientSession session(welcome, [](const Poco::JSON::Object::Ptr&) {}, out, render);
    // Requests with ids 1..8, so that answers find something to answer.
    for (const char* line : {"/who", "/rooms", "/join #dev", "/whois bob", "@bob hi", "/topic", "/leave", "/names"})
        session.handleLine(line);
    std::size_t start = 0;
    while (start <= input.size()) {
        auto end = input.find('\n', start);
        if (end == std::string_view::npos) end = input.size();
        auto parsed = chat::parseMessage(input.substr(start, end - start));
        start = end + 1;
        if (!parsed) continue;
        try {
            session.handleMessage(parsed.message);
        } catch (const chat::ClientError& e) {
            if (e.exitCode() != 76) std::abort();
            checkPrintable(e.what());
            return 0;  // the client disconnects here
        }
        checkPrintable(session.prompt());
    }
    session.handleLine("/switch");
    session.handleLine("/query bob");
    checkPrintable(session.prompt());
    return 0;
}

// IRC (RFC 1459/2812 client side, just enough): NICK/USER, wait for 001,
// JOIN #bench and wait for our own JOIN echo, PRIVMSG #bench :text, and
// PONG for every PING. IRC does not echo a PRIVMSG to its sender.

#include "adapter.hpp"
#include "line_parsing.hpp"

#include <cctype>

namespace bench {

namespace {
constexpr std::string_view kChannel = "#bench";

bool sameNick(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

/// Splits off the next space-separated word of `rest`.
std::string_view word(std::string_view& rest) {
    const auto space = rest.find(' ');
    const auto w = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return w;
}

bool isErrorNumeric(std::string_view command) {
    return command.size() == 3 && (command[0] == '4' || command[0] == '5') && std::isdigit(command[1]) &&
           std::isdigit(command[2]) && command != "422";  // 422: no MOTD, harmless
}

class IrcParser final : public Parser {
public:
    explicit IrcParser(const LoginOptions& options) : nick_(options.user), joinRoom_(options.joinRoom) {}

protected:
    std::size_t consume(const char* data, std::size_t n, EventSink& sink, std::string& reply) override {
        return forEachLine(data, n, [&](std::string_view line) { handle(line, sink, reply); });
    }

private:
    void handle(std::string_view line, EventSink& sink, std::string& reply) {
        std::string_view rest = line;
        std::string_view prefix;
        if (!rest.empty() && rest.front() == ':') {
            prefix = word(rest);
            prefix.remove_prefix(1);
        }
        const auto command = word(rest);
        if (command == "PRIVMSG") {
            const auto colon = rest.find(" :");
            sink.onEvent({Event::Kind::Payload, colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 2), {}});
        } else if (command == "PING") {
            reply += "PONG ";
            reply += rest;
            reply += "\r\n";
        } else if (command == "001") {
            if (joinRoom_) {
                reply += "JOIN ";
                reply += kChannel;
                reply += "\r\n";
            } else {
                sink.onEvent({Event::Kind::Ready, {}, {}});
            }
        } else if (command == "JOIN") {
            if (sameNick(prefix.substr(0, prefix.find('!')), nick_)) sink.onEvent({Event::Kind::Ready, {}, {}});
        } else if (command == "ERROR" || isErrorNumeric(command)) {
            const auto colon = rest.find(':');  // the human-readable trailing text
            sink.onEvent({Event::Kind::Error, command, colon == std::string_view::npos ? rest : rest.substr(colon + 1)});
        }
    }

    std::string nick_;
    bool joinRoom_;
};

class IrcAdapter final : public Adapter {
public:
    std::string_view name() const override { return "irc"; }
    std::string login(const LoginOptions& options) const override {
        return "NICK " + options.user + "\r\nUSER " + options.user + " 0 * :bench\r\n";
    }
    std::unique_ptr<Parser> newParser(const LoginOptions& options) const override {
        return std::make_unique<IrcParser>(options);
    }
    void appendPost(std::string& out, std::string_view text, std::uint64_t) const override {
        out += "PRIVMSG ";
        out += kChannel;
        out += " :";
        out += text;
        out += "\r\n";
    }
};
}  // namespace

std::unique_ptr<Adapter> makeIrcAdapter() { return std::make_unique<IrcAdapter>(); }

}  // namespace bench

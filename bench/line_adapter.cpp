// Plain lines, for bench-relay: the relay greets each connection with one
// line (that is "ready"); every later line is a message from another client.

#include "adapter.hpp"
#include "line_parsing.hpp"

namespace bench {

namespace {
class LineParser final : public Parser {
protected:
    std::size_t consume(const char* data, std::size_t n, EventSink& sink, std::string&) override {
        return forEachLine(data, n, [&](std::string_view line) {
            if (!greeted_) {
                greeted_ = true;
                sink.onEvent({Event::Kind::Ready, line, {}});
            } else {
                sink.onEvent({Event::Kind::Payload, line, {}});
            }
        });
    }

private:
    bool greeted_ = false;
};

class LineAdapter final : public Adapter {
public:
    std::string_view name() const override { return "line"; }
    std::string login(const LoginOptions&) const override { return {}; }
    std::unique_ptr<Parser> newParser(const LoginOptions&) const override { return std::make_unique<LineParser>(); }
    void appendPost(std::string& out, std::string_view text, std::uint64_t) const override {
        out.append(text);
        out += '\n';
    }
};
}  // namespace

std::unique_ptr<Adapter> makeLineAdapter() { return std::make_unique<LineAdapter>(); }

}  // namespace bench

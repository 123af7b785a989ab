// Our protocol: 4-byte big-endian length, then one JSON object (docs:
// src/shared/protocol.hpp); over WebSocket the same objects, one per text
// message, without the length (the message form). Only the fields the load generator needs are
// read, by a plain scan: the server writes compact JSON and our payloads
// need no escaping.

#include "adapter.hpp"
#include "json_line.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace bench {

namespace {
constexpr std::size_t kMaxFrame = 16 * 1024 * 1024;  // far above the server's own limit; only a sanity bound

void appendFrame(std::string& out, std::string_view json) {
    const auto n = static_cast<std::uint32_t>(json.size());
    const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                            static_cast<char>(n)};
    out.append(header, 4);
    out.append(json);
}

/// Appends the send request for `text`, built in place (no temporary strings).
void appendSend(std::string& out, std::string_view text, std::uint64_t requestId) {
    char id[24];
    const auto [end, ec] = std::to_chars(id, id + sizeof id, requestId);
    out += R"({"type":"send","id":)";
    out.append(id, static_cast<std::size_t>(end - id));
    out += R"(,"text":)";
    appendJsonString(out, text);
    out += '}';
}

/// The raw (still escaped) contents of the string field `key`, or empty.
/// A match counts only as a key: `"key"` after `{` or `,`, then `:` and a
/// string. memmem finds the quoted key in one pass; this is the load
/// generator's innermost loop, run for every delivery it counts.
std::string_view jsonString(std::string_view json, std::string_view key) {
    char quoted[32];
    if (key.size() + 2 > sizeof quoted) return {};
    quoted[0] = '"';
    key.copy(quoted + 1, key.size());
    quoted[key.size() + 1] = '"';
    const std::size_t width = key.size() + 2;
    for (std::size_t from = 0; from < json.size();) {
        const void* hit = ::memmem(json.data() + from, json.size() - from, quoted, width);
        if (hit == nullptr) return {};
        const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(hit) - json.data());
        from = at + 1;
        std::size_t before = at;
        while (before > 0 && json[before - 1] == ' ') --before;
        if (before == 0 || (json[before - 1] != '{' && json[before - 1] != ',')) continue;  // a value, not a key
        std::size_t i = at + width;
        while (i < json.size() && json[i] == ' ') ++i;
        if (i >= json.size() || json[i] != ':') continue;
        ++i;
        while (i < json.size() && json[i] == ' ') ++i;
        if (i >= json.size() || json[i] != '"') continue;
        const std::size_t start = ++i;
        while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2 : 1;
        if (i >= json.size()) return {};
        return json.substr(start, i - start);
    }
    return {};
}

/// The type of a message, read at once when the object starts with it (as
/// every frame of our server does), else found by jsonString.
std::string_view jsonType(std::string_view json) {
    constexpr std::string_view prefix = R"({"type":")";
    if (json.substr(0, prefix.size()) == prefix) {
        const std::size_t end = json.find('"', prefix.size());
        if (end != std::string_view::npos) return json.substr(prefix.size(), end - prefix.size());
    }
    return jsonString(json, "type");
}

/// The text of a message event, read backwards when it is the last field
/// and holds no escaped quote (as our server writes it), else found by
/// jsonString.
std::string_view messageText(std::string_view json) {
    constexpr std::string_view key = R"("text":")";
    if (json.size() > key.size() + 3 && json.substr(json.size() - 2) == "\"}") {
        const std::size_t close = json.size() - 2;
        const void* open = ::memrchr(json.data(), '"', close);
        if (open != nullptr) {
            const std::size_t start = static_cast<std::size_t>(static_cast<const char*>(open) - json.data()) + 1;
            if (start >= key.size() + 1 && json.substr(start - key.size(), key.size()) == key &&
                (json[start - key.size() - 1] == ',' || json[start - key.size() - 1] == '{'))
                return json.substr(start, close - start);
        }
    }
    return jsonString(json, "text");
}

class ChatParser final : public Parser {
public:
    bool feedMessage(std::string_view message, EventSink& sink, std::string& reply) override {
        handle(message, sink, reply, false);
        return true;
    }

protected:
    std::size_t consume(const char* data, std::size_t n, EventSink& sink, std::string& reply) override {
        std::size_t at = 0;
        while (n - at >= 4) {
            const auto* h = reinterpret_cast<const unsigned char*>(data + at);
            const std::size_t length = (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) |
                                       (std::size_t{h[2]} << 8) | std::size_t{h[3]};
            if (length > kMaxFrame) return SIZE_MAX;
            if (n - at - 4 < length) break;
            handle(std::string_view(data + at + 4, length), sink, reply, true);
            at += 4 + length;
        }
        return at;
    }

private:
    /// One server message; a pong in answer goes to `reply`, `framed` or as a bare message.
    static void handle(std::string_view json, EventSink& sink, std::string& reply, bool framed) {
        const auto type = jsonType(json);
        if (type == "message") {
            sink.onEvent({Event::Kind::Payload, messageText(json), {}});
        } else if (type == "ok") {
            sink.onEvent({Event::Kind::Ack, {}, {}});
        } else if (type == "welcome") {
            sink.onEvent({Event::Kind::Ready, {}, {}});
        } else if (type == "error") {
            sink.onEvent({Event::Kind::Error, jsonString(json, "code"), jsonString(json, "message")});
        } else if (type == "left") {
            sink.onEvent({Event::Kind::Left, jsonString(json, "user"), jsonString(json, "reason")});
        } else if (type == "ping") {  // the server's heartbeat
            if (framed) appendFrame(reply, R"({"type":"pong"})");
            else reply += R"({"type":"pong"})";
        } else if (type == "shutdown") {
            sink.onEvent({Event::Kind::Error, "shutdown", jsonString(json, "text")});
        }
    }
};

class ChatAdapter final : public Adapter {
public:
    std::string_view name() const override { return "chat"; }

    std::string login(const LoginOptions& options) const override {
        std::string out;
        appendFrame(out, loginMessage(options));
        return out;
    }

    std::unique_ptr<Parser> newParser(const LoginOptions&) const override { return std::make_unique<ChatParser>(); }

    void appendPost(std::string& out, std::string_view text, std::uint64_t requestId) const override {
        const std::size_t at = out.size();
        out.append(4, '\0');  // the length, filled in below
        appendSend(out, text, requestId);
        const auto n = static_cast<std::uint32_t>(out.size() - at - 4);
        out[at] = static_cast<char>(n >> 24);
        out[at + 1] = static_cast<char>(n >> 16);
        out[at + 2] = static_cast<char>(n >> 8);
        out[at + 3] = static_cast<char>(n);
    }

    bool hasMessageForm() const override { return true; }

    std::string loginMessage(const LoginOptions& options) const override {
        std::string json = "{\"type\":\"hello\",\"version\":1,\"user\":";
        appendJsonString(json, options.user);
        json += ",\"client\":\"bench\"";
        if (!options.joinRoom) json += ",\"announce\":false";  // logged in, in no room
        json += '}';
        return json;
    }

    void appendPostMessage(std::string& out, std::string_view text, std::uint64_t requestId) const override {
        appendSend(out, text, requestId);
    }
};
}  // namespace

std::unique_ptr<Adapter> makeChatAdapter() { return std::make_unique<ChatAdapter>(); }

}  // namespace bench

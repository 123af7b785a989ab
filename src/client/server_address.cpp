#include "client/server_address.hpp"

#include <algorithm>
#include <cctype>

namespace chat {

namespace {
bool startsWith(const std::string& text, const std::string& prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(),
                      [](char p, char t) { return std::tolower(static_cast<unsigned char>(t)) == p; });
}

std::optional<std::uint16_t> parsePort(const std::string& digits) {
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
        return std::nullopt;
    const long value = std::stol(digits);
    if (value < 1 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}
}  // namespace

std::optional<HostText> parseHostText(const std::string& text, std::string& error) {
    HostText out;
    std::string rest;
    if (startsWith(text, "chats://")) {
        out.tls = true;
        rest = text.substr(8);
    } else if (startsWith(text, "chat://")) {
        out.tls = false;
        rest = text.substr(7);
    } else if (text.find("://") != std::string::npos) {
        error = "'" + text + "': only chat:// and chats:// addresses are understood";
        return std::nullopt;
    } else {
        if (text.empty()) {
            error = "the host is empty";
            return std::nullopt;
        }
        out.host = text;  // a bare host: as before, "::1" is an IPv6 literal
        return out;
    }
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos) {
        error = "'" + text + "': a chat address is scheme://host[:port], without user or path";
        return std::nullopt;
    }
    std::string portText;
    bool hasPort = false;
    if (!rest.empty() && rest[0] == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) {
            error = "'" + text + "': unclosed '[' in the host";
            return std::nullopt;
        }
        out.host = rest.substr(1, close - 1);
        const std::string after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                error = "'" + text + "': expected ':PORT' after ']'";
                return std::nullopt;
            }
            hasPort = true;
            portText = after.substr(1);
        }
    } else {
        const auto colon = rest.find(':');
        if (colon != std::string::npos && rest.find(':', colon + 1) != std::string::npos) {
            error = "'" + text + "': write an IPv6 address in brackets, e.g. chats://[::1]:5051";
            return std::nullopt;
        }
        out.host = rest.substr(0, colon);
        if (colon != std::string::npos) {
            hasPort = true;
            portText = rest.substr(colon + 1);
        }
    }
    if (out.host.empty()) {
        error = "'" + text + "': no host";
        return std::nullopt;
    }
    if (hasPort) {
        out.port = parsePort(portText);
        if (!out.port) {
            error = "'" + text + "': the port must be a number from 1 to 65535";
            return std::nullopt;
        }
    }
    return out;
}

std::string ServerAddress::name() const {
    const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return shown + ":" + std::to_string(port);
}

std::optional<ServerAddress> resolveServerAddress(const std::string& hostText, std::optional<std::uint16_t> port,
                                                  bool tlsFlag, std::string& error) {
    const auto parsed = parseHostText(hostText, error);
    if (!parsed) return std::nullopt;
    if (parsed->tls == false && tlsFlag) {
        error = "--tls contradicts the plaintext address '" + hostText + "' (use chats://)";
        return std::nullopt;
    }
    if (parsed->port && port && *parsed->port != *port) {
        error = "--port " + std::to_string(*port) + " contradicts the port in '" + hostText + "'";
        return std::nullopt;
    }
    ServerAddress address;
    address.host = parsed->host;
    address.tls = tlsFlag || parsed->tls.value_or(false);
    address.port = parsed->port ? *parsed->port : port ? *port : address.tls ? kDefaultTlsPort : kDefaultPort;
    return address;
}

}  // namespace chat

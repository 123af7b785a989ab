#include "server/origin_policy.hpp"

#include <Poco/Net/IPAddress.h>

#include <algorithm>
#include <cctype>

namespace chat {

namespace {
std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool isAddressLiteral(const std::string& host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        Poco::Net::IPAddress address;
        return Poco::Net::IPAddress::tryParse(host.substr(1, host.size() - 2), address) &&
               address.family() == Poco::Net::IPAddress::IPv6;
    }
    Poco::Net::IPAddress address;
    // Only the dotted-quad form: "1" or "0x7f.1" also parse as IPv4 in some
    // libraries, and a browser turns them into a dotted quad anyway.
    if (std::count(host.begin(), host.end(), '.') != 3) return false;
    if (!std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; })) return false;
    return Poco::Net::IPAddress::tryParse(host, address) && address.family() == Poco::Net::IPAddress::IPv4;
}

/// host[:port] with a sane host (letters, digits, '-', '.', or [v6]) and port.
bool isHostPort(std::string_view text) {
    if (text.empty() || text.size() > 255) return false;
    std::string_view host = text;
    std::string_view port;
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return false;
        host = text.substr(0, close + 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
            if (port.empty()) return false;
        }
        if (!std::all_of(host.begin() + 1, host.end() - 1,
                         [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; }))
            return false;
    } else {
        const auto colon = text.find(':');
        if (colon != std::string_view::npos) {
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
            if (port.empty()) return false;
        }
        if (host.empty() ||
            !std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; }))
            return false;
    }
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
        return false;
    if (!port.empty() && std::stoi(std::string(port)) > 65535) return false;
    return true;
}
}  // namespace

OriginPolicy::OriginPolicy(const std::vector<std::string>& extraOrigins, std::string listenHost) {
    names_.push_back("localhost");
    const auto listen = lower(listenHost);
    if (!listen.empty() && listen != "0.0.0.0" && listen != "::") names_.push_back(listen);
    for (const auto& origin : extraOrigins) {
        const auto normal = normalizeOrigin(origin);
        if (!normal) continue;
        origins_.push_back(*normal);
        const auto hostPort = normal->substr(normal->find("://") + 3);
        const auto name = hostName(hostPort);
        if (!name.empty()) names_.push_back(name);
    }
}

std::optional<std::string> OriginPolicy::normalizeOrigin(std::string_view origin) {
    auto text = lower(origin);
    if (!text.empty() && text.back() == '/') text.pop_back();
    std::string_view rest;
    if (text.rfind("http://", 0) == 0)
        rest = std::string_view(text).substr(7);
    else if (text.rfind("https://", 0) == 0)
        rest = std::string_view(text).substr(8);
    else
        return std::nullopt;
    if (!isHostPort(rest)) return std::nullopt;
    return text;
}

std::string OriginPolicy::hostName(std::string_view hostHeader) {
    if (!isHostPort(hostHeader)) return {};
    const auto text = lower(hostHeader);
    if (text.front() == '[') return text.substr(0, text.find(']') + 1);
    return text.substr(0, text.find(':'));
}

bool OriginPolicy::namesThisServer(const std::string& host) const {
    if (isAddressLiteral(host)) return true;
    return std::find(names_.begin(), names_.end(), host) != names_.end();
}

bool OriginPolicy::allows(std::string_view origin, std::string_view host, std::string_view scheme) const {
    const auto normal = normalizeOrigin(origin);
    if (!normal) return false;
    if (std::find(origins_.begin(), origins_.end(), *normal) != origins_.end()) return true;
    if (!isHostPort(host)) return false;
    if (*normal != std::string(scheme) + "://" + lower(host)) return false;
    return namesThisServer(hostName(host));
}

}  // namespace chat

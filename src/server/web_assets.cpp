#include "server/web_assets.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace chat {

const WebAsset* findWebAsset(std::string_view path) {
    if (path == "/") path = "/index.html";
    for (const auto& asset : webAssets())
        if (asset.path == path) return &asset;
    return nullptr;
}

std::string_view contentTypeFor(std::string_view path) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes{{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".jpg", "image/jpeg"},
        {".webp", "image/webp"},
        {".woff2", "font/woff2"},
        {".map", "application/json"},
    }};
    for (const auto& [extension, type] : kTypes)
        if (path.size() >= extension.size() && path.substr(path.size() - extension.size()) == extension) return type;
    return "application/octet-stream";
}

}  // namespace chat

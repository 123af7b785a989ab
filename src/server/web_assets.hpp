#pragma once
// The web client's files (web/), compiled into the binary at build time by
// cmake/embed_web.cmake.

#include <string_view>
#include <vector>

namespace chat {

struct WebAsset {
    std::string_view path;   ///< "/index.html": web/ relative, with a leading '/'
    std::string_view bytes;  ///< the file's content, static storage
};

/// Every embedded file, sorted by path (generated source).
const std::vector<WebAsset>& webAssets();

/// The file served for an HTTP path: "/" means "/index.html"; nullptr when
/// there is none (no path outside the table can be reached: it is a lookup,
/// not a file system access).
const WebAsset* findWebAsset(std::string_view path);

/// The Content-Type for a file name by its extension ("text/html;
/// charset=utf-8", "text/javascript; charset=utf-8", "image/png" ...);
/// "application/octet-stream" for one unknown.
std::string_view contentTypeFor(std::string_view path);

}  // namespace chat

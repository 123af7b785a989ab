#include "server/web_responses.hpp"

#include "server/web_assets.hpp"
#include "shared/websocket_codec.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/URI.h>
#include <fmt/format.h>

#include <sstream>

namespace chat {

namespace {
using Poco::Net::HTTPRequest;
using Poco::Net::HTTPResponse;

const char* const kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The request's Host when it is a plain host[:port], for the CSP; empty
/// otherwise (a hostile Host never reaches a header we send).
std::string cleanHost(const HTTPRequest& request) {
    const std::string host = request.get("Host", "");
    if (OriginPolicy::hostName(host).empty()) return {};
    return host;
}

/// The headers every response carries.
void secure(const HTTPRequest& request, HTTPResponse& response) {
    const auto host = cleanHost(request);
    std::string connect = "'self'";
    if (!host.empty()) connect += " ws://" + host + " wss://" + host;
    response.set("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " +
                     connect + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Referrer-Policy", "no-referrer");
    response.set("X-Frame-Options", "DENY");
    response.set("Cache-Control", "no-cache");
}

WebAnswer text(const HTTPRequest& request, HTTPResponse& response, HTTPResponse::HTTPStatus status,
               std::string_view body) {
    return textAnswer(request, response, status, body);
}

bool hasToken(const std::string& header, const std::string& token) {
    Poco::StringTokenizer tokens(header, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
    for (const auto& t : tokens)
        if (Poco::icompare(t, token) == 0) return true;
    return false;
}

std::string acceptKey(const std::string& key) {
    Poco::SHA1Engine sha1;
    sha1.update(key + kWebSocketGuid);
    const auto& digest = sha1.digest();
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.write(reinterpret_cast<const char*>(digest.data()), static_cast<std::streamsize>(digest.size()));
    encoder.close();
    return out.str();
}

WebAnswer upgrade(const HTTPRequest& request, HTTPResponse& response, const WebRequestContext& context) {
    if (request.getMethod() != "GET")
        return text(request, response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED,
                    "method not allowed: /ws takes GET with a WebSocket upgrade\n");
    if (!hasToken(request.get("Upgrade", ""), "websocket") || !hasToken(request.get("Connection", ""), "upgrade"))
        return text(request, response, HTTPResponse::HTTP_BAD_REQUEST,
                    "bad request: /ws speaks WebSocket only (Upgrade: websocket)\n");
    if (request.get("Sec-WebSocket-Version", "") != "13") {
        response.set("Sec-WebSocket-Version", "13");
        return text(request, response, HTTPResponse::HTTP_UPGRADE_REQUIRED, "WebSocket version 13 is required\n");
    }
    const std::string key = request.get("Sec-WebSocket-Key", "");
    if (key.size() != 24)
        return text(request, response, HTTPResponse::HTTP_BAD_REQUEST,
                    "bad request: a Sec-WebSocket-Key of 16 bytes in base64 is required\n");
    const std::string origin = request.get("Origin", "");
    if (!context.origins.allows(origin, request.get("Host", ""), context.scheme)) {
        context.logs.warn(context.ip, "origin",
                          fmt::format("refused a WebSocket from {}: origin {} not allowed for host {}", context.peer,
                                      origin.empty() ? std::string("(none)") : origin.substr(0, 100),
                                      request.get("Host", "(none)").substr(0, 100)));
        return text(request, response, HTTPResponse::HTTP_FORBIDDEN,
                    origin.empty() ? "forbidden: a WebSocket upgrade needs an Origin header\n"
                                   : "forbidden: this origin may not open a chat WebSocket here "
                                     "(the server's operator can allow it with --web-origin)\n");
    }
    if (context.sessionsFull)
        return text(request, response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "the server is full; try again later\n");
    secure(request, response);
    response.setStatusAndReason(HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
    response.set("Upgrade", "websocket");
    response.set("Connection", "Upgrade");
    response.set("Sec-WebSocket-Accept", acceptKey(key));
    response.setContentLength(HTTPResponse::UNKNOWN_CONTENT_LENGTH);
    return WebAnswer{{}, true};
}
}  // namespace

WebAnswer answerWebRequest(const HTTPRequest& request, HTTPResponse& response, const WebRequestContext& context) {
    std::string path;
    bool readable = true;
    try {
        path = Poco::URI(request.getURI()).getPath();
    } catch (const Poco::Exception&) {
        readable = false;
    }
    if (readable && path == "/ws") return upgrade(request, response, context);
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
        response.set("Allow", "GET, HEAD");
        return text(request, response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or HEAD\n");
    }
    if (!readable) return text(request, response, HTTPResponse::HTTP_BAD_REQUEST, "bad request: unreadable URI\n");
    const auto* asset = findWebAsset(path);
    if (!asset) return text(request, response, HTTPResponse::HTTP_NOT_FOUND, "not found\n");
    secure(request, response);
    response.setStatusAndReason(HTTPResponse::HTTP_OK);
    response.setContentType(std::string(contentTypeFor(asset->path)));
    response.setContentLength(static_cast<std::streamsize>(asset->bytes.size()));
    return WebAnswer{asset->bytes, false};
}

WebAnswer textAnswer(const HTTPRequest& request, HTTPResponse& response, HTTPResponse::HTTPStatus status,
                     std::string_view body) {
    secure(request, response);
    response.setStatusAndReason(status);
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    return WebAnswer{body, false};
}

std::string serverFullCloseFrame() {
    return ws::encodeFrame(ws::Opcode::Close, ws::closePayload(ws::kTryAgainLater, "server_full"));
}

}  // namespace chat

#pragma once
// What the web port answers one HTTP request with, whatever carries it
// (Poco's HTTPServer on plain HTTP, TlsWebConnection on HTTPS): the status,
// headers and body, shared so that both transports send the same bytes.

#include "server/log_throttle.hpp"
#include "server/origin_policy.hpp"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <string>
#include <string_view>

namespace chat {

/// What answerWebRequest needs besides the request.
struct WebRequestContext {
    const OriginPolicy& origins;
    LogThrottle& logs;
    std::string_view scheme;    ///< "http" or "https": the server's own origin is scheme://Host
    std::string peer;           ///< the client's address, for the log
    std::string ip;             ///< the client's host, for log throttling
    bool sessionsFull = false;  ///< no session thread free: an upgrade is refused 503
};

/// The answer's body, and whether the connection becomes a WebSocket after
/// the head (101: no body then).
struct WebAnswer {
    std::string_view body;  ///< static storage (an asset or a fixed text); send none for HEAD
    bool upgrade = false;
};

/// Fills `response` (status, reason, Content-Type, Content-Length and the
/// security headers every answer carries: a strict Content-Security-Policy,
/// X-Content-Type-Options nosniff, Referrer-Policy no-referrer,
/// X-Frame-Options DENY, Cache-Control no-cache) for `request`:
/// GET or HEAD of an embedded file: 200; of another path: 404; another
/// method: 405 with Allow; an unreadable URI: 400. /ws: a GET with Upgrade:
/// websocket, Connection: upgrade, version 13, a 24-character key and an
/// Origin the policy allows (for context.scheme) is answered 101 with its
/// Sec-WebSocket-Accept; otherwise 400/405/426/403 (refused origins are
/// logged, throttled per ip) or 503 when context.sessionsFull. Every body
/// is a plain-text reason or the file. Never throws for hostile input.
WebAnswer answerWebRequest(const Poco::Net::HTTPRequest& request, Poco::Net::HTTPResponse& response,
                           const WebRequestContext& context);

/// A plain-text answer with the security headers, for a request the
/// transport could not read (`request` may be empty: no Host in the CSP).
WebAnswer textAnswer(const Poco::Net::HTTPRequest& request, Poco::Net::HTTPResponse& response,
                     Poco::Net::HTTPResponse::HTTPStatus status, std::string_view body);

/// The close frame sent to an upgraded client that cannot get a session
/// thread after all (1013 server_full).
std::string serverFullCloseFrame();

}  // namespace chat

#include "server/web_server.hpp"

#include "server/web_assets.hpp"
#include "server/websocket_session.hpp"
#include "shared/websocket_codec.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace chat {

namespace {
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

const char* const kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const Poco::Timespan kDispatcherIdle(0, 200 * 1000);
constexpr int kThreadStackBytes = 256 * 1024;

/// The request's Host when it is a plain host[:port], for the CSP; empty
/// otherwise (a hostile Host never reaches a header we send).
std::string cleanHost(const HTTPServerRequest& request) {
    const std::string host = request.get("Host", "");
    if (OriginPolicy::hostName(host).empty()) return {};
    return host;
}

/// The headers every response carries.
void secure(const HTTPServerRequest& request, HTTPServerResponse& response) {
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

void sendText(const HTTPServerRequest& request, HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
              const std::string& text) {
    secure(request, response);
    response.setStatusAndReason(status);
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(text.size()));
    response.sendBuffer(text.data(), text.size());
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

class FileHandler final : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        std::string path;
        try {
            path = Poco::URI(request.getURI()).getPath();
        } catch (const Poco::Exception&) {
            return sendText(request, response, HTTPResponse::HTTP_BAD_REQUEST, "bad request: unreadable URI\n");
        }
        const auto* asset = findWebAsset(path);
        if (!asset) return sendText(request, response, HTTPResponse::HTTP_NOT_FOUND, "not found\n");
        secure(request, response);
        response.setStatusAndReason(HTTPResponse::HTTP_OK);
        response.setContentType(std::string(contentTypeFor(asset->path)));
        response.setContentLength(static_cast<std::streamsize>(asset->bytes.size()));
        response.sendBuffer(asset->bytes.data(), asset->bytes.size());  // HEAD: headers only (Poco)
    }
};

class MethodNotAllowed final : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        response.set("Allow", "GET, HEAD");
        sendText(request, response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or HEAD\n");
    }
};

class UpgradeHandler final : public Poco::Net::HTTPRequestHandler {
public:
    UpgradeHandler(const OriginPolicy& origins, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
                   Poco::ThreadPool& sessions, SessionLimits limits)
        : origins_(origins), hub_(hub), dispatcher_(dispatcher), logs_(logs), sessions_(sessions), limits_(limits) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        const auto ip = request.clientAddress().host().toString();
        if (request.getMethod() != "GET")
            return sendText(request, response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED,
                            "method not allowed: /ws takes GET with a WebSocket upgrade\n");
        if (!hasToken(request.get("Upgrade", ""), "websocket") || !hasToken(request.get("Connection", ""), "upgrade"))
            return sendText(request, response, HTTPResponse::HTTP_BAD_REQUEST,
                            "bad request: /ws speaks WebSocket only (Upgrade: websocket)\n");
        if (request.get("Sec-WebSocket-Version", "") != "13") {
            response.set("Sec-WebSocket-Version", "13");
            return sendText(request, response, HTTPResponse::HTTP_UPGRADE_REQUIRED,
                            "WebSocket version 13 is required\n");
        }
        const std::string key = request.get("Sec-WebSocket-Key", "");
        if (key.size() != 24)
            return sendText(request, response, HTTPResponse::HTTP_BAD_REQUEST,
                            "bad request: a Sec-WebSocket-Key of 16 bytes in base64 is required\n");
        const std::string origin = request.get("Origin", "");
        if (!origins_.allows(origin, request.get("Host", ""), "http")) {
            logs_.warn(ip, "origin", fmt::format("refused a WebSocket from {}: origin {} not allowed for host {}",
                                                 request.clientAddress().toString(),
                                                 origin.empty() ? std::string("(none)") : origin.substr(0, 100),
                                                 request.get("Host", "(none)").substr(0, 100)));
            return sendText(request, response, HTTPResponse::HTTP_FORBIDDEN,
                            origin.empty() ? "forbidden: a WebSocket upgrade needs an Origin header\n"
                                           : "forbidden: this origin may not open a chat WebSocket here "
                                             "(the server's operator can allow it with --web-origin)\n");
        }
        if (sessions_.available() == 0)
            return sendText(request, response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                            "the server is full; try again later\n");
        secure(request, response);
        response.setStatusAndReason(HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
        response.set("Upgrade", "websocket");
        response.set("Connection", "Upgrade");
        response.set("Sec-WebSocket-Accept", acceptKey(key));
        response.setContentLength(HTTPResponse::UNKNOWN_CONTENT_LENGTH);
        response.send().flush();
        auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
        Poco::Buffer<char> early(0);
        impl.session().drainBuffer(early);
        Poco::Net::StreamSocket socket = impl.detachSocket();
        try {
            socket.setNoDelay(true);
            WebSocketSession::start(sessions_, socket, std::string(early.begin(), early.size()), hub_, dispatcher_,
                                    logs_, limits_);
        } catch (const Poco::Exception& e) {
            // The pool filled between the check and now: say so and close.
            const auto frame = ws::encodeFrame(ws::Opcode::Close, ws::closePayload(ws::kTryAgainLater, "server_full"));
            try {
                socket.sendBytes(frame.data(), static_cast<int>(frame.size()));
                socket.shutdownSend();
                socket.close();
            } catch (const Poco::Exception&) {
            }
            spdlog::warn("refused a WebSocket from {}: {}", ip, e.displayText());
        }
    }

private:
    const OriginPolicy& origins_;
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
    Poco::ThreadPool& sessions_;
    const SessionLimits limits_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Factory(const OriginPolicy& origins, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
            Poco::ThreadPool& sessions, SessionLimits limits)
        : origins_(origins), hub_(hub), dispatcher_(dispatcher), logs_(logs), sessions_(sessions), limits_(limits) {}

    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest& request) override {
        std::string path;
        try {
            path = Poco::URI(request.getURI()).getPath();
        } catch (const Poco::Exception&) {
        }
        if (path == "/ws") return new UpgradeHandler(origins_, hub_, dispatcher_, logs_, sessions_, limits_);
        if (request.getMethod() != "GET" && request.getMethod() != "HEAD") return new MethodNotAllowed;
        return new FileHandler;
    }

private:
    const OriginPolicy& origins_;
    Hub& hub_;
    Dispatcher& dispatcher_;
    LogThrottle& logs_;
    Poco::ThreadPool& sessions_;
    const SessionLimits limits_;
};

Poco::Net::ServerSocket bindWebSocket(const std::string& host, std::uint16_t port) {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(host, port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(256);
    return socket;
}
}  // namespace

WebServer::WebServer(WebConfig config, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs, Poco::ThreadPool& sessions,
                     SessionLimits limits)
    : config_(std::move(config)),
      origins_(config_.origins, config_.host),
      socket_(bindWebSocket(config_.host, config_.port)),
      address_(socket_.address()),
      httpPool_("http", 2, config_.httpThreads, 60, kThreadStackBytes),
      hub_(hub),
      dispatcher_(dispatcher),
      logs_(logs),
      sessions_(sessions),
      limits_(limits) {}

WebServer::~WebServer() { stop(); }

void WebServer::start() {
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(config_.httpThreads);
    params->setMaxQueued(config_.httpQueued);
    params->setThreadIdleTime(kDispatcherIdle);
    params->setTimeout(Poco::Timespan(config_.httpTimeout.count(), 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(config_.httpTimeout.count(), 0));
    params->setMaxKeepAliveRequests(100);
    params->setServerName("chat");
    server_ = std::make_unique<Poco::Net::HTTPServer>(
        new Factory(origins_, hub_, dispatcher_, logs_, sessions_, limits_), httpPool_, socket_, params);
    server_->start();
    spdlog::info("listening for web on {}", address_.toString());
}

void WebServer::stop() {
    if (stopped_ || !server_) return;
    stopped_ = true;
    server_->stopAll(/*abortCurrent=*/true);
    httpPool_.joinAll();
}

}  // namespace chat

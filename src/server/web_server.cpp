#include "server/web_server.hpp"

#include "server/link.hpp"
#include "server/tls_web_connection.hpp"
#include "server/web_responses.hpp"
#include "server/websocket_session.hpp"

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerSession.h>
#include <spdlog/spdlog.h>

namespace chat {

namespace {
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

const Poco::Timespan kDispatcherIdle(0, 200 * 1000);
constexpr int kThreadStackBytes = 256 * 1024;

/// Plain HTTP: answers every request with answerWebRequest's answer; an
/// upgrade hands the socket (and any bytes Poco already read) to a
/// WebSocketSession on the session pool.
class PlainHandler final : public Poco::Net::HTTPRequestHandler {
public:
    PlainHandler(const OriginPolicy& origins, Hub& hub, Dispatcher& dispatcher, LogThrottle& logs,
                 Poco::ThreadPool& sessions, SessionLimits limits)
        : origins_(origins), hub_(hub), dispatcher_(dispatcher), logs_(logs), sessions_(sessions), limits_(limits) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        const auto ip = request.clientAddress().host().toString();
        const WebRequestContext context{origins_, logs_, "http", request.clientAddress().toString(), ip,
                                        sessions_.available() == 0};
        const auto answer = answerWebRequest(request, response, context);
        if (!answer.upgrade) {
            response.sendBuffer(answer.body.data(), answer.body.size());  // HEAD: headers only (Poco)
            return;
        }
        response.send().flush();
        auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
        Poco::Buffer<char> early(0);
        impl.session().drainBuffer(early);
        Poco::Net::StreamSocket socket = impl.detachSocket();
        try {
            socket.setNoDelay(true);
            socket.setBlocking(false);
            auto link = std::make_unique<PlainLink>(socket.impl()->sockfd());
            WebSocketSession::start(sessions_, socket, std::move(link), std::string(early.begin(), early.size()),
                                    hub_, dispatcher_, logs_, limits_);
        } catch (const Poco::Exception& e) {
            // The pool filled between the check and now: say so and close.
            const auto frame = serverFullCloseFrame();
            try {
                socket.setBlocking(true);
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

    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
        return new PlainHandler(origins_, hub_, dispatcher_, logs_, sessions_, limits_);
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
    if (config_.tls) {
        auto params = new Poco::Net::TCPServerParams;
        params->setMaxThreads(config_.httpThreads);
        params->setMaxQueued(config_.httpQueued);
        params->setThreadIdleTime(kDispatcherIdle);
        server_ = std::make_unique<Poco::Net::TCPServer>(
            new TlsWebConnectionFactory(TlsWebShared{config_.tls, origins_, hub_, dispatcher_, logs_, sessions_,
                                                     limits_, config_.httpTimeout, stopping_}),
            httpPool_, socket_, params);
        server_->start();
        spdlog::info("listening for web on {}", address_.toString());
        return;
    }
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
    stopping_ = true;  // TLS connections in progress notice within a poll slice
    if (auto* http = dynamic_cast<Poco::Net::HTTPServer*>(server_.get())) http->stopAll(/*abortCurrent=*/true);
    else server_->stop();
    httpPool_.joinAll();
}

}  // namespace chat

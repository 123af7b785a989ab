#include "members.hpp"

#include <cstdio>
#include <unistd.h>

namespace bench {

std::string memberName(int index) {
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned tag = static_cast<unsigned>(getpid()) % (36 * 36 * 36);
    std::string name = "b";
    for (int i = 0; i < 3; ++i, tag /= 36) name += digits[tag % 36];
    char number[8];
    std::snprintf(number, sizeof number, "%05d", index % 100000);
    return name + number;
}

CrowdResult connectCrowd(Engine& engine, int target, bool joinRoom, int concurrency, double timeoutSeconds,
                         int smallBufferCount, int receiveBuffer) {
    CrowdResult result;
    const int first = engine.size();
    const int readyBefore = engine.readyCount();
    const int failedBefore = engine.failedCount();
    const std::int64_t start = nowNs();
    const std::int64_t deadline = start + static_cast<std::int64_t>(timeoutSeconds * 1e9);
    for (;;) {
        const int done = (engine.readyCount() - readyBefore) + (engine.failedCount() - failedBefore);
        while (engine.size() < target && engine.size() - first - done < concurrency) {
            const int index = engine.size();
            engine.open({memberName(index), joinRoom}, index >= target - smallBufferCount ? receiveBuffer : 0);
        }
        const int finished = (engine.readyCount() - readyBefore) + (engine.failedCount() - failedBefore);
        if (engine.size() >= target && finished >= target - first) break;
        if (nowNs() >= deadline) {
            result.timedOut = true;
            break;
        }
        engine.pollOnce(std::min(deadline, nowNs() + 50'000'000));
    }
    result.ready = engine.readyCount() - readyBefore;
    result.failed = engine.failedCount() - failedBefore;
    for (int id = first; id < engine.size() && result.firstFailure.empty(); ++id)
        if (engine.closed(id) && !engine.ready(id))
            result.firstFailure = "#" + std::to_string(id) + ": " + engine.lastError(id);
    result.seconds = static_cast<double>(nowNs() - start) / 1e9;
    return result;
}

TlsOptions tlsOptions(const RunOptions& options) {
    TlsOptions tls;
    tls.enabled = options.tls;
    tls.caFile = options.caFile;
    return tls;
}

WebSocketOptions webSocketOptions(const RunOptions& options) {
    WebSocketOptions ws;
    ws.port = options.webPort;
    ws.path = options.wsPath;
    ws.members = options.ws ? 1 : options.wsMembers;
    ws.of = options.ws ? 1 : options.clients;
    return ws;
}

const char* transportName(const RunOptions& options) {
    if (options.ws || options.wsMembers >= options.clients) return "ws";
    return options.wsMembers > 0 ? "mixed" : "tcp";
}

void settle(Engine& engine, int quietMs, double maxSeconds) {
    const std::int64_t deadline = nowNs() + static_cast<std::int64_t>(maxSeconds * 1e9);
    std::uint64_t lastBytes = engine.bytesRead();
    std::int64_t quietSince = nowNs();
    while (nowNs() < deadline) {
        engine.pollOnce(std::min(deadline, nowNs() + 10'000'000));
        if (engine.bytesRead() != lastBytes) {
            lastBytes = engine.bytesRead();
            quietSince = nowNs();
        } else if (nowNs() - quietSince >= static_cast<std::int64_t>(quietMs) * 1'000'000) {
            return;
        }
    }
}

JsonLine rowStart(const RunOptions& options, const char* workload) {
    JsonLine row;
    row.add("workload", workload)
        .add("server", options.server.empty() ? options.adapter : options.server)
        .add("adapter", options.adapter)
        .add("tls", options.tls)
        .add("transport", transportName(options));
    if (!options.ws && options.wsMembers > 0) row.add("ws_members", options.wsMembers);
    return row;
}

void addTls(JsonLine& row, const Engine& engine) {
    if (engine.tls()) row.add("tls_negotiated", engine.negotiated());
}

void addServerMemory(JsonLine& row, const ProcSample& sample) {
    if (!sample.ok) return;
    row.add("server_rss_kib", sample.rssKiB).add("server_hwm_kib", sample.hwmKiB).add("server_threads", sample.threads);
}

void emit(const JsonLine& row) {
    std::fputs((row.str() + "\n").c_str(), stdout);
    std::fflush(stdout);
}

int emitError(const RunOptions& options, const char* workload, const std::string& why) {
    auto row = rowStart(options, workload);
    row.add("n", options.clients).add("error", why);
    emit(row);
    return 1;
}

}  // namespace bench

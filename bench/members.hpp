#pragma once
// Helpers every workload uses: naming, connecting a crowd, waiting for
// quiet, sampling the server, and the fields every result row starts with.

#include "engine.hpp"
#include "json_line.hpp"
#include "proc_stats.hpp"
#include "workloads.hpp"

#include <string>

namespace bench {

/// "b" + three base-36 characters from the pid + five digits: unique per
/// process and at most 9 characters (ngircd's default nick limit).
std::string memberName(int index);

struct CrowdResult {
    int ready = 0;
    int failed = 0;
    std::string firstFailure;  ///< "#index: reason"
    double seconds = 0;
    bool timedOut = false;
};

/// Opens connections until `target` clients exist in total (ids count on
/// from engine.size()), at most `concurrency` logging in at once, and waits
/// until each is ready or failed or `timeoutSeconds` pass. `receiveBuffer`
/// applies to the last `smallBufferCount` of them.
CrowdResult connectCrowd(Engine& engine, int target, bool joinRoom, int concurrency, double timeoutSeconds,
                         int smallBufferCount = 0, int receiveBuffer = 0);

/// The engine's transport as the options ask for it (TLS or plain TCP).
TlsOptions tlsOptions(const RunOptions& options);

/// Which connections speak WebSocket, as the options ask: all (--ws), the
/// given number of the members spread evenly (--ws-members), or none.
WebSocketOptions webSocketOptions(const RunOptions& options);

/// "tcp", "ws" or "mixed": how the members connect.
const char* transportName(const RunOptions& options);

/// Handles events until nothing has arrived for `quietMs` or `maxSeconds` pass.
void settle(Engine& engine, int quietMs, double maxSeconds);

/// Adds workload, server, adapter, tls: the first fields of every row.
JsonLine rowStart(const RunOptions& options, const char* workload);

/// Adds tls_negotiated (protocol, cipher, group) when the engine speaks TLS.
void addTls(JsonLine& row, const Engine& engine);

/// Adds server_rss_kib, server_hwm_kib, server_threads (when known).
void addServerMemory(JsonLine& row, const ProcSample& sample);

/// Prints a row and flushes, so a driver sees it even if a later step hangs.
void emit(const JsonLine& row);

/// Prints an error row: {"workload":..,"error":why} and returns 1.
int emitError(const RunOptions& options, const char* workload, const std::string& why);

}  // namespace bench

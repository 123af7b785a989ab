#pragma once
// The load generator's workloads (numbers as in /work/shared/benchmarks.md).
// Each prints one JSON line per measured point on stdout and returns a
// process exit code: 0 when it measured, 1 when it could not (setup failed).
// Every loop is bounded by a count and by a deadline.

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

struct RunOptions {
    std::string mode = "broadcast";  ///< broadcast (1, 5), fanout (2), idle (4), oneshot (6), overload (7),
                                     ///< handshake (connect, TLS when on, hello, welcome, close: as many as possible)
    std::string adapter = "chat";
    std::string server;              ///< label in the results; defaults to the adapter
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    bool tls = false;                ///< every connection speaks TLS (full handshakes; see tls_client.hpp)
    std::string caFile;              ///< TLS: verify the server against this PEM file (else no verification)
    bool ws = false;                 ///< every connection speaks WebSocket to `webPort` (see websocket_client.hpp)
    int wsMembers = 0;               ///< this many of the `clients` members speak WebSocket, the others TCP (mixed)
    std::uint16_t webPort = 0;       ///< the server's web port (`chat serve --web-port`)
    std::string wsPath = "/ws";      ///< the WebSocket's path on the web port
    pid_t serverPid = 0;             ///< for CPU, RSS and threads; 0: not reported
    int clients = 100;               ///< N: room members (broadcast, fanout); connections (idle)
    std::vector<int> senders{1};     ///< K; broadcast measures each K in turn over the same members
    std::vector<double> rates{1000}; ///< aggregate messages/s; several make a ramp
    int repeat = 1;                  ///< measured runs per rate
    double warmup = 1;               ///< seconds before each measured run
    double duration = 5;             ///< seconds of sending per measured run
    double drain = 2;                ///< most seconds to wait for stragglers
    std::size_t payload = 64;        ///< message text bytes
    double p99LimitMs = 100;         ///< "clean" needs p99 below this
    int stopAfter = 2;               ///< end the ramp after this many rates in a row with no clean run, or at once
                                     ///< when a run lost more than half its deliveries (0: never end it)
    int slowConsumers = 0;           ///< broadcast: this many members stop reading (workload 5)
    int connectConcurrency = 64;     ///< logins in flight at once
    double setupTimeout = 120;       ///< seconds to get everyone connected
    // overload (workload 7): a baseline run at `rates[0]` (warmup, duration, drain as
    // in broadcast), then one measured schedule: `pre` s at rates[0], `burst` s at
    // `burstRate`, `after` s at rates[0]; then a drain of up to `drain` s.
    double burstRate = 0;            ///< overload: messages/s during the burst
    int pre = 2;                     ///< overload: whole seconds at the base rate before the burst
    int burst = 10;                  ///< overload: whole seconds of the burst
    int after = 10;                  ///< overload: whole seconds at the base rate after the burst
    bool waitForGo = false;          ///< overload: after the baseline, print a ready line and wait for a line on stdin
    std::vector<int> steps;          ///< idle: report at these connection counts
    bool idleJoin = false;           ///< idle: also join the room
    int probes = 5;                  ///< fanout: messages, one at a time
    std::string chatBinary;          ///< oneshot: the `chat` executable
    int count = 50;                  ///< oneshot: runs
    int inFlight = 32;               ///< handshake: cycles under way at once
};

int runBroadcast(const RunOptions& options);
int runFanout(const RunOptions& options);
int runIdleScale(const RunOptions& options);
int runOneShot(const RunOptions& options);
int runHandshakes(const RunOptions& options);

}  // namespace bench

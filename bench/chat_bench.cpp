// chat-bench: the load generator. One thread, one epoll set, many
// connections to one server on 127.0.0.1; prints one JSON line per result.
// See docs/benchmarks.md for the workloads and what each field means.

#include "proc_stats.hpp"
#include "workloads.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    bench::RunOptions o;
    CLI::App app{"chat-bench: open-loop load generator for chat, IRC and line servers"};
    app.add_option("--mode", o.mode,
                   "broadcast (workloads 1 and 5), fanout (2), idle (4), oneshot (6), overload (7), "
                   "handshake (connect, TLS with --tls, hello, welcome, close: cycles per second)")
        ->check(CLI::IsMember({"broadcast", "fanout", "idle", "oneshot", "overload", "handshake"}))->capture_default_str();
    app.add_option("--adapter", o.adapter, "Protocol: chat, irc or line")
        ->check(CLI::IsMember({"chat", "irc", "line"}))->capture_default_str();
    app.add_option("--server", o.server, "Label for the results (default: the adapter)");
    app.add_option("--host", o.host, "Server address; must be 127.x.x.x")->capture_default_str();
    app.add_option("--port", o.port, "Server port (TCP members); not needed with --ws");
    app.add_flag("--tls", o.tls,
                 "Every connection speaks TLS (1.2 or 1.3, OpenSSL's defaults) with a full handshake: no session "
                 "resumption. The server's certificate is NOT verified unless --ca-file is given: the benchmark "
                 "measures the server it started, on loopback");
    app.add_option("--ca-file", o.caFile, "With --tls: verify the server's certificate chain and address against "
                                          "this PEM file (costs the load generator a signature check per handshake)")
        ->check(CLI::ExistingFile);
    app.add_flag("--ws", o.ws,
                 "Every connection speaks WebSocket (RFC 6455) to --web-port: HTTP upgrade on --ws-path with an "
                 "Origin matching the Host, then one protocol JSON object per masked text frame (chat adapter only)");
    app.add_option("--ws-members", o.wsMembers,
                   "broadcast: this many of the --clients members speak WebSocket to --web-port, the others TCP to "
                   "--port, spread evenly (senders too); rows then report p50/p99 and loss per kind (workload 'mixed')")
        ->check(CLI::Range(0, 100000));
    app.add_option("--web-port", o.webPort, "The server's web port (chat serve --web-port), for WebSocket members");
    app.add_option("--ws-path", o.wsPath, "The WebSocket's path on the web port")->capture_default_str();
    app.add_option("--server-pid", o.serverPid, "Server process for CPU, RSS and threads");
    app.add_option("--clients", o.clients, "N: members (broadcast, fanout) or connections (idle)")
        ->check(CLI::Range(1, 100000))->capture_default_str();
    app.add_option("--senders", o.senders, "K: members that post; several (comma-separated) are measured in turn")
        ->delimiter(',')->check(CLI::Range(1, 100000));
    app.add_option("--rate", o.rates, "Aggregate messages/s; several (comma-separated) ramp up")
        ->delimiter(',')->check(CLI::PositiveNumber);
    app.add_option("--repeat", o.repeat, "Measured runs per rate")->check(CLI::Range(1, 100))->capture_default_str();
    app.add_option("--duration", o.duration, "Seconds of sending per run")->check(CLI::Range(0.1, 3600.0))->capture_default_str();
    app.add_option("--warmup", o.warmup, "Seconds of sending before each run")->check(CLI::Range(0.0, 3600.0))->capture_default_str();
    app.add_option("--drain", o.drain, "Most seconds to wait for late messages")->check(CLI::Range(0.0, 600.0))->capture_default_str();
    app.add_option("--payload", o.payload, "Message text bytes (at least 40)")->check(CLI::Range(40, 16384))->capture_default_str();
    app.add_option("--p99-limit-ms", o.p99LimitMs, "A run is clean only with p99 below this")->capture_default_str();
    app.add_option("--stop-after", o.stopAfter, "End the ramp after this many rates in a row with no clean run (0: never)")
        ->check(CLI::Range(0, 1000))->capture_default_str();
    app.add_option("--slow-consumers", o.slowConsumers, "Members that stop reading when measuring starts")
        ->check(CLI::Range(0, 100))->capture_default_str();
    app.add_option("--connect-concurrency", o.connectConcurrency, "Logins in flight at once")
        ->check(CLI::Range(1, 10000))->capture_default_str();
    app.add_option("--setup-timeout", o.setupTimeout, "Seconds allowed to connect everyone")->capture_default_str();
    app.add_option("--burst-rate", o.burstRate, "overload: messages/s during the burst (--rate is the base rate)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--pre", o.pre, "overload: seconds at the base rate before the burst")->check(CLI::Range(0, 600))->capture_default_str();
    app.add_option("--burst", o.burst, "overload: seconds of the burst")->check(CLI::Range(1, 600))->capture_default_str();
    app.add_option("--after", o.after, "overload: seconds at the base rate after the burst")->check(CLI::Range(0, 600))->capture_default_str();
    app.add_flag("--wait-for-go", o.waitForGo,
                 "overload: after the baseline print {\"event\":\"ready_for_burst\"} and wait for a line on stdin");
    app.add_option("--steps", o.steps, "idle: connection counts to report at")->delimiter(',');
    app.add_flag("--join", o.idleJoin, "idle: connections also join the room");
    app.add_option("--probes", o.probes, "fanout: messages to time")->check(CLI::Range(1, 1000))->capture_default_str();
    app.add_option("--chat-binary", o.chatBinary, "oneshot: the chat executable");
    app.add_option("--count", o.count, "oneshot: runs")->check(CLI::Range(1, 100000))->capture_default_str();
    app.add_option("--in-flight", o.inFlight, "handshake: cycles under way at once (--warmup s, then --duration s measured)")
        ->check(CLI::Range(1, 10000))->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (!o.caFile.empty() && !o.tls) {
        std::fprintf(stderr, "chat-bench: --ca-file needs --tls\n");
        return 2;
    }
    if (o.ws && o.wsMembers > 0) {
        std::fprintf(stderr, "chat-bench: --ws (all members) and --ws-members (some) exclude each other\n");
        return 2;
    }
    const bool anyWs = o.ws || o.wsMembers > 0;
    if (anyWs && (o.webPort == 0 || o.adapter != "chat")) {
        std::fprintf(stderr, "chat-bench: WebSocket members need --web-port and the chat adapter\n");
        return 2;
    }
    if (anyWs && o.mode == "oneshot") {
        std::fprintf(stderr, "chat-bench: oneshot measures `chat send`, which speaks TCP\n");
        return 2;
    }
    if (o.port == 0 && !o.ws) {
        std::fprintf(stderr, "chat-bench: --port is required (TCP members)\n");
        return 2;
    }

    std::signal(SIGPIPE, SIG_IGN);
    const auto files = bench::raiseFileLimit();
    if (files < static_cast<std::uint64_t>(o.clients) + 64)
        std::fprintf(stderr, "chat-bench: warning: only %llu file descriptors for %d clients\n",
                     static_cast<unsigned long long>(files), o.clients);
    try {
        if (o.mode == "broadcast" || o.mode == "overload") return bench::runBroadcast(o);
        if (o.mode == "fanout") return bench::runFanout(o);
        if (o.mode == "idle") return bench::runIdleScale(o);
        if (o.mode == "handshake") return bench::runHandshakes(o);
        return bench::runOneShot(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat-bench: %s\n", e.what());
        return 2;
    }
}

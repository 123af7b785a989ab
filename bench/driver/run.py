#!/usr/bin/env python3
"""The benchmark driver behind `scripts/dev bench [--quick]`.

Runs workloads 1, 2, 4, 5, 6 and 7 of /work/shared/benchmarks.md against
chat, ngircd, InspIRCd and bench-relay (each server pinned to CPU 0,
chat-bench to CPU 1; workloads 5, 6 and 7 chat only), and on request the
handshake workload, chat over TLS (server kind chat-tls), chat over WebSocket
(chat-ws) and a room of WebSocket and TCP members (mixed), writes the raw rows and
a markdown table to bench/results/, and refreshes the results section of
docs/benchmarks.md (not with --only, which measures a subset).
"""
import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import overload  # noqa: E402
import plan as plans  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Runner:
    def __init__(self, plan, bins, work, raw):
        self.plan, self.bins, self.work, self.raw = plan, bins, work, raw

    def record(self, rows):
        for row in rows:
            self.raw.write(json.dumps(row) + "\n")
        self.raw.flush()
        return rows

    def bench(self, server, args, timeout, record=True):
        """Runs chat-bench pinned to CPU 1 against `server`; returns its JSON rows
        (written to the raw file unless `record` is false: the caller adds to them first)."""
        return self.bench_argv(server, server.bench_args() + args, timeout, record)

    def bench_argv(self, server, args, timeout, record=True):
        """bench() with every chat-bench option given (the server's included)."""
        argv = servers.pinned(1, [self.bins["bench"]] + args)
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            stdout, err = out.stdout, out.stderr.strip()
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = f"chat-bench timed out after {timeout:.0f}s"
        rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        if err:
            log(f"{server.kind}: {err.splitlines()[-1]}")
        if not rows:
            rows = [{"server": server.kind, "error": err or "no output"}]
        for row in rows:
            if "error" in row:
                log(f"{server.kind}: {row['error']}")
        return self.record(rows) if record else rows

    def serve(self, kind, max_clients=100000, max_queue=0):
        return servers.start(kind, self.work, self.bins, max_clients, max_queue)

    def workload1(self):
        """Per N and server: one crowd, every K in turn, each over the whole ramp."""
        p, rows = self.plan, []
        for n in p.w1_n:
            for kind in p.servers:
                log(f"workload 1: {kind} N={n} K={','.join(map(str, p.w1_k))}")
                per_step = p.repeat * (p.warmup + p.duration + 2 * p.drain + 1) + 1
                args = ["--mode", "broadcast", "--clients", str(n), "--senders", ",".join(map(str, p.w1_k)),
                        "--rate", ",".join(str(r) for r in p.w1_rates), "--repeat", str(p.repeat),
                        "--warmup", str(p.warmup), "--duration", str(p.duration), "--drain", str(p.drain),
                        "--setup-timeout", str(p.setup_timeout)]
                with self.serve(kind) as server:
                    rows += self.bench(server, args, p.setup_timeout + 30 + per_step * len(p.w1_rates) * len(p.w1_k))
        return rows

    def mixed(self):
        """One chat-ws server, one room: mixed_ws WebSocket and mixed_tcp TCP
        members, mixed_k senders of both kinds, over the ramp mixed_rates."""
        p = self.plan
        n = p.mixed_ws + p.mixed_tcp
        log(f"mixed room: chat-ws with {p.mixed_ws} WebSocket + {p.mixed_tcp} TCP members, K={p.mixed_k}")
        per_step = p.repeat * (p.warmup + p.duration + 2 * p.drain + 1) + 1
        args = mixed_args(p)
        with self.serve("chat-ws") as server:
            rows = self.bench_argv(server, server.bench_args(ws_members=p.mixed_ws) + args,
                                   p.setup_timeout + 30 + per_step * len(p.mixed_rates))
        for row in rows:
            if row.get("workload") == "mixed" and "error" not in row:
                log(f"mixed: {row['rate']:g} msg/s: WebSocket p99 {report.ms(row.get('ws_p99_us'))} ms, lost "
                    f"{row.get('ws_lost')}; TCP p99 {report.ms(row.get('tcp_p99_us'))} ms, lost {row.get('tcp_lost')}")
        return rows

    def workload2(self):
        rows = []
        for n in self.plan.w2_n:
            for kind in self.plan.servers:
                log(f"workload 2: {kind} N={n}")
                with self.serve(kind) as server:
                    rows += self.bench(server, ["--mode", "fanout", "--clients", str(n), "--probes",
                                                str(self.plan.probes), "--setup-timeout", str(self.plan.setup_timeout)],
                                       self.plan.setup_timeout + 30 + 11 * self.plan.probes)
        return rows

    def workload4(self):
        rows, steps = [], self.plan.w4_steps
        for kind in self.plan.servers:
            log(f"workload 4: {kind} up to {steps[-1]} connections")
            with self.serve(kind, max_clients=steps[-1]) as server:
                rows += self.bench(server, ["--mode", "idle", "--clients", str(steps[-1]),
                                            "--steps", ",".join(map(str, steps)),
                                            "--setup-timeout", str(self.plan.setup_timeout)],
                                   self.plan.setup_timeout + 60)
        return rows

    def workload5(self):
        p, rows = self.plan, []
        for slow in [s for _ in range(p.w5_repeat) for s in (0, 1)]:
            log(f"workload 5: chat N={p.w5_n} K={p.w5_k} rate={p.w5_rate} slow consumers={slow}")
            with self.serve("chat", max_queue=p.w5_max_queue) as server:
                got = self.bench(server, ["--mode", "broadcast", "--clients", str(p.w5_n), "--senders", str(p.w5_k),
                                          "--rate", str(p.w5_rate), "--payload", str(p.w5_payload),
                                          "--warmup", str(p.warmup), "--duration", str(p.w5_duration),
                                          "--drain", str(p.drain), "--slow-consumers", str(slow)],
                                 p.setup_timeout + 60 + p.w5_duration * 2, record=False)
                server.stop()
                with open(server.log) as f:
                    cut_logs = sum(1 for line in f if "slow consumer" in line)
            for row in got:
                row["slow_consumer_log_lines"] = cut_logs
                row["max_queue"] = p.w5_max_queue or "default"
            rows += self.record(got)
        return rows

    def workload6(self):
        log(f"workload 6: chat send x{self.plan.w6_runs}")
        with self.serve("chat") as server:
            return self.bench(server, ["--mode", "oneshot", "--chat-binary", self.bins["chat"], "--count",
                                       str(self.plan.w6_runs)], 60 + self.plan.w6_runs * 2)


    def handshakes(self):
        """Per chat kind, one server: hs_repeat runs of connect (TLS on chat-tls),
        hello, welcome, close cycles, as many as it sustains."""
        p, rows = self.plan, []
        for kind in [s for s in p.servers if s in servers.CHAT_KINDS]:
            log(f"handshakes: {kind}, {p.hs_in_flight} in flight, {p.hs_repeat} x {p.hs_seconds:g} s")
            got = []
            with self.serve(kind) as server:
                start = os.path.getsize(server.log)  # what it logged while starting is not counted
                for rep in range(p.hs_repeat):
                    for row in self.bench(server, ["--mode", "handshake", "--in-flight", str(p.hs_in_flight),
                                                   "--warmup", str(p.hs_warmup), "--duration", str(p.hs_seconds)],
                                          60 + p.hs_warmup + p.hs_seconds, record=False):
                        row["rep"] = rep
                        got.append(row)
                server.stop()
                with open(server.log) as f:
                    f.seek(start)
                    log_lines = sum(1 for _ in f)
            for row in got:
                row["server_log_lines"] = log_lines  # all runs, until it stopped: a cycle should not log
            for row in got:
                if "error" not in row:
                    log(f"handshakes: {kind}: {row['per_s']:.0f}/s, {row['failed']} failed, "
                        f"server CPU {row.get('server_cpu_pct', 0):.0f}%, chat-bench CPU {row['gen_cpu_pct']:.0f}%")
            rows += self.record(got)
        return rows

    def workload7(self):
        """Per factor, a fresh server: an unloaded baseline, then busy loops on
        the server's CPU and the burst, and the base rate again to see recovery."""
        p, rows = self.plan, []
        for factor in p.w7_factors:
            rate = round(p.w7_base_rate * factor)
            log(f"workload 7: chat N={p.w7_n} K={p.w7_k} burst {rate} msg/s ({factor}x {p.w7_base_rate}) "
                f"for {p.w7_burst} s beside {p.w7_busy_loops} busy loop(s)")
            with self.serve("chat") as server:
                got = self.overload_run(server, rate)
                server.stop()
                with open(server.log) as f:
                    cut_logs = sum(1 for line in f if "slow consumer" in line)
            baseline = next((r for r in got if r.get("workload") == "overload_baseline"), None)
            runs = [r for r in got if r.get("workload") == "overload" and "error" not in r]
            out = [overload.result_row(r, baseline, factor, p.w7_busy_loops) for r in runs]
            out += [r for r in got if "error" in r]
            if baseline and not runs:
                out.append({**baseline, "factor": factor, "error": "no overload row"})
            for row in out:
                row["slow_consumer_log_lines"] = cut_logs
                row.setdefault("workload", "overload")
            if not out:
                out = [{"workload": "overload", "server": "chat", "factor": factor, "error": "no output"}]
            for row in out:
                if "error" in row:
                    log(f"workload 7: {row['error']}")
                else:
                    log(f"workload 7: {factor}x: cut {row['readers_cut']} ({row.get('senders_cut', 0)} senders), lost {row['lost']} "
                        f"({row.get('lost_stayed', 0)} between members that stayed), "
                        f"p99 unloaded {report.ms(row['p99_unloaded_us'])} ms, during {report.ms(row['p99_during_us'])} ms, "
                        f"recovered {overload.recovery_text(row)}")
            rows += self.record(out)
        return rows

    def overload_run(self, server, rate):
        """Runs chat-bench --mode overload; starts the busy loops when it has
        measured its baseline and says it is ready; ends them (by pid) when it
        is done, also on error or Ctrl-C. Returns its JSON rows."""
        p = self.plan
        args = ["--mode", "overload", "--clients", str(p.w7_n), "--senders", str(p.w7_k),
                "--rate", str(p.w7_baseline_rate), "--burst-rate", str(rate), "--warmup", str(p.warmup),
                "--duration", str(p.w7_baseline_s), "--drain", str(p.w7_drain), "--pre", str(p.w7_pre),
                "--burst", str(p.w7_burst), "--after", str(p.w7_after), "--wait-for-go",
                "--setup-timeout", str(p.setup_timeout)]
        measured = p.w7_pre + p.w7_burst + p.w7_after + p.w7_drain + 30
        timeout = p.setup_timeout + p.warmup + p.w7_baseline_s + p.w7_drain + 30 + measured
        argv = servers.pinned(1, [self.bins["bench"]] + server.bench_args() + args)
        rows, busy = [], None
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
            watchdog = threading.Timer(timeout, proc.kill)
            watchdog.start()
            try:
                for line in proc.stdout:
                    if not line.startswith("{"):
                        continue
                    row = json.loads(line)
                    if row.get("event") == "ready_for_burst":
                        # The loops are the overload: they end with the burst, so
                        # "after" shows how fast the server works off its backlog.
                        busy = overload.BusyLoops(p.w7_busy_loops, 0, p.w7_pre + p.w7_burst, servers.pinned)
                        log(f"workload 7: busy loops {busy.pids} on CPU 0; burst")
                        proc.stdin.write("go\n")
                        proc.stdin.flush()
                        continue
                    rows.append(row)
                proc.wait(timeout=30)
            finally:
                watchdog.cancel()
                if busy:
                    busy.stop()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            err.seek(0)
            text = err.read().strip()
        if text:
            log(f"chat-bench: {text.splitlines()[-1]}")
        if proc.returncode not in (0, 1) and not any("error" in r for r in rows):
            rows.append({"workload": "overload", "server": "chat",
                         "error": f"chat-bench exited with {proc.returncode}" + (f": {text.splitlines()[-1]}" if text else "")})
        return rows


def mixed_args(p):
    """chat-bench options of the mixed run (after the server's own)."""
    return ["--mode", "broadcast", "--clients", str(p.mixed_ws + p.mixed_tcp), "--senders", str(p.mixed_k),
            "--rate", ",".join(str(r) for r in p.mixed_rates), "--repeat", str(p.repeat),
            "--warmup", str(p.warmup), "--duration", str(p.duration), "--drain", str(p.drain),
            "--setup-timeout", str(p.setup_timeout)]


def _interrupt(*_):
    """SIGTERM ends the run the way Ctrl-C does: servers stopped, nothing written."""
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller N, shorter runs: under three minutes")
    ap.add_argument("--targets", action="store_true", help="only the points issue 6 sets targets for, repeated")
    ap.add_argument("--smoke", action="store_true", help="tiny and short: proves the set-up works, measures nothing")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--servers", default=None,
                    help="comma-separated servers: chat, ngircd, inspircd, relay (the default), "
                         "chat-mem (chat with --db :memory:), chat-tls (chat serving TLS only), "
                         "chat-ws (chat with --web-port, every member a WebSocket)")
    ap.add_argument("--only", default=None,
                    help=f"comma-separated subset of {','.join(plans.WORKLOADS)}: measure just these "
                         "(docs/benchmarks.md is then left alone), e.g. --only w7; 'mixed' is one room of "
                         "WebSocket and TCP members on chat-ws")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--command", default=None, help="the command line to record (default: this one)")
    args = ap.parse_args()

    plan = (plans.SMOKE if args.smoke else plans.QUICK if args.quick else plans.TARGETS if args.targets
            else plans.FULL)
    if args.smoke:
        args.no_docs = True  # never replaces measured results
    only = plans.WORKLOADS
    if args.only:
        only = tuple(w.strip() for w in args.only.split(",") if w.strip())
        unknown = [w for w in only if w not in plans.WORKLOADS]
        if unknown or not only:
            sys.exit(f"bench: --only takes {','.join(plans.WORKLOADS)}, not {args.only!r}")
        args.no_docs = True  # a subset must not replace the full results in the docs
        if set(only) <= plans.CHAT_ONLY:
            plan.servers = [s for s in plan.servers if s in servers.CHAT_KINDS]
        if set(only) == {"handshakes"}:
            plan.servers = list(plans.HANDSHAKE_SERVERS)
    if args.servers:
        plan.servers = [s for s in args.servers.split(",") if s]
    bins = {"chat": os.path.join(args.build_dir, "chat"),
            "bench": os.path.join(args.build_dir, "bench", "chat-bench"),
            "relay": os.path.join(args.build_dir, "bench", "bench-relay")}
    for name, path in bins.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {name} not built: {path}")
    command = args.command or " ".join(shlex.quote(a) for a in sys.argv)

    signal.signal(signal.SIGTERM, _interrupt)
    results_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(results_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(results_dir, f"{stamp}-{plan.name}")
    started = time.monotonic()
    machine = report.machine_info()
    log(f"plan {plan.name}; machine {machine['cpu']} x{machine['nproc']}, load {machine['load']}")
    try:
        with tempfile.TemporaryDirectory(prefix="chat-bench-") as work, open(base + ".jsonl", "w") as raw:
            if "ngircd" in plan.servers and set(only) & {"w1", "w2", "w4"}:
                for note in servers.check_ngircd_config(work):
                    log(f"ngircd --configtest: {note}")
            r = Runner(plan, bins, work, raw)
            results = {}
            steps = [("w1", r.workload1, False), ("w2", r.workload2, False), ("w5", r.workload5, True),
                     ("w6", r.workload6, True), ("w4", r.workload4, False), ("w7", r.workload7, True),
                     ("handshakes", r.handshakes, False), ("mixed", r.mixed, False)]
            for key, step, chat_only in steps:
                if key in only:
                    results[key] = step() if not chat_only or "chat" in plan.servers else []
    except KeyboardInterrupt:
        servers.stop_all()
        os.remove(base + ".jsonl")
        log("interrupted: every server this run started is stopped; no results written")
        sys.exit(130)
    finally:
        servers.stop_all()
    machine["load_end"] = report.machine_info()["load"]
    machine["elapsed_s"] = round(time.monotonic() - started)
    log(f"measured in {machine['elapsed_s']}s")
    markdown = report.render(plan, results, machine, command, servers.versions(bins))
    with open(base + ".md", "w") as f:
        f.write("# chat benchmark results\n\n" + markdown)
    log(f"wrote {os.path.relpath(base, ROOT)}.md and .jsonl in {machine['elapsed_s']}s")
    if not args.no_docs:
        report.refresh_docs(os.path.join(ROOT, "docs", "benchmarks.md"), markdown)
        log("refreshed docs/benchmarks.md")
    print(markdown)


if __name__ == "__main__":
    main()

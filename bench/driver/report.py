"""Turn chat-bench rows into markdown, and keep docs/benchmarks.md current.

A workload-1 point (server, N, K, rate) is clean when every run at that
rate delivered every message to every member (no loss, no duplicates, no
disconnects) and the median p99 is below 100 ms.
"""
import os
import platform
import re
import statistics
import time

import overload

P99_LIMIT_US = 100_000
# Variants of chat measured beside plain `chat` in the same run, and the
# least fraction of chat's clean rate each should reach (issue 13: storage
# costs at most 10 %; issue 15: TLS keeps at least half; issue 16: WebSocket
# members keep at least 70 %).
MODES = (("chat-tls", "over TLS", 0.5), ("chat-ws", "over WebSocket", 0.7), ("chat-mem", "with --db :memory:", None))
BEGIN, END = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"
ANCHORS = ("ngircd", "inspircd")


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def _med(rows, key):
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def ms(us):
    return "–" if us is None else f"{us / 1000:.1f}"


def si(x):
    if x is None:
        return "–"
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def _clean(reps):
    return all("error" not in r and r.get("lost", 1) == 0 and r.get("duplicates", 1) == 0
               and r.get("disconnects", 1) == 0 for r in reps) and _med(reps, "p99_us") < P99_LIMIT_US


def w1_points(rows, server, n, k):
    """{rate: [rows]} for one server and (N, K), rates ascending."""
    points = {}
    for r in rows:
        if r.get("workload") == "broadcast" and r.get("server") == server and r.get("n") == n and r.get("k") == k:
            points.setdefault(r["rate"], []).append(r)
    return dict(sorted(points.items()))


def highest_clean_rate(rows, server, n, k):
    clean = [rate for rate, reps in w1_points(rows, server, n, k).items() if _clean(reps)]
    return max(clean) if clean else None


def _why_unclean(reps):
    if any("error" in r for r in reps):
        return "error"
    lost = sum(r.get("lost", 0) for r in reps)
    if lost:
        return f"lost {si(lost)}"
    if any(r.get("disconnects") for r in reps):
        return "disconnects"
    return f"p99 {ms(_med(reps, 'p99_us'))} ms"


def _w1_table(plan, rows):
    out = ["| N | K | server | clean rate msg/s | deliveries/s | deliveries/CPU-s | p50 ms | p99 ms | RSS MiB | gen CPU % | next step |",
           "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    ratios = []
    for n in plan.w1_n:
        for k in plan.w1_k:
            best = {}
            for server in plan.servers:
                points = w1_points(rows, server, n, k)
                errors = [r["error"] for r in rows if r.get("server") == server and r.get("n") == n and "error" in r
                          and r.get("workload") in ("broadcast", None)]
                rate = highest_clean_rate(rows, server, n, k)
                best[server] = rate
                if rate is None:
                    first = next(iter(points.values()), None)
                    why = _why_unclean(first) if first else (errors[0] if errors else "no data")
                    out.append(f"| {n} | {k} | {server} | < {si(plan.w1_rates[0])} | | | | | | | {why} |")
                    continue
                reps = points[rate]
                above = [reps_ for r_, reps_ in points.items() if r_ > rate]
                nxt = _why_unclean(above[0]) if above else "top of ramp"
                mark = "≥ " if rate == plan.w1_rates[-1] else ""
                if any(not _clean(reps_) for r_, reps_ in points.items() if r_ < rate):
                    nxt += " (a lower rate was not clean: noise?)"
                rss = _med(reps, "server_rss_kib")
                out.append(f"| {n} | {k} | {server} | {mark}{si(rate)} | {si(_med(reps, 'deliveries_per_s'))} | "
                           f"{si(_med(reps, 'deliveries_per_cpu_s'))} | {ms(_med(reps, 'p50_us'))} | "
                           f"{ms(_med(reps, 'p99_us'))} | {'–' if rss is None else f'{rss / 1024:.1f}'} | "
                           f"{_med(reps, 'gen_cpu_pct'):.0f} | {nxt} |")
            anchors = [best[a] for a in ANCHORS if best.get(a)]
            if best.get("chat") is not None:
                parts = []
                if anchors:
                    parts.append(f"{best['chat'] / max(anchors):.2f}× the better IRC anchor")
                if best.get("relay"):
                    parts.append(f"{best['chat'] / best['relay']:.0%} of the relay")
                if parts:
                    ratios.append(f"- N={n}, K={k}: chat's clean rate is " + ", ".join(parts) + ".")
            elif "chat" in plan.servers:
                ratios.append(f"- N={n}, K={k}: chat had no clean rate on this ramp.")
            per_cpu = {s: _med(w1_points(rows, s, n, k).get(best[s], []), "deliveries_per_cpu_s")
                       for s in plan.servers if best.get(s)}
            ratios += mode_ratio_lines(best, per_cpu, n, k)
    return out + [""] + ratios


def mode_ratio_lines(best, per_cpu, n, k):
    """One line per variant of chat in `best` ({server: highest clean rate or
    None}): its clean rate as a share of plain chat's, against its target,
    and the deliveries per server CPU-second at each one's clean rate."""
    lines = []
    if "chat" not in best:
        return lines
    for variant, what, target in MODES:
        if variant not in best:
            continue
        plain, other = best["chat"], best[variant]
        goal = f" (target: at least {target:.0%})" if target else ""
        if not plain or not other:
            missing = " and ".join(s for s, r in (("chat", plain), (variant, other)) if not r)
            lines.append(f"- N={n}, K={k}: chat {what} / plain: no ratio, {missing} had no clean rate{goal}.")
            continue
        ratio = other / plain
        verdict = "" if not target else (" — met" if ratio >= target else " — NOT met")
        line = (f"- N={n}, K={k}: chat {what} / plain: clean rate {si(other)} / {si(plain)} msg/s = "
                f"**{ratio:.0%}**{goal}{verdict}")
        if per_cpu.get(variant) and per_cpu.get("chat"):
            line += (f"; deliveries per server CPU-second {si(per_cpu[variant])} / {si(per_cpu['chat'])} "
                     f"= {per_cpu[variant] / per_cpu['chat']:.0%}")
        lines.append(line + ".")
    return lines


def _w1_ramp(plan, rows, n, k):
    rates = sorted({r["rate"] for r in rows if r.get("workload") == "broadcast" and r.get("n") == n and r.get("k") == k})
    out = ["| rate msg/s | " + " | ".join(plan.servers) + " |", "|---:|" + "---:|" * len(plan.servers)]
    for rate in rates:
        cells = []
        for server in plan.servers:
            reps = w1_points(rows, server, n, k).get(rate)
            if not reps:
                cells.append("")
            elif _clean(reps):
                cells.append(ms(_med(reps, "p99_us")))
            else:
                cells.append(f"✗ {_why_unclean(reps)}")
        out.append(f"| {si(rate)} | " + " | ".join(cells) + " |")
    return out


def _w2_table(plan, rows):
    out = ["| N | server | p50 ms | p99 ms | last member ms (median) | last member ms (worst) | lost | setup s |",
           "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for n in plan.w2_n:
        for server in plan.servers:
            r = next((r for r in rows if r.get("server") == server and r.get("n") == n), None)
            if r is None or "error" in r:
                out.append(f"| {n} | {server} | | | | | | {r['error'] if r else 'no data'} |")
                continue
            out.append(f"| {n} | {server} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['last_member_us'])} | "
                       f"{ms(r['last_member_worst_us'])} | {r['lost']} | {r.get('setup_s', 0):.1f} |")
    return out


def _w4_table(plan, rows):
    out = ["| server | connections | RSS/conn KiB | threads | connect/s | failed | beyond the last step |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for server in plan.servers:
        mine = [r for r in rows if r.get("server") == server]
        if not mine:
            out.append(f"| {server} | | | | | | no data |")
        for r in mine:
            if "error" in r:
                out.append(f"| {server} | | | | | | {r['error']} |")
                continue
            extra = r.get("beyond_limit", "")
            if r.get("first_failure"):
                extra = (extra + "; " if extra else "") + "first failure " + r["first_failure"]
            out.append(f"| {server} | {r['connections']} | {r.get('rss_per_conn_kib', 0):.1f} | "
                       f"{r.get('server_threads', '–')} | {si(r['connect_per_s'])} | {r['failed']} | {extra} |")
    return out


def _w5_table(rows):
    """Medians per kind of run (without / with the slow member); every p99 listed."""
    if not rows:
        return ["(not run)"]
    out = ["| slow members | runs | rate msg/s | p50 ms | p99 ms (others), each run | lost | disconnects | slow member cut | after ms | 'slow consumer' log lines | RSS MiB |",
           "|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|"]
    errors = [r["error"] for r in rows if "error" in r]
    p99 = {}
    for slow, workload in ((0, "broadcast"), (1, "slow_consumer")):
        runs = [r for r in rows if r.get("workload") == workload]
        if not runs:
            continue
        p99[slow] = _med(runs, "p99_us")
        cuts = [r for r in runs if r.get("slow_cut")]
        reasons = sorted({r.get("slow_reason", "") for r in cuts})
        cut = f"{len(cuts)}/{len(runs)} ({', '.join(reasons)})" if slow else "–"
        after = f"{_med(cuts, 'slow_cut_after_ms'):.0f}" if cuts else ""
        out.append(f"| {slow} | {len(runs)} | {si(runs[0]['rate'])} | {ms(_med(runs, 'p50_us'))} | "
                   f"{ms(p99[slow])} ({' / '.join(ms(r['p99_us']) for r in runs)}) | {sum(r['lost'] for r in runs)} | "
                   f"{sum(r['disconnects'] for r in runs)} | {cut} | {after} | "
                   f"{sum(r.get('slow_consumer_log_lines', 0) for r in runs)} | {_med(runs, 'server_rss_kib') / 1024:.1f} |")
    if errors:
        out += ["", "Errors: " + "; ".join(errors)]
    if p99.get(0) and 1 in p99:
        out += ["", f"Median p99 of the others with a slow member / without: {p99[1] / p99[0]:.2f}× (target ≤ 2×); "
                    f"server --max-queue: {rows[0].get('max_queue')}."]
    return out


def _w6_table(rows):
    r = rows[0] if rows else None
    if not r or "error" in r:
        return [f"(failed: {r['error'] if r else 'not run'})"]
    return ["| runs | median ms | p99 ms | min ms | max ms | failures | delivered |", "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {r['runs']} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['min_us'])} | {ms(r['max_us'])} | "
            f"{r['failures']} | {r['delivered']} |"]


def _w7_table(plan, rows):
    """One row per burst factor: cuts, loss, order and how p99 recovers."""
    if not rows:
        return ["(not run)"]
    out = ["| factor | offered msg/s | busy loops | sent | delivered | expected | lost | duplicated | out of order | "
           "readers cut | p99 unloaded ms | p99 busy, before ms | p99 during ms | p99 after ms | back within 2× unloaded | "
           "back within 2× busy-before | "
           "sender backlog peak KiB | server CPU % | peak RSS MiB |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|"]
    notes = []
    for r in rows:
        if "error" in r:
            out.append(f"| {r.get('factor', '?')}× | | | | | | | | | | | | | | {r['error']} | | | | |")
            continue
        hwm = r.get("server_hwm_kib")
        cpu = r.get("server_cpu_pct")
        out.append(f"| {r['factor']}× | {si(r['offered_rate'])} | {r['busy_loops']} | {si(r['sent'])} | "
                   f"{si(r['delivered'])} | {si(r['expected'])} | {r['lost']} | {r['duplicates']} | {r['out_of_order']} | "
                   f"{r['readers_cut']} | {ms(r['p99_unloaded_us'])} | {ms(r.get('p99_pre_us'))} | {ms(r['p99_during_us'])} | "
                   f"{ms(r.get('p99_after_us'))} | {overload.recovery_text(r)} | "
                   f"{overload.recovery_text(r, 'recover_busy_s')} | {r.get('sender_backlog_peak_bytes', 0) / 1024:.0f} | "
                   f"{'–' if cpu is None else f'{cpu:.0f}'} | {'–' if hwm is None else f'{hwm / 1024:.1f}'} |")
        if r.get("cut_reasons"):
            notes.append(f"- {r['factor']}×: readers cut: {r['cut_reasons']}, {r.get('senders_cut', 0)} of them senders "
                         f"(server log: {r.get('slow_consumer_log_lines', 0)} 'slow consumer' lines); "
                         f"lost between members that stayed: {r.get('lost_stayed', 0)} of {si(r.get('expected_stayed'))}.")
        if r.get("rate_limited"):
            notes.append(f"- {r['factor']}×: {r['rate_limited']} sends refused as rate_limited.")
    first = next((r for r in rows if "error" not in r), None)
    if first:
        notes.append(f"- Target: zero readers cut, zero lost, duplicated or out of order, and p99 back within 2× of the "
                     f"unloaded p99 within 5 s after the burst (observed for {first['after_s']} s at "
                     f"{si(first.get('baseline_rate'))} msg/s). Per second of scheduled send time, p99 ms "
                     f"({first['pre_s']} s before, {first['burst_s']} s burst, {first['after_s']} s after):")
        for r in rows:
            if "timeline_p99_us" in r:
                notes.append(f"  {r['factor']}×: " + " ".join(ms(v) if e and d >= e else f"{ms(v)}*" for v, e, d in
                                                          zip(r["timeline_p99_us"], r["timeline_expected"], r["timeline_delivered"])))
        notes.append("  (* not every message due in that second reached every reader that stayed)")
        notes.append("  Deliveries per second of arrival (from the same start, through the drain); longest silence:")
        for r in rows:
            if "arrivals_per_s" in r:
                notes.append(f"  {r['factor']}×: " + " ".join(si(a) for a in r["arrivals_per_s"]) +
                             f"; {r.get('max_gap_ms', 0):.0f} ms, last delivery at {r.get('last_delivery_s', 0):.1f} s, "
                             f"drain {r.get('drain_s', 0):.1f} s")
    return out + [""] + notes


def handshake_rows(rows, server):
    return [r for r in rows if r.get("workload") == "handshake" and r.get("server") == server and "error" not in r]


def _hs_table(plan, rows):
    """Per server: the median over runs of completed cycles per second, and
    TLS / plain as a ratio when both ran."""
    out = ["| server | transport | runs | cycles/s (each run) | failed | p50 ms | p99 ms | server CPU % | "
           "cycles per server CPU-s | chat-bench CPU % | server log lines |",
           "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    medians = {}
    for server in plan.servers:
        mine = handshake_rows(rows, server)
        errors = [r["error"] for r in rows if r.get("server") == server and "error" in r]
        if not mine:
            if errors or any(r.get("server") == server for r in rows):
                out.append(f"| {server} | | | | | | | | | | {errors[0] if errors else 'no data'} |")
            continue
        medians[server] = _med(mine, "per_s")
        cpu = _med(mine, "server_cpu_pct")
        per_cpu = _med(mine, "per_cpu_s")
        failed = sum(r["failed"] for r in mine)
        first = next((r["first_failure"] for r in mine if r.get("first_failure")), "")
        transport = ("TLS" if mine[0].get("tls") else "TCP") + (" + WebSocket" if mine[0].get("transport") == "ws" else "")
        out.append(f"| {server} | {transport} | {len(mine)} | "
                   f"{si(medians[server])} ({' / '.join(si(r['per_s']) for r in mine)}) | "
                   f"{failed}{(' (' + first + ')') if first else ''} | {ms(_med(mine, 'p50_us'))} | {ms(_med(mine, 'p99_us'))} | "
                   f"{'–' if cpu is None else f'{cpu:.0f}'} | {si(per_cpu)} | {_med(mine, 'gen_cpu_pct'):.0f} | "
                   f"{mine[0].get('server_log_lines', '–')} |")
    notes = []
    if medians.get("chat-tls") and medians.get("chat"):
        notes.append(f"- TLS / plain: {medians['chat-tls'] / medians['chat']:.0%} of the plaintext cycle rate "
                     f"({si(medians['chat-tls'])} full TLS handshakes per second).")
    if medians.get("chat-ws") and medians.get("chat"):
        notes.append(f"- WebSocket / plain: {medians['chat-ws'] / medians['chat']:.0%} of the TCP cycle rate "
                     f"({si(medians['chat-ws'])} WebSocket upgrades and logins per second).")
    if any((_med(handshake_rows(rows, s), "gen_cpu_pct") or 0) >= 90 for s in medians):
        notes.append("- chat-bench used 90% or more of its CPU: the load generator, not the server, may be the limit.")
    return out + ([""] + notes if notes else [])


def mixed_points(rows):
    """{rate: [rows]} of the mixed room, rates ascending."""
    points = {}
    for r in rows:
        if r.get("workload") == "mixed":
            points.setdefault(r["rate"], []).append(r)
    return dict(sorted(points.items()))


def _mixed_table(plan, rows):
    """Per rate: each kind's median p50/p99 and its loss, and whether the run
    was clean for the whole room; then the highest clean rate."""
    out = ["| rate msg/s | runs | WebSocket p50 ms | WebSocket p99 ms | WebSocket lost | TCP p50 ms | TCP p99 ms | "
           "TCP lost | duplicates | disconnects | deliveries/CPU-s | RSS MiB | gen CPU % | clean |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    errors = [r["error"] for r in rows if "error" in r]
    points = mixed_points(rows)
    for rate, reps in points.items():
        rss = _med(reps, "server_rss_kib")
        gen = _med(reps, "gen_cpu_pct")
        out.append(f"| {si(rate)} | {len(reps)} | {ms(_med(reps, 'ws_p50_us'))} | {ms(_med(reps, 'ws_p99_us'))} | "
                   f"{sum(r.get('ws_lost', 0) for r in reps)} | {ms(_med(reps, 'tcp_p50_us'))} | "
                   f"{ms(_med(reps, 'tcp_p99_us'))} | {sum(r.get('tcp_lost', 0) for r in reps)} | "
                   f"{sum(r.get('duplicates', 0) for r in reps)} | {sum(r.get('disconnects', 0) for r in reps)} | "
                   f"{si(_med(reps, 'deliveries_per_cpu_s'))} | {'–' if rss is None else f'{rss / 1024:.1f}'} | "
                   f"{'–' if gen is None else f'{gen:.0f}'} | {'yes' if _clean(reps) else '✗ ' + _why_unclean(reps)} |")
    if errors:
        out += ["", "Errors: " + "; ".join(errors)]
    clean = [rate for rate, reps in points.items() if _clean(reps)]
    if clean:
        best = points[max(clean)]
        ws, tcp = _med(best, "ws_p99_us"), _med(best, "tcp_p99_us")
        out += ["", f"- Highest rate clean for the whole room: {si(max(clean))} msg/s; there WebSocket members' p99 is "
                    f"{ms(ws)} ms and TCP members' {ms(tcp)} ms"
                    + (f" ({ws / tcp:.2f}×)" if ws and tcp else "") + "."]
    elif points:
        out += ["", "- No rate was clean for the whole room."]
    return out


def render(plan, results, machine, command, versions):
    """The results as markdown: machine, command, one table per workload run."""
    w1 = results.get("w1", [])
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M %Z')}, plan **{plan.name}**, {machine['elapsed_s']} s.",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), kernel {machine['kernel']}; "
        f"load average {machine['load']} at the start, {machine['load_end']} at the end.",
        f"Command: `{command}`",
        "Servers: " + ", ".join(versions[s] for s in plan.servers) + ". Each server pinned to CPU 0, "
        "chat-bench to CPU 1; 64-byte messages; throttles off (see Method).",
    ]
    if "w1" in results:
        lines += [
        "",
        f"### Workload 1 — sustained broadcast: highest clean rate (ramp {', '.join(si(r) for r in plan.w1_rates)} msg/s, "
        f"{plan.repeat} run(s) of {plan.duration:g} s per step)",
        "",
        ] + _w1_table(plan, w1)
        for n in plan.w1_n:
            for k in plan.w1_k:
                lines += ["", f"Ramp detail N={n}, K={k}: p99 ms at each rate (✗: not clean, and why).", ""]
                lines += _w1_ramp(plan, w1, n, k)
    if "w2" in results:
        lines += ["", f"### Workload 2 — fan-out probe: one message, {plan.probes} probes, medians over probes", ""]
        lines += _w2_table(plan, results["w2"])
    if "w4" in results:
        lines += ["", "### Workload 4 — idle scale (logged in, not in a room)", ""]
        lines += _w4_table(plan, results["w4"])
    if "w5" in results:
        lines += ["", f"### Workload 5 — slow consumer (chat, N={plan.w5_n}, K={plan.w5_k}, {plan.w5_payload}-byte messages, "
                      f"{plan.w5_duration:g} s)", ""]
        lines += _w5_table(results["w5"])
    if "w6" in results:
        lines += ["", "### Workload 6 — `chat send`, exec to exit", ""]
        lines += _w6_table(results["w6"])
    if "handshakes" in results:
        lines += ["", f"### Handshakes — connect, {'TLS handshake, ' if 'chat-tls' in plan.servers else ''}hello, "
                      f"welcome, close: {plan.hs_in_flight} in flight, {plan.hs_repeat} run(s) of {plan.hs_seconds:g} s, "
                      "full handshakes (no resumption), certificate not verified by the client", ""]
        lines += _hs_table(plan, results["handshakes"])
    if "mixed" in results:
        lines += ["", f"### Mixed room — {plan.mixed_ws} WebSocket + {plan.mixed_tcp} TCP members in one room on "
                      f"chat-ws, K={plan.mixed_k} senders of both kinds, the same rate for all "
                      f"({plan.repeat} run(s) of {plan.duration:g} s per step)", ""]
        lines += _mixed_table(plan, results["mixed"])
    if "w7" in results:
        lines += ["", f"### Workload 7 — overload (chat, N={plan.w7_n}, K={plan.w7_k}, burst of {plan.w7_burst} s at "
                      f"{' and '.join(f'{f}×' for f in plan.w7_factors)} {si(plan.w7_base_rate)} msg/s beside "
                      f"{plan.w7_busy_loops} busy loop(s) on the server's CPU)", ""]
        lines += _w7_table(plan, results["w7"])
    return "\n".join(lines) + "\n"


def refresh_docs(path, body):
    """Replaces the text between the result markers in `path` with `body`."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    block = f"{BEGIN}\n{body}{END}"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)

"""Workload 7 (overload) helpers: busy loops that starve the server, the
recovery time read off chat-bench's latency timeline, and the result row.

chat-bench --mode overload reports, per second of scheduled send time (from
the start of its measured schedule: `pre_s` seconds at the base rate, then
`burst_s` at the burst rate, then `after_s` at the base rate), the p99
latency and the deliveries expected by and made to the readers that stayed
connected (timeline_p99_us, timeline_expected, timeline_delivered).
"""
import os
import subprocess
import sys

RECOVERY_FACTOR = 2.0  # "p99 back within 2x of the unloaded value"


def bucket_recovered(p99_us, expected, delivered, limit_us):
    """A second counts as recovered when every message due in it reached every
    reader that stayed, and their p99 is within the limit."""
    return expected > 0 and delivered >= expected and p99_us <= limit_us


def seconds_to_recover(row, baseline_p99_us, factor=RECOVERY_FACTOR):
    """Whole seconds after the burst until p99 is back within `factor` x the
    unloaded p99 and stays there for the rest of the run: 0 when the first
    second after the burst is already fine. None when it never gets there
    (or there is nothing to judge)."""
    if not baseline_p99_us or "timeline_p99_us" not in row:
        return None
    first = row["pre_s"] + row["burst_s"]
    p99 = row["timeline_p99_us"][first:]
    expected = row["timeline_expected"][first:]
    delivered = row["timeline_delivered"][first:]
    limit = factor * baseline_p99_us
    ok = [bucket_recovered(*b, limit) for b in zip(p99, expected, delivered)]
    if not ok or not ok[-1]:
        return None
    j = len(ok)
    while j > 0 and ok[j - 1]:
        j -= 1
    return j


def busy_loop_argv(seconds):
    """A process that spins on one CPU for at most `seconds`."""
    code = f"import time\nend = time.monotonic() + {float(seconds)!r}\nwhile time.monotonic() < end:\n    pass\n"
    return [sys.executable, "-c", code]


class BusyLoops:
    """`count` busy-loop processes pinned to `cpu`, each ending by itself after
    `seconds`; stop() (also on leaving a with block) kills each by its pid."""

    def __init__(self, count, cpu, seconds, pin):
        self.procs = []
        try:
            for _ in range(count):
                self.procs.append(subprocess.Popen(pin(cpu, busy_loop_argv(seconds)), stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except BaseException:
            self.stop()
            raise

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def result_row(run, baseline, factor, busy_loops):
    """The workload-7 row: chat-bench's overload row plus the factor, the busy
    loops, the unloaded p99 (from the baseline row) and the recovery time."""
    row = dict(run)
    p99_unloaded = baseline.get("p99_us") if baseline else None
    row.update({
        "factor": factor,
        "busy_loops": busy_loops,
        "offered_rate": run.get("burst_rate"),
        "p99_unloaded_us": p99_unloaded,
        "p99_during_us": run.get("p99_burst_us"),
        "recover_s": seconds_to_recover(run, p99_unloaded),
        # against p99 at the base rate with the busy loops already running (before the burst):
        # how much of the gap to the unloaded p99 is only the shared CPU
        "recover_busy_s": seconds_to_recover(run, run.get("p99_pre_us")),
        "recover_window_s": run.get("after_s"),
    })
    if baseline:
        row.update({"baseline_rate": baseline.get("rate"), "baseline_lost": baseline.get("lost"),
                    "baseline_disconnects": baseline.get("disconnects")})
    return row


def recovery_text(row, key="recover_s"):
    if row.get(key) is not None:
        return f"{row[key]} s"
    return f"not within {row.get('recover_window_s', '?')} s"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

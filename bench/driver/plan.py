"""What `scripts/dev bench` measures, in full and in --quick form.

Workload numbers follow /work/shared/benchmarks.md. --quick keeps every
workload but with smaller N, shorter runs, one repeat and coarser ramps,
so that the whole run finishes in under three minutes.
"""
from dataclasses import dataclass, field


@dataclass
class Plan:
    name: str
    servers: list = field(default_factory=lambda: ["chat", "ngircd", "inspircd", "relay"])
    # workload 1: sustained broadcast
    w1_n: list = field(default_factory=lambda: [100, 1000])
    w1_k: list = field(default_factory=lambda: [1, 10])
    w1_rates: list = field(default_factory=list)
    warmup: float = 1.0
    duration: float = 3.0
    drain: float = 2.0
    repeat: int = 3
    # workload 2: fan-out probe
    w2_n: list = field(default_factory=lambda: [1000, 5000])
    probes: int = 20
    # workload 4: idle scale
    w4_steps: list = field(default_factory=lambda: [1000, 5000, 10000])
    # workload 5: slow consumer (chat only). Large messages, so that the slow
    # member's kernel buffers (the server's send buffer autotunes to ~4 MiB)
    # and then its queue in the server fill within the run.
    w5_n: int = 100
    w5_k: int = 10
    w5_rate: int = 200
    w5_payload: int = 4000
    w5_max_queue: int = 0  # 0: the server's default
    w5_duration: float = 15.0
    w5_repeat: int = 3     # pairs of runs (without, with the slow member), interleaved
    # workload 6: chat send
    w6_runs: int = 100
    # workload 7: overload (chat only). The server shares CPU 0 with busy
    # loops, so that it, not the load generator, is the slow party; the burst
    # offers w7_factors x w7_base_rate. An unloaded baseline (no busy loops)
    # at w7_baseline_rate comes first; the same rate runs w7_pre s before and
    # w7_after s after the burst (busy loops on), to see p99 recover.
    w7_n: int = 1000
    w7_k: int = 10
    w7_base_rate: int = 1500
    w7_factors: list = field(default_factory=lambda: [2, 4])
    w7_busy_loops: int = 3
    w7_baseline_rate: int = 500
    w7_baseline_s: float = 5.0
    w7_pre: int = 2      # whole seconds (timeline buckets are seconds)
    w7_burst: int = 10
    w7_after: int = 10
    w7_drain: float = 30.0  # most seconds to wait for late messages; ends once all arrived
    # handshakes (chat kinds only): connect -> TLS handshake on chat-tls ->
    # hello -> welcome -> close, as many per second as the server sustains
    # with hs_in_flight under way; hs_repeat runs of hs_seconds after a warm-up.
    hs_in_flight: int = 32
    hs_warmup: float = 1.0
    hs_seconds: float = 5.0
    hs_repeat: int = 3
    # mixed room (issue 16): mixed_ws WebSocket and mixed_tcp TCP members of
    # one room on one chat-ws server, mixed_k senders of both kinds, the
    # same ramp and repeats as workload 1 over mixed_rates; per-kind loss and p99.
    mixed_ws: int = 1000
    mixed_tcp: int = 1000
    mixed_k: int = 10
    mixed_rates: list = field(default_factory=lambda: geometric(250, 8000, 2 ** 0.5))
    # seconds each chat-bench run may take to log everyone in
    setup_timeout: float = 600


def geometric(start, stop, factor):
    rates, r = [], float(start)
    while r <= stop * 1.0001:
        rates.append(round(r))
        r *= factor
    return rates


FULL = Plan(name="full", w1_rates=geometric(250, 32000, 2 ** 0.5))

# The points issue 6 sets targets for, each repeated: N = 1,000 with K = 10
# (workload 1), N = 5,000 (workload 2), 10,000 idle connections (workload 4),
# the slow consumer, chat send and overload (workload 7, 2x and 4x). About 20 minutes.
# The workload-1 ramp starts at 250 msg/s so that a slower transport (TLS)
# still gets a clean rate to compare.
TARGETS = Plan(
    name="targets",
    w1_n=[1000], w1_k=[10], w1_rates=geometric(250, 16000, 2 ** 0.5),
    warmup=0.5, duration=2.0, drain=1.0, repeat=3,
    w2_n=[5000], probes=10,
    w4_steps=[1000, 5000, 10000],
    w5_duration=10.0, w5_repeat=3,
    w6_runs=100,
    mixed_rates=geometric(250, 8000, 2 ** 0.5),
)

QUICK = Plan(
    name="quick",
    w1_n=[100, 300], w1_k=[1, 10], w1_rates=[250, 1000, 4000],
    warmup=0.2, duration=0.6, drain=0.5, repeat=1,
    w2_n=[250, 500], probes=3,
    w4_steps=[1000, 2000],
    w5_duration=7.0, w5_repeat=1,
    w6_runs=20, setup_timeout=20,
    w7_n=200, w7_base_rate=3000, w7_baseline_rate=500, w7_baseline_s=2.0,
    w7_pre=1, w7_burst=3, w7_after=5, w7_drain=15.0,
    hs_warmup=0.5, hs_seconds=2.0, hs_repeat=1,
    mixed_ws=150, mixed_tcp=150, mixed_rates=[250, 1000, 4000],
)

# A few seconds that prove the instrument and the driver work end to end
# (N = 20, K = 2, 100 msg/s for 3 s; 5 s of handshakes); measures nothing.
SMOKE = Plan(
    name="smoke", w1_n=[20], w1_k=[2], w1_rates=[100], warmup=0.5, duration=3.0, drain=1.0, repeat=1,
    w2_n=[20], probes=2, w4_steps=[20], w5_duration=2.0, w5_repeat=1, w6_runs=3, setup_timeout=20,
    w7_n=20, w7_base_rate=100, w7_baseline_rate=50, w7_baseline_s=1.0, w7_pre=1, w7_burst=1, w7_after=1,
    w7_drain=5.0, hs_warmup=0.5, hs_seconds=5.0, hs_repeat=1,
    mixed_ws=10, mixed_tcp=10, mixed_k=2, mixed_rates=[100],
)

WORKLOADS = ("w1", "w2", "w4", "w5", "w6", "w7", "handshakes", "mixed")
# Workloads only `chat serve` runs (the others have no such feature or protocol).
CHAT_ONLY = {"w5", "w6", "w7", "handshakes", "mixed"}
# The servers --only handshakes measures when --servers is not given.
HANDSHAKE_SERVERS = ["chat", "chat-tls"]

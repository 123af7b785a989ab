"""Unit tests of the driver's TLS reporting: the TLS / plain ratio of the
workload-1 clean rate and the handshake table (run by ctest as 'bench: driver')."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "driver"))
import plan as plans  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402


def w1_row(server, rate, p99_us=20_000, lost=0, per_cpu=2e6):
    return {"workload": "broadcast", "server": server, "n": 1000, "k": 10, "rate": rate, "lost": lost,
            "duplicates": 0, "disconnects": 0, "p99_us": p99_us, "p50_us": p99_us // 2, "deliveries_per_s": rate * 999,
            "deliveries_per_cpu_s": per_cpu, "server_rss_kib": 50_000, "gen_cpu_pct": 50.0}


def hs_row(server, per_s, tls, rep=0, gen=40.0, failed=0):
    return {"workload": "handshake", "server": server, "tls": tls, "rep": rep, "in_flight": 32, "seconds": 5.0,
            "completed": int(per_s * 5), "failed": failed, "per_s": per_s, "p50_us": 3000, "p99_us": 6000,
            "gen_cpu_pct": gen, "server_cpu_pct": 100.0, "per_cpu_s": per_s, "server_log_lines": 0}


class ModeRatio(unittest.TestCase):
    def test_tls_at_half_of_plain_meets_the_target(self):
        lines = report.mode_ratio_lines({"chat": 2000, "chat-tls": 1000}, {"chat": 2e6, "chat-tls": 1e6}, 1000, 10)
        self.assertEqual(len(lines), 1)
        self.assertIn("**50%**", lines[0])
        self.assertIn("target: at least 50%", lines[0])
        self.assertIn("— met", lines[0])
        self.assertIn("1M / 2M = 50%", lines[0])

    def test_tls_below_half_does_not(self):
        (line,) = report.mode_ratio_lines({"chat": 2828, "chat-tls": 1000}, {}, 1000, 10)
        self.assertIn("**35%**", line)
        self.assertIn("NOT met", line)

    def test_no_clean_rate_gives_no_ratio(self):
        (line,) = report.mode_ratio_lines({"chat": 2000, "chat-tls": None}, {}, 1000, 10)
        self.assertIn("no ratio, chat-tls had no clean rate", line)

    def test_storage_off_has_no_target(self):
        (line,) = report.mode_ratio_lines({"chat": 2000, "chat-mem": 2000}, {}, 1000, 10)
        self.assertIn("**100%**", line)
        self.assertNotIn("target", line)

    def test_without_plain_chat_nothing_to_compare(self):
        self.assertEqual(report.mode_ratio_lines({"chat-tls": 1000}, {}, 1000, 10), [])

    def test_the_workload_1_table_carries_the_ratio(self):
        plan = plans.Plan(name="t", servers=["chat", "chat-tls"], w1_n=[1000], w1_k=[10], w1_rates=[1000, 2000])
        rows = [w1_row("chat", 1000), w1_row("chat", 2000), w1_row("chat-tls", 1000),
                w1_row("chat-tls", 2000, lost=5)]
        text = "\n".join(report._w1_table(plan, rows))
        self.assertIn("chat over TLS / plain: clean rate 1k / 2k msg/s = **50%**", text)


class HandshakeTable(unittest.TestCase):
    def setUp(self):
        self.plan = plans.Plan(name="t", servers=["chat", "chat-tls"])

    def test_medians_and_ratio(self):
        rows = [hs_row("chat", v, False, i) for i, v in enumerate((8000, 7000, 9000))]
        rows += [hs_row("chat-tls", v, True, i) for i, v in enumerate((2000, 1000, 1500))]
        text = "\n".join(report._hs_table(self.plan, rows))
        self.assertIn("| chat | TCP | 3 | 8k (8k / 7k / 9k) |", text)
        self.assertIn("| chat-tls | TLS | 3 | 1.5k (2k / 1k / 1.5k) |", text)
        self.assertIn("TLS / plain: 19% of the plaintext cycle rate (1.5k full TLS handshakes per second)", text)
        self.assertNotIn("load generator, not the server", text)

    def test_a_busy_load_generator_is_pointed_out(self):
        text = "\n".join(report._hs_table(self.plan, [hs_row("chat-tls", 900, True, gen=97.0)]))
        self.assertIn("the load generator, not the server, may be the limit", text)

    def test_errors_are_shown(self):
        text = "\n".join(report._hs_table(self.plan, [{"server": "chat-tls", "error": "setup failed"}]))
        self.assertIn("| chat-tls | | | | | | | | | | setup failed |", text)


class Servers(unittest.TestCase):
    def test_chat_tls_speaks_the_chat_adapter_over_tls(self):
        server = servers.Server("chat-tls", type("P", (), {"pid": 1})(), 5051, "/dev/null")
        args = server.bench_args()
        self.assertEqual(args[args.index("--adapter") + 1], "chat")
        self.assertIn("--tls", args)
        self.assertNotIn("--tls", servers.Server("chat", type("P", (), {"pid": 1})(), 5050, "/dev/null").bench_args())

    def test_the_tls_listening_line_is_not_the_plaintext_one(self):
        import re
        tls = "listening for TLS on 127.0.0.1:40001"
        self.assertIsNone(re.search(servers.LISTENING, tls))
        self.assertEqual(re.search(servers.LISTENING_TLS, tls).group(1), "40001")

    def test_handshakes_is_a_chat_only_workload(self):
        self.assertIn("handshakes", plans.WORKLOADS)
        self.assertIn("handshakes", plans.CHAT_ONLY)
        self.assertEqual(plans.HANDSHAKE_SERVERS, ["chat", "chat-tls"])


if __name__ == "__main__":
    unittest.main()

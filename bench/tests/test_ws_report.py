"""Unit tests of the driver's WebSocket parts (issue 16): the chat-ws server
kind, the mixed-room plan and run arguments, the WebSocket / TCP ratio of the
workload-1 clean rate and the mixed-room table (run by ctest as 'bench: driver')."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "driver"))
import plan as plans  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import servers  # noqa: E402


def w1_row(server, rate, p99_us=20_000, lost=0, per_cpu=2e6):
    return {"workload": "broadcast", "server": server, "n": 1000, "k": 10, "rate": rate, "lost": lost,
            "duplicates": 0, "disconnects": 0, "p99_us": p99_us, "p50_us": p99_us // 2, "deliveries_per_s": rate * 999,
            "deliveries_per_cpu_s": per_cpu, "server_rss_kib": 50_000, "gen_cpu_pct": 50.0}


def mixed_row(rate, ws_p99=30_000, tcp_p99=20_000, ws_lost=0, tcp_lost=0, rep=0):
    return {"workload": "mixed", "server": "chat-ws", "transport": "mixed", "ws_members": 1000, "n": 2000, "k": 10,
            "rate": rate, "rep": rep, "lost": ws_lost + tcp_lost, "duplicates": 0, "disconnects": 0,
            "p99_us": max(ws_p99, tcp_p99), "p50_us": 5000, "deliveries_per_cpu_s": 1.5e6, "server_rss_kib": 80 * 1024,
            "gen_cpu_pct": 60.0, "ws_p50_us": 6000, "ws_p99_us": ws_p99, "ws_lost": ws_lost, "tcp_p50_us": 4000,
            "tcp_p99_us": tcp_p99, "tcp_lost": tcp_lost}


def fake_server(kind, port=5050, web_port=None):
    return servers.Server(kind, type("P", (), {"pid": 1})(), port, "/dev/null", web_port)


class WebSocketRatio(unittest.TestCase):
    def test_the_target_is_seventy_percent(self):
        (line,) = report.mode_ratio_lines({"chat": 2000, "chat-ws": 1414}, {"chat": 2e6, "chat-ws": 1.4e6}, 1000, 10)
        self.assertIn("chat over WebSocket / plain: clean rate 1.41k / 2k msg/s = **71%**", line)
        self.assertIn("target: at least 70%", line)
        self.assertIn("— met", line)

    def test_below_seventy_is_not_met(self):
        (line,) = report.mode_ratio_lines({"chat": 2000, "chat-ws": 1000}, {}, 1000, 10)
        self.assertIn("**50%**", line)
        self.assertIn("NOT met", line)

    def test_the_workload_1_table_carries_it_beside_tls(self):
        plan = plans.Plan(name="t", servers=["chat", "chat-ws", "chat-tls"], w1_n=[1000], w1_k=[10],
                          w1_rates=[1000, 1414, 2000])
        rows = [w1_row("chat", r) for r in (1000, 1414, 2000)]
        rows += [w1_row("chat-ws", 1000), w1_row("chat-ws", 1414), w1_row("chat-ws", 2000, p99_us=150_000)]
        rows += [w1_row("chat-tls", 1000), w1_row("chat-tls", 1414, lost=3)]
        text = "\n".join(report._w1_table(plan, rows))
        self.assertIn("chat over WebSocket / plain: clean rate 1.41k / 2k msg/s = **71%**", text)
        self.assertIn("chat over TLS / plain: clean rate 1k / 2k msg/s = **50%**", text)
        self.assertRegex(text, r"\| 1000 \| 10 \| chat-ws \| 1.41k \|.*\| p99 150.0 ms \|")


class MixedRoom(unittest.TestCase):
    def setUp(self):
        self.plan = plans.Plan(name="t", servers=["chat"], mixed_rates=[500, 1000, 2000])

    def test_per_kind_medians_and_loss(self):
        rows = [mixed_row(500, ws_p99=v, rep=i) for i, v in enumerate((30_000, 10_000, 20_000))]
        rows += [mixed_row(1000, ws_p99=40_000), mixed_row(2000, ws_lost=7, tcp_lost=2)]
        text = "\n".join(report._mixed_table(self.plan, rows))
        self.assertIn("| 500 | 3 | 6.0 | 20.0 | 0 | 4.0 | 20.0 | 0 | 0 | 0 | 1.5M | 80.0 | 60 | yes |", text)
        self.assertIn("| 2k | 1 | 6.0 | 30.0 | 7 | 4.0 | 20.0 | 2 | 0 | 0 |", text)
        self.assertIn("✗ lost 9 |", text)
        self.assertIn("Highest rate clean for the whole room: 1k msg/s; there WebSocket members' p99 is 40.0 ms "
                      "and TCP members' 20.0 ms (2.00×)", text)

    def test_broadcast_rows_are_not_mixed_rows(self):
        self.assertEqual(report.mixed_points([w1_row("chat-ws", 1000)]), {})

    def test_no_clean_rate_is_said(self):
        text = "\n".join(report._mixed_table(self.plan, [mixed_row(500, ws_lost=1)]))
        self.assertIn("No rate was clean for the whole room", text)

    def test_errors_are_shown(self):
        text = "\n".join(report._mixed_table(self.plan, [{"server": "chat-ws", "error": "setup: 10/20 members ready"}]))
        self.assertIn("Errors: setup: 10/20 members ready", text)

    def test_render_has_a_mixed_section(self):
        machine = {"elapsed_s": 1, "nproc": 2, "cpu": "x", "kernel": "k", "load": "0", "load_end": "0"}
        text = report.render(self.plan, {"mixed": [mixed_row(500)]}, machine, "cmd", {"chat": "chat 1"})
        self.assertIn("### Mixed room — 1000 WebSocket + 1000 TCP members in one room on chat-ws, K=10", text)


class Handshakes(unittest.TestCase):
    def test_websocket_cycles_are_named_and_compared(self):
        plan = plans.Plan(name="t", servers=["chat", "chat-ws"])
        rows = [{"workload": "handshake", "server": "chat", "tls": False, "transport": "tcp", "per_s": 6000,
                 "failed": 0, "p50_us": 1000, "p99_us": 2000, "gen_cpu_pct": 50.0},
                {"workload": "handshake", "server": "chat-ws", "tls": False, "transport": "ws", "per_s": 3000,
                 "failed": 0, "p50_us": 2000, "p99_us": 4000, "gen_cpu_pct": 50.0}]
        text = "\n".join(report._hs_table(plan, rows))
        self.assertIn("| chat-ws | TCP + WebSocket | 1 | 3k (3k) |", text)
        self.assertIn("WebSocket / plain: 50% of the TCP cycle rate", text)


class Plans(unittest.TestCase):
    def test_targets_mixes_a_thousand_of_each_at_the_workload_1_ramp(self):
        p = plans.TARGETS
        self.assertEqual((p.mixed_ws, p.mixed_tcp, p.mixed_k), (1000, 1000, 10))
        self.assertEqual(p.mixed_rates[0], p.w1_rates[0])
        self.assertIn("mixed", plans.WORKLOADS)
        self.assertIn("mixed", plans.CHAT_ONLY)

    def test_mixed_arguments(self):
        args = run.mixed_args(plans.TARGETS)
        self.assertEqual(args[args.index("--clients") + 1], "2000")
        self.assertEqual(args[args.index("--senders") + 1], "10")
        self.assertEqual(args[args.index("--rate") + 1].split(",")[0], "250")


class Servers(unittest.TestCase):
    def test_chat_ws_members_are_websockets_on_the_web_port(self):
        args = fake_server("chat-ws", 5050, 8080).bench_args()
        self.assertEqual(args[args.index("--adapter") + 1], "chat")
        self.assertEqual(args[args.index("--web-port") + 1], "8080")
        self.assertEqual(args[args.index("--port") + 1], "5050")
        self.assertIn("--ws", args)
        self.assertNotIn("--ws-members", args)

    def test_mixed_members_name_their_number(self):
        args = fake_server("chat-ws", 5050, 8080).bench_args(ws_members=1000)
        self.assertEqual(args[args.index("--ws-members") + 1], "1000")
        self.assertNotIn("--ws", args)

    def test_other_kinds_have_no_websocket(self):
        for kind in ("chat", "chat-tls", "chat-mem"):
            self.assertFalse({"--ws", "--web-port"} & set(fake_server(kind).bench_args()), kind)

    def test_the_web_listening_line_is_its_own(self):
        web = "listening for web on 127.0.0.1:40002"
        self.assertIsNone(re.search(servers.LISTENING, web))
        self.assertIsNone(re.search(servers.LISTENING_TLS, web))
        self.assertEqual(re.search(servers.LISTENING_WEB, web).group(1), "40002")

    def test_chat_ws_is_a_chat_kind(self):
        self.assertIn("chat-ws", servers.CHAT_KINDS)
        self.assertIn("chat-ws", servers.LOGIN_WINDOW)


if __name__ == "__main__":
    unittest.main()

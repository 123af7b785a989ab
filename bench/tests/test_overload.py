"""Unit tests of the driver's workload-7 logic (run by ctest as 'bench: driver')."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "driver"))
import overload  # noqa: E402
import plan as plans  # noqa: E402
import report  # noqa: E402


def timeline_row(p99, pre=1, burst=2, expected=100, delivered=None):
    n = len(p99)
    return {"pre_s": pre, "burst_s": burst, "after_s": n - pre - burst, "timeline_p99_us": p99,
            "timeline_expected": [expected] * n, "timeline_delivered": delivered or [expected] * n}


class SecondsToRecover(unittest.TestCase):
    def test_recovered_in_the_first_second_after_the_burst(self):
        row = timeline_row([1000, 50000, 60000, 1500, 1200, 1100])
        self.assertEqual(overload.seconds_to_recover(row, 1000), 0)

    def test_counts_seconds_until_p99_is_within_twice_the_baseline(self):
        row = timeline_row([1000, 50000, 60000, 9000, 4000, 2000, 1900])
        self.assertEqual(overload.seconds_to_recover(row, 1000), 2)

    def test_exactly_twice_is_within(self):
        self.assertEqual(overload.seconds_to_recover(timeline_row([1000, 9000, 9000, 2000]), 1000), 0)

    def test_must_stay_recovered(self):
        row = timeline_row([1000, 50000, 60000, 1500, 9000, 1500, 1500])
        self.assertEqual(overload.seconds_to_recover(row, 1000), 2)

    def test_never_recovered(self):
        row = timeline_row([1000, 50000, 60000, 9000, 9000, 1500, 9000])
        self.assertIsNone(overload.seconds_to_recover(row, 1000))

    def test_a_second_with_missing_deliveries_is_not_recovered(self):
        row = timeline_row([1000, 50000, 60000, 1500, 1500, 1500],
                           delivered=[100, 100, 100, 100, 99, 100])
        self.assertEqual(overload.seconds_to_recover(row, 1000), 2)

    def test_a_second_with_nothing_expected_is_not_recovered(self):
        row = timeline_row([1000, 50000, 60000, 0], expected=0)
        self.assertIsNone(overload.seconds_to_recover(row, 1000))

    def test_no_baseline_or_no_timeline(self):
        self.assertIsNone(overload.seconds_to_recover(timeline_row([1000, 2000, 3000, 1000]), 0))
        self.assertIsNone(overload.seconds_to_recover({"pre_s": 1, "burst_s": 1}, 1000))

    def test_no_seconds_after_the_burst(self):
        self.assertIsNone(overload.seconds_to_recover(timeline_row([1000, 50000, 60000]), 1000))


class ResultRow(unittest.TestCase):
    def test_adds_the_fields_of_a_workload_7_row(self):
        run = {**timeline_row([1000, 50000, 60000, 1500]), "burst_rate": 3000, "p99_burst_us": 55000,
               "readers_cut": 0}
        row = overload.result_row(run, {"p99_us": 1000, "rate": 500, "lost": 0, "disconnects": 0}, 2, 3)
        self.assertEqual((row["factor"], row["busy_loops"], row["offered_rate"]), (2, 3, 3000))
        self.assertEqual((row["p99_unloaded_us"], row["p99_during_us"], row["recover_s"]), (1000, 55000, 0))
        self.assertIsNone(row["recover_busy_s"])  # no p99_pre_us in this row
        self.assertEqual(overload.recovery_text(row), "0 s")
        self.assertEqual(overload.recovery_text({**row, "recover_s": None}), "not within 1 s")

    def test_without_a_baseline_there_is_no_recovery_time(self):
        row = overload.result_row({**timeline_row([1000, 5000, 5000, 1000]), "burst_rate": 1}, None, 4, 3)
        self.assertIsNone(row["recover_s"])


class Report(unittest.TestCase):
    def test_renders_the_workload_7_table_and_only_the_workloads_run(self):
        run = {**timeline_row([1000, 50000, 60000, 1500]), "burst_rate": 3000, "p99_burst_us": 55000,
               "readers_cut": 3, "cut_reasons": "closed by server: 3", "sent": 10, "delivered": 9, "expected": 10,
               "lost": 1, "duplicates": 0, "out_of_order": 0, "server_hwm_kib": 2048, "server_cpu_pct": 8.0}
        row = overload.result_row(run, {"p99_us": 1000, "rate": 500}, 2, 3)
        machine = {"nproc": 2, "cpu": "x", "kernel": "k", "load": "0", "load_end": "0", "elapsed_s": 1}
        md = report.render(plans.QUICK, {"w7": [row, {"factor": 4, "error": "boom"}]}, machine, "cmd",
                           {s: s for s in plans.QUICK.servers})
        self.assertIn("### Workload 7 — overload", md)
        self.assertIn("| 2× | 3k | 3 |", md)
        self.assertIn("closed by server: 3", md)
        self.assertIn("boom", md)
        self.assertNotIn("Workload 1", md)


class BusyLoops(unittest.TestCase):
    def test_spin_and_are_ended_by_pid(self):
        with overload.BusyLoops(2, 0, 20, lambda cpu, argv: argv) as busy:
            pids = busy.pids
            self.assertEqual(len(pids), 2)
            self.assertTrue(all(overload.pid_alive(p) for p in pids))
        time.sleep(0.1)
        self.assertFalse(any(overload.pid_alive(p) for p in pids))

    def test_end_by_themselves(self):
        busy = overload.BusyLoops(1, 0, 0.2, lambda cpu, argv: argv)
        try:
            busy.procs[0].wait(timeout=10)
            self.assertEqual(busy.procs[0].returncode, 0)
        finally:
            busy.stop()


if __name__ == "__main__":
    unittest.main()

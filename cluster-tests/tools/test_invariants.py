#!/usr/bin/python3
"""Unit tests of invariants.py on synthetic logs (python3 stdlib only).

Each scenario writes lvwatch and canary logs the way the real tools do
(per-host files, same columns) into a temporary directory and runs the
checker's main() on it.  DetectorsCanFail proves the violation tests are not
vacuous: it disables each detector in turn and requires that the tests which
rely on it then fail.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invariants  # noqa: E402

T0 = 1700000000000000000
MS = 1000000
TICK_MS = 2


def ns(ms):
    return T0 + int(round(ms * MS))


class Logs:
    """Synthetic per-host logs.  Times are ms from T0."""

    def __init__(self):
        self.lines = {}

    def add(self, fname, ms, text):
        self.lines.setdefault(fname, []).append((ns(ms), "%d %s" % (ns(ms), text)))

    def lv(self, ms, host, vm, event, detail="-", **kv):
        extra = "".join(" %s=%s" % kvp for kvp in kv.items())
        self.add("lvwatch-%s.log" % host, ms, "%s %s %s %s%s" % (host, vm, event, detail, extra))

    def lvwatch_session(self, host, start_ms, end_ms, snapshot=(), stop=True, alive_ms=1000):
        """LVWATCH started + connected + snapshot at start_ms, alive lines,
        and (stop) a clean LVWATCH stopped at end_ms."""
        self.lv(start_ms, host, "-", "LVWATCH", "started", uri="qemu:///system", alive_ms=alive_ms)
        self.lv(start_ms, host, "-", "LIBVIRTD", "connected", uri="qemu:///system")
        for vm, state in snapshot:
            self.lv(start_ms, host, vm, "STATE", state, reason="BOOTED")
        self.lv(start_ms, host, "-", "SNAPSHOT", "done", domains=len(snapshot))
        t = start_ms + alive_ms
        while t < end_ms:
            self.lv(t, host, "-", "LVWATCH", "alive", connected=1)
            t += alive_ms
        if stop:
            self.lv(end_ms, host, "-", "LVWATCH", "stopped", signal="TERM")

    def can(self, ms, host, vm, event, *args):
        self.add("canary-%s.log" % host, ms, "%s %s %s%s" % (host, vm, event, "".join(" %s" % a for a in args)))

    def ticks(self, host, vm, first_ms, last_ms, seq0):
        """Ticks every 2 ms from first_ms to last_ms as a collector logs
        them: 'first', then an 'hb' each second.  Returns the last seq."""
        self.can(first_ms, host, vm, "first", seq0)
        t = first_ms + 1000
        while t <= last_ms:
            self.can(t, host, vm, "hb", seq0 + int((t - first_ms) / TICK_MS))
            t += 1000
        return seq0 + int((last_ms - first_ms) / TICK_MS)

    def seq_at(self, first_ms, seq0, ms):
        return seq0 + int((ms - first_ms) / TICK_MS)

    def last(self, host, vm, at_ms, last_ms, seq):
        self.can(at_ms, host, vm, "last", seq, ns(last_ms))
        self.can(at_ms, host, vm, "disconnect")

    def write(self, d):
        for fname, lines in self.lines.items():
            lines.sort(key=lambda x: x[0])  # stable: same-ms lines keep their order
            with open(os.path.join(d, fname), "w") as f:
                f.write("".join(text + "\n" for _, text in lines))


def clean_migration(logs, pause=5000.0, resume=5014.0, src_tick_end=4999.0, dst_tick_start=5015.0,
                    end=10000.0, vmhandoff=True, job_extra=None):
    """vm1 boots on node1 at 100 ms, migrates to node2, runs there until the
    end.  vmhandoff: VIR_MIGRATE_PAUSED then the helper's resume (SUSPENDED
    PAUSED, RESUMED UNPAUSED); else raw libvirt's RESUMED MIGRATED."""
    L = logs
    L.lvwatch_session("node1", 0, end)
    L.lvwatch_session("node2", 0, end)
    L.lv(100, "node1", "vm1", "STARTED", "BOOTED")
    L.can(50, "node1", "vm1", "connect")
    L.can(90, "node1", "vm1", "boot", "b1", "canary", "v1")
    L.ticks("node1", "vm1", 100, src_tick_end, 0)
    L.lv(3000, "node2", "vm1", "STARTED", "MIGRATED")  # incoming QEMU, CPUs paused
    L.can(3001, "node2", "vm1", "connect")
    for i in range(1, 4):
        L.lv(3000 + 500 * i, "node1", "vm1", "MIGRATION_ITERATION", iteration=i)
    L.lv(pause, "node1", "vm1", "SUSPENDED", "MIGRATED")
    if vmhandoff:
        L.lv(pause + 12, "node2", "vm1", "SUSPENDED", "PAUSED")
        L.lv(resume, "node2", "vm1", "RESUMED", "UNPAUSED")
    else:
        L.lv(resume, "node2", "vm1", "RESUMED", "MIGRATED")
    src_seq = L.seq_at(100, 0, src_tick_end)
    L.ticks("node2", "vm1", dst_tick_start, end, src_seq + 1)
    L.lv(resume + 216, "node1", "vm1", "STOPPED", "MIGRATED")
    L.lv(resume + 217, "node1", "vm1", "JOB_COMPLETED", "MIGRATION_OUT", operation=5, time_elapsed=2300,
         downtime=12, data_total=555745280, memory_dirty_rate=120, success=1, **(job_extra or {}))
    L.lv(resume + 218, "node2", "vm1", "JOB_COMPLETED", "MIGRATION_IN", operation=4, time_elapsed=2290,
         downtime=13)
    L.last("node1", "vm1", resume + 216, src_tick_end, src_seq)
    return src_seq


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="invariants-test.")
        self.L = Logs()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, *args, expect=None, write=True):
        """Write the logs, run the checker; returns (rc, report, json)."""
        if write:
            self.L.write(self.tmp)
        jpath = os.path.join(self.tmp, "out.json.result")
        out = io.StringIO()
        with mock.patch("sys.stderr", io.StringIO()) as err:
            rc = invariants.main([self.tmp, "--json", jpath] + list(args), out=out)
        self.err = err.getvalue()
        res = None
        if os.path.exists(jpath):
            with open(jpath) as f:
                res = json.load(f)
            os.unlink(jpath)  # not an input of the next run
        if expect is not None:
            self.assertEqual(rc, expect, out.getvalue() + self.err)
        return rc, out.getvalue(), res

    def kinds(self, res, key="violations"):
        return sorted(v["kind"] for v in res[key])


class CleanMigrationTest(Base):
    def test_clean_migration_passes_and_is_measured(self):
        src_seq = clean_migration(self.L)
        rc, text, res = self.check(expect=0)
        self.assertEqual(res["violations"], [])
        self.assertIn("RESULT: PASS", text)
        migs = res["vms"]["vm1"]["migrations"]
        self.assertEqual(len(migs), 1, migs)
        m = migs[0]
        self.assertEqual((m["src"], m["dst"], m["kind"]), ("node1", "node2", "migration"))
        self.assertEqual(m["src_pause"], ns(5000))
        self.assertEqual(m["src_pause_event"], "SUSPENDED MIGRATED")
        self.assertEqual(m["dst_resume"], ns(5014))
        self.assertEqual(m["dst_resume_event"], "RESUMED UNPAUSED")
        self.assertAlmostEqual(m["activation_gap_ms"], 14.0)
        self.assertEqual((m["src_last_tick"], m["dst_first_tick"]), (ns(4999), ns(5015)))
        self.assertAlmostEqual(m["downtime_ms"], 16.0)
        self.assertEqual((m["src_last_seq"], m["dst_first_seq"]), (src_seq, src_seq + 1))
        self.assertEqual(m["qemu_downtime_ms"], 12)
        self.assertEqual(m["data_total"], 555745280)
        self.assertEqual(m["time_elapsed_ms"], 2300)
        self.assertEqual(m["iterations"], 3)
        self.assertEqual(m["src_stopped"], ns(5014 + 216))
        self.assertEqual(m["dst_job"]["operation"], "MIGRATION_IN")
        # STARTED MIGRATED (3000 ms) is not "running": no overlap before 5014.
        lv = res["vms"]["vm1"]["libvirt_running"]
        self.assertEqual([(i["host"], i["start"], i["end"]) for i in lv],
                         [("node1", ns(100), ns(5000)), ("node2", ns(5014), ns(10000))])
        self.assertEqual(res["vms"]["vm1"]["end"]["node2"], {"running": True, "basis": "libvirt"})
        self.assertIn("node1    node2    migration", text)

    def test_mib_is_data_sent_not_guest_ram(self):
        # data_total is the guest's RAM (530 MiB); data_processed what was sent
        clean_migration(self.L, job_extra={"data_processed": 104857600, "memory_processed": 99614720})
        rc, text, res = self.check(expect=0)
        m = res["vms"]["vm1"]["migrations"][0]
        self.assertEqual(m["data_sent"], 104857600)
        line = [ln for ln in text.splitlines() if "node1    node2    migration" in ln][0]
        self.assertIn(" 100.0 ", line)
        self.assertNotIn("530.0", line)

    def test_mib_falls_back_to_memory_processed(self):
        clean_migration(self.L, job_extra={"memory_processed": 99614720})
        rc, text, res = self.check(expect=0)
        self.assertEqual(res["vms"]["vm1"]["migrations"][0]["data_sent"], 99614720)
        line = [ln for ln in text.splitlines() if "node1    node2    migration" in ln][0]
        self.assertIn(" 95.0 ", line)

    def test_report_without_json_and_quiet(self):
        clean_migration(self.L)
        self.L.write(self.tmp)
        out = io.StringIO()
        self.assertEqual(invariants.main([self.tmp, "-q"], out=out), 0)
        self.assertEqual(out.getvalue(), "RESULT: PASS\n")


class ViolationTests(Base):
    def test_overlap_caught_by_ticks(self):
        # libvirt says node1 paused at 5000, but its guest kept ticking until
        # 5030 while node2's copy ticked from 5015: two copies executed.
        clean_migration(self.L, src_tick_end=5030.0)
        rc, text, res = self.check(expect=1)
        v = [x for x in res["violations"] if x["kind"] == "SPLIT_ACTIVATION"]
        self.assertEqual([(x["source"], x["hosts"]) for x in v], [("ticks", ["node1", "node2"])])
        self.assertAlmostEqual(v[0]["duration_ms"], 15.0)
        self.assertIn("libvirt at +5.015", v[0]["detail"])
        self.assertIn("SPLIT_ACTIVATION vm1 node1+node2 [ticks] 15.000 ms", text)

    def test_overlap_caught_by_events_only(self):
        # No canary: the source's copy is resumed 86 ms after the target's.
        L = self.L
        L.lvwatch_session("node1", 0, 10000)
        L.lvwatch_session("node2", 0, 10000)
        L.lv(100, "node1", "vm1", "STARTED", "BOOTED")
        L.lv(5000, "node1", "vm1", "SUSPENDED", "MIGRATED")
        L.lv(5014, "node2", "vm1", "RESUMED", "MIGRATED")
        L.lv(5100, "node1", "vm1", "RESUMED", "MIGRATED")
        L.lv(5186, "node1", "vm1", "STOPPED", "DESTROYED")
        rc, text, res = self.check(expect=1)
        v = res["violations"]
        self.assertEqual([(x["kind"], x["source"]) for x in v], [("SPLIT_ACTIVATION", "libvirt")])
        self.assertAlmostEqual(v[0]["duration_ms"], 86.0)
        self.assertEqual((v[0]["start"], v[0]["end"]), (ns(5100), ns(5186)))
        self.assertIn("no ticks from both hosts", v[0]["detail"])

    def test_event_overlap_below_tolerance_is_a_warning(self):
        # Resume logged 0.4 ms before the pause: delivery order, not a split
        # (and the ticks show a clean hand-over).
        clean_migration(self.L, pause=5000.0, resume=4999.6, vmhandoff=False)
        rc, text, res = self.check(expect=0)
        self.assertEqual(self.kinds(res, "warnings"), ["SHORT_EVENT_OVERLAP"])
        self.assertIn("ticks show no overlap", res["warnings"][0]["detail"])
        # ... and a violation once the tolerance is lower than the overlap.
        self.check("--event-tolerance-ms", "0.1", expect=1)

    def test_lost_vm(self):
        # The target stays paused (commit never delivered) and the source
        # copy is gone: no copy runs at the end.
        L = self.L
        L.lvwatch_session("node1", 0, 10000)
        L.lvwatch_session("node2", 0, 10000)
        L.lv(100, "node1", "vm1", "STARTED", "BOOTED")
        L.ticks("node1", "vm1", 100, 4999, 0)
        L.lv(3000, "node2", "vm1", "STARTED", "MIGRATED")
        L.lv(5000, "node1", "vm1", "SUSPENDED", "MIGRATED")
        L.lv(5012, "node2", "vm1", "SUSPENDED", "PAUSED")
        L.lv(5230, "node1", "vm1", "STOPPED", "MIGRATED")
        L.last("node1", "vm1", 5230, 4999, L.seq_at(100, 0, 4999))
        rc, text, res = self.check(expect=1)
        self.assertEqual(self.kinds(res), ["VM_LOST"])
        self.assertIn("node1=not running(libvirt), node2=not running(libvirt)", res["violations"][0]["detail"])
        self.assertIn("last seen running on node1", res["violations"][0]["detail"])

    def test_reboot_in_place(self):
        L = self.L
        L.lvwatch_session("node1", 0, 10000)
        L.lv(100, "node1", "vm1", "STARTED", "BOOTED")
        L.can(90, "node1", "vm1", "boot", "b1", "canary")
        L.ticks("node1", "vm1", 100, 3000, 0)
        seq = L.seq_at(100, 0, 3000)
        L.can(6000, "node1", "vm1", "boot", "b2", "canary")   # guest reset, same QEMU
        L.can(6001, "node1", "vm1", "gap", seq, ns(3000), 0)
        L.ticks("node1", "vm1", 6001, 10000, 0)
        rc, text, res = self.check(expect=1)
        self.assertEqual(self.kinds(res), ["UNEXPECTED_REBOOT"])
        d = res["violations"][0]["detail"]
        self.assertIn("boot id b2 after boot id b1", d)
        self.assertIn("gap: seq %d -> 0" % seq, d)  # both pieces of evidence, one reboot
        rc, text, res = self.check("--allow-reboot", "vm1", expect=0)
        self.assertEqual(self.kinds(res, "warnings"), ["ALLOWED_REBOOT"])

    def test_cold_restart_elsewhere_after_host_death(self):
        # node1 dies (its logs just stop); vm1 is cold-booted on node2.  No
        # split (node1's ticks end before), but a reboot, and a "restart" move.
        L = self.L
        L.lvwatch_session("node1", 0, 4200, snapshot=[("vm1", "running")], stop=False)
        L.lvwatch_session("node2", 0, 20000)
        L.ticks("node1", "vm1", 0, 4150, 1000)         # logs start mid-run: no boot line
        L.lv(12000, "node2", "vm1", "STARTED", "BOOTED")
        L.can(11990, "node2", "vm1", "connect")
        L.can(14000, "node2", "vm1", "boot", "b9", "canary")
        L.ticks("node2", "vm1", 14010, 20000, 0)
        rc, text, res = self.check(expect=1)
        self.assertEqual(self.kinds(res), ["UNEXPECTED_REBOOT"])
        self.assertEqual(self.kinds(res, "warnings"), ["LVWATCH_LOG_ENDS"])
        d = res["violations"][0]["detail"]
        self.assertIn("after ticks had been seen", d)
        self.assertIn("resume at seq 0 below seq", d)
        migs = res["vms"]["vm1"]["migrations"]
        self.assertEqual([(m["src"], m["dst"], m["kind"]) for m in migs], [("node1", "node2", "restart")])
        # node1's libvirt view ended 2 alive periods after its last line.
        unk = [i for i in res["vms"]["vm1"]["libvirt_unknown"] if i["host"] == "node1"]
        self.assertEqual(unk[-1]["start"], ns(4000 + 2000))

    def test_silence_in_a_log_is_its_end(self):
        # node1 dies at ~4200 ms (its lvwatch log goes silent, no "LVWATCH
        # stopped"); vm1 is started on node2 at 8000; node1 is powered on
        # again at 15000 and its new lvwatch appends to the same log.  node1's
        # copy must not look running across the silence (no split by libvirt).
        L = self.L
        L.lvwatch_session("node1", 0, 4200, snapshot=[("vm1", "running")], stop=False)
        L.lvwatch_session("node1", 15000, 20000, snapshot=[])
        L.lvwatch_session("node2", 0, 20000)
        L.lv(8000, "node2", "vm1", "STARTED", "BOOTED")
        rc, text, res = self.check(expect=0)
        self.assertEqual(res["violations"], [])
        self.assertEqual(self.kinds(res, "warnings"), ["LVWATCH_SILENT"])
        lv = res["vms"]["vm1"]["libvirt_running"]
        # node1's view ends 2 alive periods after its last line (4000 ms)
        self.assertEqual([(i["host"], i["start"], i["end"]) for i in lv],
                         [("node1", ns(0), ns(6000)), ("node2", ns(8000), ns(20000))])
        unk = [(i["start"], i["end"]) for i in res["vms"]["vm1"]["libvirt_unknown"] if i["host"] == "node1"]
        self.assertIn((ns(6000), ns(15000)), unk)
        self.assertEqual(res["vms"]["vm1"]["end"]["node1"], {"running": False, "basis": "libvirt"})

    def test_silence_after_lvwatch_stopped_is_no_warning(self):
        # a clean stop, then a restart later: not a dead host
        L = self.L
        L.lvwatch_session("node1", 0, 4200, snapshot=[("vm1", "running")])
        L.lvwatch_session("node1", 15000, 20000, snapshot=[("vm1", "running")])
        rc, text, res = self.check(expect=0)
        self.assertEqual(res["warnings"], [])

    def test_libvirtd_restart_in_the_middle(self):
        # node1's libvirtd is down 3000..6000 ms; the VM migrates meanwhile.
        # libvirt cannot tell (node1 unknown); the ticks show a clean move.
        L = self.L
        src_seq = clean_migration(L)
        L.lv(3000, "node1", "-", "LIBVIRTD", "lost", reason="eof")
        L.lines["lvwatch-node1.log"] = [x for x in L.lines["lvwatch-node1.log"]
                                        if not (3000 * MS < x[0] - T0 < 6000 * MS) or "alive" in x[1]]
        L.lv(6000, "node1", "-", "LIBVIRTD", "connected", uri="qemu:///system")
        L.lv(6000.1, "node1", "-", "SNAPSHOT", "done", domains=0)
        rc, text, res = self.check(expect=0)
        vm = res["vms"]["vm1"]
        self.assertIn(("node1", ns(3000), ns(6000.1)),
                      [(i["host"], i["start"], i["end"]) for i in vm["libvirt_unknown"]])
        m = vm["migrations"][0]
        self.assertIsNone(m["src_pause"])  # no pause seen: the view was lost
        self.assertAlmostEqual(m["downtime_ms"], 16.0)
        self.assertEqual(m["dst_first_seq"], src_seq + 1)

    def test_libvirtd_restart_hides_overlap_but_ticks_catch_it(self):
        # Same outage; this time node1's copy kept running through the move.
        L = self.L
        clean_migration(L, src_tick_end=5600.0)
        L.lv(3000, "node1", "-", "LIBVIRTD", "lost", reason="eof")
        L.lines["lvwatch-node1.log"] = [x for x in L.lines["lvwatch-node1.log"]
                                        if not (3000 * MS < x[0] - T0 < 6000 * MS) or "alive" in x[1]]
        L.lv(6000, "node1", "-", "LIBVIRTD", "connected", uri="qemu:///system")
        L.lv(6000.1, "node1", "-", "SNAPSHOT", "done", domains=0)
        rc, text, res = self.check(expect=1)
        self.assertEqual([(v["kind"], v["source"]) for v in res["violations"]], [("SPLIT_ACTIVATION", "ticks")])
        self.assertIn("node1=unknown", res["violations"][0]["detail"])

    def test_vm_stopped_on_purpose(self):
        L = self.L
        L.lvwatch_session("node1", 0, 10000)
        L.lv(100, "node1", "vm1", "STARTED", "BOOTED")
        L.ticks("node1", "vm1", 100, 5000, 0)
        L.lv(5001, "node1", "vm1", "STOPPED", "DESTROYED")
        L.last("node1", "vm1", 5002, 5000, L.seq_at(100, 0, 5000))
        self.check("--expect-stopped", "vm1", expect=0)
        rc, text, res = self.check(expect=1)  # not expected: the VM is lost
        self.assertEqual(self.kinds(res), ["VM_LOST"])
        exp = os.path.join(self.tmp, "..", os.path.basename(self.tmp) + ".expect")
        with open(exp, "w") as f:
            f.write("# scenario: stop vm1\nexpect-stopped vm1\n")
        try:
            self.check("--expect", exp, expect=0)
        finally:
            os.unlink(exp)

    def test_expected_stopped_but_running(self):
        clean_migration(self.L)
        rc, text, res = self.check("--expect-stopped", "vm1", expect=1)
        self.assertEqual(self.kinds(res), ["EXPECTED_STOPPED"])


class WindowAndInputTests(Base):
    def test_since_until_restrict_the_window(self):
        clean_migration(self.L, src_tick_end=5030.0)  # tick overlap 5015..5030
        self.check("--until", str(ns(5014.5)), expect=0)
        self.check("--since", str(ns(5031)), expect=0)
        rc, text, res = self.check("--since", str(ns(5020)), expect=1)
        self.assertEqual(res["violations"][0]["start"], ns(5020))

    def test_end_time_for_lost_check(self):
        L = self.L
        L.lvwatch_session("node1", 0, 10000)
        L.lv(100, "node1", "vm1", "STARTED", "BOOTED")
        L.lv(8000, "node1", "vm1", "STOPPED", "DESTROYED")
        self.check("--end", str(ns(7000)), expect=0)
        self.check(expect=1)

    def test_ticks_only_end_uses_grace(self):
        # Canary only, collectors still running: the last hb is < 1 s old.
        L = self.L
        L.can(0, "node1", "vm1", "connect")
        L.ticks("node1", "vm1", 100, 9950, 0)
        L.can(10000, "node2", "vm9", "connect")  # another collector's line sets the end
        rc, text, res = self.check(expect=0)
        self.assertEqual(res["vms"]["vm1"]["end"]["node1"], {"running": True, "basis": "ticks"})
        self.check("--grace-ms", "500", expect=1)

    def test_malformed_line_is_input_error(self):
        clean_migration(self.L)
        self.L.add("canary-node1.log", 20000, "node1 vm1")  # too few columns
        rc, _, res = self.check(expect=2)
        self.assertIsNone(res)
        self.assertIn("canary-node1.log", self.err)

    def test_bad_event_arguments_is_input_error(self):
        self.L.can(10, "node1", "vm1", "gap", "x", "y", "z")
        self.check(expect=2)

    def test_missing_input_is_input_error(self):
        out = io.StringIO()
        with mock.patch("sys.stderr", io.StringIO()):
            self.assertEqual(invariants.main([os.path.join(self.tmp, "nope")], out=out), 2)
            self.assertEqual(invariants.main([self.tmp], out=out), 2)  # empty directory
            with self.assertRaises(SystemExit) as cm:
                invariants.main(["--bogus"], out=out)
        self.assertEqual(cm.exception.code, 2)

    def test_partial_last_line_is_ignored_with_warning(self):
        clean_migration(self.L)
        self.L.write(self.tmp)
        with open(os.path.join(self.tmp, "canary-node2.log"), "a") as f:
            f.write("%d node2 vm1 hb" % ns(10001))  # being written
        rc, _, res = self.check(expect=0, write=False)
        self.assertIn("PARTIAL_LINE", self.kinds(res, "warnings"))

    def test_files_as_arguments(self):
        clean_migration(self.L)
        self.L.write(self.tmp)
        files = sorted(os.path.join(self.tmp, f) for f in os.listdir(self.tmp))
        out = io.StringIO()
        self.assertEqual(invariants.main(files + ["-q"], out=out), 0)


class PerformanceTest(Base):
    GAPS = 50000
    LIMIT_S = 20.0

    def test_many_gap_events_are_fast(self):
        # 50,000 "gap" events (50,001 tick intervals on node1), then a move to
        # node2: a pairwise scan of the intervals took minutes; a sweep, seconds.
        step = 4 * MS
        canary1 = ["%d node1 vm1 connect" % T0, "%d node1 vm1 first 0" % T0]
        seq = 0
        t = T0
        for _ in range(self.GAPS):
            canary1.append("%d node1 vm1 gap %d %d %d" % (t + step, seq, t, seq + 2))
            seq += 2
            t += step
        end1 = t
        canary1.append("%d node1 vm1 last %d %d" % (end1 + MS, seq, end1))
        canary1.append("%d node1 vm1 disconnect" % (end1 + MS))
        t2 = end1 + 10 * MS
        canary2 = ["%d node2 vm1 connect" % T0, "%d node2 vm1 first %d" % (t2, seq + 1),
                   "%d node2 vm1 hb %d" % (t2 + 1000 * MS, seq + 500)]
        with open(os.path.join(self.tmp, "canary-node1.log"), "w") as f:
            f.write("\n".join(canary1) + "\n")
        with open(os.path.join(self.tmp, "canary-node2.log"), "w") as f:
            f.write("\n".join(canary2) + "\n")
        jpath = os.path.join(self.tmp, "out.json.result")
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "invariants.py"),
               self.tmp, "--json", jpath, "-q"]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            self.fail("invariants.py took over 120 s on %d gap events" % self.GAPS)
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertLess(took, self.LIMIT_S, "%d gap events took %.1f s" % (self.GAPS, took))
        with open(jpath) as f:
            res = json.load(f)
        self.assertEqual(len(res["vms"]["vm1"]["ticks_running"]), self.GAPS + 2)
        migs = res["vms"]["vm1"]["migrations"]
        self.assertEqual([(m["src"], m["dst"]) for m in migs], [("node1", "node2")])


class DetectorsCanFail(unittest.TestCase):
    """Disable each detector; the tests that rely on it must then fail."""

    def run_with(self, test_names, **patches):
        failed = []
        for name in test_names:
            suite = unittest.defaultTestLoader.loadTestsFromName(name, sys.modules[__name__])
            result = unittest.TestResult()
            with mock.patch.multiple(invariants, **patches):
                suite.run(result)
            if result.failures or result.errors:
                failed.append(name)
        return failed

    def assert_all_fail(self, names, **patches):
        failed = self.run_with(names, **patches)
        self.assertEqual(sorted(failed), sorted(names), "still passing with the detector disabled")

    def test_tick_overlap_detection(self):
        real = invariants.pair_overlaps
        self.assert_all_fail(["ViolationTests.test_overlap_caught_by_ticks",
                              "ViolationTests.test_libvirtd_restart_hides_overlap_but_ticks_catch_it"],
                             pair_overlaps=lambda ivs, closed: [] if closed else real(ivs, closed))

    def test_event_overlap_detection(self):
        real = invariants.pair_overlaps
        self.assert_all_fail(["ViolationTests.test_overlap_caught_by_events_only",
                              "ViolationTests.test_event_overlap_below_tolerance_is_a_warning"],
                             pair_overlaps=lambda ivs, closed: real(ivs, closed) if closed else [])

    def test_lost_detection(self):
        self.assert_all_fail(["ViolationTests.test_lost_vm", "ViolationTests.test_vm_stopped_on_purpose",
                              "WindowAndInputTests.test_end_time_for_lost_check",
                              "WindowAndInputTests.test_ticks_only_end_uses_grace"],
                             copy_alive_at_end=lambda vm, host, opt: (True, "mutant"))

    def test_expected_stopped_detection(self):
        self.assert_all_fail(["ViolationTests.test_expected_stopped_but_running"],
                             copy_alive_at_end=lambda vm, host, opt: (False, "mutant"))

    def test_reboot_detection(self):
        self.assert_all_fail(["ViolationTests.test_reboot_in_place",
                              "ViolationTests.test_cold_restart_elsewhere_after_host_death"],
                             find_reboots=lambda vm: [])

    def test_started_migrated_is_not_running(self):
        # Treating STARTED MIGRATED as running would flag every migration.
        self.assert_all_fail(["CleanMigrationTest.test_clean_migration_passes_and_is_measured"],
                             LV_STARTED_PAUSED=set())


if __name__ == "__main__":
    import taprunner
    taprunner.main()

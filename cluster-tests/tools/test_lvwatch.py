#!/usr/bin/python3
"""Automated test of lvwatch (build/tools/lvwatch) against libvirt's test driver.

Two parts:
  LocalTest   lvwatch on test:///default (the test driver inside lvwatch's own
              process): snapshot, alive lines, signals, usage errors.
  DaemonTest  a real libvirtd, started by this test in a private mount and
              network namespace (tmpfs on its state directories, its socket
              in a temporary directory), serving its test driver through
              test+unix:///default.  lvwdrive (a small C program) creates,
              suspends, resumes, destroys... domains there; the test then
              kills libvirtd (SIGKILL), restarts it, stops it (SIGSTOP) to
              trip keepalive, and checks what lvwatch logged.

Needs root (unshare, libvirtd).  The daemon part fails when it cannot start a
libvirtd; LVWATCH_TEST_NO_DAEMON=1 skips it explicitly (and says so).
The build directory comes from $TOOLS_BUILD (default build/tools).

NOTE what the test driver taught us: it sends lifecycle events for its own
API calls only (no MIGRATION_ITERATION, no JOB_COMPLETED: those line shapes
are covered by lvw_fmt_test); its virDomainShutdown sends "STOPPED SHUTDOWN"
with no "SHUTDOWN FINISHED" before it; a restarted libvirtd has a fresh test
driver (only the domain "test"), so the snapshot after a restart differs from
the state before it, as a real restart after a host problem may; and even in
one daemon the test driver's state lives only while some connection to it is
open (vm3, created by lvwdrive, is gone once lvwatch's connection dropped).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taprunner  # noqa: E402

BUILD = os.environ.get("TOOLS_BUILD", "build/tools")
LVWATCH = os.path.join(BUILD, "lvwatch")
LVWDRIVE = os.path.join(BUILD, "lvwdrive")

LINE_RE = re.compile(r"^(\d{19}) (\S+) (\S+) ([A-Z_0-9]+) (\S+)((?: [^\s=]+=\S*)*)$")
ATTEMPT_RE = re.compile(r"^lvwatch\[\S+\]: (\d+) attempt (\d+): .*; next in (\d+) ms$")

MS = 1000000  # ns


def now_ns():
    return time.time_ns()


def read_lines(path):
    try:
        with open(path, encoding="ascii") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def parse(path):
    """[(ts, host, dom, event, detail, {k: v})] of an lvwatch log."""
    out = []
    for line in read_lines(path):
        m = LINE_RE.match(line)
        if not m:
            raise AssertionError("malformed line in %s: %r" % (path, line))
        kv = dict(p.split("=", 1) for p in m.group(6).split())
        out.append((int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5), kv))
    return out


def wait_for(pred, timeout, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = pred()
        if r:
            return r
        time.sleep(step)
    return pred()


def stop_process(p, sig=signal.SIGTERM, timeout=5.0):
    """Signal one process we started, by its pid, and reap it."""
    if p is None or p.poll() is not None:
        return p.returncode if p else None
    p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait(5)


def require_binaries(case):
    for b in (LVWATCH, LVWDRIVE):
        if not os.access(b, os.X_OK):
            case.fail("%s not built (make tools, or set TOOLS_BUILD)" % b)


class LocalTest(unittest.TestCase):
    """lvwatch on test:///default: no daemon, no events but the snapshot."""

    def setUp(self):
        require_binaries(self)
        self.tmp = tempfile.mkdtemp(prefix="lvwatch-local.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_until_snapshot(self, log, sig):
        before = len(read_lines(log))
        p = subprocess.Popen([LVWATCH, "--host", "t0", "--log", log, "--uri", "test:///default",
                              "--alive-ms", "50"], stderr=subprocess.PIPE)
        try:
            ok = wait_for(lambda: sum("LVWATCH alive" in l for l in read_lines(log)[before:]) >= 2, 5)
            self.assertTrue(ok, "no snapshot/alive lines within 5 s")
        finally:
            rc = stop_process(p, sig)
            err = p.stderr.read().decode()
            p.stderr.close()
        return rc, err

    def test_snapshot_alive_and_sigterm(self):
        log = os.path.join(self.tmp, "t0.log")
        rc, err = self.run_until_snapshot(log, signal.SIGTERM)
        self.assertEqual(rc, 0, err)
        lines = parse(log)
        names = [(d, e, det) for _, _, d, e, det, _ in lines]
        self.assertEqual(names[:4], [("-", "LVWATCH", "started"), ("-", "LIBVIRTD", "connected"),
                                     ("test", "STATE", "running"), ("-", "SNAPSHOT", "done")])
        self.assertEqual(lines[2][5], {"reason": "UNKNOWN"})
        self.assertEqual(lines[3][5], {"domains": "1"})
        self.assertIn(("-", "LVWATCH", "alive"), names)
        self.assertEqual(names[-1], ("-", "LVWATCH", "stopped"))
        self.assertEqual(lines[-1][5], {"signal": "TERM"})
        self.assertTrue(all(l[1] == "t0" for l in lines))
        ts = [l[0] for l in lines]
        self.assertEqual(ts, sorted(ts), "timestamps go backwards")
        self.assertLess(abs(ts[0] - now_ns()), 60 * 1000 * MS, "not CLOCK_REALTIME ns")
        # The test driver has no keepalive: said once, and lvwatch ran on.
        self.assertIn("keepalive", err)

    def test_sigint_exits_zero_and_log_appends(self):
        log = os.path.join(self.tmp, "t0.log")
        rc1, _ = self.run_until_snapshot(log, signal.SIGINT)
        n1 = len(read_lines(log))
        rc2, _ = self.run_until_snapshot(log, signal.SIGINT)
        self.assertEqual((rc1, rc2), (0, 0))
        lines = parse(log)
        self.assertGreater(len(lines), n1, "second run did not append")
        self.assertEqual(sum(1 for l in lines if l[3] == "LVWATCH" and l[4] == "started"), 2)
        self.assertEqual(lines[-1][5], {"signal": "INT"})

    def test_usage_errors_exit_2(self):
        log = os.path.join(self.tmp, "u.log")
        for args in ([], ["--host", "h"], ["--log", log], ["--host", "a b", "--log", log],
                     ["--host", "h", "--log", log, "--alive-ms", "x"],
                     ["--host", "h", "--log", log, "--keepalive", "1,"],
                     ["--host", "h", "--log", log, "extra"]):
            r = subprocess.run([LVWATCH] + args, capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 2, "args %r: rc %d" % (args, r.returncode))
        self.assertFalse(os.path.exists(log))

    def test_unwritable_log_exits_1(self):
        r = subprocess.run([LVWATCH, "--host", "h", "--log", os.path.join(self.tmp, "no", "x.log"),
                            "--uri", "test:///default"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)


DAEMON_SCRIPT = r"""
for d in /etc/libvirt /run /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
    mount -t tmpfs tmpfs "$d" || exit 1
done
exec libvirtd -f "$1" -p "$2"
"""


class Daemon:
    """A libvirtd in its own mount + network namespace.  Its state lives on
    tmpfs mounts that vanish with it; only its socket directory is shared."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.sockdir = os.path.join(tmp, "sock")
        os.makedirs(self.sockdir, exist_ok=True)
        self.conf = os.path.join(tmp, "libvirtd.conf")
        with open(self.conf, "w") as f:
            f.write('unix_sock_dir = "%s"\nunix_sock_rw_perms = "0700"\n'
                    'auth_unix_rw = "none"\nauth_unix_ro = "none"\n' % self.sockdir)
        self.sock = os.path.join(self.sockdir, "libvirt-sock")
        self.uri = "test+unix:///default?socket=" + self.sock
        self.proc = None
        self.count = 0

    def start(self):
        """Start; return the time its socket appeared (ns)."""
        for name in os.listdir(self.sockdir):  # stale sockets of a killed daemon
            os.unlink(os.path.join(self.sockdir, name))
        self.count += 1
        log = open(os.path.join(self.tmp, "libvirtd.%d.log" % self.count), "w")
        # "exec" all the way down: self.proc.pid is libvirtd's own pid.
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private",
             "sh", "-c", DAEMON_SCRIPT, "sh", self.conf, os.path.join(self.tmp, "libvirtd.pid")],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 20):
            raise RuntimeError("libvirtd socket did not appear in 20 s")
        if self.proc.poll() is not None:
            raise RuntimeError("libvirtd exited with %s; see %s" % (self.proc.returncode, log.name))
        return now_ns()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            stop_process(self.proc, signal.SIGTERM, 10)


class DaemonTest(unittest.TestCase):
    """One scenario, run once in setUpClass; each test checks one claim."""

    facts = None
    error = None

    @classmethod
    def setUpClass(cls):
        if os.environ.get("LVWATCH_TEST_NO_DAEMON") == "1":
            raise unittest.SkipTest("LVWATCH_TEST_NO_DAEMON=1: libvirtd part not run")
        cls.tmp = tempfile.mkdtemp(prefix="lvwatch-daemon.")
        cls.daemon = Daemon(cls.tmp)
        cls.procs = []
        try:
            cls.facts = cls.scenario()
        except Exception as e:  # reported by every test, not hidden
            cls.error = "%s: %s" % (type(e).__name__, e)

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            stop_process(p, signal.SIGKILL)
        cls.daemon.stop()
        if os.environ.get("LVWATCH_TEST_KEEP") == "1":
            print("kept", cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def lvwatch(cls, host, uri, extra=()):
        log = os.path.join(cls.tmp, host + ".log")
        err = open(os.path.join(cls.tmp, host + ".err"), "w")
        p = subprocess.Popen([LVWATCH, "--host", host, "--log", log, "--uri", uri, "-v"] + list(extra),
                             stderr=err)
        err.close()
        cls.procs.append(p)
        return p, log, err.name

    @classmethod
    def drive(cls, *steps):
        r = subprocess.run([LVWDRIVE, cls.daemon.uri] + list(steps), capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("lvwdrive %s: %s" % (" ".join(steps), r.stderr))
        times = {}
        for line in r.stdout.splitlines():
            _, step, dom, _, t0, t1 = line.split()
            times[(step, dom)] = (int(t0), int(t1))
        return times

    @classmethod
    def scenario(cls):
        f = {}
        d = cls.daemon
        for b in (LVWATCH, LVWDRIVE):
            if not os.access(b, os.X_OK):
                raise RuntimeError("%s not built" % b)
        d.start()
        lw, log, errf = cls.lvwatch("n1", d.uri, ["--alive-ms", "200", "--keepalive", "1,2"])
        f["log"], f["err"] = log, errf

        def count(pred):
            return sum(1 for l in parse(log) if pred(l))

        def has(dom, ev, det=None):
            return lambda: count(lambda l: l[2] == dom and l[3] == ev and (det is None or l[4] == det))

        if not wait_for(has("-", "SNAPSHOT", "done"), 10):
            raise RuntimeError("no first snapshot")
        f["steps"] = cls.drive("create", "vm1", "suspend", "vm1", "resume", "vm1", "destroy", "vm1",
                               "define", "vm2", "start", "vm2", "shutdown", "vm2", "undefine", "vm2")
        if not wait_for(has("vm2", "UNDEFINED"), 5):
            raise RuntimeError("events did not arrive")

        # libvirtd crashes.
        f["kill_ts"] = now_ns()
        d.signal(signal.SIGKILL)
        d.proc.wait(5)
        wait_for(has("-", "LIBVIRTD", "lost"), 5)
        time.sleep(1.0)
        f["alive_during_outage"] = lw.poll() is None
        f["restart_sock_ts"] = d.start()
        if not wait_for(lambda: count(lambda l: l[4] == "done") >= 2, 15):
            raise RuntimeError("no snapshot after the restart")
        f["steps"].update(cls.drive("create", "vm3"))
        wait_for(has("vm3", "STARTED"), 5)

        # libvirtd hangs: keepalive must notice.
        f["stop_ts"] = now_ns()
        d.signal(signal.SIGSTOP)
        wait_for(lambda: count(lambda l: l[5].get("reason") == "keepalive"), 15)
        f["cont_ts"] = now_ns()
        d.signal(signal.SIGCONT)
        wait_for(lambda: count(lambda l: l[4] == "done") >= 3, 15)

        f["term_ts"] = now_ns()
        f["rc"] = stop_process(lw, signal.SIGTERM, 5)
        f["lines"] = parse(log)
        f["stderr"] = read_lines(errf)

        # Second lvwatch: no daemon at all, interrupted while retrying.
        lw2, log2, _ = cls.lvwatch("n2", "test+unix:///default?socket=" + os.path.join(cls.tmp, "none"))
        wait_for(lambda: any("connect-failed" in l for l in read_lines(log2)), 5)
        time.sleep(0.3)
        t = time.monotonic()
        f["rc2"] = stop_process(lw2, signal.SIGINT, 5)
        f["rc2_secs"] = time.monotonic() - t
        f["lines2"] = parse(log2)
        d.stop()
        return f

    def setUp(self):
        if self.error:
            self.fail("scenario failed: " + self.error)

    def events(self, doms):
        return [(l[2], l[3], l[4]) for l in self.facts["lines"] if l[2] in doms]

    def test_events_logged_in_order(self):
        self.assertEqual(self.events(("vm1", "vm2")), [
            ("vm1", "STARTED", "BOOTED"), ("vm1", "SUSPENDED", "PAUSED"),
            ("vm1", "RESUMED", "UNPAUSED"), ("vm1", "STOPPED", "DESTROYED"),
            ("vm2", "DEFINED", "ADDED"), ("vm2", "STARTED", "BOOTED"),
            ("vm2", "STOPPED", "SHUTDOWN"), ("vm2", "UNDEFINED", "REMOVED")])

    def test_event_timestamps_follow_the_calls(self):
        step_of = {"STARTED": ("create", "start"), "SUSPENDED": ("suspend",), "RESUMED": ("resume",),
                   "STOPPED": ("destroy", "shutdown"), "DEFINED": ("define",),
                   "UNDEFINED": ("undefine",)}
        steps = self.facts["steps"]
        checked = 0
        for ts, _, dom, ev, _, _ in self.facts["lines"]:
            if dom not in ("vm1", "vm2", "vm3"):
                continue
            t0, t1 = next(steps[(s, dom)] for s in step_of[ev] if (s, dom) in steps)
            self.assertGreaterEqual(ts, t0, "%s %s logged before its call" % (dom, ev))
            self.assertLess(ts, t1 + 500 * MS, "%s %s logged late" % (dom, ev))
            checked += 1
        self.assertEqual(checked, 9)

    def test_every_line_well_formed_and_ordered(self):
        lines = self.facts["lines"]
        self.assertTrue(all(l[1] == "n1" for l in lines))
        ts = [l[0] for l in lines]
        self.assertEqual(ts, sorted(ts))

    def test_crash_logs_lost_and_keeps_running(self):
        lost = [l for l in self.facts["lines"] if l[3] == "LIBVIRTD" and l[4] == "lost"]
        self.assertGreaterEqual(len(lost), 2)
        self.assertEqual(lost[0][5], {"reason": "eof"})
        self.assertLess(lost[0][0] - self.facts["kill_ts"], 1000 * MS)
        self.assertTrue(self.facts["alive_during_outage"])
        outage = [l for l in self.facts["lines"]
                  if lost[0][0] < l[0] < self.facts["restart_sock_ts"] and l[3] == "LVWATCH"]
        self.assertTrue(outage and all(l[5] == {"connected": "0"} for l in outage), outage)

    def test_retry_interval_at_most_200ms(self):
        lost_ts = next(l[0] for l in self.facts["lines"] if l[4] == "lost")
        attempts = [(int(m.group(1)), int(m.group(3))) for m in map(ATTEMPT_RE.match, self.facts["stderr"])
                    if m and lost_ts <= int(m.group(1)) <= self.facts["stop_ts"]]
        self.assertGreaterEqual(len(attempts), 5, self.facts["stderr"])
        self.assertLess(attempts[0][0] - lost_ts, 50 * MS, "first retry not at once")
        self.assertTrue(all(nxt <= 200 for _, nxt in attempts))
        gaps = [(b[0] - a[0]) / MS for a, b in zip(attempts, attempts[1:])]
        self.assertLessEqual(max(gaps), 200 + 60, "attempts %r ms apart" % gaps)  # 60 ms: scheduling

    def test_reconnect_and_fresh_snapshot_after_restart(self):
        lines = self.facts["lines"]
        conn = [i for i, l in enumerate(lines) if l[3] == "LIBVIRTD" and l[4] == "connected"]
        self.assertEqual(len(conn), 3)
        # Bound: socket up -> connected.  The retry spacing is 200 ms; the
        # rest is libvirtd finishing its start before it answers.
        self.assertLess(lines[conn[1]][0] - self.facts["restart_sock_ts"], 3000 * MS)
        snap = []
        for l in lines[conn[1] + 1:]:
            if l[3] == "SNAPSHOT":
                break
            snap.append((l[2], l[3], l[4]))
        self.assertEqual(snap, [("test", "STATE", "running")], "vm1..2 must be gone in the new daemon")
        self.assertIn(("vm3", "STARTED", "BOOTED"), self.events(("vm3",)))

    def test_keepalive_detects_stopped_daemon(self):
        lines = self.facts["lines"]
        ka = [l for l in lines if l[4] == "lost" and l[5].get("reason") == "keepalive"]
        self.assertEqual(len(ka), 1)
        dt = (ka[0][0] - self.facts["stop_ts"]) / MS
        self.assertTrue(900 <= dt <= 8000, "keepalive 1 s x 2 fired after %d ms" % dt)
        after = [(l[2], l[3], l[4]) for l in lines if l[0] > self.facts["cont_ts"]]
        self.assertEqual(after[:3], [("-", "LIBVIRTD", "connected"), ("test", "STATE", "running"),
                                     ("-", "SNAPSHOT", "done")])

    def test_sigterm_exits_zero(self):
        self.assertEqual(self.facts["rc"], 0)
        last = self.facts["lines"][-1]
        self.assertEqual((last[3], last[4], last[5]), ("LVWATCH", "stopped", {"signal": "TERM"}))

    def test_sigint_while_retrying_exits_zero(self):
        self.assertEqual(self.facts["rc2"], 0)
        self.assertLess(self.facts["rc2_secs"], 2.0)
        evs = [(l[3], l[4], l[5]) for l in self.facts["lines2"]]
        self.assertIn(("LIBVIRTD", "lost", {"reason": "connect-failed"}), evs)
        self.assertEqual(evs.count(("LIBVIRTD", "lost", {"reason": "connect-failed"})), 1,
                         "lost must be logged once, not per attempt")
        self.assertEqual(evs[-1], ("LVWATCH", "stopped", {"signal": "INT"}))


if __name__ == "__main__":
    taprunner.main()

#!/usr/bin/python3
"""sample.py: RSS and CPU time of given processes, from /proc (root
namespace), every INTERVAL seconds, until DURATION is over or SIGTERM.

    sample.py --out FILE [--interval S] [--duration S] LABEL=PID ...

Appends TSV lines "ts_ns label pid rss_kb utime stime cutime cstime"
(CPU fields in clock ticks, as in /proc/PID/stat; cutime/cstime are the
CPU of the children the process has waited for: for pacemaker-execd, the
resource agents it ran and everything they ran). A process that is gone
is sampled as "gone". Always takes a first and a last sample.
"""
import argparse
import os
import signal
import sys
import time

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def sample(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        with open("/proc/%d/status" % pid) as f:
            rss = next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
    except (OSError, ValueError):
        return None
    fields = st[st.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14
    ut, stime, cut, cst = (int(fields[i]) for i in (11, 12, 13, 14))
    return rss, ut, stime, cut, cst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=0.0, help="0: until SIGTERM")
    ap.add_argument("procs", nargs="+", help="LABEL=PID")
    a = ap.parse_args()
    procs = []
    for p in a.procs:
        label, _, pid = p.rpartition("=")
        procs.append((label, int(pid)))
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    t_end = time.time() + a.duration if a.duration > 0 else None
    with open(a.out, "a") as out:
        while True:
            ts = time.time_ns()
            for label, pid in procs:
                s = sample(pid)
                if s is None:
                    out.write("%d\t%s\t%d\tgone\n" % (ts, label, pid))
                else:
                    out.write("%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n" % ((ts, label, pid) + s))
            out.flush()
            if stop or (t_end is not None and time.time() >= t_end):
                break
            nxt = a.interval
            if t_end is not None:
                nxt = min(nxt, max(0.0, t_end - time.time()))
            # sleep in small steps so that SIGTERM ends it with a last sample
            deadline = time.time() + nxt
            while not stop and time.time() < deadline:
                time.sleep(min(0.1, deadline - time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

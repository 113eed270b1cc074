#!/usr/bin/python3
"""invariants: check a cluster-test run's logs for the promises of vmhandoff.

    invariants.py [options] LOG_OR_DIR...

Inputs are lvwatch logs (one per host) and canary collector logs, in any
number of files; a directory stands for the regular files in it (not
hidden, not recursive).  Both kinds of line start "<ts_ns> <host> <vm>
<event>"; lvwatch events are UPPER case, canary events lower case.

Each VM's copy on each host is RUNNING, by two independent sources:
  libvirt  lifecycle events and STATE snapshots from lvwatch.  STARTED/RESUMED
           -> running (but STARTED MIGRATED is an incoming migration, still
           paused); SUSPENDED/STOPPED/SHUTDOWN/CRASHED/PMSUSPENDED -> not.
           "LIBVIRTD lost", "LIBVIRTD connected" (until its snapshot),
           "LVWATCH started/stopped" and a log that stops without "LVWATCH
           stopped" (2 alive periods after its last line: the host died),
           or goes silent longer than that before a later line (the host
           died and came back, appending to the same log), leave the state
           unknown: only ticks speak for that time.
  ticks    the canary: running from a "first" tick through "hb"s until
           "last" or a "gap"'s tick before; again from the gap's tick after.
           A log that just ends closes the interval at its last evidence.
           Authoritative: it is the guest itself executing.

Checks (violations make the exit status 1):
  SPLIT_ACTIVATION   two hosts' copies running at one instant.  By ticks: any
                     overlap (--tick-tolerance-ms, default 0).  By libvirt:
                     an overlap >= --event-tolerance-ms (default 1 ms) fails
                     even when the ticks show none; a shorter one is only a
                     warning, because events are stamped on receipt by two
                     processes and may arrive out of order by that much.
  VM_LOST            at the end (--end, else --until, else the last line) a
                     VM that ran has no running copy and is not expected
                     stopped.
  EXPECTED_STOPPED   a VM expected stopped still runs at the end.
  UNEXPECTED_REBOOT  a second boot id, a boot after ticks were seen, or the
                     tick sequence going back (gap/seqjump within a
                     connection, or a new connection starting below the
                     previous copy's last tick); unless --allow-reboot VM.
Migrations (a running copy moving from host A to host B) are reported with
source pause, target resume, activation gap (libvirt), guest downtime
(ticks), QEMU's own figures from JOB_COMPLETED, and when the paused source
copy was finally stopped.

Exit status: 0 all invariants hold, 1 violation, 2 usage or input error.
See README.md beside this file for the log formats and the design notes.

NOTE what the logs do and do not say:
- lvwatch stamps an event when it receives it, not when it happened; two
  hosts' events can arrive out of order by a fraction of a millisecond.
  Hence the event tolerance; the ticks have no such problem (one clock, and
  the guest itself is the source).
- libvirt's STARTED MIGRATED comes at the incoming Prepare, with the CPUs
  paused (LV_STARTED_PAUSED); counting it as running would flag every
  migration as a split.
- A VM's seq continues across a migration, so the tick sequence also proves
  "no reboot" across hosts; a copy resuming below the seq where the previous
  copy stopped has lost state.  Only intervals that ended before the new one
  started are compared, so a split (two copies counting on from one seq) is
  reported as a split, not also as a reboot.
- A tick interval cut by a log that just ends (host killed) closes at its
  last "hb": up to one hb period of a dying host's running is not seen.
- At the end, a copy whose libvirt view is known is judged by libvirt (a
  pause is exact there); otherwise by ticks no older than --grace-ms.  A
  view that ended with "LVWATCH stopped" within the grace of the end counts
  as known (lvwatch was stopped with the scenario).  Pass --end for a run
  whose observers were not stopped together.
- Canary and lvwatch name a VM the same way (the libvirt domain name).
"""

import argparse
import bisect
import heapq
import json
import os
import sys
from dataclasses import dataclass, field

EXIT_OK, EXIT_VIOLATION, EXIT_INPUT = 0, 1, 2
RUN, NOTRUN, UNKNOWN = "running", "not-running", "unknown"
INF = 1 << 63  # "still so at the end": beyond every ns timestamp
MS = 1000000

# libvirt lifecycle event -> state of the copy (None: no change).
LV_EVENT_STATE = {
    "STARTED": RUN, "RESUMED": RUN,
    "SUSPENDED": NOTRUN, "STOPPED": NOTRUN, "SHUTDOWN": NOTRUN,
    "CRASHED": NOTRUN, "PMSUSPENDED": NOTRUN,
    "DEFINED": None, "UNDEFINED": None,
}
# STARTED with these details leaves the CPUs paused: libvirt sends STARTED
# MIGRATED when the incoming QEMU starts (Prepare), long before the resume.
LV_STARTED_PAUSED = {"MIGRATED"}
# STATE snapshot values.  "shutdown" is "being shut down": the guest still runs.
LV_STATE_VALUE = {
    "running": RUN, "blocked": RUN, "shutdown": RUN,
    "paused": NOTRUN, "shutoff": NOTRUN, "crashed": NOTRUN, "pmsuspended": NOTRUN,
}
REBOOT_MERGE_NS = 30000 * MS  # evidence this close together is one reboot
MOVE_MATCH_NS = 10000 * MS    # a tick move and a libvirt move are one if this close
JOB_WINDOW_NS = 60000 * MS    # JOB_COMPLETED searched this far around a move


class InputError(Exception):
    pass


@dataclass
class Rec:
    ts: int
    host: str
    vm: str
    event: str
    args: list
    where: str
    order: int

    def kv(self):
        out = {}
        for a in self.args[1:]:
            if "=" in a:
                k, v = a.split("=", 1)
                out[k] = num(v)
        return out


@dataclass
class Interval:
    host: str
    start: int
    end: int
    start_why: str = ""
    end_why: str = ""
    start_seq: int = None
    end_seq: int = None
    open_at_end: bool = False
    end_state: str = None  # libvirt: the state that followed (NOTRUN, UNKNOWN)


@dataclass
class VmData:
    name: str
    lv_segments: dict = field(default_factory=dict)  # host -> [(ts, state, why)]
    lv_stopped_at: dict = field(default_factory=dict)  # host -> ts of clean "LVWATCH stopped"
    lv_run: list = field(default_factory=list)
    lv_unknown: list = field(default_factory=list)
    ticks: list = field(default_factory=list)
    boots: list = field(default_factory=list)  # (ts, host, bootid)
    seq_back: list = field(default_factory=list)  # (ts, host, text)
    jobs: list = field(default_factory=list)  # (ts, host, detail, kv)
    iterations: list = field(default_factory=list)  # (ts, host, n)
    stops: list = field(default_factory=list)  # (ts, host, why): copy left RUN/paused for STOPPED


def num(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def fmt_t(ts, t0):
    if ts is None:
        return "-"
    if ts >= INF:
        return "end"
    return "%+.3f" % ((ts - t0) / 1e9)


def fmt_ms(ns):
    return "-" if ns is None else "%.1f" % (ns / MS)


# ---------------------------------------------------------------- input

def list_files(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                full = os.path.join(p, name)
                if not name.startswith(".") and os.path.isfile(full):
                    files.append(full)
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise InputError("%s: no such file or directory" % p)
    if not files:
        raise InputError("no input files")
    return files


def read_records(files, warnings):
    recs = []
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            raise InputError("%s: %s" % (path, e.strerror))
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        elif lines:  # a writer was mid-line when the log was read
            warnings.append({"kind": "PARTIAL_LINE", "detail": "%s: last line has no newline, ignored" % path})
            lines.pop()
        prev_ts = None
        for n, line in enumerate(lines, 1):
            tok = line.split()
            if not tok or tok[0].startswith("#"):
                continue
            if len(tok) < 4 or not tok[0].isdigit():
                raise InputError("%s:%d: not '<ts_ns> <host> <vm> <event> ...': %r" % (path, n, line[:120]))
            ts = int(tok[0])
            if prev_ts is not None and ts < prev_ts:
                warnings.append({"kind": "TIME_BACKWARDS", "detail": "%s:%d: ts goes back %.3f ms"
                                 % (path, n, (prev_ts - ts) / MS)})
            prev_ts = ts
            recs.append(Rec(ts, tok[1], tok[2], tok[3], tok[4:], "%s:%d" % (path, n), len(recs)))
    recs.sort(key=lambda r: (r.ts, r.order))
    return recs


def is_lvwatch(rec):
    return rec.event[:1].isupper()


# ------------------------------------------------------------ libvirt view

def build_libvirt_view(recs, vms, t_max, warnings):
    """Per VM and host, the step function of the copy's state (lv_segments)."""
    by_host = {}
    for r in recs:
        if is_lvwatch(r):
            by_host.setdefault(r.host, []).append(r)
    for host, hrecs in by_host.items():
        cur = {}
        seen_in_snapshot = None
        alive_ms = 0

        def put(vm, st, ts, why):
            seg = vms[vm].lv_segments.setdefault(host, [(-1, UNKNOWN, "no view yet")])
            if cur.get(vm, UNKNOWN) != st:
                seg.append((ts, st, why))
            cur[vm] = st

        def all_unknown(ts, why):
            for vm in vms:
                put(vm, UNKNOWN, ts, why)

        prev = None
        for r in hrecs:
            ev, detail = r.event, (r.args[0] if r.args else "-")
            # A silence of more than two alive periods inside the log: lvwatch
            # died with its host there (a later restart of the host appends
            # to the same log).  Like a log's end: unknown from the cut on.
            if (prev is not None and alive_ms > 0
                    and not (prev.event == "LVWATCH" and prev.args[:1] == ["stopped"])
                    and r.ts - prev.ts > 2 * alive_ms * MS):
                warnings.append({"kind": "LVWATCH_SILENT", "host": host,
                                 "detail": "lvwatch log of %s silent for %.3f s after %s (host down?)"
                                 % (host, (r.ts - prev.ts) / 1e9, prev.where)})
                all_unknown(prev.ts + 2 * alive_ms * MS, "lvwatch log silent (host down?)")
                seen_in_snapshot = None
            prev = r
            if r.vm == "-":
                if ev == "LVWATCH" and detail == "started":
                    alive_ms = int(r.kv().get("alive_ms", 0) or 0)
                    all_unknown(r.ts, "lvwatch started")
                elif ev == "LVWATCH" and detail == "stopped":
                    for vm in vms:
                        vms[vm].lv_stopped_at[host] = r.ts
                    all_unknown(r.ts, "lvwatch stopped")
                elif ev == "LIBVIRTD" and detail == "connected":
                    all_unknown(r.ts, "libvirtd connected, snapshot pending")
                    seen_in_snapshot = set()
                elif ev == "LIBVIRTD" and detail == "lost":
                    all_unknown(r.ts, "libvirtd lost (%s)" % r.kv().get("reason", "?"))
                    seen_in_snapshot = None
                elif ev == "SNAPSHOT" and seen_in_snapshot is not None:
                    for vm in vms:
                        if vm not in seen_in_snapshot:
                            put(vm, NOTRUN, r.ts, "absent from snapshot")
                    seen_in_snapshot = None
                continue
            vm = vms[r.vm]
            if ev == "STATE":
                if seen_in_snapshot is not None:
                    seen_in_snapshot.add(r.vm)
                put(r.vm, LV_STATE_VALUE.get(detail, UNKNOWN), r.ts, "STATE " + detail)
            elif ev in LV_EVENT_STATE:
                st = LV_EVENT_STATE[ev]
                if ev == "STARTED" and detail in LV_STARTED_PAUSED:
                    st = NOTRUN
                if ev == "STOPPED":
                    vm.stops.append((r.ts, host, ev + " " + detail))
                if st is not None:
                    put(r.vm, st, r.ts, ev + " " + detail)
            elif ev == "JOB_COMPLETED":
                vm.jobs.append((r.ts, host, detail, r.kv()))
            elif ev == "MIGRATION_ITERATION":
                vm.iterations.append((r.ts, host, r.kv().get("iteration")))
        # A log that stops without "LVWATCH stopped": lvwatch died with its
        # host (or the log was cut).  Past two alive periods, nothing is known.
        last = hrecs[-1]
        if alive_ms > 0 and not (last.event == "LVWATCH" and last.args[:1] == ["stopped"]):
            cut = last.ts + 2 * alive_ms * MS
            if cut < t_max:
                warnings.append({"kind": "LVWATCH_LOG_ENDS", "host": host,
                                 "detail": "lvwatch log of %s ends at %d without 'LVWATCH stopped'"
                                 % (host, last.ts)})
                all_unknown(cut, "lvwatch log ends (host down?)")


def segments_to_intervals(vm):
    for host, seg in vm.lv_segments.items():
        for i, (ts, st, why) in enumerate(seg):
            end, end_st, end_why = seg[i + 1] if i + 1 < len(seg) else (INF, None, "")
            if end <= ts:
                continue
            if st == RUN:
                vm.lv_run.append(Interval(host, ts, end, why, end_why, end_state=end_st))
            elif st == UNKNOWN and ts >= 0:
                vm.lv_unknown.append(Interval(host, ts, end, why, end_why))


def lv_state_at(vm, host, t):
    seg = vm.lv_segments.get(host)
    if not seg:
        return UNKNOWN, "no lvwatch log"
    i = bisect.bisect_right(seg, t, key=lambda x: x[0])  # segments are in time order
    if i == 0:
        return UNKNOWN, "no lvwatch log"
    return seg[i - 1][1], seg[i - 1][2]


# --------------------------------------------------------------- tick view

def build_tick_view(recs, vms, warnings):
    streams = {}
    for r in recs:
        if not is_lvwatch(r):
            streams.setdefault((r.vm, r.host), []).append(r)
    for (vmname, host), srecs in streams.items():
        if vmname == "-":
            warnings.append({"kind": "UNKNOWN_EVENT", "detail": "%s: canary line without a VM" % srecs[0].where})
            continue
        vm = vms[vmname]
        cur = None  # the open Interval
        ev_ts = ev_seq = None  # last evidence of ticking

        def close(ts, seq, why):
            nonlocal cur
            cur.end, cur.end_seq, cur.end_why = ts, seq, why
            vm.ticks.append(cur)
            cur = None

        def open_(ts, seq, why):
            nonlocal cur, ev_ts, ev_seq
            cur = Interval(host, ts, ts, why, "", seq, seq)
            ev_ts, ev_seq = ts, seq

        for r in srecs:
            a = r.args
            try:
                if r.event in ("connect", "first") and cur:
                    close(ev_ts, ev_seq, "collector reconnected")
                if r.event == "first":
                    open_(r.ts, int(a[0]), "first")
                elif r.event == "hb":
                    if cur:
                        ev_ts, ev_seq = r.ts, int(a[0])
                    else:
                        open_(r.ts, int(a[0]), "hb")
                elif r.event == "gap":
                    before, before_ts, after = int(a[0]), int(a[1]), int(a[2])
                    if cur:
                        close(before_ts, before, "gap")
                    if after < before:
                        vm.seq_back.append((r.ts, host, "gap: seq %d -> %d" % (before, after)))
                    open_(r.ts, after, "gap")
                elif r.event == "seqjump":
                    prev, new = int(a[0]), int(a[1])
                    if new < prev:
                        vm.seq_back.append((r.ts, host, "seqjump %d -> %d" % (prev, new)))
                    if cur:
                        ev_ts, ev_seq = r.ts, new
                    else:
                        open_(r.ts, new, "seqjump")
                elif r.event == "last":
                    if cur:
                        close(int(a[1]), int(a[0]), "last")
                elif r.event == "disconnect":
                    if cur:
                        close(ev_ts, ev_seq, "disconnect without 'last'")
                elif r.event == "boot":
                    vm.boots.append((r.ts, host, a[0] if a else "?"))
                elif r.event != "connect":
                    warnings.append({"kind": "UNKNOWN_EVENT", "detail": "%s: %s" % (r.where, r.event)})
            except (IndexError, ValueError):
                raise InputError("%s: bad arguments for '%s': %r" % (r.where, r.event, a))
        if cur:
            cur.open_at_end = True
            close(ev_ts, ev_seq, "log ends")
    for vm in vms.values():
        vm.ticks.sort(key=lambda iv: iv.start)


# ------------------------------------------------------------------ checks

def pair_overlaps(ivs, closed):
    """(a, b, start, end) for intervals of two different hosts that overlap.
    closed: tick intervals are points of evidence, [s, e]; libvirt ones
    are [s, e)."""
    # Sweep in start order (O(n log n) + the overlaps found): the active
    # intervals, per host, are those not ended before the current start.
    out = []
    order = sorted(range(len(ivs)), key=lambda i: (ivs[i].start, i))
    active = {}  # host -> {index: interval}
    ends = []  # heap of (end, index, host)
    for i in order:
        b = ivs[i]
        while ends and (ends[0][0] < b.start or (not closed and ends[0][0] == b.start)):
            _, j, h = heapq.heappop(ends)
            del active[h][j]
        for h, act in active.items():
            if h == b.host:
                continue
            for j, a in act.items():
                s, e = b.start, min(a.end, b.end)
                if s < e or (closed and s == e):
                    out.append((i, j, s, e))
        active.setdefault(b.host, {})[i] = b
        heapq.heappush(ends, (b.end, i, b.host))
    out.sort(key=lambda x: (min(x[0], x[1]), max(x[0], x[1])))  # the order of a pairwise scan
    res = []
    for i, j, s, e in out:
        a, b = ivs[i], ivs[j]
        res.append((a, b, s, e) if a.host < b.host else (b, a, s, e))
    return res


def check_split(vm, opt, t0, violations, warnings):
    lo, hi = opt.since, opt.t_end
    tick_ov = []
    for a, b, s, e in pair_overlaps(vm.ticks, closed=True):
        s, e = max(s, lo), min(e, hi)
        if s > e or e - s < opt.tick_tol_ns:
            continue
        tick_ov.append((a.host, b.host, s, e))
        sa, _ = lv_state_at(vm, a.host, s)
        sb, _ = lv_state_at(vm, b.host, s)
        violations.append({
            "kind": "SPLIT_ACTIVATION", "vm": vm.name, "hosts": [a.host, b.host], "source": "ticks",
            "start": s, "end": e, "duration_ms": (e - s) / MS,
            "detail": "%s ticked %s..%s (seq %s..%s) while %s ticked %s..%s (seq %s..%s); libvirt at %s: %s=%s %s=%s"
            % (a.host, fmt_t(a.start, t0), fmt_t(a.end, t0), a.start_seq, a.end_seq,
               b.host, fmt_t(b.start, t0), fmt_t(b.end, t0), b.start_seq, b.end_seq,
               fmt_t(s, t0), a.host, sa, b.host, sb)})
    for a, b, s, e in pair_overlaps(vm.lv_run, closed=False):
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        confirmed = any(h1 == a.host and h2 == b.host and ts <= e and te >= s for h1, h2, ts, te in tick_ov)
        have_ticks = {iv.host for iv in vm.ticks} >= {a.host, b.host}
        other = ("ticks confirm it" if confirmed else
                 "ticks show no overlap" if have_ticks else "no ticks from both hosts")
        item = {
            "kind": "SPLIT_ACTIVATION", "vm": vm.name, "hosts": [a.host, b.host], "source": "libvirt",
            "start": s, "end": e, "duration_ms": (e - s) / MS,
            "detail": "%s running %s..%s (%s -> %s), %s running %s..%s (%s -> %s); %s"
            % (a.host, fmt_t(a.start, t0), fmt_t(a.end, t0), a.start_why, a.end_why or "end",
               b.host, fmt_t(b.start, t0), fmt_t(b.end, t0), b.start_why, b.end_why or "end", other)}
        if e - s < opt.event_tol_ns:
            item["kind"] = "SHORT_EVENT_OVERLAP"
            item["detail"] += " (under the %.3f ms event tolerance)" % (opt.event_tol_ns / MS)
            warnings.append(item)
        else:
            violations.append(item)


def latest_ended_before(ticks):
    """[(iv, j)] for every iv of ticks: j the interval (not iv, with an
    end_seq) that ended last at or before iv.start (the first in list order
    among equal ends), or None.  A sweep: O(n log n)."""
    cand = sorted((j.end, k) for k, j in enumerate(ticks) if j.end_seq is not None)
    queries = sorted(range(len(ticks)), key=lambda k: ticks[k].start)
    groups = []  # [(end, [indexes in list order])], ends increasing
    out = [None] * len(ticks)
    p = 0
    for q in queries:
        t = ticks[q].start
        while p < len(cand) and cand[p][0] <= t:
            end, k = cand[p]
            if groups and groups[-1][0] == end:
                groups[-1][1].append(k)
            else:
                groups.append((end, [k]))
            p += 1
        best = None
        for end, ks in reversed(groups[-2:]):
            others = [k for k in ks if k != q]
            if others:
                best = ticks[others[0]]
                break
        out[q] = best
    return [(ticks[k], out[k]) for k in range(len(ticks))]


def find_reboots(vm):
    """Reboot events: [(ts, host, [evidence...])] merged in time."""
    ev = []
    seen_ids = []
    for ts, host, bootid in sorted(vm.boots):
        if bootid in seen_ids:
            continue
        if seen_ids:
            ev.append((ts, host, "boot id %s after boot id %s" % (bootid, seen_ids[-1])))
        elif any(iv.start < ts for iv in vm.ticks):
            ev.append((ts, host, "boot id %s after ticks had been seen" % bootid))
        seen_ids.append(bootid)
    ev.extend(vm.seq_back)
    for iv, j in latest_ended_before(vm.ticks):  # a new connection starting below the previous copy's last tick
        if j is not None and iv.start_seq is not None:
            if iv.start_seq < j.end_seq:
                ev.append((iv.start, iv.host, "ticks on %s resume at seq %d below seq %d last seen on %s"
                           % (iv.host, iv.start_seq, j.end_seq, j.host)))
    ev.sort()
    merged = []
    for ts, host, text in ev:
        if merged and ts - merged[-1][0] <= REBOOT_MERGE_NS:
            merged[-1][2].append(text)
        else:
            merged.append((ts, host, [text]))
    return merged


def check_reboots(vm, opt, t0, violations, warnings):
    out = []
    for ts, host, evidence in find_reboots(vm):
        if not opt.since <= ts <= opt.t_end:
            continue
        item = {"kind": "UNEXPECTED_REBOOT", "vm": vm.name, "hosts": [host], "start": ts,
                "detail": "at %s on %s: %s" % (fmt_t(ts, t0), host, "; ".join(evidence))}
        out.append(item)
        if vm.name in opt.allow_reboot:
            item = dict(item, kind="ALLOWED_REBOOT")
            warnings.append(item)
        else:
            violations.append(item)
    return out


def copy_alive_at_end(vm, host, opt):
    """(alive, basis) of the copy on host at opt.t_end."""
    t = opt.t_end
    st, _ = lv_state_at(vm, host, t)
    stopped = vm.lv_stopped_at.get(host)
    if st == UNKNOWN and stopped is not None and stopped <= t and t - stopped <= opt.grace_ns:
        st, _ = lv_state_at(vm, host, stopped - 1)  # lvwatch stopped with the scenario
    if st != UNKNOWN:
        return st == RUN, "libvirt"
    for iv in vm.ticks:
        if iv.host == host and iv.start <= t and iv.end >= t - opt.grace_ns:
            return True, "ticks"
    return False, "ticks" if any(iv.host == host for iv in vm.ticks) else "none"


def check_end(vm, opt, t0, violations):
    ran = any(iv.start <= opt.t_end and iv.end >= opt.since for iv in vm.lv_run + vm.ticks)
    hosts = sorted(set(vm.lv_segments) | {iv.host for iv in vm.ticks})
    status = {h: copy_alive_at_end(vm, h, opt) for h in hosts}
    alive = [h for h in hosts if status[h][0]]
    desc = ", ".join("%s=%s(%s)" % (h, "running" if a else "not running", b) for h, (a, b) in status.items())
    if vm.name in opt.expect_stopped:
        if alive:
            violations.append({"kind": "EXPECTED_STOPPED", "vm": vm.name, "hosts": alive, "start": opt.t_end,
                               "detail": "expected stopped, running at the end on %s [%s]"
                               % (" ".join(alive), desc)})
    elif ran and not alive:
        last = max(vm.lv_run + vm.ticks, key=lambda iv: min(iv.end, opt.t_end), default=None)
        violations.append({"kind": "VM_LOST", "vm": vm.name, "hosts": hosts, "start": opt.t_end,
                           "detail": "no running copy at %s [%s]; last seen running on %s until %s"
                           % (fmt_t(opt.t_end, t0), desc, last.host, fmt_t(last.end, t0))})
    return {h: {"running": a, "basis": b} for h, (a, b) in status.items()}


# -------------------------------------------------------------- migrations

def moves(ivs):
    """(prev, nxt): nxt starts on another host than the copy that ran last."""
    out = []
    ivs = sorted(ivs, key=lambda iv: iv.start)
    prev = None  # the interval that ended last among those before (first of equals)
    for iv in ivs:
        if prev is not None and prev.host != iv.host and prev.end < INF:  # else: a second copy, see SPLIT_ACTIVATION
            out.append((prev, iv))
        if prev is None or iv.end > prev.end:
            prev = iv
    return out


def merge_host_intervals(ivs):
    """Join one host's back-to-back intervals (a RUN that only changed its
    reason), so that a move is a change of host."""
    out = []
    for iv in sorted(ivs, key=lambda x: (x.host, x.start)):
        if out and out[-1].host == iv.host and out[-1].end == iv.start:
            out[-1] = Interval(iv.host, out[-1].start, iv.end, out[-1].start_why, iv.end_why,
                               out[-1].start_seq, iv.end_seq, iv.open_at_end)
        else:
            out.append(iv)
    return out


def find_migrations(vm, opt, reboots):
    lv = moves(merge_host_intervals(vm.lv_run))
    tk = moves(vm.ticks)
    used = set()
    out = []
    for a, b in lv:
        best = None
        for k, (ta, tb) in enumerate(tk):
            if k in used or (ta.host, tb.host) != (a.host, b.host):
                continue
            d = abs(tb.start - b.start)
            if d <= MOVE_MATCH_NS and (best is None or d < best[0]):
                best = (d, k)
        pair = tk[best[1]] if best else (None, None)
        if best:
            used.add(best[1])
        out.append(((a, b), pair))
    out += [((None, None), tk[k]) for k in range(len(tk)) if k not in used]
    result = []
    for (la, lb), (ta, tb) in out:
        src, dst = (la or ta).host, (lb or tb).host
        resume = lb.start if lb else tb.start
        if not opt.since <= resume <= opt.t_end:
            continue
        pause = la.end if la else ta.end
        if la and la.end_state != NOTRUN:
            la = None  # the view ended (libvirtd lost...), no pause was seen
        m = {"vm": vm.name, "src": src, "dst": dst,
             "src_pause": la.end if la else None, "src_pause_event": la.end_why if la else None,
             "dst_resume": lb.start if lb else None, "dst_resume_event": lb.start_why if lb else None,
             "activation_gap_ms": (lb.start - la.end) / MS if la and lb else None,
             "src_last_tick": ta.end if ta else None, "src_last_seq": ta.end_seq if ta else None,
             "dst_first_tick": tb.start if tb else None, "dst_first_seq": tb.start_seq if tb else None,
             "downtime_ms": (tb.start - ta.end) / MS if ta and tb else None}
        stop = [s for s in vm.stops if s[1] == src and s[0] >= pause]
        m["src_stopped"] = min(stop)[0] if stop else None
        m["src_stopped_event"] = min(stop)[2] if stop else None
        near = [r for r in reboots if r[1] == dst and abs(r[0] - resume) <= REBOOT_MERGE_NS]
        cold = (lb and lb.start_why == "STARTED BOOTED") or near
        m["kind"] = "restart" if cold else "migration"
        for side, host in (("src_job", src), ("dst_job", dst)):
            jobs = [j for j in vm.jobs if j[1] == host and pause - JOB_WINDOW_NS <= j[0] <= resume + JOB_WINDOW_NS]
            j = min(jobs, key=lambda j: abs(j[0] - resume)) if jobs else None
            m[side] = {**j[3], "ts": j[0], "operation": j[2]} if j else None
        job = m["src_job"] or m["dst_job"] or {}
        m["qemu_downtime_ms"] = job.get("downtime")
        m["data_total"] = job.get("data_total")  # the guest's RAM, not what was sent
        sent = job.get("data_processed")
        m["data_sent"] = sent if sent is not None else job.get("memory_processed")
        m["time_elapsed_ms"] = job.get("time_elapsed")
        its = [n for ts, h, n in vm.iterations if h == src and pause - JOB_WINDOW_NS <= ts <= pause]
        m["iterations"] = max(its) if its else job.get("memory_iteration")
        result.append(m)
    return sorted(result, key=lambda m: m["dst_resume"] or m["dst_first_tick"])


# ------------------------------------------------------------------ report

def intervals_text(ivs, t0, limit=12):
    parts = []
    for iv in ivs[:limit]:
        txt = "%s..%s" % (fmt_t(iv.start, t0), fmt_t(iv.end, t0))
        if iv.start_seq is not None:
            txt += " (seq %s..%s, %s)" % (iv.start_seq, iv.end_seq, iv.end_why)
        else:
            txt += " (%s -> %s)" % (iv.start_why, iv.end_why or "end")
        parts.append(txt)
    if len(ivs) > limit:
        parts.append("... %d more" % (len(ivs) - limit))
    return "; ".join(parts) if parts else "-"


def write_report(out, res, vms, opt, t0):
    w = out.write
    w("invariants: %d files, %d lines (%d lvwatch, %d canary); hosts: %s; VMs: %s\n"
      % (res["inputs"]["files"], res["inputs"]["lines"], res["inputs"]["lvwatch_lines"],
         res["inputs"]["canary_lines"], " ".join(res["hosts"]) or "-", " ".join(res["vms"]) or "-"))
    w("time origin t0 = %d ns; times are seconds from t0; window %s..%s\n"
      % (t0, fmt_t(opt.since, t0) if opt.since > 0 else "start", fmt_t(opt.t_end, t0)))
    for name, vm in sorted(vms.items()):
        r = res["vms"][name]
        w("\n== %s\n" % name)
        for h in sorted(set(vm.lv_segments) | {iv.host for iv in vm.ticks}):
            w("  %-10s libvirt running: %s\n" % (h, intervals_text([iv for iv in vm.lv_run if iv.host == h], t0)))
            unk = [iv for iv in vm.lv_unknown if iv.host == h]
            if unk:
                w("  %-10s libvirt unknown: %s\n" % ("", intervals_text(unk, t0)))
            w("  %-10s ticks running:   %s\n" % ("", intervals_text([iv for iv in vm.ticks if iv.host == h], t0)))
            st = r["end"].get(h)
            if st:
                w("  %-10s at the end:      %s (by %s)\n" % ("", "running" if st["running"] else "not running",
                                                             st["basis"]))
        if vm.boots:
            w("  boots: %s\n" % ", ".join("%s on %s at %s" % (b, h, fmt_t(ts, t0)) for ts, h, b in sorted(vm.boots)))
        if r["migrations"]:
            w("  moves (times in s from t0, durations in ms):\n")
            w("    %-3s %-8s %-8s %-9s %9s %9s %8s %9s %9s %8s %8s %9s %8s %8s\n"
              % ("#", "from", "to", "kind", "pause", "resume", "gap", "lastTick", "1stTick", "guestDT",
                 "qemuDT", "MiB", "elapsed", "srcStop"))
            for i, m in enumerate(r["migrations"], 1):
                mib = "%.1f" % (m["data_sent"] / 1048576) if isinstance(m["data_sent"], int) else "-"
                stop = fmt_ms(m["src_stopped"] - m["dst_resume"]) if m["src_stopped"] and m["dst_resume"] else "-"
                w("    %-3d %-8s %-8s %-9s %9s %9s %8s %9s %9s %8s %8s %9s %8s %8s\n"
                  % (i, m["src"], m["dst"], m["kind"], fmt_t(m["src_pause"], t0), fmt_t(m["dst_resume"], t0),
                     "-" if m["activation_gap_ms"] is None else "%.1f" % m["activation_gap_ms"],
                     fmt_t(m["src_last_tick"], t0), fmt_t(m["dst_first_tick"], t0),
                     "-" if m["downtime_ms"] is None else "%.1f" % m["downtime_ms"],
                     "-" if m["qemu_downtime_ms"] is None else m["qemu_downtime_ms"], mib,
                     "-" if m["time_elapsed_ms"] is None else m["time_elapsed_ms"], stop))
            w("    (gap: source pause -> target resume by libvirt; guestDT: last tick on source -> first on"
              " target; srcStop: source copy stopped, ms after the target resumed)\n")
    for title, items in (("violations", res["violations"]), ("warnings", res["warnings"])):
        w("\n== %s (%d)\n" % (title, len(items)))
        for v in items:
            where = " ".join(filter(None, [v.get("vm"), "+".join(v.get("hosts", []))]))
            src = " [%s]" % v["source"] if "source" in v else ""
            dur = " %.3f ms" % v["duration_ms"] if "duration_ms" in v else ""
            w("  %s %s%s%s: %s\n" % (v["kind"], where, src, dur, v.get("detail", "")))
    w("\nRESULT: %s (%d violations, %d warnings)\n"
      % ("FAIL" if res["violations"] else "PASS", len(res["violations"]), len(res["warnings"])))


# -------------------------------------------------------------------- main

def read_expectations(path, opt):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror))
    for n, line in enumerate(lines, 1):
        tok = line.split("#", 1)[0].split()
        if not tok:
            continue
        if len(tok) != 2 or tok[0] not in ("expect-stopped", "allow-reboot"):
            raise InputError("%s:%d: expected 'expect-stopped VM' or 'allow-reboot VM'" % (path, n))
        (opt.expect_stopped if tok[0] == "expect-stopped" else opt.allow_reboot).add(tok[1])


def parse_args(argv):
    p = argparse.ArgumentParser(prog="invariants.py", description=__doc__.split("\n")[0])
    p.add_argument("inputs", nargs="+", metavar="LOG_OR_DIR")
    p.add_argument("--since", type=int, default=0, metavar="TS_NS")
    p.add_argument("--until", type=int, default=None, metavar="TS_NS")
    p.add_argument("--end", type=int, default=None, metavar="TS_NS",
                   help="instant of the end-of-run checks (default: --until, else the last line)")
    p.add_argument("--expect-stopped", action="append", default=[], metavar="VM")
    p.add_argument("--allow-reboot", action="append", default=[], metavar="VM")
    p.add_argument("--expect", metavar="FILE", help="lines 'expect-stopped VM' / 'allow-reboot VM'")
    p.add_argument("--event-tolerance-ms", type=float, default=1.0)
    p.add_argument("--tick-tolerance-ms", type=float, default=0.0)
    p.add_argument("--grace-ms", type=float, default=2000.0,
                   help="at the end, ticks this recent count as running (default 2000: hb is 1/s)")
    p.add_argument("--json", metavar="FILE", help="machine-readable result ('-' for stdout)")
    p.add_argument("-q", "--quiet", action="store_true", help="only the violations and the result")
    opt = p.parse_args(argv)
    opt.expect_stopped = set(opt.expect_stopped)
    opt.allow_reboot = set(opt.allow_reboot)
    opt.event_tol_ns = int(opt.event_tolerance_ms * MS)
    opt.tick_tol_ns = int(opt.tick_tolerance_ms * MS)
    opt.grace_ns = int(opt.grace_ms * MS)
    return opt


def analyse(opt):
    """Read, check; returns (result dict, vms, t0)."""
    if opt.expect:
        read_expectations(opt.expect, opt)
    warnings, violations = [], []
    files = list_files(opt.inputs)
    recs = read_records(files, warnings)
    if not recs:
        raise InputError("no log lines in %s" % " ".join(files))
    t_max = recs[-1].ts
    t_last = min(t_max, opt.until) if opt.until is not None else t_max
    opt.t_end = opt.end if opt.end is not None else t_last
    if opt.t_end < opt.since:
        raise InputError("the window ends before --since")
    vms = {r.vm: VmData(r.vm) for r in recs if r.vm != "-"}
    build_libvirt_view(recs, vms, t_max, warnings)
    build_tick_view(recs, vms, warnings)
    inside = [r.ts for r in recs if r.ts >= opt.since]
    t0 = inside[0] if inside else recs[0].ts
    res = {"inputs": {"files": len(files), "lines": len(recs),
                      "lvwatch_lines": sum(1 for r in recs if is_lvwatch(r)),
                      "canary_lines": sum(1 for r in recs if not is_lvwatch(r))},
           "t0": t0, "since": opt.since, "end": opt.t_end,
           "tolerances": {"event_ms": opt.event_tolerance_ms, "tick_ms": opt.tick_tolerance_ms,
                          "grace_ms": opt.grace_ms},
           "hosts": sorted({r.host for r in recs}), "vms": {}}
    for name, vm in sorted(vms.items()):
        segments_to_intervals(vm)
        check_split(vm, opt, t0, violations, warnings)
        reboots = find_reboots(vm)
        check_reboots(vm, opt, t0, violations, warnings)
        end = check_end(vm, opt, t0, violations)

        def ivs(lst):
            return [{"host": iv.host, "start": iv.start, "end": None if iv.end >= INF else iv.end,
                     "start_why": iv.start_why, "end_why": iv.end_why, "start_seq": iv.start_seq,
                     "end_seq": iv.end_seq} for iv in lst]
        res["vms"][name] = {"libvirt_running": ivs(vm.lv_run), "libvirt_unknown": ivs(vm.lv_unknown),
                            "ticks_running": ivs(vm.ticks),
                            "boots": [{"ts": ts, "host": h, "bootid": b} for ts, h, b in sorted(vm.boots)],
                            "migrations": find_migrations(vm, opt, reboots), "end": end}
    res["violations"], res["warnings"] = violations, warnings
    res["result"] = "fail" if violations else "pass"
    return res, vms, t0


def main(argv=None, out=sys.stdout):
    opt = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        res, vms, t0 = analyse(opt)
    except InputError as e:
        print("invariants: %s" % e, file=sys.stderr)
        return EXIT_INPUT
    if opt.quiet:
        for v in res["violations"]:
            out.write("%s %s: %s\n" % (v["kind"], v.get("vm", ""), v.get("detail", "")))
        out.write("RESULT: %s\n" % res["result"].upper())
    else:
        write_report(out, res, vms, opt, t0)
    if opt.json:
        text = json.dumps(res, indent=1, sort_keys=True) + "\n"
        if opt.json == "-":
            out.write(text)
        else:
            try:
                with open(opt.json, "w") as f:
                    f.write(text)
            except OSError as e:
                print("invariants: %s: %s" % (opt.json, e.strerror), file=sys.stderr)
                return EXIT_INPUT
    return EXIT_VIOLATION if res["violations"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

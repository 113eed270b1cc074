#!/usr/bin/python3
"""report.py: the figures of `make bench` (bench/bench.sh).

    report.py join-moves --moves MOVES.tsv --inv INV.json --out OUT.tsv
    report.py join-drain --raw MOVES.raw --scenario SC --agent A --limit L
                         --inv INV.json --out OUT.tsv   (appends)
    report.py render --data DIR --results DIR --stamp STAMP

join-*: each timed move joined with the invariant checker's figures of
that move (cluster-tests/tools/invariants.py --json): activation gap
(source paused -> target resumed, libvirt lifecycle events), guest downtime
(last canary tick on the source -> first on the target), QEMU's downtime
and bytes, and whether it was a live migration (the target resumed the
migrated copy and the guest's tick sequence went on).

render: RESULTS/STAMP/{report.md,*.png,data/} and RESULTS/latest.md (the
same report, its links pointing into STAMP/). Percentiles are nearest-rank
(p95 of 20 values = the 19th smallest). Plots need gnuplot (gnuplot-nox).
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster-tests", "lib"))
from ct_report_lib import seq_step  # noqa: E402

MiB = 1048576.0
CONTENDERS = ["raw", "heartbeat", "vmhandoff"]
LABEL = {"raw": "raw virsh migrate --p2p",
         "heartbeat": "ocf:heartbeat:VirtualDomain",
         "vmhandoff": "ocf:vmhandoff:VirtualDomain"}
SHORT = {"raw": "raw", "heartbeat": "VirtualDomain", "vmhandoff": "vmhandoff"}
LIVE_EVENTS = ("RESUMED MIGRATED", "RESUMED UNPAUSED")


# ----------------------------------------------------------------- util

def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def write_tsv(path, rows, keys, append=False):
    new = not (append and os.path.exists(path) and os.path.getsize(path) > 0)
    with open(path, "a" if append else "w") as f:
        if new:
            f.write("\t".join(keys) + "\n")
        for r in rows:
            f.write("\t".join("" if r.get(k) is None else str(r[k]) for k in keys) + "\n")


def fnum(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def pct(vals, p):
    """nearest-rank percentile of a sorted list"""
    if not vals:
        return None
    k = max(1, int(math.ceil(p / 100.0 * len(vals))))
    return vals[k - 1]


def stats(vals):
    v = sorted(x for x in vals if x is not None)
    if not v:
        return {"n": 0, "p50": None, "p95": None, "max": None, "min": None, "mean": None}
    return {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "max": v[-1], "min": v[0],
            "mean": sum(v) / len(v)}


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def ratio(a, b, spec="%.2f"):
    if a is None or b is None or b == 0:
        return "-"
    return (spec % (a / b)) + "x"


def host(label):
    return label.split("~")[0]


def load_migs(inv_path):
    if not os.path.exists(inv_path):
        return None, []
    with open(inv_path) as f:
        inv = json.load(f)
    migs = [m for v in inv["vms"].values() for m in v["migrations"]]
    return inv, migs


def resume_of(m):
    return m.get("dst_resume") or m.get("dst_first_tick") or 0


def figures(m, t0, t1):
    """the checker's figures of migration m (timed from t0 to t1 ns)"""
    job = m.get("src_job") or {}
    if job.get("operation") != "MIGRATION_OUT" or not (t0 - 1e9 <= job.get("ts", 0) <= t1 + 5e9):
        job = {}
    # live: the target resumed the migrated copy, the checker saw no reboot
    # (kind "migration") and the tick sequence went on: the next tick, or
    # the one after (one tick line not seen at the switchover: the guest
    # went on; ct_report_lib's seq_ok accepts step 2 only when the pause
    # came within 10.5 ms of the last tick, which a loaded machine exceeds)
    step = seq_step(m)
    live = m.get("dst_resume_event") in LIVE_EVENTS and m.get("kind") == "migration" and \
        step in (1, 2)
    return {"gap_ms": m.get("activation_gap_ms"), "downtime_ms": m.get("downtime_ms"),
            "qemu_downtime_ms": job.get("downtime"),
            "sent_mib": "%.1f" % (job["data_processed"] / MiB) if job.get("data_processed") is not None else None,
            "qemu_elapsed_ms": job.get("time_elapsed"), "qemu_setup_ms": job.get("setup_time"),
            "iterations": job.get("memory_iteration"),
            "resume_event": (m.get("dst_resume_event") or "-").replace(" ", "_"),
            "seq_step": step, "live": 1 if live else 0}


def match(migs, used, vm, src, dst, t0, t1):
    for i, m in enumerate(migs):
        if i in used or m["vm"] != vm or host(m["src"]) != src or host(m["dst"]) != dst:
            continue
        if t0 - 1e9 <= resume_of(m) <= t1 + 5e9:
            used.add(i)
            return m
    return None


# ----------------------------------------------------------------- join

MOVE_KEYS = ["set", "contender", "vm", "round", "from", "to", "t0_ns", "t1_ns", "wall_ms", "status",
             "mig_mib", "ring_mib", "gap_ms", "downtime_ms", "qemu_downtime_ms", "sent_mib",
             "qemu_elapsed_ms", "qemu_setup_ms", "iterations", "resume_event", "seq_step", "live"]


def cmd_join_moves(a):
    inv, migs = load_migs(a.inv)
    used = set()
    rows = []
    for r in read_tsv(a.moves):
        t0, t1 = int(r["t0_ns"]), int(r["t1_ns"])
        o = dict(r)
        o["wall_ms"] = "%.1f" % (int(r["wall_us"]) / 1000.0)
        o["mig_mib"] = "%.1f" % (int(r["mig_bytes"]) / MiB)
        o["ring_mib"] = "%.1f" % (int(r["ring_bytes"]) / MiB)
        m = match(migs, used, r["vm"], r["from"], r["to"], t0, t1) if r["status"] == "ok" else None
        if m:
            o.update(figures(m, t0, t1))
        else:
            o["live"] = 0
        rows.append(o)
    write_tsv(a.out, rows, MOVE_KEYS)
    return 0


DRAIN_KEYS = ["agent", "limit", "vm", "from", "to", "t_cmd_ns", "t_started_ns", "done_ms",
              "gap_ms", "downtime_ms", "qemu_downtime_ms", "sent_mib", "resume_event", "seq_step", "live"]


def cmd_join_drain(a):
    inv, migs = load_migs(a.inv)
    used = set()
    rows = []
    for r in read_tsv(a.raw):
        if r["scenario"] != a.scenario:
            continue
        t0, t1 = int(r["t_cmd_ns"]), int(r["t_started_ns"])
        o = {"agent": a.agent, "limit": a.limit, "vm": r["vm"], "from": r["from"], "to": r["to"],
             "t_cmd_ns": t0, "t_started_ns": t1, "done_ms": r["wall_ms"], "live": 0}
        m = match(migs, used, r["vm"], r["from"], r["to"], t0, t1)
        if m:
            o.update(figures(m, t0, t1))
        rows.append(o)
    write_tsv(a.out, rows, DRAIN_KEYS, append=True)
    return 0


# ----------------------------------------------------------------- plots

def ecdf_file(path, vals):
    v = sorted(x for x in vals if x is not None)
    with open(path, "w") as f:
        n = len(v)
        if v:
            f.write("%.3f 0\n" % v[0])
        for i, x in enumerate(v):
            f.write("%.3f %.4f\n" % (x, (i + 1.0) / n))
    return len(v)


COLORS = {"raw": "#777777", "heartbeat": "#d95f02", "vmhandoff": "#1b9e77"}


def gnuplot(outdir, script):
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed (make deps installs gnuplot-nox)"
    p = subprocess.run(["gnuplot"], input=script, text=True, cwd=outdir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        return "gnuplot failed: " + p.stdout.strip()[-300:]
    return None


def ecdf_plot(outdir, name, title, xlabel, series, logx=False):
    """series: [(label, color, datafile)]; returns (png or None, error)"""
    lines = ["set terminal pngcairo size 900,520 font 'DejaVu Sans,10'",
             "set output '%s.png'" % name,
             "set title \"%s\"" % title.replace('"', "'"),
             "set xlabel '%s'" % xlabel, "set ylabel 'fraction of moves <= x'",
             "set yrange [0:1.02]", "set grid", "set key right bottom"]
    if logx:
        lines.append("set logscale x")
    plots = ["'%s' using 1:2 with steps lw 2 lc rgb '%s' title '%s'" % (f, c, l) for l, c, f in series]
    if not plots:
        return None, "no data"
    lines.append("plot " + ", ".join(plots))
    err = gnuplot(outdir, "\n".join(lines) + "\n")
    return (None, err) if err else (name + ".png", None)


def bar_plot(outdir, name, title, ylabel, datafile, cols, logy=False):
    """datafile: 'label v1 v2 ...' lines; cols: [(title, color)]"""
    lines = ["set terminal pngcairo size 900,520 font 'DejaVu Sans,10'",
             "set output '%s.png'" % name,
             "set title \"%s\"" % title.replace('"', "'"),
             "set ylabel '%s'" % ylabel, "set style data histogram",
             "set style histogram cluster gap 1", "set style fill solid 0.85 border -1",
             "set boxwidth 0.9", "set grid ytics", "set key left top", "set yrange [0:*]",
             "set xtics nomirror rotate by -20"]
    if logy:
        lines[-2] = "set yrange [*:*]"
        lines.append("set logscale y")
    plots = []
    for i, (t, c) in enumerate(cols):
        plots.append("'%s' using %d:xtic(1) title '%s' lc rgb '%s'" % (datafile, i + 2, t, c))
    lines.append("plot " + ", ".join(plots))
    err = gnuplot(outdir, "\n".join(lines) + "\n")
    return (None, err) if err else (name + ".png", None)


# ----------------------------------------------------------------- render

def rate_bits(rate):
    """tc rate ("1gbit", "500mbit") -> bit/s"""
    r = rate.lower()
    for suf, mul in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)):
        if r.endswith(suf):
            try:
                return float(r[:-len(suf)]) * mul
            except ValueError:
                return None
    return None


def footprint(path):
    """per label: first/last sample, max RSS"""
    out = {}
    for line in open(path) if os.path.exists(path) else []:
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        ts, label = int(f[0]), f[1]
        rss, ut, st, cut, cst = (int(x) for x in f[3:8])
        d = out.setdefault(label, {"t0": ts, "cpu0": ut + st, "ccpu0": cut + cst, "rss": []})
        d["t1"], d["cpu1"], d["ccpu1"] = ts, ut + st, cut + cst
        d["rss"].append(rss)
    for d in out.values():
        d["secs"] = (d["t1"] - d["t0"]) / 1e9
        d["cpu_s"] = (d["cpu1"] - d["cpu0"]) / float(os.sysconf("SC_CLK_TCK"))
        d["child_cpu_s"] = (d["ccpu1"] - d["ccpu0"]) / float(os.sysconf("SC_CLK_TCK"))
        d["rss_max"] = max(d["rss"])
        d["rss_min"] = min(d["rss"])
    return out


def daemon_sum(fp, daemon, key):
    vals = [d[key] for lab, d in fp.items() if lab.split(":", 1)[1].startswith(daemon)]
    return sum(vals) if vals else None


def inv_result(path):
    if not os.path.exists(path):
        return "not run"
    last = ""
    for line in open(path):
        if line.startswith("RESULT:"):
            last = line.strip()[len("RESULT: "):]
    return last or "no result line"


def render(a):
    data = a.data
    rdir = os.path.join(a.results, a.stamp)
    ddir = os.path.join(rdir, "data")
    os.makedirs(ddir, exist_ok=True)
    for fn in os.listdir(data):
        if fn.endswith((".tsv", ".txt")):
            shutil.copy(os.path.join(data, fn), os.path.join(ddir, fn))
    info = {r["key"]: r["value"] for r in read_tsv(os.path.join(data, "info.tsv"))}
    notes = open(os.path.join(data, "notes.txt")).read().splitlines() \
        if os.path.exists(os.path.join(data, "notes.txt")) else []
    agent_log = open(os.path.join(data, "agent-log.txt")).read().splitlines() \
        if os.path.exists(os.path.join(data, "agent-log.txt")) else []
    plot_errors = []
    md = []
    w = md.append
    parts = info.get("parts", "").split()

    w("# vmhandoff benchmark %s\n" % info.get("stamp", a.stamp))
    w("`make bench` (bench/bench.sh); whole run %s s; %s.\n" % (
        info.get("seconds", "?"),
        "all parts: " + ", ".join(parts) if parts else "no parts"))
    w("Three contenders in the same run, on the same 3-host lab (each host: its own network, mount, "
      "uts and pid namespaces, libvirtd, corosync, pacemaker, vmhandoffd), the same canary guest "
      "(no disk, one vCPU, %s, idle: it only writes a tick every 2 ms to its debug port) and the "
      "same dedicated migration link (a veth pair per host into a bridge, not shaped):\n" % (
          "KVM" if info.get("accel", "kvm") == "kvm" else "TCG"))
    w("- **raw**: `virsh migrate --live --p2p vmraw qemu+tcp://TARGET-mig/system`, run in the source host, "
      "on a transient domain pacemaker does not know at all (`virsh create`). Not an unmanaged resource: "
      "pacemaker would still probe and monitor it, and fail or recover it after every move it did not "
      "order. libvirt resumes the target itself at the end of its Finish step (no guard); the peer "
      "connection goes to TARGET-mig and the data to the target's `migration_host` (both on the "
      "migration link). This is the floor: no cluster decision, no agent, no monitor.")
    w("- **VirtualDomain**: ocf:heartbeat:VirtualDomain from Debian's resource-agents %s; it migrates with "
      "`virsh migrate --live` (not peer-to-peer: virsh drives it) to `qemu+tcp://TARGET-mig/system`, "
      "migrateuri `tcp:TARGET-mig:`; libvirt resumes the target." % info.get("resource-agents", "?"))
    w("- **vmhandoff**: ocf:vmhandoff:VirtualDomain of this tree (%s), `registry=true`, vmhandoffd "
      "running on every host: a handoff in the registry, peer-to-peer migration with the target left "
      "paused, resumed by the target's vmhandoffd on the commit." % info.get("vmhandoff", "?"))
    w("\nBoth agents' resources have the same definition (the cluster tests' one: `config`, "
      "`hypervisor=qemu:///system`, `migration_transport=tcp`, `migration_network_suffix=-mig`, "
      "`force_stop=true`, `allow-migrate=true`, monitor every 10 s, `migrate_to on-fail=block`; ours "
      "adds `registry=true`), resource-stickiness 100, fencing by the lab's fence agent, "
      "`load-threshold=1000%` (so that pacemaker does not throttle on this machine's load).\n")
    w("**The machine is shared and noisy**: other people run cluster tests with other labs on "
      "it during this run (load average %s at the start, %s at the end; %s CPUs). All figures "
      "include that noise; the moves of the three contenders are interleaved round robin "
      "(the order rotates every round) so that it falls on all three alike. Nothing here is "
      "asserted by a test.\n" % (info.get("loadavg_start", "?"), info.get("loadavg_end", "?"),
                                  info.get("nproc", "?")))

    w("## Machine and versions\n")
    w("| | |\n|---|---|")
    for k, lab in (("cpu", "CPU"), ("nproc", "nproc"), ("mem_total", "memory"), ("kernel", "kernel"),
                   ("kvm", "/dev/kvm"), ("libvirt", "libvirt (libvirt-daemon)"),
                   ("qemu", "qemu (qemu-system-x86)"), ("pacemaker", "pacemaker"),
                   ("corosync", "corosync"), ("resource-agents", "resource-agents"),
                   ("vmhandoff", "vmhandoff (git describe of the working tree)"),
                   ("agent_installed", "ocf:vmhandoff:VirtualDomain is"),
                   ("agent_sha256", "its sha256 (first 16)"),
                   ("full_agent_sha256", "the full agent vmhandoff-ra it execs, sha256 (first 16)"),
                   ("helper_sha256", "vmhandoffd binary (sha256, first 16)"), ("gnuplot", "gnuplot-nox"),
                   ("date", "run started"), ("seconds", "run time (s)")):
        if k == "full_agent_sha256" and k not in info:
            continue
        w("| %s | %s |" % (lab, info.get(k, "?")))
    w("| counts | %s moves per contender (guest %s MiB); %s monitor calls per figure; "
      "idle sampling %s s; drain of %s guests of %s MiB, migration-limit %s |\n" % (
          info.get("moves"), info.get("vm_mem_mb"), info.get("mon_runs"), info.get("idle_s"),
          info.get("drain_vms"), info.get("drain_mem_mb"), info.get("drain_limits")))
    loads = ["%s %s -> %s" % (p, info.get("load_%s.start" % p, "?"), info.get("load_%s.end" % p, "?"))
             for p in parts if "load_%s.start" % p in info]
    if loads:
        w("1-min load average of the machine at the start and the end of each part: %s.\n" % "; ".join(loads))
    w("The binaries (agent, vmhandoffd, CLI, canary kernel, observers) were copied from `build/` at the "
      "start of the run and used from that copy: a `make` in the shared working tree during the run "
      "changes nothing in it. `-dirty` means the working tree had uncommitted changes when it was built.\n")

    # ------------------------------------------------------------ 1 + 2
    moves = [m for m in read_tsv(os.path.join(data, "moves-joined.tsv")) if m.get("set", "idle") == "idle"]
    by = {c: [m for m in moves if m["contender"] == c] for c in CONTENDERS}
    w("## 1. Activation gap and guest downtime\n")
    if not moves:
        w("not measured%s.\n" % (" (the moves part failed, see the notes)" if "moves" in parts else ""))
    else:
        w("Per move of an idle %s MiB guest to the next host (node1 -> node2 -> node3 -> node1 ...), "
          "%s moves per contender. **Activation gap**: source `SUSPENDED MIGRATED` -> target "
          "`RESUMED` (libvirt lifecycle events, stamped by an lvwatch in each host); **guest "
          "downtime**: the guest's last tick seen on the source -> its first tick on the target "
          "(canary, 2 ms ticks; the invariant checker's figures). Only live migrations count "
          "(target resumed the migrated copy, no reboot, the tick sequence went on: the next tick, or "
          "the one after when one tick line was not seen at the switchover; how many: *step 2*); "
          "**QEMU downtime** is "
          "QEMU's own figure (`JOB_COMPLETED downtime`). ms.\n" % (info.get("vm_mem_mb"), info.get("moves")))
        st = {}
        w("| contender | live / timed moves (step 2) | gap p50 | gap p95 | gap max | downtime p50 | downtime p95 "
          "| downtime max | QEMU downtime p50 | QEMU downtime max | MiB sent p50 |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for c in CONTENDERS:
            live = [m for m in by[c] if m.get("live") == "1"]
            g = stats([fnum(m["gap_ms"]) for m in live])
            d = stats([fnum(m["downtime_ms"]) for m in live])
            q = stats([fnum(m["qemu_downtime_ms"]) for m in live])
            s = stats([fnum(m["sent_mib"]) for m in live])
            st[c] = (g, d)
            w("| %s | %d / %d (%d) | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                LABEL[c], len(live), len(by[c]), sum(1 for m in live if m.get("seq_step") == "2"), fmt(g["p50"]), fmt(g["p95"]), fmt(g["max"]),
                fmt(d["p50"]), fmt(d["p95"]), fmt(d["max"]), fmt(q["p50"], "%.0f"), fmt(q["max"], "%.0f"),
                fmt(s["p50"])))
        for other in ("heartbeat", "raw"):
            w("| **ours / %s** | | %s | %s | %s | %s | %s | %s | | | |" % (
                SHORT[other],
                ratio(st["vmhandoff"][0]["p50"], st[other][0]["p50"]),
                ratio(st["vmhandoff"][0]["p95"], st[other][0]["p95"]),
                ratio(st["vmhandoff"][0]["max"], st[other][0]["max"]),
                ratio(st["vmhandoff"][1]["p50"], st[other][1]["p50"]),
                ratio(st["vmhandoff"][1]["p95"], st[other][1]["p95"]),
                ratio(st["vmhandoff"][1]["max"], st[other][1]["max"])))
        link = [m for m in moves if m["status"] == "ok"]
        on_mig = sum(1 for m in link if float(m["mig_mib"]) > float(m["ring_mib"]))
        w("\nLink check: in %d of %d completed moves the source sent more on its migration link than on "
          "its cluster ring (median %.1f MiB on mig, %.1f MiB on ring per move).\n" % (
              on_mig, len(link),
              stats([float(m["mig_mib"]) for m in link])["p50"] or 0,
              stats([float(m["ring_mib"]) for m in link])["p50"] or 0))
        series_g, series_d, series_w = [], [], []
        for c in CONTENDERS:
            live = [m for m in by[c] if m.get("live") == "1"]
            f = "data/ecdf-gap-%s.dat" % c
            if ecdf_file(os.path.join(rdir, f), [fnum(m["gap_ms"]) for m in live]):
                series_g.append((LABEL[c], COLORS[c], f))
            f = "data/ecdf-downtime-%s.dat" % c
            if ecdf_file(os.path.join(rdir, f), [fnum(m["downtime_ms"]) for m in live]):
                series_d.append((LABEL[c], COLORS[c], f))
            f = "data/ecdf-wall-%s.dat" % c
            if ecdf_file(os.path.join(rdir, f), [fnum(m["wall_ms"]) for m in by[c] if m["status"] == "ok"]):
                series_w.append((LABEL[c] + (" (virsh call)" if c == "raw" else ""), COLORS[c], f))
        png, err = ecdf_plot(rdir, "gap", "Activation gap (source paused -> target resumed), %s moves each"
                             % info.get("moves"), "ms", series_g)
        if png:
            w("![activation gap](%s%s)\n" % (a.prefix, png))
        elif err:
            plot_errors.append("gap: " + err)
        png, err = ecdf_plot(rdir, "downtime", "Guest downtime (last tick on source -> first tick on target)",
                             "ms", series_d)
        if png:
            w("![guest downtime](%s%s)\n" % (a.prefix, png))
        elif err:
            plot_errors.append("downtime: " + err)

        w("## 2. Move wall time\n")
        w("From the command to \"Started on the target\": `crm_resource --move` issued in a host, then "
          "`crm_mon -1 --output-as=xml` polled in that host every 50 ms (plus its own run time, "
          "~%s) until the resource is Started on the target alone, not failed, nothing pending "
          "(the harness's `ct_is_started_on`); the `--clear` afterwards is not timed. Raw: the "
          "`virsh migrate` call's wall time (reference: no cluster decision, no monitor). ms.\n"
          % "30-80 ms here")
        wst = {}
        w("| contender | moves | p50 | p95 | max | min | failed |")
        w("|---|---|---|---|---|---|---|")
        for c in CONTENDERS:
            ok = [fnum(m["wall_ms"]) for m in by[c] if m["status"] == "ok"]
            s = stats(ok)
            wst[c] = s
            w("| %s | %d | %s | %s | %s | %s | %d |" % (
                LABEL[c] + (" (virsh call)" if c == "raw" else ""), s["n"], fmt(s["p50"], "%.0f"),
                fmt(s["p95"], "%.0f"), fmt(s["max"], "%.0f"), fmt(s["min"], "%.0f"),
                len(by[c]) - s["n"]))
        for other in ("heartbeat", "raw"):
            w("| **ours / %s** | | %s | %s | %s | %s | |" % (
                SHORT[other], ratio(wst["vmhandoff"]["p50"], wst[other]["p50"]),
                ratio(wst["vmhandoff"]["p95"], wst[other]["p95"]),
                ratio(wst["vmhandoff"]["max"], wst[other]["max"]),
                ratio(wst["vmhandoff"]["min"], wst[other]["min"])))
        w("")
        png, err = ecdf_plot(rdir, "wall", "Move wall time (command -> Started on target; raw: the virsh call)",
                             "ms", series_w)
        if png:
            w("![move wall time](%s%s)\n" % (a.prefix, png))
        elif err:
            plot_errors.append("wall: " + err)
        w("Invariant checker over the moves (no two copies running, no VM lost, no guest "
          "rebooted): **%s**.\n" % inv_result(os.path.join(data, "inv-moves.txt")))
    if not moves:
        w("## 2. Move wall time\n")
        w("not measured.\n")

    # ------------------------------------------------------------ 3
    w("## 3. Monitor cost\n")
    mon = read_tsv(os.path.join(data, "monitor.tsv"))
    if not mon:
        w("not measured.\n")
    else:
        doms = sorted({int(m["domains"]) for m in mon})
        w("ms per `monitor` call of one running guest (vmvh), the timing loop running inside the host "
          "(no nsenter in the figures), %s calls per figure in 3 blocks; every block measures every contender "
          "with 1 domain, then defines the extra domains (shut off, one virsh session), measures again and "
          "undefines them, so that the machine's drifting load falls on both counts. **as configured**: "
          "the resource's parameters and the environment pacemaker-execd gives a recurring monitor "
          "(utilization attributes on, the agents' default: VirtualDomain then runs `virsh dominfo` "
          "three times and `crm_resource -g` three times per call; ours compares with its cache and "
          "writes the CIB only on a change%s); **utilization off**: `autoset_utilization_*=false` "
          "(what the old bench/monitor-bench.sh measured). raw = `virsh -q domstate`. "
          "Domains on the host: %s.\n" % (info.get("mon_runs"),
              "; the agent pacemaker runs is a front (`%s`) that answers a recurring monitor itself from "
              "vmhandoffd's answer when the ticket the full agent's last recurring monitor left still holds "
              "(same parameters, same config file), and execs the full agent `vmhandoff-ra` otherwise: "
              "the figures are the front's, as pacemaker would see them; the first call of each run of "
              "calls may be the full agent's (it writes the ticket for this environment)" % info.get("agent_installed")
              if "full_agent_sha256" in info else "",
              "; ".join(
              "%d: %s" % (d, info.get("monitor_domains_%d" % d, "?")) for d in doms)))
        hdr = "| contender |" + "".join(" %d dom: median | p95 | mean |" % d for d in doms)
        w(hdr)
        w("|---|" + "---|---|---|" * len(doms))
        ms = {}
        rows = [("vmhandoff", "configured"), ("heartbeat", "configured"), ("raw", "configured"),
                ("vmhandoff", "utiloff"), ("heartbeat", "utiloff")]
        for c, v in rows:
            cells = []
            for d in doms:
                s = stats([int(m["us"]) / 1000.0 for m in mon
                           if m["contender"] == c and m["variant"] == v and int(m["domains"]) == d])
                ms[(c, v, d)] = s
                cells.append("%s | %s | %s" % (fmt(s["p50"], "%.1f"), fmt(s["p95"], "%.1f"),
                                               fmt(s["mean"], "%.1f")))
            name = LABEL[c] if c != "raw" else "raw `virsh domstate`"
            if c != "raw":
                name += " (%s)" % ("as configured" if v == "configured" else "utilization off")
            w("| %s | %s |" % (name, " | ".join(cells)))
        for v in ("configured", "utiloff"):
            for other in ("heartbeat", "raw"):
                if other == "raw" and v == "utiloff":
                    ov = "configured"
                else:
                    ov = v
                cells = []
                for d in doms:
                    cells.append("%s | %s | %s" % (
                        ratio(ms[("vmhandoff", v, d)]["p50"], ms[(other, ov, d)]["p50"]),
                        ratio(ms[("vmhandoff", v, d)]["p95"], ms[(other, ov, d)]["p95"]),
                        ratio(ms[("vmhandoff", v, d)]["mean"], ms[(other, ov, d)]["mean"])))
                w("| **ours / %s** (%s) | %s |" % (
                    SHORT[other] if other == "heartbeat" else "raw domstate",
                    "as configured" if v == "configured" else "utilization off", " | ".join(cells)))
        w("")
        dat = os.path.join(rdir, "data", "monitor.dat")
        with open(dat, "w") as f:
            for c, v in rows:
                lab = SHORT[c] + ("" if c == "raw" else (" (util off)" if v == "utiloff" else ""))
                f.write('"%s" %s\n' % (lab, " ".join(fmt(ms[(c, v, d)]["p50"], "%.2f").replace("-", "0")
                                                      for d in doms)))
        png, err = bar_plot(rdir, "monitor", "Monitor cost, median ms per call", "ms per call",
                            "data/monitor.dat", [("%d domain%s" % (d, "" if d == 1 else "s"), col)
                                                 for d, col in zip(doms, ("#1b9e77", "#7570b3"))])
        if png:
            w("![monitor cost](%s%s)\n" % (a.prefix, png))
        elif err:
            plot_errors.append("monitor: " + err)

    # ------------------------------------------------------------ 4
    w("## 4. Drain\n")
    drains = read_tsv(os.path.join(data, "drain.tsv"))
    dmoves = read_tsv(os.path.join(data, "drain-moves.tsv"))
    if not drains:
        w("not measured.\n")
    else:
        w("`crm_standby --node node1 --update on` with %s idle guests of %s MiB on node1 (nothing else "
          "under pacemaker running), until every guest is Started on another host (crm_mon polled "
          "every 100 ms from the root namespace, ~0.1-0.3 s resolution). Per guest: when it was "
          "Started elsewhere, and the checker's activation gap and guest downtime. s / ms. One drain per "
          "agent and limit, one after the other: unlike the moves they cannot be interleaved, so the "
          "machine's load (1-min load average at the standby and at the end, last column) weighs on "
          "them unevenly.\n" % (
              info.get("drain_vms"), info.get("drain_mem_mb")))
        w("| migration-limit | agent | guests live / moved | until empty (s) | per-guest done p50 (s) "
          "| gap p50 | gap p95 | gap max | downtime p50 | downtime max | failed | load |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        dstat = {}
        for d in drains:
            ag, lim = d["agent"], d["limit"]
            rows = [m for m in dmoves if m["agent"] == ag and m["limit"] == lim]
            live = [m for m in rows if m.get("live") == "1"]
            done = [int(m["done_ms"]) / 1000.0 for m in rows]
            empty = max(done) if len(rows) == int(d["vms"]) and rows else None
            g = stats([fnum(m["gap_ms"]) for m in live])
            dt = stats([fnum(m["downtime_ms"]) for m in live])
            dstat[(ag, lim)] = empty
            w("| %s | %s | %d / %d of %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                lim, LABEL[ag], len(live), len(rows), d["vms"], fmt(empty, "%.1f"),
                fmt(stats(done)["p50"], "%.1f"), fmt(g["p50"]), fmt(g["p95"]), fmt(g["max"]),
                fmt(dt["p50"]), fmt(dt["max"]), "no" if d["rc"] == "0" else "**yes**",
                "%s -> %s" % (d.get("load_start", "?"), d.get("load_end", "?"))))
        lims = []
        for d in drains:
            if d["limit"] not in lims:
                lims.append(d["limit"])
        for lim in lims:
            w("| %s | **ours / VirtualDomain** | | %s | | | | | | | | |" % (
                lim, ratio(dstat.get(("vmhandoff", lim)), dstat.get(("heartbeat", lim)))))
        w("")
        w("Invariant checker per drain: %s.\n" % "; ".join(
            "%s limit %s: **%s**" % (SHORT[d["agent"]], d["limit"],
                                      inv_result(os.path.join(data, "inv-drain-%s-l%s.txt" % (d["agent"], d["limit"]))))
            for d in drains))
        dat = os.path.join(rdir, "data", "drain.dat")
        with open(dat, "w") as f:
            for lim in lims:
                f.write('"migration-limit %s" %s %s\n' % (
                    lim, fmt(dstat.get(("heartbeat", lim)), "%.2f").replace("-", "0"),
                    fmt(dstat.get(("vmhandoff", lim)), "%.2f").replace("-", "0")))
        png, err = bar_plot(rdir, "drain", "Drain of node1 (%s guests): crm_standby -> empty" % info.get("drain_vms"),
                            "seconds", "data/drain.dat",
                            [(LABEL["heartbeat"], COLORS["heartbeat"]), (LABEL["vmhandoff"], COLORS["vmhandoff"])])
        if png:
            w("![drain](%s%s)\n" % (a.prefix, png))
        elif err:
            plot_errors.append("drain: " + err)

    w("## 5. Throughput on a shaped link\n")
    link = read_tsv(os.path.join(data, "link-joined.tsv"))
    if not link:
        w("not measured.\n")
    else:
        w("The migration link of every host shaped with tbf at both ends (the host's `mig0` and its "
          "bridge-side veth; this kernel has no netem) to the rate; a %s MiB guest with a %s MiB "
          "working set it keeps dirtying at %s MiB/s (far below the link rate: every migration "
          "converges); %s moves per contender and rate, round robin. **throughput** = QEMU's bytes "
          "sent (`data_processed`) / QEMU's migration time (`time_elapsed`, from its start to the "
          "end of the switchover) of the source's `JOB_COMPLETED`, in Gbit/s (10^9 bit/s, as tc "
          "counts); **/ rate** = throughput divided by the shaped rate. Wall as in section 2.\n" % (
              info.get("link_mem_mb"), info.get("link_wss_mb"), info.get("link_dirty_mbps"),
              info.get("link_moves")))
        w("| rate | contender | live / timed | MiB sent p50 | QEMU time p50 (s) | throughput p50 "
          "(Gbit/s) | / rate p50 | / rate min | wall p50 (ms) | gap p50 | gap max | downtime p50 "
          "| downtime max |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        rates = []
        for m in link:
            if m["set"] not in rates:
                rates.append(m["set"])
        lst = {}
        for rate in rates:
            bits = rate_bits(rate)
            for c in CONTENDERS:
                rows = [m for m in link if m["set"] == rate and m["contender"] == c]
                live = [m for m in rows if m.get("live") == "1"]
                tp = []
                for m in live:
                    b, t = fnum(m.get("sent_mib")), fnum(m.get("qemu_elapsed_ms"))
                    if b is not None and t:
                        tp.append(b * MiB * 8 / (t / 1000.0) / 1e9)
                tps = stats(tp)
                fr = stats([x * 1e9 / bits for x in tp]) if bits else stats([])
                wall = stats([fnum(m["wall_ms"]) for m in rows if m["status"] == "ok"])
                g = stats([fnum(m["gap_ms"]) for m in live])
                d = stats([fnum(m["downtime_ms"]) for m in live])
                lst[(rate, c)] = (tps, wall, g, d)
                w("| %s | %s | %d / %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    rate, LABEL[c], len(live), len(rows),
                    fmt(stats([fnum(m["sent_mib"]) for m in live])["p50"], "%.0f"),
                    fmt(stats([fnum(m["qemu_elapsed_ms"]) / 1000.0 for m in live
                               if fnum(m.get("qemu_elapsed_ms")) is not None])["p50"], "%.2f"),
                    fmt(tps["p50"], "%.2f"), fmt(fr["p50"], "%.2f"), fmt(fr["min"], "%.2f"),
                    fmt(wall["p50"], "%.0f"), fmt(g["p50"]), fmt(g["max"]), fmt(d["p50"]), fmt(d["max"])))
            for other in ("heartbeat", "raw"):
                a_, b_ = lst[(rate, "vmhandoff")], lst[(rate, other)]
                w("| %s | **ours / %s** | | | | %s | | | %s | %s | %s | %s | %s |" % (
                    rate, SHORT[other], ratio(a_[0]["p50"], b_[0]["p50"]), ratio(a_[1]["p50"], b_[1]["p50"]),
                    ratio(a_[2]["p50"], b_[2]["p50"]), ratio(a_[2]["max"], b_[2]["max"]),
                    ratio(a_[3]["p50"], b_[3]["p50"]), ratio(a_[3]["max"], b_[3]["max"])))
        w("\nInvariant checker over the shaped-link moves: **%s**.\n" % inv_result(os.path.join(data, "inv-link.txt")))
    w("## 6. Convergence with a dirty rate above the link rate\n")
    w("not measured.\n")

    # ------------------------------------------------------------ 7
    w("## 7. vmhandoffd footprint\n")
    idle = footprint(os.path.join(data, "footprint-idle.tsv"))
    if not idle and not drains:
        w("not measured.\n")
    if idle:
        vh = {k: v for k, v in idle.items() if k.endswith(":vmhandoffd")}
        w("Idle: %s s with nothing moving (the running guests: %s; pacemaker monitors them every 10 s), "
          "sampled every 5 s from `/proc/PID/status` (VmRSS) and `/proc/PID/stat` (utime+stime, "
          "10 ms ticks). Per hour = CPU seconds over the window scaled to an hour. For scale, the "
          "same for corosync and libvirtd in the same hosts.\n" % (
              fmt(max([d["secs"] for d in idle.values()] or [0]), "%.0f"), info.get("idle_vms", "?")))
        w("| host | process | RSS min (KiB) | RSS max (KiB) | CPU in window (s) | CPU per hour (s) |")
        w("|---|---|---|---|---|---|")
        for lab in sorted(idle, key=lambda k: (k.split(":")[1] != "vmhandoffd", k)):
            d = idle[lab]
            if lab.split(":")[1].startswith("pacemaker-exec"):
                continue
            h, p = lab.split(":", 1)
            w("| %s | %s | %d | %d | %.2f | %.1f |" % (h, p, d["rss_min"], d["rss_max"], d["cpu_s"],
                                                        d["cpu_s"] * 3600.0 / d["secs"] if d["secs"] else 0))
        if vh:
            w("\nvmhandoffd, all hosts: RSS max %d KiB; CPU %.1f s per hour per host on average.\n" % (
                max(d["rss_max"] for d in vh.values()),
                sum(d["cpu_s"] * 3600.0 / d["secs"] for d in vh.values() if d["secs"]) / len(vh)))
    if drains:
        w("During each drain (sampled every 0.5 s from 1 s before the standby until the cluster "
          "settled after it; sums over the 3 hosts). **agents** = CPU of the processes "
          "pacemaker-execd ran and reaped (the resource agents and what they ran: virsh, "
          "crm_resource...), from its cutime+cstime: the agent's own cost, comparable across "
          "agents; vmhandoffd runs (idle for VirtualDomain's drains) in both cases.\n")
        w("| migration-limit | agent | window (s) | vmhandoffd CPU (s) | vmhandoffd RSS max (KiB) "
          "| agents CPU (s) | libvirtd CPU (s) | corosync CPU (s) |")
        w("|---|---|---|---|---|---|---|---|")
        for d in drains:
            fp = footprint(d["footprint"]) if os.path.exists(d["footprint"]) else \
                footprint(os.path.join(data, os.path.basename(d["footprint"])))
            if not fp:
                continue
            vrss = [v["rss_max"] for k, v in fp.items() if k.endswith(":vmhandoffd")]
            w("| %s | %s | %.1f | %s | %s | %s | %s | %s |" % (
                d["limit"], LABEL[d["agent"]], max(v["secs"] for v in fp.values()),
                fmt(daemon_sum(fp, "vmhandoffd", "cpu_s"), "%.2f"), max(vrss) if vrss else "-",
                fmt(daemon_sum(fp, "pacemaker-exec", "child_cpu_s"), "%.2f"),
                fmt(daemon_sum(fp, "libvirtd", "cpu_s"), "%.2f"),
                fmt(daemon_sum(fp, "corosync", "cpu_s"), "%.2f")))
        w("")

    # ------------------------------------------------------------ notes
    w("## What went wrong or looked odd in this run\n")
    if notes:
        for n in notes:
            w("- %s" % n)
    else:
        w("- nothing the harness noticed: every timed move and drain completed.")
    if plot_errors:
        for e in plot_errors:
            w("- plot %s" % e)
    if agent_log:
        groups = {}
        for line in agent_log:
            key = re.sub(r"^[A-Z][a-z]{2} +\d+ [\d:.]+ ", "", line)
            key = re.sub(r"\[\d+\]", "[N]", key)
            key = re.sub(r"'[0-9a-f-]{36}'", "'UUID'", key)
            key = re.sub(r"\b(vmdv|vmdh|bmdef)\d+\b", r"\1N", key)
            key = re.sub(r"^node\d ", "", key)
            key = re.sub(r"(pacemaker-\w+ +\[N\])", r"\1", key)
            key = re.sub(r"\bnode\d\b", "nodeN", key)
            g = groups.setdefault(key, [0, line])
            g[0] += 1
        w("\nWarnings and errors about ocf:vmhandoff:VirtualDomain's resources and from vmhandoffd in "
          "the hosts' logs: %d lines, %d kinds (count, then the first line of each kind; all of them in "
          "`data/agent-log.txt`):\n" % (len(agent_log), len(groups)))
        w("```")
        for key, (n, line) in sorted(groups.items(), key=lambda kv: -kv[1][0])[:15]:
            w("%4d x %s" % (n, line[:400]))
        w("```")
    w("\nRaw data: `%sdata/` (moves-joined.tsv, monitor.tsv, drain.tsv, drain-moves.tsv, "
      "footprint-*.tsv, the checker's reports inv-*.txt).\n" % a.prefix)
    text = "\n".join(md) + "\n"
    return text


def cmd_render(a):
    a.prefix = ""
    text = render(a)
    rdir = os.path.join(a.results, a.stamp)
    with open(os.path.join(rdir, "report.md"), "w") as f:
        f.write(text)
    a.prefix = a.stamp + "/"
    text = render(a)
    with open(os.path.join(a.results, "latest.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("join-moves")
    p.add_argument("--moves", required=True)
    p.add_argument("--inv", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("join-drain")
    for k in ("raw", "scenario", "agent", "limit", "inv", "out"):
        p.add_argument("--" + k, required=True)
    p = sub.add_parser("render")
    p.add_argument("--data", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--stamp", required=True)
    a = ap.parse_args()
    return {"join-moves": cmd_join_moves, "join-drain": cmd_join_drain, "render": cmd_render}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""ct-report: the tables a person reads after cluster-check or the demo.

    ct-report.py --out DIR [--title T] [--seconds S] [--inv NAME]

Reads DIR/state/scenarios.tsv (if any), DIR/state/moves.raw (the moves the
harness timed: command -> "Started on target" in crm_mon, and the bytes
counted on the source host's two links meanwhile) and DIR/inv/NAME.json
(invariants.py over the whole run, NAME default "all"). Prints:
  - the scenario table (result, checks, seconds);
  - one line per move of a VM from one host to another: the harness's wall
    time joined with the checker's figures: activation gap (source paused
    -> target resumed, libvirt events), guest downtime (last tick on the
    source -> first tick on the target), QEMU's downtime, the MiB QEMU sent
    (JOB_COMPLETED data_processed), the link it went over (bytes the source
    sent on its migration link vs its cluster ring), and whether it was a
    live migration or a restart (cold boot);
  - the checker's verdict.
Writes DIR/moves.tsv with the same rows.
"""
import argparse
import csv
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ct_report_lib import seq_ok  # noqa: E402

MiB = 1048576.0


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def host(label):
    """observer label -> host: "node2~2" is node2 after its second boot"""
    return label.split("~")[0]


def fmt(v, spec="%.1f"):
    if v is None or v == "":
        return "-"
    try:
        return spec % v
    except TypeError:
        return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--inv", default="all")
    a = ap.parse_args()
    st = os.path.join(a.out, "state")
    scen = read_tsv(os.path.join(st, "scenarios.tsv"))
    raw = read_tsv(os.path.join(st, "moves.raw"))
    inv_path = os.path.join(a.out, "inv", a.inv + ".json")
    inv = None
    if os.path.exists(inv_path):
        with open(inv_path) as f:
            inv = json.load(f)
    w = sys.stdout.write
    if a.title:
        w("%s\n" % a.title)
    if scen:
        w("\n%-22s %-6s %6s %6s %7s  %s\n" % ("scenario", "result", "checks", "failed", "seconds", "what"))
        for s in scen:
            w("%-22s %-6s %6s %6s %7s  %s\n" % (s["scenario"], s["result"], s["checks"], s["failed"],
                                                 s["seconds"], s["title"]))
    migs = []
    if inv:
        for vm, v in inv["vms"].items():
            for m in v["migrations"]:
                migs.append(m)
    def resume(m):
        return m.get("dst_resume") or m.get("dst_first_tick") or 0

    migs.sort(key=resume)

    def scenario_at(ts):
        for s in scen:
            if int(s["t0_ns"]) <= ts <= int(s["t1_ns"]):
                return s["scenario"]
        return "-"

    # The checker pairs a move seen by libvirt with one seen by the ticks
    # when the target's resume and first tick are within 10 s; a cold boot
    # (BIOS first) can take longer, and the move comes out twice: merge.
    merged = []
    for m in migs:
        for p in merged:
            if (p["vm"], host(p["src"]), host(p["dst"])) == (m["vm"], host(m["src"]), host(m["dst"])) \
                    and abs(resume(p) - resume(m)) < 60e9 \
                    and (p.get("dst_resume") is None) != (m.get("dst_resume") is None) \
                    and (p.get("dst_first_tick") is None) != (m.get("dst_first_tick") is None):
                for k, v in m.items():
                    if p.get(k) is None and v is not None:
                        p[k] = v
                if p.get("src_last_tick") and p.get("dst_first_tick"):
                    p["downtime_ms"] = (p["dst_first_tick"] - p["src_last_tick"]) / 1e6
                break
        else:
            merged.append(dict(m))
    migs = merged

    def live(m):
        """a live migration: the target resumed the migrated copy and the
        guest's ticks went on from the source's last one (the checker's
        "kind" also says restart when the target saw any reboot of the VM in
        the 30 s around, even an earlier, allowed one). vmhandoff's target
        arrives paused (VIR_MIGRATE_PAUSED) and its vmhandoffd resumes it:
        RESUMED UNPAUSED, which is a live move too when the ticks went on
        (a boot restarts them at 0)"""
        return m.get("dst_resume_event") in ("RESUMED MIGRATED", "RESUMED UNPAUSED") and seq_ok(m)

    def kind(m):
        if not m:
            return "none"
        if live(m):
            return "live"
        if m["kind"] == "restart" or m.get("dst_resume_event") in ("STARTED BOOTED", "RESUMED UNPAUSED"):
            return "restart"
        return m["kind"] + "?"

    used = set()
    rows = []
    for r in raw:
        t0, t1 = int(r["t_cmd_ns"]), int(r["t_started_ns"])
        best = None
        for i, m in enumerate(migs):
            if i in used or m["vm"] != r["vm"] or host(m["src"]) != r["from"] or host(m["dst"]) != r["to"]:
                continue
            if t0 - 1e9 <= resume(m) <= t1 + 5e9:
                best = i
                break
        m = migs[best] if best is not None else None
        if best is not None:
            used.add(best)
        rows.append((r, m))
    for i, m in enumerate(migs):
        if i not in used:
            rows.append((None, m))
    rows.sort(key=lambda rm: int(rm[0]["t_cmd_ns"]) if rm[0] else resume(rm[1]))

    out_rows = []
    for r, m in rows:
        job = ((m or {}).get("src_job") or (m or {}).get("dst_job") or {}) if m and live(m) else {}
        sent = job.get("data_processed")
        mig_b = int(r["mig_rx_bytes"]) if r and r["mig_rx_bytes"] else None
        ring_b = int(r["ring_rx_bytes"]) if r and r["ring_rx_bytes"] else None
        link = "-"
        if mig_b is not None and ring_b is not None:
            if mig_b > ring_b and mig_b > 1024 * 1024:
                link = "mig"
            elif ring_b > mig_b and ring_b > 1024 * 1024:
                link = "RING"
            link += " %.1f/%.1f" % (mig_b / MiB, ring_b / MiB)
            if r["tool"] == "standby":
                link += " (whole drain)"
        out_rows.append({
            "scenario": r["scenario"] if r else scenario_at(resume(m)),
            "vm": r["vm"] if r else m["vm"],
            "from": r["from"] if r else m["src"],
            "to": r["to"] if r else m["dst"],
            "how": r["tool"] if r else "cluster",
            "kind": kind(m),
            "wall_ms": int(r["wall_ms"]) if r else None,
            "gap_ms": m.get("activation_gap_ms") if m else None,
            "guest_downtime_ms": m.get("downtime_ms") if m else None,
            "qemu_downtime_ms": job.get("downtime"),
            "sent_mib": sent / MiB if isinstance(sent, int) else None,
            "link": link,
        })
    if out_rows:
        w("\nmoves (kind live: migrated copy resumed, guest ticks went on; restart: the guest booted again;\n"
          "       wall: command -> Started on target in crm_mon; gap: source paused -> target resumed"
          " (libvirt);\n       guestDT: last tick on source -> first on target; sent: QEMU's bytes;"
          " link: MiB the source sent on mig/ring meanwhile)\n")
        w("%-16s %-4s %-6s %-6s %-13s %-9s %8s %8s %8s %7s %8s  %s\n" % (
            "scenario", "vm", "from", "to", "how", "kind", "wall_ms", "gap_ms", "guestDT", "qemuDT",
            "sent_MiB", "link mig/ring MiB"))
        for o in out_rows:
            w("%-16s %-4s %-6s %-6s %-13s %-9s %8s %8s %8s %7s %8s  %s\n" % (
                o["scenario"][:16], o["vm"], o["from"], o["to"], o["how"], o["kind"],
                fmt(o["wall_ms"], "%d"), fmt(o["gap_ms"]), fmt(o["guest_downtime_ms"]),
                fmt(o["qemu_downtime_ms"], "%s"), fmt(o["sent_mib"]), o["link"]))
        with open(os.path.join(a.out, "moves.tsv"), "w") as f:
            keys = list(out_rows[0].keys())
            f.write("\t".join(keys) + "\n")
            for o in out_rows:
                f.write("\t".join("" if o[k] is None else str(o[k]) for k in keys) + "\n")
        live = [o for o in out_rows if o["kind"] == "live"]
        if live:
            def rng(key):
                vals = sorted(o[key] for o in live if o[key] is not None)
                return "%s..%s (median %s)" % (fmt(vals[0]), fmt(vals[-1]), fmt(vals[len(vals) // 2])) \
                    if vals else "-"
            w("live migrations: %d; wall %s ms; activation gap %s ms; guest downtime %s ms\n" % (
                len(live), rng("wall_ms"), rng("gap_ms"), rng("guest_downtime_ms")))
    if inv:
        w("\ninvariant checker over the whole run: %s (%d violations, %d warnings)\n" % (
            inv["result"].upper(), len(inv["violations"]), len(inv["warnings"])))
        for v in inv["violations"]:
            w("  %s %s: %s\n" % (v["kind"], v.get("vm", ""), v.get("detail", "")[:300]))
    if a.seconds is not None:
        w("run time: %d s\n" % a.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

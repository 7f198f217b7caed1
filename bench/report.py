#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Formats the samples of bench/driver.py as Markdown tables: per operation and client, the
median and p90 of each daemon and the ratio of the medians ours/systemd, against the targets.

    report.py [--reps N --batch N] SAMPLES.jsonl...
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
from collections import defaultdict

# Ratio ours/systemd each operation must reach (issue: "twice as fast on every operation";
# list of 10,000 images: 0.3).
DEFAULT_TARGET = 0.5
CLIENT_LABEL = {"systemd": "systemd's portablectl", "ours": "our portablectl"}
TARGETS = {"list, 10000 images": 0.3}


def p90(values):
    v = sorted(values)
    return v[max(0, math.ceil(0.9 * len(v)) - 1)]


def fmt_ms(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = ""
    for line in run("lscpu").splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    mem = ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    root = run("findmnt", "-no", "FSTYPE,SOURCE", "/")
    virt = run("systemd-detect-virt") or "none"
    sd = run("systemctl", "--version").splitlines()[0] if run("systemctl", "--version") else ""
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = run("git", "-C", src, "describe", "--always", "--dirty")
    return [f"{cpu}, {os.cpu_count()} CPUs, {mem} RAM, virtualization: {virt}",
            f"kernel {platform.release()}, {sd}; host root file system {root}",
            f"portabled tree at {commit}"]


def load(paths):
    samples = []
    for p in paths:
        with open(p) as f:
            samples += [json.loads(line) for line in f if line.strip()]
    return samples


def op_order(samples):
    seen = []
    for s in samples:
        if s["op"] not in seen:
            seen.append(s["op"])
    return seen


def table_ops(samples, fs):
    groups = defaultdict(list)
    failed = defaultdict(int)
    for s in samples:
        if s["fs"] != fs or s["op"].startswith(("floor", "daemon")):
            continue
        if s["ok"]:
            groups[(s["op"], s["client"], s["daemon"])].append(s["ms"])
        else:
            failed[(s["op"], s["client"], s["daemon"])] += 1
    lines = ["| operation | client | systemd median / p90 (ms) | ours median / p90 (ms) | ours/systemd | target | |",
             "|---|---|---:|---:|---:|---:|---|"]
    for op in op_order([s for s in samples if s["fs"] == fs]):
        if op.startswith(("floor", "daemon")):
            continue
        for client in ("systemd", "ours"):
            cells, med = [], {}
            for d in ("systemd", "ours"):
                v = groups.get((op, client, d), [])
                f = failed.get((op, client, d), 0)
                if v:
                    med[d] = statistics.median(v)
                    cell = f"{fmt_ms(med[d])} / {fmt_ms(p90(v))}"
                else:
                    cell = "–"
                if f:
                    cell += f" ({f} failed)"
                cells.append(cell)
            target = TARGETS.get(op, DEFAULT_TARGET)
            if len(med) == 2 and med["systemd"] > 0:
                ratio = med["ours"] / med["systemd"]
                verdict = "met" if ratio <= target else "**missed**"
                r = f"{ratio:.2f}"
            else:
                r, verdict = "–", ""
            lines.append(f"| {op} | {CLIENT_LABEL[client]} | {cells[0]} | {cells[1]} | {r} | ≤ {target} | {verdict} |")
    return lines


def table_end_to_end(samples, fs):
    """What a user who switches both pieces sees: our portablectl on our daemon against systemd's
    portablectl on systemd's daemon, for the operations where the client's own work (reloading
    the service manager, starting and stopping units) dominates."""
    by = defaultdict(list)
    for s in samples:
        if s["fs"] == fs and s["ok"] and s["client"] == s["daemon"]:
            by[(s["op"], s["client"])].append(s["ms"])
    lines = ["| operation | systemd's client and daemon, median / p90 (ms) | ours, median / p90 (ms) | ours/systemd | target | |",
             "|---|---:|---:|---:|---:|---|"]
    for op in op_order([s for s in samples if s["fs"] == fs]):
        if "reload" not in op and "--now" not in op:
            continue
        a, b = by.get((op, "systemd")), by.get((op, "ours"))
        if not a or not b:
            continue
        ratio = statistics.median(b) / statistics.median(a)
        target = TARGETS.get(op, DEFAULT_TARGET)
        lines.append(f"| {op} | {fmt_ms(statistics.median(a))} / {fmt_ms(p90(a))} | "
                     f"{fmt_ms(statistics.median(b))} / {fmt_ms(p90(b))} | {ratio:.2f} | ≤ {target} | "
                     f"{'met' if ratio <= target else '**missed**'} |")
    return lines


def table_daemon(samples, fs):
    lines = ["| measure | systemd | ours | ours/systemd |", "|---|---:|---:|---:|"]
    by = defaultdict(list)
    for s in samples:
        if s["fs"] == fs and s["op"].startswith("daemon") and s["ok"]:
            by[(s["op"], s["daemon"])].append(s["ms"])
    for op in ("daemon RSS (KiB, end of round)", "daemon peak RSS (KiB, VmHWM)"):
        a, b = by.get((op, "systemd")), by.get((op, "ours"))
        if not a or not b:
            continue
        agg = statistics.median if "end of round" in op else max
        label = op + (", median of rounds" if agg is statistics.median else ", max of rounds")
        lines.append(f"| {label} | {agg(a):.0f} | {agg(b):.0f} | {agg(b) / agg(a):.2f} |")
    return lines


def table_floors(samples, fs):
    lines = ["| floor | daemon | median / p90 (ms) |", "|---|---|---:|"]
    by = defaultdict(list)
    for s in samples:
        if s["fs"] == fs and s["op"].startswith("floor") and s["ok"]:
            by[(s["op"], s["daemon"])].append(s["ms"])
    for (op, d), v in sorted(by.items()):
        lines.append(f"| {op[len('floor: '):]} | {d} | {fmt_ms(statistics.median(v))} / {fmt_ms(p90(v))} |")
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("samples", nargs="+")
    args = p.parse_args()
    samples = load(args.samples)
    out = ["Machine: " + "  \n".join(machine()), ""]
    if args.reps:
        out += [f"{args.reps} repetitions per operation, client and daemon, in batches of {args.batch} per daemon "
                "switch (rounds alternate which daemon goes first); times are wall-clock per client command "
                "(fork to exit), pairs are the sum of both commands.", ""]
    for fs in [f for f in ("tmpfs", "ext4") if any(s["fs"] == f for s in samples)]:
        where = ("the container's tmpfs root" if fs == "tmpfs"
                 else "ext4 on a loop file on the host's disk")
        out += [f"### Attached directories on {where}", ""]
        out += table_ops(samples, fs) + [""]
        end_to_end = table_end_to_end(samples, fs)
        if len(end_to_end) > 2:
            out += ["End to end (each client on its own daemon):", ""] + end_to_end + [""]
        daemon = table_daemon(samples, fs)
        if len(daemon) > 2:
            out += daemon + [""]
        out += table_floors(samples, fs) + [""]
    print("\n".join(out))


if __name__ == "__main__":
    main()

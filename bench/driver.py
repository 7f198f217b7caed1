#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The workload of bench/run, run inside the booted e2e container (see bench/run).

It alternates the two daemons that can own org.freedesktop.portable1 (systemd 252's
systemd-portabled and ours) in rounds: round r runs every operation `batch` times on one daemon,
then on the other, the order alternating from round to round (A B, B A, A B, ...). Every
operation is driven by both clients (systemd's portablectl and ours) within each round. Each client
command is timed with a monotonic clock from fork to exit, so the numbers are what a user waits
for. One JSON object per sample goes to --out.

The host side (bench/run) boots the container, builds the images and formats the table
(bench/report.py).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

BUS_NAME = "org.freedesktop.portable1"
SD_UNIT = "systemd-portabled.service"
POOL = "/var/lib/portables"
ATTACHED = "/etc/systemd/system.attached"
# The list fixture: this many directory images are attached for the whole run.
LIST_ATTACHED = 100


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*cmd, check=True, quiet=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def timed(cmd):
    """Runs cmd, returns (milliseconds, ok, stderr)."""
    start = time.monotonic_ns()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ms = (time.monotonic_ns() - start) / 1e6
    return ms, r.returncode == 0, r.stderr.strip()


def bus_owner_present():
    return sh("busctl", "--system", "status", BUS_NAME, check=False).returncode == 0


def wait_for(pred, what, limit=30.0):
    deadline = time.monotonic() + limit
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Daemon:
    """One of the two implementations; start() makes it own the bus name, stop() releases it."""

    def __init__(self, label, args):
        self.label = label
        self.args = args
        self.unit = None

    def start(self):
        if self.label == "systemd":
            sh("systemctl", "unmask", "--runtime", "--quiet", SD_UNIT)
            sh("systemctl", "start", SD_UNIT)
            self.unit = SD_UNIT
        else:
            # Type=simple without BusName=: PID 1 refuses to start systemd-portabled.service while
            # another loaded unit claims the same bus name (see tests/e2e/common.sh).
            self.unit = f"portabled-bench-{time.monotonic_ns()}.service"
            cmd = ["systemd-run", "--quiet", f"--unit={self.unit}", "-p", "Type=simple"]
            if self.args.our_daemon_env:
                cmd += ["-p", f"Environment={self.args.our_daemon_env}"]
            cmd += self.args.our_daemon_wrapper.split()
            cmd += [self.args.our_daemon, f"--vendor-profile-dir={self.args.profiles}", "--exit-on-idle=0"]
            sh(*cmd)
        wait_for(bus_owner_present, f"{self.label} daemon on the bus")
        # One untimed call, so that no operation pays for the daemon's first request.
        sh("busctl", "--system", "call", BUS_NAME, "/org/freedesktop/portable1",
           "org.freedesktop.DBus.Peer", "Ping")

    def pid(self):
        return int(sh("systemctl", "show", "-P", "MainPID", self.unit).stdout.strip() or 0)

    def memory(self):
        pid = self.pid()
        out = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        out[key] = int(value.split()[0])
        except OSError:
            pass
        return out

    def stop(self):
        if self.label == "systemd":
            sh("systemctl", "stop", SD_UNIT)
            sh("systemctl", "mask", "--runtime", "--quiet", SD_UNIT)
        else:
            sh("systemctl", "stop", self.unit, check=False)
        wait_for(lambda: not bus_owner_present(), f"{self.label} daemon to leave the bus")


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = open(args.out, "a")
        self.clients = {"systemd": args.systemd_client, "ours": args.our_client}
        self.images = args.images
        self.raw1 = os.path.join(self.images, "sample_1.raw")
        self.raw2 = os.path.join(self.images, "sample_2.raw")
        self.dir1 = os.path.join(self.images, "sample_1")
        self.work = os.path.join(self.images, "bench")
        self.cold_n = 0

    # ---- recording ------------------------------------------------------------------------

    def record(self, op, client, daemon, rnd, ms, ok=True, extra=None):
        rec = {"fs": self.args.fs, "op": op, "client": client, "daemon": daemon, "round": rnd,
               "ms": round(ms, 3), "ok": ok, "t": time.monotonic()}
        if extra:
            rec.update(extra)
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()

    def pctl(self, client, *args):
        return [self.clients[client], "--no-pager", *args]

    # ---- fixtures -------------------------------------------------------------------------

    def setup(self):
        os.makedirs(self.work, exist_ok=True)
        # The pool on the same file system as the images, so that its 10,000 images can be hard
        # links and the list directories can be moved in and out by rename.
        # Its contents are changed through that path: rename() and link() do not cross mount
        # points, not even bind mounts of the same file system.
        self.pool = os.path.join(self.work, "pool")
        os.makedirs(self.pool, exist_ok=True)
        os.makedirs(POOL, exist_ok=True)
        sh("mount", "--bind", self.pool, POOL)
        self.mounts = [POOL]
        if self.args.attached_fs_image:
            self.mount_disk_fs(self.args.attached_fs_image)
        self.make_list_images()

    def mount_disk_fs(self, image):
        """The directories attach and detach write to (and our transaction journal) on a file
        system on a loop device, where a flush reaches a disk."""
        top = "/run/bench-disk"
        os.makedirs(top, exist_ok=True)
        sh("mount", "-o", "loop", image, top)
        self.mounts.append(top)
        for sub, target in (("attached", ATTACHED), ("portables", "/etc/portables"),
                            ("state", "/var/lib/portabled")):
            os.makedirs(os.path.join(top, sub), exist_ok=True)
            os.makedirs(target, exist_ok=True)
            sh("mount", "--bind", os.path.join(top, sub), target)
            self.mounts.insert(0, target)
        log(f"{ATTACHED}, /etc/portables and /var/lib/portabled on {sh('findmnt', '-no', 'FSTYPE,SOURCE', top).stdout.strip()}")

    def teardown(self):
        for m in getattr(self, "mounts", []):
            sh("umount", m, check=False)

    def make_list_images(self):
        """LIST_ATTACHED directory images list001 ... (hard-linked copies of the sample tree with
        their own unit and os-release), and the raw file the filler images are hard links of."""
        self.list_dirs = os.path.join(self.work, "list-dirs")
        self.fill_src = os.path.join(self.work, "fill.raw")
        if not os.path.exists(self.fill_src):
            shutil.copyfile(self.raw1, self.fill_src)
        os.makedirs(self.list_dirs, exist_ok=True)
        unitdir = "usr/lib/systemd/system"
        for i in range(1, LIST_ATTACHED + 1):
            name = f"list{i:03d}"
            d = os.path.join(self.list_dirs, name)
            if os.path.exists(d):
                continue
            tmp = d + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            sh("cp", "-al", self.dir1, tmp)
            # New files, not writes through the hard links into the sample tree.
            shutil.rmtree(os.path.join(tmp, unitdir))
            os.makedirs(os.path.join(tmp, unitdir))
            with open(os.path.join(tmp, unitdir, f"{name}.service"), "w") as f:
                f.write(f"[Unit]\nDescription=list fixture {name}\n\n[Service]\n"
                        "ExecStart=/usr/lib/sample/sample-idle {name}.service\n")
            os.unlink(os.path.join(tmp, "usr/lib/os-release"))
            with open(os.path.join(tmp, "usr/lib/os-release"), "w") as f:
                f.write(f"ID=portabled-bench\nVERSION_ID=1\nPORTABLE_PREFIXES={name}\n")
            os.rename(tmp, d)
        self.list_names = [f"list{i:03d}" for i in range(1, LIST_ATTACHED + 1)]

    def pool_set_size(self, n):
        """The pool holds n images: the first min(n, LIST_ATTACHED) list directories (all of them
        stay attached, wherever they are) and n - that many hard links of one raw file."""
        n_dirs = min(n, LIST_ATTACHED)
        for i, name in enumerate(self.list_names):
            inside, outside = os.path.join(self.pool, name), os.path.join(self.list_dirs, name)
            if i < n_dirs and not os.path.exists(inside):
                os.rename(outside, inside)
            elif i >= n_dirs and os.path.exists(inside):
                os.rename(inside, outside)
        want = {f"fill{i:05d}.raw" for i in range(n - n_dirs)}
        have = {e for e in os.listdir(self.pool) if e.startswith("fill")}
        for e in have - want:
            os.unlink(os.path.join(self.pool, e))
        for e in want - have:
            os.link(self.fill_src, os.path.join(self.pool, e))

    def attach_list_fixture(self, daemon):
        """Attaches the list directories once (with our client, no reload) for the whole run."""
        self.pool_set_size(LIST_ATTACHED)
        for name in self.list_names:
            if os.path.exists(os.path.join(ATTACHED, f"{name}.service")):
                continue
            sh(*self.pctl("ours", "attach", "--no-reload", "-q", name))
        sh("systemctl", "daemon-reload")
        log(f"{LIST_ATTACHED} list images attached (by {daemon.label})")

    def detach_list_fixture(self):
        self.pool_set_size(LIST_ATTACHED)
        for name in self.list_names:
            sh(*self.pctl("ours", "detach", "--no-reload", "-q", name), check=False)
        self.pool_set_size(0)

    def cleanup_sample(self, client):
        """After a failure: make sure no sample image is left attached or running."""
        for img in (self.raw1, self.raw2, self.dir1):
            sh(*self.pctl(client, "detach", "--now", img), check=False)

    # ---- operations -----------------------------------------------------------------------
    # Each takes (client, daemon label, round) and records one sample per repetition.

    def pair(self, op, client, dl, rnd, attach, detach):
        for _ in range(self.args.batch):
            a_ms, a_ok, a_err = timed(self.pctl(client, *attach))
            d_ms, d_ok, d_err = timed(self.pctl(client, *detach)) if a_ok else (0, False, "")
            ok = a_ok and d_ok
            self.record(op, client, dl, rnd, a_ms + d_ms, ok, {"attach_ms": round(a_ms, 3), "detach_ms": round(d_ms, 3)})
            if not ok:
                log(f"{op} ({client} client, {dl} daemon) failed: {a_err or d_err}")
                self.cleanup_sample(client)
                return

    def op_attach_squashfs(self, c, dl, rnd):
        self.pair("attach+detach squashfs --no-reload", c, dl, rnd,
                  ["attach", "--no-reload", self.raw1], ["detach", "--no-reload", self.raw1])

    def op_attach_directory(self, c, dl, rnd):
        self.pair("attach+detach directory --no-reload", c, dl, rnd,
                  ["attach", "--no-reload", self.dir1], ["detach", "--no-reload", self.dir1])

    def op_attach_reload(self, c, dl, rnd):
        self.pair("attach+detach squashfs, reload", c, dl, rnd, ["attach", self.raw1], ["detach", self.raw1])

    def op_attach_now(self, c, dl, rnd):
        self.pair("attach --now + detach --now (squashfs)", c, dl, rnd,
                  ["attach", "--now", self.raw1], ["detach", "--now", self.raw1])

    def op_reattach(self, c, dl, rnd):
        op = "reattach --no-reload (squashfs v1<->v2)"
        ms, ok, err = timed(self.pctl(c, "attach", "--no-reload", self.raw1))
        if not ok:
            log(f"{op}: setup attach failed: {err}")
            self.record(op, c, dl, rnd, 0, False)
            return
        cur = self.raw1
        for _ in range(self.args.batch):
            nxt = self.raw2 if cur == self.raw1 else self.raw1
            ms, ok, err = timed(self.pctl(c, "reattach", "--no-reload", nxt))
            self.record(op, c, dl, rnd, ms, ok)
            if not ok:
                log(f"{op} ({c} client, {dl} daemon) failed: {err}")
                break
            cur = nxt
        sh(*self.pctl(c, "detach", "--no-reload", cur), check=False)

    def op_inspect_warm(self, c, dl, rnd):
        timed(self.pctl(c, "inspect", self.raw1))  # warm-up, not recorded
        for _ in range(self.args.batch):
            ms, ok, err = timed(self.pctl(c, "inspect", self.raw1))
            self.record("inspect (warm)", c, dl, rnd, ms, ok)
            if not ok:
                log(f"inspect ({c} client, {dl} daemon) failed: {err}")

    def op_inspect_cold(self, c, dl, rnd):
        """A file neither daemon has seen, its pages dropped from the page cache: what the first
        inspect of a freshly downloaded image costs. (/proc/sys/vm/drop_caches is read-only in
        the container; POSIX_FADV_DONTNEED drops the clean pages of that one file.)"""
        cold_dir = os.path.join(self.work, "cold")
        os.makedirs(cold_dir, exist_ok=True)
        for _ in range(self.args.batch):
            self.cold_n += 1
            img = os.path.join(cold_dir, f"sample_cold{self.cold_n:05d}.raw")
            shutil.copyfile(self.raw1, img)
            fd = os.open(img, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
            ms, ok, err = timed(self.pctl(c, "inspect", img))
            self.record("inspect (cold)", c, dl, rnd, ms, ok)
            if not ok:
                log(f"inspect {img} ({c} client, {dl} daemon) failed: {err}")
            os.unlink(img)

    def op_list(self, c, dl, rnd):
        for n in self.args.list_sizes:
            self.pool_set_size(n)
            if c == "systemd":
                timed(self.pctl(c, "list"))  # once per round: the pool's metadata in the cache
            for _ in range(self.args.batch):
                ms, ok, err = timed(self.pctl(c, "list"))
                self.record(f"list, {n} images", c, dl, rnd, ms, ok)
                if not ok:
                    log(f"list {n} ({c} client, {dl} daemon) failed: {err}")
                    break

    def floors(self, dl, rnd):
        """Per daemon: a D-Bus round trip to it from a new process (busctl, Peer.Ping). Once
        per round, daemon-independent: a round trip to the bus itself and a loop mount."""
        for _ in range(self.args.batch):
            ms, ok, _ = timed(["busctl", "--system", "call", BUS_NAME, "/org/freedesktop/portable1",
                               "org.freedesktop.DBus.Peer", "Ping"])
            self.record("floor: busctl Peer.Ping to the daemon", "busctl", dl, rnd, ms, ok)

    def floors_common(self, rnd):
        mnt = os.path.join("/run", "bench-mnt")
        os.makedirs(mnt, exist_ok=True)
        for _ in range(self.args.batch):
            ms, ok, _ = timed(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetId"])
            self.record("floor: busctl GetId to dbus-daemon", "busctl", "-", rnd, ms, ok)
            start = time.monotonic_ns()
            r1 = sh("mount", "-o", "loop,ro", "-t", "squashfs", self.raw1, mnt, check=False)
            r2 = sh("umount", mnt, check=False)
            ms = (time.monotonic_ns() - start) / 1e6
            self.record("floor: loop mount + umount (squashfs)", "mount", "-", rnd, ms,
                        r1.returncode == 0 and r2.returncode == 0)
            ms, ok, _ = timed(["/bin/true"])
            self.record("floor: fork+exec /bin/true", "-", "-", rnd, ms, ok)
            # What a client costs before it says anything: its start-up, the dynamic linking of
            # its libraries above all. An attach+detach pair pays it twice with either daemon.
            for c in ("systemd", "ours"):
                ms, ok, _ = timed(self.pctl(c, "--version"))
                self.record(f"floor: {'systemd' if c == 'systemd' else 'our'} portablectl --version", c, "-", rnd,
                            ms, ok)

    OPS = {
        "attach-squashfs": op_attach_squashfs,
        "attach-directory": op_attach_directory,
        "attach-reload": op_attach_reload,
        "attach-now": op_attach_now,
        "reattach": op_reattach,
        "inspect-cold": op_inspect_cold,
        "inspect-warm": op_inspect_warm,
        "list": op_list,
    }

    # ---- the run ----------------------------------------------------------------------------

    def run(self):
        daemons = {"systemd": Daemon("systemd", self.args), "ours": Daemon("ours", self.args)}
        ops = [o for o in self.args.ops.split(",") if o]
        for o in ops:
            if o not in self.OPS:
                raise SystemExit(f"unknown operation {o}; known: {', '.join(self.OPS)}")
        self.setup()
        try:
            self.run_rounds(daemons, ops)
        finally:
            self.teardown()

    def run_rounds(self, daemons, ops):
        if "list" in ops:
            daemons["ours"].start()
            self.attach_list_fixture(daemons["ours"])
            daemons["ours"].stop()
        rounds = max(1, -(-self.args.reps // self.args.batch))
        start = time.monotonic()
        for rnd in range(rounds):
            order = ["systemd", "ours"] if rnd % 2 == 0 else ["ours", "systemd"]
            self.floors_common(rnd)
            for label in order:
                d = daemons[label]
                d.start()
                try:
                    log(f"round {rnd + 1}/{rounds}: {label} daemon (pid {d.pid()})")
                    self.floors(label, rnd)
                    for o in ops:
                        for client in ("systemd", "ours"):
                            self.OPS[o](self, client, label, rnd)
                    mem = d.memory()
                    self.record("daemon RSS (KiB, end of round)", "-", label, rnd, mem.get("VmRSS", 0), bool(mem),
                                {"unit": "KiB"})
                    self.record("daemon peak RSS (KiB, VmHWM)", "-", label, rnd, mem.get("VmHWM", 0), bool(mem),
                                {"unit": "KiB"})
                finally:
                    d.stop()
        log(f"{rounds} rounds in {time.monotonic() - start:.0f}s")
        if "list" in ops:
            daemons["ours"].start()
            self.detach_list_fixture()
            daemons["ours"].stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--images", required=True, help="directory with sample_1.raw, sample_2.raw, sample_1/")
    p.add_argument("--our-daemon", required=True)
    p.add_argument("--our-client", required=True)
    p.add_argument("--our-daemon-env", default="", help="VAR=value ... for our daemon's unit")
    p.add_argument("--our-daemon-wrapper", default="", help="command our daemon runs under, e.g. strace -c -f -o FILE")
    p.add_argument("--systemd-client", default="/usr/bin/portablectl")
    p.add_argument("--profiles", required=True)
    p.add_argument("--reps", type=int, default=25)
    p.add_argument("--batch", type=int, default=5)
    p.add_argument("--list-sizes", default="10,1000,10000")
    p.add_argument("--ops", default=",".join(Bench.OPS))
    p.add_argument("--fs", default="tmpfs", help="label of the file system under the attached directories")
    p.add_argument("--attached-fs-image", default="",
                   help="a file system image to mount (loop) under the attached directories and the journal")
    args = p.parse_args()
    args.list_sizes = [int(x) for x in args.list_sizes.split(",") if x]
    Bench(args).run()


if __name__ == "__main__":
    main()

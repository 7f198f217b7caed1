#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Corrupted variants of a file system image, read one by one through the daemon (hostile-fs.sh).

  fs-variants.py describe PRISTINE SEED TYPE N         the mutations, one line each
  fs-variants.py read PRISTINE SEED TYPE N VARIANT RESULTS
                                                       writes each variant to VARIANT, calls
                                                       GetImageMetadata on it (busctl, timeout
                                                       $READ_CALL_TIMEOUT), appends a line per
                                                       variant to RESULTS

Variant i of TYPE is a function of SEED, TYPE and i alone (random.Random seeded with them), so
that a failing variant is made again with the same three numbers:
  fs-variants.py describe PRISTINE SEED TYPE N | sed -n "$((i + 1))p"

Mutations, chosen by weight:
  flip      1 to 8 bits flipped, in 512-byte sectors that are not all zero (the metadata and the
            few files of a small image; the zero sectors are the free space)
  header    1 to 4 bits flipped in the first 4 KiB or, for GPT, the primary or backup header and
            partition entries (and the protective MBR)
  bytes     a run of 1 to 64 bytes overwritten with random bytes, zeros or 0xff
  zero      a non-zero 4 KiB block zeroed
  truncate  cut at a random length, or at a boundary (a sector, a block, half)

A result line: "<i> <mutation> <outcome> <milliseconds> <error name> <error message>", outcome
"ok" (read fine), "error" (refused with a D-Bus error) or "timeout" (no answer in time).
"""
import os
import random
import subprocess
import sys
import time

SECTOR = 512


_used = {}


def nonzero_sectors(data):
    """The offsets of the sectors of data that are not all zero (computed once per image)."""
    key = (len(data), hash(data))
    if key not in _used:
        zero = bytes(SECTOR)
        _used[key] = [i for i in range(0, len(data), SECTOR) if data[i:i + SECTOR] != zero]
    return _used[key]


def header_ranges(fstype, size):
    if fstype == "gpt":
        # Protective MBR, primary header, primary entries; backup entries and header.
        return [(0, 34 * SECTOR), (size - 33 * SECTOR, size)]
    return [(0, min(4096, size))]


def flip_bits(data, rng, offsets, n):
    for _ in range(n):
        off = rng.choice(offsets)
        data[off] ^= 1 << rng.randrange(8)


def mutate(pristine, fstype, seed, index):
    """Returns (description, bytes) of variant index."""
    rng = random.Random(f"{seed}:{fstype}:{index}")
    used = nonzero_sectors(pristine)
    data = bytearray(pristine)
    kind = rng.choices(["flip", "header", "bytes", "zero", "truncate"], weights=[45, 20, 15, 10, 10])[0]

    if kind == "flip":
        n = rng.randint(1, 8)
        offs = [s + rng.randrange(SECTOR) for s in rng.choices(used, k=n)]
        for off in offs:
            data[off] ^= 1 << rng.randrange(8)
        return f"flip:{n}@{','.join(hex(o) for o in sorted(offs))}", bytes(data)

    if kind == "header":
        lo, hi = rng.choice(header_ranges(fstype, len(data)))
        n = rng.randint(1, 4)
        offs = [rng.randrange(lo, hi) for _ in range(n)]
        for off in offs:
            data[off] ^= 1 << rng.randrange(8)
        return f"header:{n}@{','.join(hex(o) for o in sorted(offs))}", bytes(data)

    if kind == "bytes":
        off = rng.choice(used) + rng.randrange(SECTOR)
        n = rng.randint(1, 64)
        fill = rng.choice(["random", "zero", "ff"])
        run = {"random": bytes(rng.randrange(256) for _ in range(n)), "zero": bytes(n), "ff": b"\xff" * n}[fill]
        data[off:off + n] = run[:max(0, len(data) - off)]
        return f"bytes:{fill}:{n}@{hex(off)}", bytes(data)

    if kind == "zero":
        blocks = sorted({s // 4096 * 4096 for s in used})
        off = rng.choice(blocks)
        data[off:off + 4096] = bytes(min(4096, len(data) - off))
        return f"zero:4096@{hex(off)}", bytes(data)

    size = len(data)
    cut = rng.choice([rng.randrange(size), rng.randrange(size), SECTOR, 4096, size // 2,
                      size - SECTOR, (rng.choice(used) // 4096) * 4096])
    return f"truncate:{cut}", bytes(data[:cut])


def describe(pristine, seed, fstype, n):
    for i in range(n):
        desc, _ = mutate(pristine, fstype, seed, i)
        print(i, desc)


def call(image, timeout):
    """GetImageMetadata on image: (outcome, milliseconds, error name, error message)."""
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="debug")
    start = time.monotonic()
    try:
        p = subprocess.run(["busctl", f"--address={os.environ['BUS_ADDRESS']}", f"--timeout={timeout}", "call",
                            "org.freedesktop.portable1", "/org/freedesktop/portable1",
                            "org.freedesktop.portable1.Manager", "GetImageMetadata", "sas", image, "1", "foo"],
                           capture_output=True, text=True, errors="replace", env=env, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return "timeout", int((time.monotonic() - start) * 1000), "-", "busctl did not return"
    ms = int((time.monotonic() - start) * 1000)
    if p.returncode == 0:
        return "ok", ms, "-", "-"
    name, message = "-", "-"
    for line in p.stderr.splitlines():
        if line.startswith("Call failed: "):
            message = line[len("Call failed: "):]
        if "Got message type=error" in line and "error-name=" in line:
            rest = line.split("error-name=", 1)[1]
            name, _, message = rest.partition(" error-message=")
    if name == "-" and "timed out" in message:
        return "timeout", ms, name, message
    return "error", ms, name, message


def read(pristine, seed, fstype, n, variant, results):
    timeout = int(os.environ.get("READ_CALL_TIMEOUT", "150"))
    daemon = int(os.environ["DAEMON_PID"])
    with open(results, "a") as out:
        for i in range(n):
            desc, data = mutate(pristine, fstype, seed, i)
            # A new inode every time: a loop device left on an earlier variant stays visible as
            # "(deleted)" in losetup -a instead of being reused.
            tmp = variant + ".new"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, variant)
            outcome, ms, name, message = call(variant, timeout)
            out.write(f"{i} {desc} {outcome} {ms} {name} {' '.join(message.split())}\n")
            out.flush()
            try:
                os.kill(daemon, 0)
            except ProcessLookupError:
                out.write(f"{i} {desc} daemon-gone 0 - the daemon exited\n")
                return 1
    os.unlink(variant)
    return 0


def main(argv):
    mode, pristine_path, seed, fstype, n = argv[1], argv[2], argv[3], argv[4], int(argv[5])
    with open(pristine_path, "rb") as f:
        pristine = f.read()
    if mode == "describe":
        describe(pristine, seed, fstype, n)
        return 0
    return read(pristine, seed, fstype, n, argv[6], argv[7])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

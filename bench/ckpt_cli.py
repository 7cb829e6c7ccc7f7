#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ckpt_cli.py - checkpoint, restore and start-up of the `waft` command, end to end, as a
new user meets them (make bench-ckpt, after bench/ckpt_bench.c's library figures).

  usage: python3 bench/ckpt_cli.py [--sizes 16,256,1024] [--reps N] [--out FILE]

For each size S (MiB), with the guest bench/ckpt/tick.c (S MiB of random data, then a
line every 10 ms), built to wasm32-wasi with bench/run.py's clang line:
  checkpoint    `waft checkpoint PID --image F --verbose` stopping the run: the command's
                wall time (the image is durable when it returns) and the run's own split
                (pause, capture, write, sync), next to `dd if=F of=G bs=1M conv=fsync`
                writing the same bytes on the same filesystem, run right after it with
                F read into the page cache first (waft writes memory with O_DIRECT, so F
                is not cached; dd must not pay for reading it from the disk)
  leave-running `waft checkpoint PID --leave-running --verbose`: the program's pause (the
                fork) and the child's write and sync
  restore       `waft restore F` (memory mapped from the image, checked by the MiB when
                touched) and `waft restore F --no-map` (copied): time from exec to the
                program's first line of output, and the process's peak RSS once it has
                printed three; `waft restore F --fuel 1` (one instruction, then it stops):
                the whole process, i.e. restore to the first guest instruction and exit
Start-up, interleaved rounds, medians: /bin/true, `waft --version`, `waft run` of an empty
module; `waft run tick.wasm 0 0` against `waft restore` of an image of it taken at its
start. Images and copies go to build/ckpt (the filesystem of the build). Writes one JSON
object per line to --out and a summary on stderr; only the standard library is used.
"""

import argparse
import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import run as suite  # noqa: E402  (bench/run.py: the wasm32-wasi compile line)

ROOT = suite.ROOT
OUT = os.path.join(ROOT, "build", "bench", "ckpt")
WORK = os.path.join(ROOT, "build", "ckpt")
GUEST_SRC = os.path.join(BENCH, "ckpt", "tick.c")
GUEST = os.path.join(OUT, "tick.wasm")
EMPTY = os.path.join(OUT, "empty.wasm")
# memory from 1 MiB up to 2 GiB: the 1 GiB guest and its heap
GUEST_LINK = ["-Wl,--initial-memory=1048576", "-Wl,--max-memory=2147483648"]
WAFT = os.path.join(ROOT, "build", "waft")
COST = re.compile(r"([0-9.]+) MiB; program paused ([0-9.]+) ms; capture ([0-9.]+) ms, "
                  r"write ([0-9.]+) ms, sync ([0-9.]+) ms")


def log(msg):
    print("ckpt-cli: " + msg, file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


def build():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(WORK, exist_ok=True)
    suite.check_no_wasm_opt()
    if suite.stale(GUEST, [GUEST_SRC]):
        obj = os.path.join(OUT, "tick.o")
        subprocess.run(suite.CC_WASM + ["-Wall", "-Wextra", "-c", GUEST_SRC, "-o", obj],
                       check=True)
        subprocess.run(suite.LD_WASM + GUEST_LINK + ["-o", GUEST, obj], check=True)
    # (module (func (export "_start"))), by hand: no wat2wasm needed
    with open(EMPTY, "wb") as f:
        f.write(bytes([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
                       7, 0x0a, 1, 6]) + b"_start" + bytes([0, 0, 0x0a, 4, 1, 2, 0, 0x0b]))


def env():
    e = dict(os.environ)
    e["XDG_RUNTIME_DIR"] = os.path.join(WORK, "xdg")
    os.makedirs(e["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
    return e


def start_guest(mib):
    p = subprocess.Popen([WAFT, "run", "--verbose", GUEST, str(mib), "-1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), cwd=WORK)
    line = p.stdout.readline().decode()
    if not line.startswith("ready"):
        p.kill()
        die("the guest did not start: %r %s" % (line, p.stderr.read().decode()[-300:]))
    p.stdout.readline()  # one tick: the program is in its loop
    return p


def checkpoint(pid, image, leave):
    cmd = [WAFT, "checkpoint", str(pid), "--image", image, "--verbose"]
    if leave:
        cmd.append("--leave-running")
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, env=env())
    wall = time.monotonic() - t0
    m = COST.search(r.stdout.decode())
    if r.returncode != 0 or not m:
        die("%s: %s %s" % (" ".join(cmd), r.stdout.decode(), r.stderr.decode()))
    return {"wall_ms": wall * 1e3, "pause_ms": float(m.group(2)),
            "capture_ms": float(m.group(3)), "write_ms": float(m.group(4)),
            "sync_ms": float(m.group(5))}


def dd(src, dst):
    with open(src, "rb") as f:  # untimed: dd's input comes from the page cache
        while f.read(1 << 24):
            pass
    t0 = time.monotonic()
    subprocess.run(["dd", "if=" + src, "of=" + dst, "bs=1M", "conv=fsync", "status=none"],
                   check=True)
    wall = time.monotonic() - t0
    os.unlink(dst)
    return wall * 1e3


def restore(image, extra):
    """ms from exec to the first line, and peak RSS (MiB) after three lines."""
    t0 = time.monotonic()
    p = subprocess.Popen([WAFT, "restore", image] + extra, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env(), cwd=WORK)
    first = p.stdout.readline()
    t1 = time.monotonic()
    p.stdout.readline()
    p.stdout.readline()
    p.send_signal(signal.SIGKILL)
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = -9
    if not first.startswith(b"tick"):
        die("restore %s: %r %s" % (image, first, p.stderr.read().decode()[-300:]))
    return (t1 - t0) * 1e3, ru.ru_maxrss / 1024.0


def restore_first_instruction(image):
    t0 = time.monotonic()
    r = subprocess.run([WAFT, "restore", image, "--fuel", "1"], capture_output=True, env=env(),
                       cwd=WORK)
    wall = time.monotonic() - t0
    if b"fuel" not in r.stderr:
        die("restore --fuel 1: %s" % r.stderr.decode()[-300:])
    return wall * 1e3


def med(xs):
    return statistics.median(xs) if xs else None


def one_size(mib, reps):
    image = os.path.join(WORK, "cli-%d.img" % mib)
    live = os.path.join(WORK, "cli-%d-live.img" % mib)
    rows = {k: [] for k in ("stop", "leave", "dd", "lazy", "copy", "lazy_rss", "copy_rss",
                            "first_insn")}
    for _ in range(reps):
        p = start_guest(mib)
        rows["leave"].append(checkpoint(p.pid, live, True))
        time.sleep(0.05)
        rows["stop"].append(checkpoint(p.pid, image, False))
        p.wait()
        rows["dd"].append(dd(image, image + ".dd"))
        ms, rss = restore(image, [])
        rows["lazy"].append(ms)
        rows["lazy_rss"].append(rss)
        ms, rss = restore(image, ["--no-map"])
        rows["copy"].append(ms)
        rows["copy_rss"].append(rss)
        rows["first_insn"].append(restore_first_instruction(image))
    size = os.path.getsize(image)
    for f in (image, live):
        os.unlink(f)

    def split(rs):
        return {k: round(med([r[k] for r in rs]), 2) for k in rs[0]}

    out = {"mib": mib, "image_bytes": size, "reps": reps,
           "checkpoint_ms": split(rows["stop"]), "dd_fsync_ms": round(med(rows["dd"]), 2),
           "leave_running_ms": split(rows["leave"]),
           "restore_first_output_ms": {"mapped": round(med(rows["lazy"]), 2),
                                       "copied": round(med(rows["copy"]), 2)},
           "restore_peak_rss_mib": {"mapped": round(med(rows["lazy_rss"]), 1),
                                    "copied": round(med(rows["copy_rss"]), 1)},
           "restore_first_instruction_process_ms": round(med(rows["first_insn"]), 2)}
    out["checkpoint_vs_dd"] = round(out["checkpoint_ms"]["wall_ms"] / out["dd_fsync_ms"], 3)
    return out


def timed(cmd, cwd):
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(),
                   cwd=cwd)
    return (time.monotonic() - t0) * 1e3


def startup(rounds):
    small = os.path.join(WORK, "cli-small.img")
    subprocess.run([WAFT, "run", "--image", small, "--checkpoint-at-step", "2000", GUEST, "0",
                    "0"], check=True, capture_output=True, env=env(), cwd=WORK)
    cmds = {"true": ["/bin/true"], "version": [WAFT, "--version"],
            "run_empty": [WAFT, "run", EMPTY], "run_small": [WAFT, "run", GUEST, "0", "0"],
            "restore_small": [WAFT, "restore", small]}
    times = {k: [] for k in cmds}
    for _ in range(rounds):
        for k, c in cmds.items():  # interleaved: one of each per round
            times[k].append(timed(c, WORK))
    os.unlink(small)
    m = {k: round(med(v), 3) for k, v in times.items()}
    return {"startup_ms": m, "rounds": rounds,
            "run_empty_vs_true_plus_1ms": round(m["run_empty"] / (1.5 * m["true"] + 1.0), 3),
            "restore_vs_run_small": round(m["restore_small"] / m["run_small"], 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,256,1024")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--out", default=os.path.join(
        suite.RESULTS, "ckpt-cli-%s.jsonl" % datetime.date.today().isoformat()))
    a = ap.parse_args()
    if not os.access(WAFT, os.X_OK):
        die("%s not found: run make first" % WAFT)
    build()
    lines = []
    for mib in [int(x) for x in a.sizes.split(",") if x]:
        log("%d MiB" % mib)
        r = one_size(mib, a.reps if mib < 1024 else max(1, a.reps - 1))
        lines.append(r)
        c, lr = r["checkpoint_ms"], r["leave_running_ms"]
        log("  checkpoint %.0f ms (pause %.1f, capture %.0f, write %.0f, sync %.0f) vs dd %.0f ms"
            " = %.2fx; --leave-running pause %.2f ms; restore to first output %.1f ms mapped"
            " (RSS %.0f MiB), %.1f ms copied (RSS %.0f MiB); to first instruction %.1f ms" %
            (c["wall_ms"], c["pause_ms"], c["capture_ms"], c["write_ms"], c["sync_ms"],
             r["dd_fsync_ms"], r["checkpoint_vs_dd"], lr["pause_ms"],
             r["restore_first_output_ms"]["mapped"], r["restore_peak_rss_mib"]["mapped"],
             r["restore_first_output_ms"]["copied"], r["restore_peak_rss_mib"]["copied"],
             r["restore_first_instruction_process_ms"]))
    log("start-up (%d interleaved rounds)" % a.rounds)
    s = startup(a.rounds)
    lines.append(s)
    m = s["startup_ms"]
    log("  /bin/true %.2f ms, waft --version %.2f, run empty %.2f (%.2f of 1.5 x true + 1 ms);"
        " run small %.2f, restore small %.2f (%.2fx)" %
        (m["true"], m["version"], m["run_empty"], s["run_empty_vs_true_plus_1ms"],
         m["run_small"], m["restore_small"], s["restore_vs_run_small"]))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        for r in lines:
            f.write(json.dumps(r) + "\n")
    log("wrote " + a.out)


if __name__ == "__main__":
    main()

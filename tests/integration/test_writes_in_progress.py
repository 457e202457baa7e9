#!/usr/bin/env python3
"""Files still being written: never published half-done, yet a growing log keeps syncing."""
import os
import subprocess
import sys
import threading
import time

import harness as h

r = h.Runner("writes in progress")

# Opens PATH, waits DELAY s, writes N MiB (each distinct) every 100 ms keeping it open, holds it open HOLD s
# more, closes it, and prints the CLOCK_MONOTONIC time of the close (shared by all processes).
LONG_COPY = r"""
import os, sys, time
path, n, hold, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
block = os.urandom(1 << 20)
os.makedirs(os.path.dirname(path), exist_ok=True)  # as cp -r does: mkdir, then copy at once
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print("opened", time.monotonic(), flush=True)
time.sleep(delay)  # a slow source: the first bytes come a little after the open
for i in range(n):
    os.write(fd, i.to_bytes(8, "little") + block[8:])
    time.sleep(0.1)
time.sleep(hold)
os.close(fd)
print("closed", time.monotonic(), flush=True)
"""

# Appends a 1 KiB line to PATH with open-append-close every PERIOD s for DURATION s.
APPENDER = r"""
import sys, time
path, period, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + duration
i = 0
while time.monotonic() < end:
    with open(path, "a") as f:
        f.write(("%06d " % i) + "x" * 1016 + "\n")
    i += 1
    time.sleep(period)
print("done", i, time.monotonic(), flush=True)
"""


def long_copy(delay, rel="copy.bin"):
    root = h.new_scratch(f"long_copy_{delay}")
    a, b = h.pair(root)
    src, dst = f"{a.dir}/{rel}", f"{b.dir}/{rel}"
    n_mib = 40  # 40 x 100 ms = ~4 s of writing
    writer = h.spawn([sys.executable, "-c", LONG_COPY, src, str(n_mib), "0.5", str(delay)],
                     stdout=subprocess.PIPE, text=True)
    early = []  # (time after stat, size) while the writer still had the file open
    seen = []   # every observation of the file on B: (time after stat, size)
    stop = threading.Event()

    def observe():
        while not stop.is_set():
            try:
                size = os.stat(dst).st_size
                seen.append((time.monotonic(), size))
            except FileNotFoundError:
                pass
            time.sleep(0.005)

    t = threading.Thread(target=observe, daemon=True)
    t.start()
    try:
        out, _ = writer.communicate(timeout=30)
    finally:
        stop.set()
        t.join(5)
    assert writer.returncode == 0, out
    closed_at = float([l for l in out.splitlines() if l.startswith("closed")][0].split()[1])
    early = [(ts, sz) for ts, sz in seen if ts < closed_at]
    assert not early, (f"B showed {rel} while A's writer still held it open: first "
                       f"{early[0][1]} bytes at {closed_at - early[0][0]:.2f}s before the close")
    full = n_mib << 20
    wrong = [(ts, sz) for ts, sz in seen if sz != full]
    assert not wrong, f"B showed {rel} with {wrong[0][1]} bytes, not {full}"
    want = h.sha256_file(src)
    ok = h.wait_until(lambda: os.path.exists(dst) and h.sha256_file(dst) == want, 5, 0.02)
    assert ok, "B did not get the full copy within 5 s of the close"
    h.assert_converged(a.dir, b.dir, 5)


@r.case
def long_copy_not_published_before_close():
    long_copy(0)


@r.case
def long_copy_slow_first_write_not_published_before_close():
    long_copy(0.05)  # 50 ms from open to the first write, as with a slow source


@r.case
def long_copy_into_new_directory_not_published_before_close():
    long_copy(0, "new/dir/copy.bin")  # cp -r: the directory is made just before the file


@r.case
def appended_log_keeps_syncing():
    root = h.new_scratch("append_log")
    a, b = h.pair(root)
    src, dst = f"{a.dir}/app.log", f"{b.dir}/app.log"
    duration = 8.0
    appender = h.spawn([sys.executable, "-c", APPENDER, src, "0.2", str(duration)],
                       stdout=subprocess.PIPE, text=True)
    sizes = []  # (time, size on B) at each change seen
    t0 = time.monotonic()
    while appender.poll() is None and time.monotonic() - t0 < duration + 5:
        try:
            size = os.stat(dst).st_size
        except FileNotFoundError:
            size = -1
        if not sizes or sizes[-1][1] != size:
            sizes.append((time.monotonic(), size))
        time.sleep(0.02)
    end = time.monotonic()
    out, _ = appender.communicate(timeout=10)
    assert appender.returncode == 0, out
    grown = [(ts, sz) for ts, sz in sizes if sz > 0]
    assert len(grown) >= 3, f"B's copy grew only {len(grown)} times during {duration}s: {sizes}"
    # From its first appearance, B's copy never lagged more than ~3 s without an update.
    marks = [ts for ts, _ in grown] + [end]
    worst = max(b2 - b1 for b1, b2 in zip(marks, marks[1:]))
    assert worst <= 3.5, f"B's copy went {worst:.1f}s without an update while A's grew"
    assert grown[0][0] - t0 <= 3.5, f"B's copy first appeared after {grown[0][0] - t0:.1f}s"
    h.assert_converged(a.dir, b.dir, 5)


if __name__ == "__main__":
    sys.exit(r.run())

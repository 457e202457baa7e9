#!/usr/bin/env python3
"""Pause and resume (issue 14.4): console `pause` on B stops applying and announcing (B's watcher
still records local changes, the connection stays up), in_sync is false and status says paused;
the pause survives a restart; `resume` catches up at once. A big transfer paused midway keeps
its temp file and verified chunks, and the resume fetches only the rest."""
import os
import re
import sys
import time

import console_helpers as c
import harness as h

r = h.Runner("pause")
BIG = 256 << 20


def indexed(node, rel):
    return any(f["record"]["path"] == rel and not f["record"]["deleted"]
               for f in c.ask(node, "files", rel)["files"])


def stays_absent(path, secs=1.0):
    return not h.wait_until(lambda: os.path.exists(path), secs, 0.05)


def check_paused(node, paused):
    s = c.ask(node, "status")
    assert s["paused"] is paused, s
    if paused:
        assert not s["in_sync"], s
        assert "PAUSED" in c.text(node, "status")


@r.case
def pause_survives_restart_and_resume_catches_up():
    a, b = h.synced_pair("pause", {"seed.txt": "both\n"})
    assert "paused" in c.text(b, "pause")
    check_paused(b, True)
    check_paused(a, False)
    h.write(f"{a.dir}/from_a.txt", "written on A while B is paused\n")
    h.write(f"{b.dir}/from_b.txt", "written on B while paused\n")
    # Both are recorded where they were written (B's watcher keeps recording) ...
    assert h.wait_until(lambda: indexed(a, "from_a.txt") and indexed(b, "from_b.txt"), 10)
    # ... and neither crosses.
    assert stays_absent(f"{b.dir}/from_a.txt"), "A's file reached paused B"
    assert stays_absent(f"{a.dir}/from_b.txt"), "paused B's file reached A"
    assert c.ask(b, "status")["peers_connected"] == 1

    b.stop()
    b.start()
    h.wait_connected(a, b)
    check_paused(b, True)
    assert stays_absent(f"{b.dir}/from_a.txt"), "A's file reached paused B"
    assert stays_absent(f"{a.dir}/from_b.txt"), "paused B's file reached A"

    t0 = time.monotonic()
    assert "resumed" in c.text(b, "resume")
    h.assert_converged(a.dir, b.dir, 5)
    print(f"  caught up {time.monotonic() - t0:.2f}s after resume")
    check_paused(b, False)
    assert h.wait_until(lambda: c.ask(b, "status")["in_sync"], 10)


@r.case
def big_transfer_paused_midway_keeps_its_chunks():
    a, b = h.pair(h.new_scratch("pause_big"))
    want = h.make_big_file(f"{a.dir}/big.bin", BIG)
    assert h.growing_tmp(b, BIG), "never saw B's temp file grow; transfer not caught"
    c.text(b, "pause")
    kept = re.compile(r"transfer of big\.bin paused: kept (\d+) of (\d+) chunks \((\d+) bytes\)")
    assert h.wait_until(lambda: kept.search(b.log(b.start_mark)), 10), b.tail()
    held, total, held_bytes = map(int, kept.search(b.log(b.start_mark)).groups())
    assert 0 < held < total and 0 < held_bytes < BIG, (held, total, held_bytes)
    tmp = h.tmp_files(b)
    assert tmp, "the paused transfer's temp file is gone"
    assert stays_absent(f"{b.dir}/big.bin", 0.5)
    assert h.tmp_files(b) == tmp

    mark = b.log_size()
    c.text(b, "resume")
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/big.bin"), 20), b.tail()
    assert h.sha256_file(f"{b.dir}/big.bin") == want
    got = re.search(r"received big\.bin \((\d+) bytes fetched, (\d+) copied", b.log(mark))
    assert got, b.log(mark)[-2000:]
    fetched = int(got.group(1))
    print(f"  paused with {held} of {total} chunks ({held_bytes >> 20} MiB); the resume fetched "
          f"{fetched >> 20} MiB of {BIG >> 20} MiB")
    assert fetched <= BIG - held_bytes, (fetched, held_bytes)  # only what was missing


if __name__ == "__main__":
    sys.exit(r.run())

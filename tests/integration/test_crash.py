#!/usr/bin/env python3
"""kill -9 in the middle of a large transfer: after a restart the file arrives intact, no temp
file is left, and a reader never sees a partial file under the final name."""
import os
import shutil
import sys
import threading
import time

import harness as h

r = h.Runner("crash")
SIZE = 1 << 30


class FinalNameReader:
    """Polls PATH; every time it exists its size must be the full size."""

    def __init__(self, path, size):
        self.path, self.size = path, size
        self.bad, self.seen = [], 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                with open(self.path, "rb") as f:
                    n = os.fstat(f.fileno()).st_size
                    f.seek(max(0, n - 4096))
                    tail = f.read()
                self.seen += 1
                if n != self.size:
                    self.bad.append(n)
                elif tail.count(0) == len(tail):
                    self.bad.append("zero tail")  # full size but the end not written yet
            except FileNotFoundError:
                pass
            time.sleep(0.002)

    def finish(self):
        self.stop.set()
        self.t.join(5)


def crash_during_transfer(victim_name):
    root = h.new_scratch(f"kill_{victim_name}")
    try:
        a, b = h.pair(root)
        victim = a if victim_name == "A" else b
        reader = FinalNameReader(f"{b.dir}/big.bin", SIZE)
        try:
            want = h.make_big_file(f"{a.dir}/big.bin", SIZE)
            assert h.growing_tmp(b, SIZE), "never saw B's temp file grow; transfer not caught"
            assert not os.path.exists(f"{b.dir}/big.bin"), "transfer finished before the kill"
            victim.kill9()
            time.sleep(1)  # the survivor notices the loss and may retry meanwhile
            victim.start()
            h.wait_connected(a, b)
            assert h.wait_until(lambda: os.path.exists(f"{b.dir}/big.bin"), 60, 0.05), \
                "B never got big.bin after the restart"
            h.assert_converged(a.dir, b.dir, 30)
        finally:
            reader.finish()
        assert h.sha256_file(f"{b.dir}/big.bin") == want, "B's big.bin differs from A's"
        assert reader.seen > 0
        assert not reader.bad, f"a reader saw big.bin incomplete on B: {reader.bad[:5]}"
        ok = h.wait_until(lambda: not h.tmp_files(a) and not h.tmp_files(b), 5)
        assert ok, f"temp files left: A {h.tmp_files(a)}, B {h.tmp_files(b)}"
    finally:
        h.cleanup()
        shutil.rmtree(root, ignore_errors=True)  # 2 GiB of tmpfs


@r.case
def receiver_killed_mid_transfer():
    crash_during_transfer("B")


@r.case
def sender_killed_mid_transfer():
    crash_during_transfer("A")


if __name__ == "__main__":
    sys.exit(r.run())

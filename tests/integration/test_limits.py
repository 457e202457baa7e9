#!/usr/bin/env python3
"""A 4 GiB file (real data, not sparse) syncs byte-identical with each node under 200 MiB RSS."""
import os
import sys
import time

import harness as h

r = h.Runner("limits")
SIZE = 4 << 30
RSS_LIMIT_KB = 200 * 1024


@r.case
def four_gib_file_with_bounded_memory():
    root = h.new_scratch("four_gib")
    a, b = h.pair(root)
    t0 = time.monotonic()
    want = h.make_big_file(f"{a.dir}/huge.bin", SIZE)
    blocks = os.stat(f"{a.dir}/huge.bin").st_blocks * 512
    assert blocks >= SIZE, f"source is sparse ({blocks} bytes allocated)"
    t1 = time.monotonic()
    ok = h.wait_until(lambda: os.path.exists(f"{b.dir}/huge.bin"), 240, 0.05)
    t2 = time.monotonic()
    print(f"  wrote 4 GiB in {t1 - t0:.1f}s, on B {t2 - t1:.1f}s later; "
          f"peak RSS so far A {a.peak_rss_kb // 1024} MiB, B {b.peak_rss_kb // 1024} MiB")
    assert ok, "huge.bin did not arrive on B within 240 s"
    got = h.sha256_file(f"{b.dir}/huge.bin")
    assert got == want, "B's huge.bin differs from A's"
    h.assert_converged(a.dir, b.dir, 10)
    for n in (a, b):
        rc, _ = n.stop()
        assert rc == 0, f"{n.name} exited {rc}"
    print(f"  peak RSS (VmHWM / ru_maxrss): A {a.peak_rss_kb // 1024} MiB, "
          f"B {b.peak_rss_kb // 1024} MiB")
    for n in (a, b):
        assert n.peak_rss_kb < RSS_LIMIT_KB, \
            f"{n.name} peaked at {n.peak_rss_kb // 1024} MiB RSS (limit 200 MiB)"


if __name__ == "__main__":
    sys.exit(r.run())

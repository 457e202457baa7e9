#!/usr/bin/env python3
"""A burst of many large-ish files stays bounded: 2,500 files of 160 KiB written into A's folder
at once all arrive on B with the right content, while each node keeps to at most 64 threads and
200 MiB RSS (sampled every 50 ms), no session drops and no transfer fails. (How fast is for
tools/bench-load.)"""
import hashlib
import os
import re
import sys

import harness as h

sys.path.insert(0, os.path.join(h.HERE, "..", "..", "tools"))
from bench_lib.procstat import Peaks  # noqa: E402 -- threads and RSS sampled every 50 ms

r = h.Runner("load")
FILES = 2500
SIZE = 160 * 1024  # over the inline limit: each file is an upload, an offer and a transfer
MAX_THREADS = 64
MAX_RSS = 200 << 20
TIMEOUT = 90  # only a bound: the burst takes seconds
BAD_LOG = re.compile(r"session \d+ closed|transfer of .* failed|peer broke the limit|"
                     r"peer stopped answering")


def arrived(folder, want):
    """How many of `want` (relative path -> sha256) are in `folder` with that content."""
    ok = 0
    for rel, digest in want.items():
        p = os.path.join(folder, rel)
        try:
            if os.path.getsize(p) == SIZE and h.sha256_file(p) == digest:
                ok += 1
        except OSError:
            pass
    return ok


@r.case
def burst_of_files_stays_bounded():
    root = h.new_scratch("load")
    # Only B dials: no duplicate connection to sort out while the burst runs.
    key = h.keygen()
    a = h.Node("A", os.path.join(root, "a"), 7001, [], key, log_level="info")
    b = h.Node("B", os.path.join(root, "b"), 7002, ["127.0.0.1:7001"], key, log_level="info")
    for n in (a, b):
        os.makedirs(n.dir)
        n.start()
    h.wait_connected(a, b)
    marks = {n.name: n.log_size() for n in (a, b)}
    want = {}
    with Peaks((a.pid, b.pid), interval=0.05) as peaks:
        os.makedirs(os.path.join(a.dir, "burst"))
        for i in range(FILES):
            rel = f"burst/f{i:05d}.bin"
            data = os.urandom(SIZE)
            with open(os.path.join(a.dir, rel), "wb") as f:
                f.write(data)
            want[rel] = hashlib.sha256(data).hexdigest()
        # Counted cheaply first (names on B), then every file's content is checked.
        h.wait_until(lambda: len(os.listdir(os.path.join(b.dir, "burst"))) >= FILES, TIMEOUT,
                     interval=0.1)
        h.wait_until(lambda: arrived(b.dir, want) == FILES, 20, interval=0.2)
    got = arrived(b.dir, want)
    threads = {n.name: peaks.threads[n.pid] for n in (a, b)}
    rss = {n.name: peaks.rss[n.pid] for n in (a, b)}
    print(f"  {got} of {FILES} files arrived; peak threads A {threads['A']} B {threads['B']}, "
          f"peak RSS A {rss['A'] >> 20} MiB B {rss['B'] >> 20} MiB")
    assert got == FILES, f"only {got} of {FILES} files arrived on B with the right content"
    for n in (a, b):
        assert n.poll() is None, f"{n.name} exited"
        assert threads[n.name] <= MAX_THREADS, \
            f"{n.name} peaked at {threads[n.name]} threads (limit {MAX_THREADS})"
        assert rss[n.name] <= MAX_RSS, \
            f"{n.name} peaked at {rss[n.name] >> 20} MiB RSS (limit {MAX_RSS >> 20})"
        bad = [l for l in n.log(marks[n.name]).splitlines() if BAD_LOG.search(l)]
        assert not bad, f"{n.name} logged {len(bad)} drops or failures, first: {bad[:3]}"


if __name__ == "__main__":
    sys.exit(r.run())

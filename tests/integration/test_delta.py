#!/usr/bin/env python3
"""Big-file edits send their chunk list as a delta (issue 11.6): a peer that holds the version
an edit started from gets only the new chunks and where they go, and rebuilds the whole list
from its own record. A peer that missed that version (it was away for two edits) lacks the base:
it takes the rest of the batch, says so, and the sender sends the batch again whole."""
import os
import sys

import harness as h
from console_helpers import ask

r = h.Runner("delta")
SIZE = 32 << 20  # about 200 chunks of the 128 KiB average: above the 64 a delta needs


def overwrite(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def counter(node, path):
    """Sum of the version counters of `node`'s record of `path` (one more per recorded edit)."""
    files = ask(node, "files", path)["files"]
    return sum(c["counter"] for c in files[0]["record"]["version"]) if files else 0


def same_file(a, b):
    def check():
        try:
            return h.sha256_file(a) == h.sha256_file(b)
        except OSError:
            return False
    return check


@r.case
def edit_arrives_as_delta():
    a, b = h.synced_pair("delta_live", {})
    h.make_big_file(f"{a.dir}/big.bin", SIZE)
    assert h.wait_until(same_file(f"{a.dir}/big.bin", f"{b.dir}/big.bin"), 20), b.tail()
    since = b.log_size()
    overwrite(f"{a.dir}/big.bin", SIZE // 2, os.urandom(64 << 10))
    assert h.wait_until(same_file(f"{a.dir}/big.bin", f"{b.dir}/big.bin"), 20), b.tail()
    log = b.log(since)
    assert "big.bin rebuilt from a delta" in log, log[-2000:]
    assert "new of " in log
    h.assert_converged(a.dir, b.dir, 10)


@r.case
def missing_base_gets_the_record_whole():
    a, b = h.synced_pair("delta_base", {})
    h.make_big_file(f"{a.dir}/big.bin", SIZE)
    assert h.wait_until(same_file(f"{a.dir}/big.bin", f"{b.dir}/big.bin"), 20), b.tail()
    b.stop()
    # Two edits while B is away: A's record is a delta of the first, which B never saw.
    v0 = counter(a, "big.bin")
    overwrite(f"{a.dir}/big.bin", SIZE // 4, os.urandom(64 << 10))
    assert h.wait_until(lambda: counter(a, "big.bin") > v0, 10), a.tail()
    overwrite(f"{a.dir}/big.bin", 3 * SIZE // 4, os.urandom(64 << 10))
    assert h.wait_until(lambda: counter(a, "big.bin") > v0 + 1, 10), a.tail()
    since = b.log_size()
    b.start()
    h.wait_connected(a, b)
    assert h.wait_until(same_file(f"{a.dir}/big.bin", f"{b.dir}/big.bin"), 20), b.tail()
    log = b.log(since)
    assert "no base for the chunk delta of big.bin" in log, log[-2000:]
    assert "rebuilt from a delta" not in log, log[-2000:]
    h.assert_converged(a.dir, b.dir, 10)
    assert a.poll() is None and b.poll() is None


if __name__ == "__main__":
    sys.exit(r.run())

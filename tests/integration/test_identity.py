#!/usr/bin/env python3
"""Identities and the deny list: a device id is the hash of the node's own key (kept 0600), and
a denied device loses its connections within 5 s and cannot come back."""
import os
import stat
import subprocess
import sys
import time

import harness as h
from console_helpers import sequence, wait_indexed

r = h.Runner("identity")


@r.case
def identity_is_private_and_stable():
    root = h.new_scratch("identity")
    folder = f"{root}/x"
    first = subprocess.run([h.NODE, "id", "--dir", folder], capture_output=True, text=True,
                           timeout=10)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([h.NODE, "id", "--dir", folder], capture_output=True, text=True,
                           timeout=10)
    assert first.stdout == again.stdout and len(first.stdout.strip()) == 60, first.stdout
    mode = stat.S_IMODE(os.stat(f"{folder}/.cascade/identity").st_mode)
    assert mode == 0o600, oct(mode)
    with open(f"{folder}/.cascade/identity") as f:
        assert f.read().startswith("-----BEGIN PRIVATE KEY-----")


@r.case
def denied_device_is_dropped_and_stays_out():
    root = h.new_scratch("deny")
    a, b = h.pair(root)
    h.wait_connected(a, b)
    h.write(f"{a.dir}/before.txt", "synced before the deny")
    h.assert_converged(a.dir, b.dir, timeout=5)
    bad = subprocess.run([h.NODE, "--dir", a.dir, "--deny", "NOT-AN-ID"], capture_output=True,
                         text=True, timeout=10)
    assert bad.returncode == 2 and "not a device id" in bad.stderr, bad
    t0 = time.monotonic()
    out = subprocess.run([h.NODE, "--dir", a.dir, "--deny", b.device_id()], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert h.wait_until(lambda: any("is denied" in m for _, m in a.messages()), 5), a.tail()
    assert h.wait_until(
        lambda: any(m.startswith("session") and "closed" in m for _, m in b.messages()), 5), \
        b.tail()
    assert time.monotonic() - t0 < 5
    # B keeps redialing; none of its attempts gets in, and nothing syncs any more.
    seq_a, seq_b = sequence(a), sequence(b)
    h.write(f"{a.dir}/after_a.txt", "never reaches B")
    h.write(f"{b.dir}/after_b.txt", "never reaches A")
    wait_indexed(a, seq_a, 1)  # recorded, with no peer to send it to
    wait_indexed(b, seq_b, 1)

    def refusals():
        return len([m for _, m in a.messages() if "is denied" in m])
    # The drop, then refused redials after both changes were recorded.
    seen = refusals()
    assert h.wait_until(lambda: refusals() >= max(seen + 1, 2), 10), a.tail()
    assert not os.path.exists(f"{b.dir}/after_a.txt")
    assert not os.path.exists(f"{a.dir}/after_b.txt")


if __name__ == "__main__":
    sys.exit(r.run())

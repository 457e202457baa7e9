#!/usr/bin/env python3
"""Changes made while a node is down (or before it ever ran) converge when it comes back."""
import os
import re
import shutil
import sys

import harness as h
from console_helpers import sequence, wait_in_sync, wait_indexed

r = h.Runner("offline")
T = 10  # start-up scan + connect + exchange


def populate(d, tag):
    """A small tree with every kind of entry; `tag` makes the two sides' files differ."""
    h.write(f"{d}/{tag}/hello.txt", f"hello from {tag}\n")
    h.write(f"{d}/{tag}/deep/er/file.bin", os.urandom(3000), mode=0o600)
    h.write(f"{d}/{tag}/script.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    h.write(f"{d}/{tag}/empty", b"")
    os.makedirs(f"{d}/{tag}/empty_dir/inner")
    os.symlink("hello.txt", f"{d}/{tag}/link")
    os.symlink("/nonexistent/target", f"{d}/{tag}/dangling")
    past = 1_200_000_000_000_000_000
    os.utime(f"{d}/{tag}/hello.txt", ns=(past, past))
    h.make_big_file(f"{d}/{tag}/big.bin", 3 << 20)
    h.write(f"{d}/shared/same.txt", "the same on both sides\n")  # equal content, both sides
    os.utime(f"{d}/shared/same.txt", ns=(past, past))


def no_conflicts(state):
    bad = [p for p in state if ".sync-conflict-" in p]
    assert not bad, f"unexpected conflict copies: {bad}"


@r.case
def initial_sync_of_existing_files():
    root = h.new_scratch("initial")
    a, b = h.pair(root, start=False)
    populate(a.dir, "from_a")
    populate(b.dir, "from_b")
    a.start()
    b.start()
    h.wait_connected(a, b)
    st = h.assert_converged(a.dir, b.dir, T)
    no_conflicts(st)
    assert "from_a/big.bin" in st and "from_b/empty_dir/inner" in st, sorted(st)


@r.case
def changes_while_b_was_down():
    root = h.new_scratch("b_down")
    a, b = h.pair(root, start=False)
    populate(a.dir, "t")
    h.write(f"{a.dir}/gone.txt", "to be deleted")
    h.write(f"{a.dir}/d/old_name.txt", "to be renamed " * 20)
    h.write(f"{a.dir}/mod.txt", "before")
    os.makedirs(f"{a.dir}/dir_old/sub")
    h.write(f"{a.dir}/dir_old/sub/x.txt", "in a renamed dir")
    a.start()
    b.start()
    h.wait_connected(a, b)
    h.assert_converged(a.dir, b.dir, T)
    rc, _ = b.stop()
    assert rc == 0, rc
    seq = sequence(a)
    # On A, live:
    h.write(f"{a.dir}/new.txt", "created while B was down")
    h.write(f"{a.dir}/mod.txt", "after, and longer")
    os.remove(f"{a.dir}/gone.txt")
    os.rename(f"{a.dir}/d/old_name.txt", f"{a.dir}/d/new_name.txt")
    os.rename(f"{a.dir}/dir_old", f"{a.dir}/dir_new")
    with open(f"{a.dir}/t/big.bin", "r+b") as f:
        f.seek(1 << 20)
        f.write(b"patched")
    shutil.rmtree(f"{a.dir}/t/empty_dir")
    # On B's folder, while its node is not running (found by B's start-up scan):
    h.write(f"{b.dir}/b_offline.txt", "written on B while B's node was down")
    os.remove(f"{b.dir}/t/empty")
    # Let A index its changes first (any order must work, this is the usual one): at least the
    # new, modified, deleted and patched files, both renames and the removed directory.
    wait_indexed(a, seq, 8)
    b.start()
    h.wait_connected(a, b)
    st = h.assert_converged(a.dir, b.dir, T)
    no_conflicts(st)
    for p in ("new.txt", "d/new_name.txt", "dir_new/sub/x.txt", "b_offline.txt"):
        assert p in st, f"{p} missing after reconnect"
    for p in ("gone.txt", "d/old_name.txt", "dir_old", "t/empty", "t/empty_dir"):
        assert p not in st, f"{p} still present after reconnect"
    with open(f"{b.dir}/mod.txt") as f:
        assert f.read() == "after, and longer"


RECORDS = re.compile(r"^(sending|got) (\d+) records")


def traffic(node, since):
    """Log lines showing data moved or changes recorded since a mark."""
    out = []
    for lvl, m in node.messages(since):
        mm = RECORDS.match(m)
        if (mm and int(mm.group(2)) > 0) or m.startswith(("received ", "applied ",
                                                           "local change ")):
            out.append(m)
    return out


@r.case
def restart_with_no_change_moves_nothing():
    root = h.new_scratch("restart")
    a, b = h.pair(root, start=False)
    populate(a.dir, "from_a")
    populate(b.dir, "from_b")
    a.start()
    b.start()
    h.wait_connected(a, b)
    h.assert_converged(a.dir, b.dir, T)
    wait_in_sync([a, b])  # every batch acknowledged and progress recorded
    for n in (a, b):
        rc, _ = n.stop()
        assert rc == 0, f"{n.name} exited {rc}"
    before = h.tree_state(a.dir)
    marks = {}
    for n in (a, b):
        marks[n.name] = n.log_size()
        n.start()
    h.wait_connected(a, b)
    wait_in_sync([a, b])  # both have read the other's index again: whatever moves has moved
    problems = {n.name: traffic(n, marks[n.name]) for n in (a, b)}
    assert not problems["A"] and not problems["B"], \
        f"a restart with nothing changed moved or recorded data: {problems}"
    h.assert_converged(a.dir, b.dir, 1)
    assert h.tree_state(a.dir) == before


if __name__ == "__main__":
    sys.exit(r.run())

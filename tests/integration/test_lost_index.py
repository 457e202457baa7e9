#!/usr/bin/env python3
"""A lost index rewrites nothing (issue 12.5): B's index.db is deleted while B is stopped. B
rescans its folder into a new index (a new epoch), the peers exchange their whole indexes again,
and every file on both sides keeps its inode, mtime and content: equal bytes are recognised as
the same file, never fetched or installed again. A change made on A while B was away still
arrives, and one made on B afterwards still reaches A."""
import glob
import os
import sys

import harness as h

r = h.Runner("lost_index")
FILES = 120


def identities(root):
    """{relative path: (inode, mtime_ns)} of every regular file outside .cascade."""
    out = {}
    for p in glob.glob(f"{root}/**/*", recursive=True):
        rel = os.path.relpath(p, root)
        if rel.startswith(".cascade") or not os.path.isfile(p):
            continue
        st = os.stat(p)
        out[rel] = (st.st_ino, st.st_mtime_ns)
    return out


@r.case
def lost_index_rewrites_nothing():
    files = {f"d{i % 6}/f{i}.txt": f"file {i}\n" * (1 + i % 7) for i in range(FILES)}
    files.update({f"big{i}.bin": None for i in range(2)})
    small = {k: v for k, v in files.items() if v is not None}
    a, b = h.synced_pair("lost_index", small)
    for i in range(2):
        h.make_big_file(f"{a.dir}/big{i}.bin", 3 << 20)
    h.assert_converged(a.dir, b.dir, 15)
    before_a, before_b = identities(a.dir), identities(b.dir)
    assert len(before_b) == FILES + 2, len(before_b)

    b.stop()
    os.remove(f"{b.dir}/.cascade/index.db")
    for extra in glob.glob(f"{b.dir}/.cascade/index.db-*"):
        os.remove(extra)
    h.write(f"{a.dir}/while_away.txt", "made while B was away\n")
    b.start()
    h.wait_connected(a, b)
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/while_away.txt"), 10), b.tail()
    h.assert_converged(a.dir, b.dir, 10)

    h.write(f"{b.dir}/after.txt", "made on B with its new index\n")
    assert h.wait_until(lambda: os.path.exists(f"{a.dir}/after.txt"), 10), a.tail()
    h.assert_converged(a.dir, b.dir, 10)

    for name, root, before in (("A", a.dir, before_a), ("B", b.dir, before_b)):
        now = identities(root)
        changed = sorted(p for p, ident in before.items() if now.get(p) != ident)
        assert not changed, f"{name} rewrote {len(changed)} unchanged files: {changed[:5]}"
    conflicts = glob.glob(f"{a.dir}/**/*sync-conflict*", recursive=True) + \
        glob.glob(f"{b.dir}/**/*sync-conflict*", recursive=True)
    assert not conflicts, conflicts[:5]
    assert a.poll() is None and b.poll() is None


if __name__ == "__main__":
    sys.exit(r.run())

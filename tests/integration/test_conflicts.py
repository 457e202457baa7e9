#!/usr/bin/env python3
"""The same file changed on both sides while apart: both versions survive on both nodes."""
import os
import sys

import harness as h
from console_helpers import sequence, wait_in_sync, wait_indexed

r = h.Runner("conflicts")
T = 10


def start_both(a, b):
    for n in (a, b):
        if not n.running():
            n.start()
    h.wait_connected(a, b)


def stop(n):
    rc, _ = n.stop()
    assert rc == 0, f"{n.name} exited {rc}"


def read(p):
    with open(p, "rb") as f:
        return f.read()


def converged_pair(name, files):
    root = h.new_scratch(name)
    a, b = h.pair(root, start=False)
    for p, data in files.items():
        h.write(f"{a.dir}/{p}", data)
    start_both(a, b)
    h.assert_converged(a.dir, b.dir, T)
    wait_in_sync([a, b])  # acknowledged both ways
    return a, b


def check_both_versions(a, b, rel, versions):
    """Both nodes hold every version: one under rel, the others under one and the same
    rel-based .sync-conflict- name."""
    st = h.assert_converged(a.dir, b.dir, T)
    d, base = os.path.split(rel)
    stem, ext = os.path.splitext(base)
    copies = [p for p in st if os.path.dirname(p) == d and
              os.path.basename(p).startswith(stem + ".sync-conflict-")]
    assert len(copies) == len(versions) - 1, f"conflict copies: {copies}; tree {sorted(st)}"
    for c in copies:
        assert c.endswith(ext), f"conflict copy {c} lost the extension {ext}"
    for n in (a, b):
        held = sorted(read(f"{n.dir}/{p}") for p in [rel] + copies)
        assert held == sorted(versions), f"{n.name} holds {held}, want {sorted(versions)}"
    return copies


@r.case
def both_edit_while_both_stopped():
    a, b = converged_pair("both_stopped", {"doc/notes.txt": "base\n"})
    stop(a)
    stop(b)
    h.write(f"{a.dir}/doc/notes.txt", "edited on A\n")
    h.write(f"{b.dir}/doc/notes.txt", "edited on B, differently\n")
    start_both(a, b)
    copies = check_both_versions(a, b, "doc/notes.txt",
                                 [b"edited on A\n", b"edited on B, differently\n"])
    assert any("conflict on doc/notes.txt" in m for n in (a, b) for _, m in n.messages()), \
        "no node logged the conflict"
    wait_in_sync([a, b])
    h.assert_converged(a.dir, b.dir, 1)  # and it settled (no conflict ping-pong)
    assert len([p for p in h.tree_state(a.dir) if ".sync-conflict-" in p]) == len(copies)


@r.case
def edits_while_the_other_was_stopped():
    a, b = converged_pair("alternating", {"report.md": "base\n", "big.bin": os.urandom(200000)})
    stop(b)
    seq = sequence(a)
    h.write(f"{a.dir}/report.md", "A's edit, made while B was down\n")
    big_a = os.urandom(150000)
    h.write(f"{a.dir}/big.bin", big_a)
    wait_indexed(a, seq, 2)  # A indexes its edits while running
    stop(a)
    b.start()
    wait_in_sync([b], peers=0)
    seq = sequence(b)
    h.write(f"{b.dir}/report.md", "B's edit, made while A was down\n")
    big_b = os.urandom(180000)
    h.write(f"{b.dir}/big.bin", big_b)
    wait_indexed(b, seq, 2)
    a.start()
    h.wait_connected(a, b)
    check_both_versions(a, b, "report.md", [b"A's edit, made while B was down\n",
                                            b"B's edit, made while A was down\n"])
    check_both_versions(a, b, "big.bin", [big_a, big_b])


@r.case
def delete_against_modify_keeps_the_modification():
    files = {"del_on_a.txt": "base 1\n", "del_on_b.txt": "base 2\n",
             "sub/deep.bin": os.urandom(100000)}
    a, b = converged_pair("delete_vs_modify", files)
    stop(a)
    stop(b)
    os.remove(f"{a.dir}/del_on_a.txt")
    h.write(f"{b.dir}/del_on_a.txt", "modified on B\n")
    h.write(f"{a.dir}/del_on_b.txt", "modified on A\n")
    os.remove(f"{b.dir}/del_on_b.txt")
    os.remove(f"{a.dir}/sub/deep.bin")
    deep = os.urandom(90000)
    h.write(f"{b.dir}/sub/deep.bin", deep)
    start_both(a, b)
    st = h.assert_converged(a.dir, b.dir, T)
    for n in (a, b):
        assert read(f"{n.dir}/del_on_a.txt") == b"modified on B\n", n.name
        assert read(f"{n.dir}/del_on_b.txt") == b"modified on A\n", n.name
        assert read(f"{n.dir}/sub/deep.bin") == deep, n.name
    assert not [p for p in st if ".sync-conflict-" in p], sorted(st)


if __name__ == "__main__":
    sys.exit(r.run())

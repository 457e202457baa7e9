#!/usr/bin/env python3
"""Live changes on one running node show up on the other within 5 s, in both directions."""
import os
import shutil
import subprocess
import sys

import harness as h

T = 5  # seconds a change may take to arrive (a correctness bound, not a timing target)
r = h.Runner("realtime")
nodes = {}


def get_pair():
    if "a" not in nodes:
        nodes["root"] = h.new_scratch("pair")
        nodes["a"], nodes["b"] = h.pair(nodes["root"])
    return nodes["a"], nodes["b"]


def both_ways(fn):
    """Registers fn(src_dir, dst_dir) twice: A->B and B->A, each in its own subdirectory."""
    for direction in ("A_to_B", "B_to_A"):
        def case(fn=fn, direction=direction):
            a, b = get_pair()
            src, dst = (a, b) if direction == "A_to_B" else (b, a)
            sub = f"{fn.__name__}_{direction}"
            fn(os.path.join(src.dir, sub), os.path.join(dst.dir, sub))
        case.__name__ = f"{fn.__name__}[{direction}]"
        r.case(case)
    return fn


def sync(src, dst):
    return h.assert_converged(src, dst, T)


@both_ways
def create_file(src, dst):
    h.write(f"{src}/f.txt", "hello\n")
    st = sync(src, dst)
    assert st["f.txt"][0] == "file"
    with open(f"{dst}/f.txt") as f:
        assert f.read() == "hello\n"


@both_ways
def modify_file(src, dst):
    h.write(f"{src}/f.txt", "version one\n")
    sync(src, dst)
    h.write(f"{src}/f.txt", "version two\n")  # same size, new bytes
    sync(src, dst)
    h.write(f"{src}/f.txt", "a longer third version\n" * 50)
    sync(src, dst)


@both_ways
def append_file(src, dst):
    h.write(f"{src}/log.txt", "line 1\n")
    sync(src, dst)
    for i in range(2, 5):
        with open(f"{src}/log.txt", "a") as f:
            f.write(f"line {i}\n")
        sync(src, dst)


@both_ways
def truncate_file(src, dst):
    h.write(f"{src}/t.bin", os.urandom(10000))
    sync(src, dst)
    os.truncate(f"{src}/t.bin", 100)
    sync(src, dst)
    os.truncate(f"{src}/t.bin", 0)
    st = sync(src, dst)
    assert os.path.getsize(f"{dst}/t.bin") == 0, st


@both_ways
def delete_file(src, dst):
    h.write(f"{src}/gone.txt", "soon gone")
    h.write(f"{src}/stays.txt", "stays")
    sync(src, dst)
    os.remove(f"{src}/gone.txt")
    sync(src, dst)
    assert not os.path.lexists(f"{dst}/gone.txt")
    assert os.path.exists(f"{dst}/stays.txt")


@both_ways
def rename_file(src, dst):
    h.write(f"{src}/old.txt", "renamed content " * 100)
    os.makedirs(f"{src}/other")
    sync(src, dst)
    os.rename(f"{src}/old.txt", f"{src}/new.txt")
    sync(src, dst)
    assert not os.path.lexists(f"{dst}/old.txt")
    os.rename(f"{src}/new.txt", f"{src}/other/moved.txt")
    sync(src, dst)
    assert os.path.isfile(f"{dst}/other/moved.txt")


@both_ways
def nested_dirs(src, dst):
    for d in ("x", "x/y", "x/y/z"):
        os.makedirs(f"{src}/{d}", exist_ok=True)
        h.write(f"{src}/{d}/file.txt", d)
    os.makedirs(f"{src}/x/y/z/empty")
    sync(src, dst)
    os.rename(f"{src}/x", f"{src}/x2")  # a directory rename with contents
    st = sync(src, dst)
    assert "x" not in st and "x2/y/z/file.txt" in st, sorted(st)
    shutil.rmtree(f"{src}/x2/y")  # a subtree deletion
    st = sync(src, dst)
    assert sorted(st) == ["x2", "x2/file.txt"], sorted(st)
    shutil.rmtree(f"{src}/x2")
    st = sync(src, dst)
    assert st == {}, st


@both_ways
def thousand_files(src, dst):
    os.makedirs(src, exist_ok=True)
    subprocess.run(["bash", "-c", "mkdir -p a/b && touch a/b/{1..1000}"], cwd=src, check=True,
                   timeout=30)
    st = sync(src, dst)
    assert len([p for p in st if p.startswith("a/b/")]) == 1000
    assert len(os.listdir(f"{dst}/a/b")) == 1000


@both_ways
def empty_things(src, dst):
    os.makedirs(f"{src}/e1/e2/e3")
    os.makedirs(f"{src}/lonely")
    h.write(f"{src}/empty.txt", b"")
    h.write(f"{src}/e1/empty2", b"")
    st = sync(src, dst)
    for p, t in (("e1/e2/e3", "dir"), ("lonely", "dir"), ("empty.txt", "file")):
        assert st[p][0] == t
    assert os.path.isdir(f"{dst}/e1/e2/e3") and os.path.getsize(f"{dst}/empty.txt") == 0
    os.rmdir(f"{src}/lonely")
    st = sync(src, dst)
    assert "lonely" not in st


@both_ways
def symlinks(src, dst):
    outside = os.path.join(os.path.dirname(os.path.dirname(src)), "outside-" +
                           os.path.basename(src))
    h.write(f"{outside}/secret.txt", "outside the folder; never synced")
    h.write(f"{src}/target.txt", "link target")
    os.makedirs(f"{src}/d")
    h.write(f"{src}/d/inner.txt", "inner")
    links = {"to_file": "target.txt", "to_dir": "d", "dangling": "no/such/file",
             "abs_outside": outside, "rel_outside": "../../" + os.path.basename(outside),
             "abs_etc": "/etc/passwd"}
    for name, target in links.items():
        os.symlink(target, f"{src}/{name}")
    st = sync(src, dst)
    for name, target in links.items():
        assert os.path.islink(f"{dst}/{name}"), f"{name} is not a symlink on the peer"
        assert os.readlink(f"{dst}/{name}") == target
        assert st[name][0] == "symlink"
    assert not any(p.startswith(("to_dir/", "abs_outside/", "rel_outside/")) for p in st), st
    os.remove(f"{src}/to_file")
    os.symlink("d/inner.txt", f"{src}/to_file")  # retargeted
    os.remove(f"{src}/dangling")
    st = sync(src, dst)
    assert os.readlink(f"{dst}/to_file") == "d/inner.txt" and "dangling" not in st
    assert os.listdir(outside) == ["secret.txt"]  # nothing written through a link


@both_ways
def modes(src, dst):
    h.write(f"{src}/script.sh", "#!/bin/sh\n", mode=0o750)
    h.write(f"{src}/private.txt", "secret", mode=0o600)
    h.write(f"{src}/plain.txt", "plain", mode=0o644)
    os.makedirs(f"{src}/closed")
    os.chmod(f"{src}/closed", 0o700)
    st = sync(src, dst)
    assert st["script.sh"][1] == 0o750 and st["private.txt"][1] == 0o600
    assert st["closed"][1] == 0o700
    os.chmod(f"{src}/plain.txt", 0o640)  # a mode-only change
    os.chmod(f"{src}/closed", 0o750)
    st = sync(src, dst)
    assert st["plain.txt"][1] == 0o640 and st["closed"][1] == 0o750


@both_ways
def mtimes(src, dst):
    past = 1_000_000_000_123_456_789  # 2001-09-09, with nanoseconds
    h.write(f"{src}/old.txt", "from the past")
    os.utime(f"{src}/old.txt", ns=(past, past))
    st = sync(src, dst)
    assert os.lstat(f"{dst}/old.txt").st_mtime_ns == past, st["old.txt"]
    later = past + 86400 * 10**9
    os.utime(f"{src}/old.txt", ns=(later, later))  # an mtime-only change
    sync(src, dst)
    assert os.lstat(f"{dst}/old.txt").st_mtime_ns == later


@both_ways
def large_file(src, dst):
    os.makedirs(src, exist_ok=True)
    h.make_big_file(f"{src}/big.bin", 5 << 20)
    sync(src, dst)
    with open(f"{src}/big.bin", "r+b") as f:  # change a few bytes in the middle
        f.seek(3 << 20)
        f.write(b"changed!")
    sync(src, dst)
    h.write(f"{src}/big.bin", os.urandom(h.BIG + 6 * 1024))  # shrinks to just above the inline size
    sync(src, dst)


@r.case
def whole_trees_converged():
    a, b = get_pair()
    h.assert_converged(a.dir, b.dir, T)
    assert not h.tmp_files(a) and not h.tmp_files(b), (h.tmp_files(a), h.tmp_files(b))
    for n in (a, b):
        errors = [m for lvl, m in n.messages() if lvl == "ERROR"]
        assert not errors, f"{n.name} logged errors: {errors[:5]}"


if __name__ == "__main__":
    sys.exit(r.run(keep_nodes=True))

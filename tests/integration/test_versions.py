#!/usr/bin/env python3
"""Versions (issue 14.2): what a peer deletes, overwrites or renames away is moved (the same
inode, its mtime and mode kept) to DIR/.cascade/versions/PATH~YYYYMMDD-HHMMSS.EXT; what the user
changes locally is not versioned. Old versions go at start (--keep-versions), the oldest go over
the cap (--versions-max-mib); `restore` puts a version back as a local change that syncs."""
import fnmatch
import os
import sys
import time

import console_helpers as c
import harness as h

r = h.Runner("versions")
STAMP = "[0-9]" * 8 + "-" + "[0-9]" * 6


def versions(node):
    """{version name relative to the versions folder: os.stat}"""
    root = f"{node.dir}/.cascade/versions"
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            out[os.path.relpath(os.path.join(d, n), root)] = os.stat(os.path.join(d, n))
    return out


def one_version(node, pattern):
    hits = [n for n in versions(node) if fnmatch.fnmatch(n, pattern)]
    assert len(hits) == 1, f"{node.name}: versions matching {pattern}: {sorted(versions(node))}"
    return hits[0]


def read(path):
    with open(path, "rb") as f:
        return f.read()


@r.case
def remote_changes_are_kept_and_restored():
    old_mtime = 1_600_000_000_000_000_000  # 2020-09-13: checks the mtime is the content's own
    files = {"gone.txt": "deleted by A\n", "dir/over.txt": "overwritten by A\n",
             "ren.txt": "renamed away by A\n", "local_gone.txt": "deleted on B\n",
             "local_over.txt": "edited on B\n", ".bashrc": "dotfile\n"}
    a, b = h.pair(h.new_scratch("versions"))
    for rel, text in files.items():
        h.write(f"{a.dir}/{rel}", text, mode=0o640)
        os.utime(f"{a.dir}/{rel}", ns=(old_mtime, old_mtime))
    h.assert_converged(a.dir, b.dir, 10)
    before = {rel: os.stat(f"{b.dir}/{rel}") for rel in files}

    os.remove(f"{a.dir}/gone.txt")
    h.write(f"{a.dir}/dir/over.txt", "A's new content\n")
    os.rename(f"{a.dir}/ren.txt", f"{a.dir}/moved.txt")
    os.remove(f"{a.dir}/.bashrc")
    os.remove(f"{b.dir}/local_gone.txt")
    h.write(f"{b.dir}/local_over.txt", "B's own edit\n")
    h.assert_converged(a.dir, b.dir, 10)

    # B keeps what A changed: the same inode, content, mtime and mode.
    kept = {"gone.txt": one_version(b, f"gone~{STAMP}.txt"),
            "dir/over.txt": one_version(b, f"dir/over~{STAMP}.txt"),
            "ren.txt": one_version(b, f"ren~{STAMP}.txt"),
            ".bashrc": one_version(b, f".bashrc~{STAMP}")}
    assert len(versions(b)) == 4, sorted(versions(b))  # nothing for B's own changes
    for rel, name in kept.items():
        st = versions(b)[name]
        assert st.st_ino == before[rel].st_ino, (rel, "not the same inode: copied, not moved")
        assert st.st_mtime_ns == old_mtime, (rel, st.st_mtime_ns)
        assert st.st_mode & 0o777 == 0o640, (rel, oct(st.st_mode))
        assert read(f"{b.dir}/.cascade/versions/{name}") == files[rel].encode(), rel
    # A keeps what B changed, and nothing of its own changes.
    assert sorted(versions(a)) == sorted([one_version(a, f"local_gone~{STAMP}.txt"),
                                          one_version(a, f"local_over~{STAMP}.txt")])

    listed = c.ask(b, "versions")["versions"]
    assert sorted(v["path"] for v in listed) == sorted(kept), listed
    for v in listed:
        assert v["name"] == kept[v["path"]] and v["size"] == len(files[v["path"]]), v
        assert v["name"].split("~")[1].startswith(v["time"]), v
    assert [v["path"] for v in c.ask(b, "versions", "dir")["versions"]] == ["dir/over.txt"]
    assert "gone.txt" in c.text(b, "versions", "*.txt")

    # Restore: the deleted file comes back and reaches A; the overwritten one replaces A's
    # content there, and B keeps the content it replaced as a version of its own.
    out = c.text(b, "restore", "gone.txt")
    assert "restored gone.txt" in out, out
    over_time = [v["time"] for v in listed if v["path"] == "dir/over.txt"][0]
    out = c.text(b, "restore", "dir/over.txt", over_time)
    assert "kept as dir/over~" in out, out
    assert h.wait_until(lambda: os.path.exists(f"{a.dir}/gone.txt") and
                        read(f"{a.dir}/dir/over.txt") == files["dir/over.txt"].encode(), 10), a.tail()
    h.assert_converged(a.dir, b.dir, 10)
    assert read(f"{a.dir}/gone.txt") == files["gone.txt"].encode()
    assert os.stat(f"{a.dir}/gone.txt").st_mtime_ns == old_mtime
    assert any(read(f"{b.dir}/.cascade/versions/{n}") == b"A's new content\n"
               for n in versions(b)), sorted(versions(b))
    # A's current over.txt (its own edit) was overwritten by B's restore: A keeps it.
    assert any(read(f"{a.dir}/.cascade/versions/{n}") == b"A's new content\n"
               for n in versions(a)), sorted(versions(a))

    bad = c.console(b, "restore", "nothing.txt")
    assert bad.returncode == 1 and "no version of nothing.txt" in bad.stderr, bad
    bad = c.console(b, "restore", "ren.txt", "2026-12-05")
    assert bad.returncode == 1 and "YYYYMMDD-HHMMSS" in bad.stderr, bad
    assert a.poll() is None and b.poll() is None


@r.case
def retention_by_age_and_cap():
    a, b = h.pair(h.new_scratch("versions_retention"), start=False)
    b.extra = ["--keep-versions", "2", "--versions-max-mib", "1"]
    now = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    old = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() - 3 * 86400))
    recent = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() - 86400))
    vdir = f"{b.dir}/.cascade/versions"
    h.write(f"{vdir}/sub/old~{old}.txt", "three days old\n")
    h.write(f"{vdir}/recent~{recent}.txt", "one day old\n")
    h.write(f"{vdir}/notaversion.txt", "not a version name: left alone\n")
    a.start()
    b.start()
    h.wait_connected(a, b)
    # At start: older than 2 days goes (its empty directory too), the rest stays.
    assert h.wait_until(lambda: not os.path.exists(f"{vdir}/sub"), 10), b.tail()
    assert sorted(versions(b)) == ["notaversion.txt", f"recent~{recent}.txt"], versions(b)

    # Over the cap (1 MiB) the oldest go first: two versions of 700 KiB do not fit.
    sizes = 700 << 10
    h.make_big_file(f"{a.dir}/big.bin", sizes)
    h.assert_converged(a.dir, b.dir, 10)
    h.make_big_file(f"{a.dir}/big.bin", sizes)
    h.assert_converged(a.dir, b.dir, 10)
    first = one_version(b, f"big~{STAMP}.bin")
    assert f"recent~{recent}.txt" in versions(b)  # 700 KiB and a few bytes fit
    ino = os.stat(f"{b.dir}/big.bin").st_ino
    h.make_big_file(f"{a.dir}/big.bin", sizes)
    h.assert_converged(a.dir, b.dir, 10)
    assert h.wait_until(lambda: first not in versions(b), 10), sorted(versions(b))
    second = one_version(b, f"big~{STAMP}*.bin")
    assert sorted(versions(b)) == sorted(["notaversion.txt", second]), sorted(versions(b))
    assert versions(b)[second].st_ino == ino
    assert "removed 2 old versions" in b.log(b.start_mark), b.tail()
    assert a.poll() is None and b.poll() is None


if __name__ == "__main__":
    sys.exit(r.run())

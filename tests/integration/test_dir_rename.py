#!/usr/bin/env python3
"""Renaming a directory (issue 12.3): `mv big big2` on A reaches B as a rename, not as new data.
B copies the content it already holds (bytes on the wire under 5% of the data), no file is ever
absent from both its old and its new path on B (a thread polls all the time), and no directory
of the old tree is left behind. Also `mv a a2` of a nested directory of
small files (its deletions span several batches of records)."""
import os
import shutil
import sys
import threading
import time

import harness as h

r = h.Runner("dir_rename")
# The big case's size (the was 5,000 small files and 4 x 64 MiB).
SMALL = int(os.environ.get("CASCADE_RENAME_SMALL", "1200"))
LARGE = int(os.environ.get("CASCADE_RENAME_LARGE", "3"))
LARGE_MIB = int(os.environ.get("CASCADE_RENAME_LARGE_MIB", "24"))


def lo_bytes():
    """Bytes that crossed the namespace's loopback (the only link: A and B both ways)."""
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                return int(rest.split()[0])
    raise AssertionError("no lo in /proc/net/dev")


class Poller(threading.Thread):
    """Checks over and over that every name is at old/NAME or new/NAME on B. The old path is
    looked at first: a correct receiver installs the new path before it removes the old one, so
    a name missing from both is a real gap, never a race of this check."""

    def __init__(self, root, old, new, names):
        super().__init__(daemon=True)
        self.root, self.old, self.new, self.names = root, old, new, names
        self.stop = threading.Event()
        self.gaps = {}
        self.rounds = 0

    def run(self):
        while not self.stop.is_set():
            for n in self.names:
                if not os.path.exists(f"{self.root}/{self.old}/{n}") and \
                        not os.path.exists(f"{self.root}/{self.new}/{n}"):
                    self.gaps.setdefault(n, time.monotonic())
            self.rounds += 1


def left_dirs(root, top):
    return sorted(d for d, _, _ in os.walk(f"{root}/{top}"))


def rename_and_check(a, b, old, new, names, data_bytes, wire_share=None, timeout=30):
    """Renames A's `old` to `new` and checks B all along; every failed check is reported."""
    poller = Poller(b.dir, old, new, names)
    poller.start()
    mark = b.log_size()
    before = lo_bytes()
    t0 = time.monotonic()
    os.rename(f"{a.dir}/{old}", f"{a.dir}/{new}")
    problems = []
    try:
        h.assert_converged(a.dir, b.dir, timeout)
    except AssertionError as e:
        problems.append(str(e))
    finally:
        poller.stop.set()
        poller.join(10)
    took = time.monotonic() - t0
    wire = lo_bytes() - before
    print(f"  {old} -> {new}: converged in {took:.2f} s, {wire / 1e6:.2f} MB on the wire for "
          f"{data_bytes / 1e6:.1f} MB of data, {poller.rounds} polls of {len(names)} names")
    if poller.gaps:
        problems.append(f"{len(poller.gaps)} files were in neither place on B, e.g. "
                        f"{sorted(poller.gaps)[:5]}")
    if left_dirs(b.dir, old):
        problems.append(f"left on B: {left_dirs(b.dir, old)[:10]}")
    if poller.rounds < 3:
        problems.append("the poller did not run")
    if "kept directory" in b.log(mark) or "cannot remove" in b.log(mark):
        problems.append("B could not remove a directory:\n" + b.tail())
    if wire_share is not None and wire >= wire_share * data_bytes:
        problems.append(f"{wire} bytes on the wire for {data_bytes} bytes renamed")
    assert not problems, "\n".join(problems)
    assert a.poll() is None and b.poll() is None


@r.case
def big_directory_rename():
    a, b = h.pair(h.new_scratch("big_rename"))
    names, data = [], 0
    for i in range(SMALL):
        d, f = divmod(i, 60)
        n = f"d{d:03d}/s{f:02d}/f.txt" if f % 10 == 0 else f"d{d:03d}/f{f:02d}.txt"
        h.write(f"{a.dir}/big/{n}", os.urandom(1024))
        names.append(n)
        data += 1024
    for i in range(LARGE):
        h.make_big_file(f"{a.dir}/big/large{i}.bin", LARGE_MIB << 20)
        names.append(f"large{i}.bin")
        data += LARGE_MIB << 20
    h.assert_converged(a.dir, b.dir, 60)
    rename_and_check(a, b, "big", "big2", names, data, wire_share=0.05)


@r.case
def large_files_rename():
    """Only large files: the deletion of the old names is due within milliseconds, long before
    the new names are hashed."""
    a, b = h.pair(h.new_scratch("large_rename"))
    names = [f"large{i}.bin" for i in range(2)]
    os.makedirs(f"{a.dir}/media")
    for n in names:
        h.make_big_file(f"{a.dir}/media/{n}", 32 << 20)
    h.assert_converged(a.dir, b.dir, 60)
    rename_and_check(a, b, "media", "media2", names, 64 << 20, wire_share=0.05)


@r.case
def offline_rename_keeps_local_file():
    """B is offline while A renames `big`, and B gets a file of its own in `big/` meanwhile:
    after the restart B renames by copying (under 5% on the wire), keeps its file (the directory
    stays for it, and A gets it too) and leaves nothing else of `big/`."""
    a, b = h.pair(h.new_scratch("offline_rename"))
    os.makedirs(f"{a.dir}/big/sub")
    h.make_big_file(f"{a.dir}/big/large.bin", 16 << 20)
    for i in range(200):
        h.write(f"{a.dir}/big/sub/f{i:03d}.txt", f"file {i}\n")
    h.assert_converged(a.dir, b.dir, 30)
    b.stop()
    h.write(f"{b.dir}/big/mine.txt", "B's own\n")
    os.rename(f"{a.dir}/big", f"{a.dir}/big2")
    before = lo_bytes()
    b.start()
    h.wait_connected(a, b)
    h.assert_converged(a.dir, b.dir, 30)
    wire = lo_bytes() - before
    print(f"  {wire / 1e6:.2f} MB on the wire after the restart")
    assert open(f"{b.dir}/big/mine.txt").read() == "B's own\n"
    assert left_dirs(b.dir, "big") == [f"{b.dir}/big"], left_dirs(b.dir, "big")
    assert wire < 0.05 * (16 << 20), f"{wire} bytes on the wire"


@r.case
def unknown_entry_keeps_directory():
    """A directory deleted on A holds, on B, an entry B cannot index (a backslash in its name):
    B removes everything else, keeps the directory with that entry and says so once."""
    a, b = h.synced_pair("unknown_entry", {f"keep/f{i}.txt": f"{i}\n" for i in range(5)})
    h.write(f"{b.dir}/keep/odd\\name.txt", "B's own\n")
    mark = b.log_size()
    shutil.rmtree(f"{a.dir}/keep")
    gone = lambda: not any(os.path.exists(f"{b.dir}/keep/f{i}.txt") for i in range(5))  # noqa: E731
    assert h.wait_until(gone, 10), b.tail()
    said = lambda: "kept directory keep that a peer deleted" in b.log(mark)  # noqa: E731
    assert h.wait_until(said, 5), b.tail()
    h.write(f"{a.dir}/later.txt", "still syncing\n")
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/later.txt"), 10), b.tail()
    assert os.listdir(f"{b.dir}/keep") == ["odd\\name.txt"]
    assert b.log(mark).count("kept directory keep") == 1, b.log(mark)[-2000:]
    assert a.poll() is None and b.poll() is None


@r.case
def nested_small_rename():
    a, b = h.pair(h.new_scratch("nested_rename"))
    names = []
    for i in range(1500):
        n = ("", "b/", "b/c/")[i % 3] + f"f{i:04d}.txt"
        h.write(f"{a.dir}/a/{n}", f"file {i}\n")
        names.append(n)
    h.assert_converged(a.dir, b.dir, 30)
    rename_and_check(a, b, "a", "a2", names, 0)


if __name__ == "__main__":
    sys.exit(r.run())

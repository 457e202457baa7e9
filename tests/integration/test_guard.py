#!/usr/bin/env python3
"""The folder marker guard: when A's folder (or just its .cascade) vanishes under a running A,
no deletion reaches B, A logs the marker error, and A still stops cleanly."""
import os
import shutil
import signal
import subprocess
import sys
import time

import harness as h

r = h.Runner("guard")
HOLD = 5.0


def populated_pair(name):
    root = h.new_scratch(name)
    a, b = h.pair(root)
    for i in range(300):
        h.write(f"{a.dir}/dir{i % 10}/sub{i % 3}/file{i}.txt", f"precious {i}\n" * 20)
    h.make_big_file(f"{a.dir}/big.bin", 2 << 20)
    os.symlink("big.bin", f"{a.dir}/link")
    os.makedirs(f"{a.dir}/empty")
    h.assert_converged(a.dir, b.dir, 10)
    time.sleep(1)
    return a, b, h.tree_state(b.dir)


def b_keeps_everything(b, before):
    deadline = time.monotonic() + HOLD
    while time.monotonic() < deadline:
        now = h.tree_state(b.dir)
        if now != before:
            lost = sorted(set(before) - set(now))
            raise AssertionError(f"B changed after A's loss: {len(lost)} entries gone "
                                 f"(e.g. {lost[:5]}); {h.diff_states(before, now, 5)}")
        time.sleep(0.1)


def marker_error_logged(a, since, timeout=5):
    def logged():
        return any(lvl == "ERROR" and "marker" in m and "not syncing" in m
                   for lvl, m in a.messages(since))
    return h.wait_until(logged, timeout, 0.05)


def stops_cleanly(a):
    rc, took = a.stop(signal.SIGTERM, 5)
    assert rc == 0, f"A exited {rc} after SIGTERM ({took:.1f}s)"


@r.case
def whole_folder_deleted():
    a, b, before = populated_pair("rm_folder")
    mark = a.log_size()
    subprocess.run(["rm", "-rf", a.dir], check=True, timeout=30)
    b_keeps_everything(b, before)
    assert marker_error_logged(a, mark, 0.1), "A logged no marker / not syncing ERROR"
    assert not [m for m in b.messages() if m[1].endswith("(deleted)")], "B applied deletions"
    stops_cleanly(a)


@r.case
def only_marker_deleted():
    a, b, before = populated_pair("rm_marker")
    mark = a.log_size()
    shutil.rmtree(os.path.join(a.dir, ".cascade"))
    noticed_alone = marker_error_logged(a, mark, 5)
    # Whatever A's user does now must not reach B either.
    shutil.rmtree(f"{a.dir}/dir3")
    os.remove(f"{a.dir}/big.bin")
    h.write(f"{a.dir}/dir0/sub0/file0.txt", "changed after the marker went")
    b_keeps_everything(b, before)
    assert noticed_alone, ("A logged no marker / not syncing ERROR within 5 s of losing "
                           ".cascade" + (" (only after later changes in the folder)"
                                         if marker_error_logged(a, mark, 0) else ""))
    stops_cleanly(a)


@r.case
def folder_deleted_while_files_are_being_deleted():
    # rm -rf of a larger tree takes a while; deletions seen before the marker goes must not
    # reach B either (the marker goes last: rm -rf visits .cascade after the user's files).
    root = h.new_scratch("rm_big_tree")
    a, b = h.pair(root)
    subprocess.run(["bash", "-c", "for d in $(seq 1 40); do mkdir -p t/$d && "
                    "touch t/$d/{1..100}; done"], cwd=a.dir, check=True, timeout=60)
    h.assert_converged(a.dir, b.dir, 20)
    time.sleep(1)
    before = h.tree_state(b.dir)
    mark = a.log_size()
    subprocess.run(["rm", "-rf", a.dir], check=True, timeout=60)
    b_keeps_everything(b, before)
    assert marker_error_logged(a, mark, 0.1), "A logged no marker / not syncing ERROR"
    stops_cleanly(a)


@r.case
def small_folder_deleted():
    # A lone deletion propagates after a few ms (core::deletion_hold); an rm -rf of a folder
    # holding only a couple of files must still be caught by the marker check.
    for n in range(3):
        root = h.new_scratch(f"rm_small{n}")
        a, b = h.pair(root)
        h.write(f"{a.dir}/one.txt", "one\n")
        h.write(f"{a.dir}/sub/two.txt", "two\n")
        h.assert_converged(a.dir, b.dir, 10)
        time.sleep(0.3)
        before = h.tree_state(b.dir)
        mark = a.log_size()
        subprocess.run(["rm", "-rf", a.dir], check=True, timeout=30)
        assert marker_error_logged(a, mark, 5), "A logged no marker / not syncing ERROR"
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert h.tree_state(b.dir) == before, f"try {n}: B lost files after A's rm -rf"
            time.sleep(0.05)
        stops_cleanly(a)
        b.stop()


if __name__ == "__main__":
    sys.exit(r.run())

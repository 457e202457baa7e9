#!/usr/bin/env python3
"""An unprivileged local user (run as uid 65534 by test_local_attacker.py) with write access to
the 0777 directories a peer synced into a node's folder. Until SIGTERM or the deadline it swaps
files and directories in them, new ones the moment they appear and existing ones at random, for
symlinks to root-owned targets outside the folder, and plants symlinks at the names the peer
will create next. Prints how many swaps it made.

usage: local_attacker.py FOLDER SECONDS DIR_TARGET FILE_TARGET TOP...
"""
import os
import random
import re
import signal
import sys
import time

folder, seconds, dir_target, file_target = sys.argv[1], float(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
tops = sys.argv[5:]
stop = [False]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
rng = random.Random(7)
swaps = planted = moved = 0
seen = set()


def swap(path, is_dir):
    """Moves a directory aside (a file is unlinked) and puts a symlink in its place."""
    global swaps, moved
    try:
        if is_dir:
            os.rename(path, f"{path}.moved{moved}")
            moved += 1
        else:
            os.unlink(path)
        os.symlink(rng.choice((dir_target, file_target)), path)
        swaps += 1
    except OSError:
        pass  # the node or the peer changed it meanwhile: next round


def plant(parent, name):
    """A symlink at a name the peer creates next (its names count up: n7 after n6)."""
    global planted
    m = re.fullmatch(r"([a-z]+)(\d+)", name)
    if not m:
        return
    nxt = f"{parent}/{m.group(1)}{int(m.group(2)) + 1}"
    try:
        os.symlink(rng.choice((dir_target, file_target)), nxt)
        planted += 1
    except OSError:
        pass


def entries(d):
    try:
        with os.scandir(d) as it:
            return [(e.path, e.name, e.is_dir(follow_symlinks=False), e.is_symlink())
                    for e in it]
    except OSError:
        return []


deadline = time.monotonic() + seconds
while not stop[0] and time.monotonic() < deadline:
    dirs = [os.path.join(folder, t) for t in tops]
    found = []
    for d in dirs:
        for path, name, is_dir, is_link in entries(d):
            if is_link or ".moved" in name:
                continue
            found.append((d, path, name, is_dir))
            if is_dir and len(dirs) < 64:
                dirs.append(path)  # walked in this same round
    for parent, path, name, is_dir in found:
        if path not in seen:
            seen.add(path)
            swap(path, is_dir)  # new: races the node's mkdir + chmod or rename
            plant(parent, name)
        elif rng.random() < 0.02:
            swap(path, is_dir)  # existing
    time.sleep(0.0005)

print(f"attacker: {swaps} swaps, {planted} planted", flush=True)

#!/usr/bin/env python3
"""Group keys keep foreign nodes apart; the command line rejects bad usage with exit 2."""
import os
import subprocess
import sys
import time

import harness as h

r = h.Runner("groups")
FLAGS = ["--dir", "--port", "--listen", "--peer", "--no-discovery", "--key", "--key-file",
         "--state", "--log-level"]


def run(args, timeout=10):
    return subprocess.run([h.NODE] + args, capture_output=True, text=True, timeout=timeout)


@r.case
def different_keys_never_exchange_data():
    root = h.new_scratch("groups")
    a, b = h.pair(root, key=h.keygen(), key_b=h.keygen(), start=False)
    h.write(f"{a.dir}/only_a.txt", "A's")
    h.write(f"{b.dir}/only_b.txt", "B's")
    a.start()
    b.start()
    h.write(f"{a.dir}/live_a.txt", "A's, made while running")
    h.write(f"{b.dir}/live_b.txt", "B's, made while running")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sa, sb = h.tree_state(a.dir), h.tree_state(b.dir)
        assert sorted(sa) == ["live_a.txt", "only_a.txt"], f"A's folder: {sorted(sa)}"
        assert sorted(sb) == ["live_b.txt", "only_b.txt"], f"B's folder: {sorted(sb)}"
        time.sleep(0.1)
    for n in (a, b):
        msgs = [m for _, m in n.messages()]
        assert not [m for m in msgs if m.startswith("connected to")], f"{n.name} connected"
        assert not [m for m in msgs if m.startswith(("got ", "applied ", "received "))], \
            f"{n.name} took records from a foreign group"
    for n in (a, b):
        said = [m for _, m in n.messages() if "group" in m.lower()]
        assert said, f"{n.name} logged no group mismatch"
    for n in (a, b):
        assert n.poll() is None, f"{n.name} exited"


@r.case
def bad_usage_exits_2_with_a_message():
    scratch = h.new_scratch("usage")
    d = os.path.join(scratch, "f")
    cases = [
        ["--dir", d, "--bogus"],
        ["--dir", d, "--port", "notanumber"],
        ["--dir", d, "--port", "70000"],
        ["--dir", d, "--peer", "no-port-here"],
        ["--dir", d, "--log-level", "loud"],
        ["--dir"],
        ["--port", "7001"],  # no --dir
        ["--dir", d, "--dir", d],
    ]
    for args in cases:
        p = run(args)
        assert p.returncode == 2, f"node {' '.join(args)} exited {p.returncode}: {p.stderr!r}"
        assert p.stderr.strip(), f"node {' '.join(args)} gave no message"
    p = run(["--dir", d, "--bogus"])
    assert "--bogus" in p.stderr, p.stderr
    assert not os.path.exists(d), "a rejected command line still created the folder"


@r.case
def malformed_key_exits_2():
    scratch = h.new_scratch("badkey")
    p = run(["--dir", os.path.join(scratch, "f"), "--key", "not-a-key", "--port", "7001",
             "--no-discovery"])
    assert p.returncode == 2, f"exit {p.returncode}: {p.stderr!r}"
    assert "key" in p.stderr.lower(), p.stderr


@r.case
def help_mentions_every_flag():
    for args in (["--help"], ["-h"]):
        p = run(args)
        assert p.returncode == 0, f"{args} exited {p.returncode}"
        missing = [f for f in FLAGS if f not in p.stdout]
        assert not missing, f"node {args[0]} does not mention {missing}"


if __name__ == "__main__":
    sys.exit(r.run())

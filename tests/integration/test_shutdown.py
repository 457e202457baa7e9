#!/usr/bin/env python3
"""SIGINT and SIGTERM stop a node with exit 0 within 2 s, idle or mid-transfer; after a
restart the index is sound, the folders converge and no temp file is left."""
import os
import shutil
import signal
import sqlite3
import sys

import harness as h

r = h.Runner("shutdown")
LIMIT = 2.0
SIZE = 1 << 30


def index_ok(node):
    db = os.path.join(node.dir, ".cascade", "index.db")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        res = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    assert res == [("ok",)], f"{node.name}'s index.db: {res}"


def stop_within(node, sig):
    rc, took = node.stop(sig, 10)
    name = signal.Signals(sig).name
    assert rc == 0, f"{node.name} exited {rc} on {name} (after {took:.2f}s)"
    assert took <= LIMIT, f"{node.name} took {took:.2f}s to stop on {name}"
    assert "stopped cleanly" in node.log(node.start_mark)
    return took


@r.case
def idle_sigint_and_sigterm():
    a, b = h.synced_pair("idle", {"x.txt": "x"})
    ta = stop_within(a, signal.SIGINT)
    tb = stop_within(b, signal.SIGTERM)
    print(f"  idle: SIGINT {ta:.3f}s, SIGTERM {tb:.3f}s")
    index_ok(a)
    index_ok(b)
    h.write(f"{b.dir}/y.txt", "made while both were down")
    a.start()
    b.start()
    h.wait_connected(a, b)
    h.assert_converged(a.dir, b.dir, 10)


def during_transfer(sig, role):
    root = h.new_scratch(f"{signal.Signals(sig).name}_{role}")
    try:
        a, b = h.pair(root)
        victim = a if role == "sender" else b
        want = h.make_big_file(f"{a.dir}/big.bin", SIZE)
        assert h.growing_tmp(b, SIZE), "never saw B's temp file grow; transfer not caught"
        assert not os.path.exists(f"{b.dir}/big.bin"), "transfer finished before the signal"
        took = stop_within(victim, sig)
        print(f"  {signal.Signals(sig).name} to the {role} mid-transfer: stopped in {took:.3f}s")
        index_ok(victim)
        victim.start()
        h.wait_connected(a, b)
        h.assert_converged(a.dir, b.dir, 60)
        assert h.sha256_file(f"{b.dir}/big.bin") == want
        ok = h.wait_until(lambda: not h.tmp_files(a) and not h.tmp_files(b), 5)
        assert ok, f"temp files left: A {h.tmp_files(a)}, B {h.tmp_files(b)}"
        for n in (a, b):
            stop_within(n, signal.SIGTERM)
            index_ok(n)
    finally:
        h.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@r.case
def sigterm_receiver_mid_transfer():
    during_transfer(signal.SIGTERM, "receiver")


@r.case
def sigint_receiver_mid_transfer():
    during_transfer(signal.SIGINT, "receiver")


@r.case
def sigterm_sender_mid_transfer():
    during_transfer(signal.SIGTERM, "sender")


@r.case
def sigint_sender_mid_transfer():
    during_transfer(signal.SIGINT, "sender")


@r.case
def failed_actor_stops_the_node():
    """The guardian: a long-lived actor that ends with an error (test switch
    CASCADE_TEST_FAIL_ACTOR) stops the node with exit 1 and one line naming it, never a node that
    stays up and syncs nothing; a restart then syncs as before."""
    a, b = h.synced_pair("guardian", {"x.txt": "x"})
    stop_within(a, signal.SIGTERM)
    for victim in ("index", "supervisor", "watcher"):
        os.environ["CASCADE_TEST_FAIL_ACTOR"] = victim
        try:
            a.start()
        finally:
            del os.environ["CASCADE_TEST_FAIL_ACTOR"]
        assert h.wait_until(lambda: a.poll() is not None, 10), \
            f"{victim} failed and the node kept running:\n{a.tail(10)}"
        assert a.returncode == 1, f"exit {a.returncode} after the {victim} failed"
        lines = [x for x in a.log(a.start_mark).splitlines() if "stopped unexpectedly" in x]
        assert len(lines) == 1 and f"the {victim} actor" in lines[0], lines
        assert "stopped cleanly" not in a.log(a.start_mark)
    a.start()
    h.wait_connected(a, b)
    h.write(f"{b.dir}/after.txt", "after the failures")
    h.assert_converged(a.dir, b.dir, 10)


if __name__ == "__main__":
    sys.exit(r.run())

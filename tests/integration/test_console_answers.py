#!/usr/bin/env python3
"""The debug console's answers (docs/console.md) from running nodes, in text and JSON: status
(ids, counts, in sync), propagation latency, peers, index records with versions and holders,
actors, transfers in flight and the `top` live view, conflict copies; every JSON shape exactly
as documented. Reaching the node, the interactive session and the commands that act on it:
test_console_control.py."""
import hashlib
import json
import os
import signal
import subprocess
import time

import harness as h
from console_helpers import (ACTOR_KEYS, CONFLICT_KEYS, FILE_KEYS, PEER_KEYS, PENDING_KEYS,
                             RECORD_KEYS, STATUS_KEYS, TRANSFER_KEYS, T, ask,
                             check_latency_shape, keys, shared_pair, short_id, text, wait_json)

r = h.Runner("console answers")


@r.case
def status_names_the_node_and_counts_its_files():
    a, b, ida, idb = shared_pair()
    for n, me in ((a, ida), (b, idb)):
        s = wait_json(n, ["status"], lambda s: s["in_sync"], T, f"{n.name} in sync")
        keys(s, STATUS_KEYS, "status")
        keys(s["pending"], PENDING_KEYS, "status.pending")
        check_latency_shape(s["latency"])
        assert s["device_id"] == me
        assert s["folder"] == os.path.realpath(n.dir)
        assert s["state_dir"] == os.path.join(os.path.realpath(n.dir), ".cascade")
        assert s["files"] == 3 and s["dirs"] == 2, s
        assert s["bytes"] == len("read me\n") + len("# intro\n" * 100) + 5000
        assert s["peers_connected"] == 1 and not s["halted"]
        assert all(v == 0 for v in s["pending"].values()), s["pending"]
        assert s["uptime_s"] > 0 and s["log_level"] == "info"
        assert s["sequence"] >= 5
        t = text(n, "status")
        assert me in t and "in sync" in t and "3 files" in t, t
    assert ask(a, "status")["group"] == ask(b, "status")["group"]
    # Something pending shows as pending, not in sync.
    h.write(f"{a.dir}/new.txt", "x")
    wait_json(b, ["status"], lambda s: s["files"] == 4 and s["in_sync"], T, "B has new.txt")


@r.case
def latency_is_measured_per_peer():
    a, b, ida, idb = shared_pair()
    before = ask(b, "status")["latency"]["count"]
    for i in range(20):
        h.write(f"{a.dir}/lat/{i}.txt", f"{i}\n")
        time.sleep(0.02)
    h.assert_converged(a.dir, b.dir, T)
    s = wait_json(b, ["status"], lambda s: s["latency"]["count"] >= before + 21, T, "samples")
    lat = s["latency"]
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"] < 5000, lat
    peers = ask(b, "peers")["peers"]
    row = [p for p in peers if p["device_id"] == ida]
    assert len(row) == 1, peers
    check_latency_shape(row[0]["latency"])
    assert row[0]["latency"]["count"] >= 21 and row[0]["latency"]["p99_ms"] < 5000
    assert "latency p50" in text(b, "peers") and "p99" in text(b, "status")
    # A received nothing from B: no samples there.
    arow = [p for p in ask(a, "peers")["peers"] if p["device_id"] == idb][0]
    assert arow["latency"] is None or arow["latency"]["count"] == 0, arow


@r.case
def peers_show_the_session_both_ways():
    a, b, ida, idb = shared_pair()
    for n, other, port in ((a, idb, b.port), (b, ida, a.port)):
        p = wait_json(n, ["peers"], lambda p: any(x["rtt_ms"] is not None for x in p["peers"]),
                      T, "a heartbeat round trip")["peers"]
        assert len(p) == 1, p
        row = p[0]
        keys(row, PEER_KEYS, "peer")
        assert row["device_id"] == other and row["state"] == "connected"
        assert row["found"] == "static", row  # each is the other's --peer
        assert row["direction"] in ("inbound", "outbound")
        if row["direction"] == "outbound":
            assert row["address"] == f"127.0.0.1:{port}"
        assert isinstance(row["session"], int) and row["session"] > 0
        assert 0 < row["rtt_ms"] < 1000
        assert row["bytes_in"] > 1000 and row["bytes_out"] > 1000, row
        assert row["rate_in"] >= 0 and row["rate_out"] >= 0 and row["connected_s"] > 0
        assert row["last_error"] is None
        t = text(n, "peers")
        assert other in t and "connected" in t and "rtt" in t, t
    # Bytes out of one side are bytes in of the other, give or take the traffic in between.
    pa = ask(a, "peers")["peers"][0]
    pb = ask(b, "peers")["peers"][0]
    assert abs(pa["bytes_out"] - pb["bytes_in"]) < 64 * 1024, (pa, pb)


@r.case
def files_show_records_versions_and_holders():
    a, b, ida, idb = shared_pair()
    data = open(f"{a.dir}/docs/readme.txt", "rb").read()
    ans = ask(b, "files", "docs/readme.txt")
    keys(ans, {"files", "truncated"}, "files")
    assert len(ans["files"]) == 1 and not ans["truncated"]
    f = ans["files"][0]
    keys(f, FILE_KEYS, "file")
    rec = f["record"]
    keys(rec, RECORD_KEYS, "record")
    assert rec["path"] == "docs/readme.txt" and rec["type"] == "file"
    assert rec["size"] == len(data) and rec["mode"] == "0644" and not rec["deleted"]
    assert rec["version"] == [{"device": short_id(ida), "device_id": ida, "counter": 1}], rec
    assert rec["modified_by"] == short_id(ida)
    assert rec["chunks"] == [{"offset": 0, "length": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}]
    assert rec["mtime_ns"] == os.stat(f"{b.dir}/docs/readme.txt").st_mtime_ns
    assert rec["changed_at_ns"] and abs(rec["changed_at_ns"] / 1e9 - time.time()) < 600
    assert f["received_from"] == ida and set(f["has"]) == {ida, idb} and f["needed"] is None
    # On the source: sent to B, no received_from.
    fa = ask(a, "files", "docs/readme.txt")["files"][0]
    assert fa["received_from"] is None and fa["has"] == [ida]
    assert fa["sent_to"] == [idb], fa
    assert fa["record"]["changed_at_ns"] == rec["changed_at_ns"], "relays keep the stamp"
    # Patterns: a plain directory is itself and everything below; globs span '/'.
    paths = [x["record"]["path"] for x in ask(b, "files", "docs")["files"]]
    assert paths == ["docs", "docs/guide", "docs/guide/intro.md", "docs/readme.txt"], paths
    paths = [x["record"]["path"] for x in ask(b, "files", "*.md")["files"]]
    assert paths == ["docs/guide/intro.md"], paths
    assert len(ask(b, "files")["files"]) == ask(b, "status")["files"] + ask(b, "status")["dirs"]
    assert ask(b, "files", "nothing*")["files"] == []
    # A second edit on A: counter 2 on both.
    h.write(f"{a.dir}/docs/readme.txt", "read me again\n")
    wait_json(b, ["files", "docs/readme.txt"],
              lambda x: x["files"][0]["record"]["version"][0]["counter"] == 2, T, "version 2")
    t = text(b, "files", "docs/readme.txt")
    assert "docs/readme.txt" in t and short_id(ida)[:7] + ":2" in t and ida in t, t
    # Deleted records stay visible as such.
    os.remove(f"{a.dir}/top.bin")
    x = wait_json(b, ["files", "top.bin"], lambda x: x["files"][0]["record"]["deleted"], T,
                  "top.bin deleted")
    assert x["files"][0]["record"]["chunks"] == []


@r.case
def actors_answer_for_themselves():
    a, b, ida, idb = shared_pair()
    wait_json(a, ["status"], lambda s: s["in_sync"], T, "A in sync")
    acts = ask(a, "actors")["actors"]
    for x in acts:
        keys(x, ACTOR_KEYS, "actor")
        assert x["answered"], x
        assert isinstance(x["mailbox"], int) and x["mailbox"] >= 0
        assert x["state"], x
    kinds = [x["kind"] for x in acts]
    for k in ("node", "watcher", "index", "scanner", "console", "peer"):
        assert k in kinds, kinds
    peer = [x for x in acts if x["kind"] == "peer"]
    assert len(peer) == 1 and peer[0]["name"] == idb
    assert peer[0]["counters"]["subscribed"] == 1
    index = [x for x in acts if x["kind"] == "index"][0]
    st = ask(a, "status")
    assert index["counters"]["files"] == st["files"]
    assert index["counters"]["sequence"] == st["sequence"]
    assert peer[0]["counters"]["sent_up_to"] == st["sequence"]
    watcher = [x for x in acts if x["kind"] == "watcher"][0]
    assert watcher["counters"]["watches"] == 1 + st["dirs"], watcher  # the root and each dir
    t = text(a, "actors")
    assert "KIND" in t and "MAILBOX" in t and "watcher" in t and "directories watched" in t


@r.case
def transfers_show_a_file_in_flight():
    # Loopback of this test's own namespace shaped to 400 Mbit/s, so that the transfer is still
    # running while the console looks at it (the qdisc goes with the namespace, or below).
    subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "400mbit",
                    "burst", "256kb", "latency", "50ms"], check=True, timeout=10)
    try:
        transfers_in_flight()
    finally:
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], timeout=10)


def transfers_in_flight():
    a, b, ida, idb = shared_pair()
    size = 512 << 20
    outside = os.path.join(os.path.dirname(a.dir), "big.tmp")  # same tmpfs, not watched
    h.make_big_file(outside, size)
    os.rename(outside, f"{a.dir}/big.bin")
    seen = {}

    def in_flight():
        t = ask(b, "transfers")["transfers"]
        if t:
            seen["t"] = t
        return bool(t)
    assert h.wait_until(in_flight, 30, 0.01), "no transfer seen on B"
    (t,) = seen["t"]
    keys(t, TRANSFER_KEYS, "transfer")
    assert t["path"] == "big.bin" and t["size"] == size
    assert 0 <= t["done"] <= size and t["done"] == t["fetched"] + t["copied"]
    assert 0 <= t["progress"] <= 1 and t["upstream"] == ida and isinstance(t["downstreams"], list)
    tx = text(b, "transfers")
    assert "big.bin" in tx, tx  # still running: the link is shaped
    assert "%" in tx and "[" in tx and ida in tx, tx
    acts = ask(b, "actors")["actors"]
    tr = [x for x in acts if x["kind"] == "transfer"]
    assert tr and tr[0]["name"] == "big.bin" and tr[0]["transfer"]["size"] == size, acts
    # The live view: a progress bar and per-peer rates, until q.
    p = subprocess.Popen([h.NODE, "console", "--dir", b.dir, "top"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.3)
    p.stdin.write("q")
    p.stdin.flush()
    out, err = p.communicate(timeout=5)
    assert p.returncode == 0, err
    assert out.count("cascade top") >= 2, out  # refreshed every second
    assert "PEERS" in out and "TRANSFERS" in out and ida[:15] in out
    assert "big.bin" in out, out
    assert "[#" in out or "[." in out, out
    assert "/s" in out
    h.assert_converged(a.dir, b.dir, 60)
    assert ask(b, "transfers")["transfers"] == []
    assert "no transfers" in text(b, "transfers")
    os.remove(f"{a.dir}/big.bin")
    h.assert_converged(a.dir, b.dir, T)


@r.case
def top_json_refreshes_until_a_signal():
    a, _, ida, _ = shared_pair()
    p = subprocess.Popen([h.NODE, "console", "--dir", a.dir, "--json", "top"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    time.sleep(2.4)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=5)
    assert p.returncode == 0
    frames = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(frames) >= 2, out
    for f in frames:
        assert set(f) == {"status", "peers", "transfers"}
        keys(f["status"], STATUS_KEYS, "top status")
        assert f["status"]["device_id"] == ida


@r.case
def conflicts_are_listed_with_their_original():
    root = h.new_scratch("conflicts")
    a, b = h.pair(root, ports=(7181, 7182), log_level="info")
    h.write(f"{a.dir}/doc/notes.txt", "base\n")
    h.assert_converged(a.dir, b.dir, T)
    time.sleep(1)
    assert ask(a, "conflicts") == {"conflicts": []}
    assert "no conflicts" in text(a, "conflicts")
    b.stop()
    h.write(f"{a.dir}/doc/notes.txt", "edited on A\n")
    time.sleep(0.05)
    h.write(f"{b.dir}/doc/notes.txt", "edited on B, differently\n")
    b.start()
    h.wait_connected(a, b)
    st = h.assert_converged(a.dir, b.dir, T)
    copies = [p for p in st if ".sync-conflict-" in p]
    assert len(copies) == 1, sorted(st)
    for n in (a, b):
        c = wait_json(n, ["conflicts"], lambda c: len(c["conflicts"]) == 1, T, "conflict")
        (x,) = c["conflicts"]
        keys(x, CONFLICT_KEYS, "conflict")
        assert x["path"] == copies[0] and x["original"] == "doc/notes.txt", x
        assert len(x["device"]) == 7 and len(x["time"]) == 15 and x["time"][8] == "-"
        assert x["size"] == os.path.getsize(f"{n.dir}/{copies[0]}")
        t = text(n, "conflicts")
        assert copies[0] in t and "doc/notes.txt" in t


sys_exit = r.run(keep_nodes=True)
raise SystemExit(sys_exit)

#!/usr/bin/env python3
"""mDNS discovery of nodes on a simulated LAN (tools/cluster; needs root, avahi-daemon, dbus).

Every host has its own avahi-daemon; the nodes find each other through it (no --peer unless a
scenario says so). Checks: a real DNS-SD client (avahi-browse) sees each node's service and TXT
records; 5 nodes started together connect pairwise within 3 s, a late joiner within 2 s; two
groups on one LAN stay apart; no avahi-daemon (or no D-Bus): one warning, static peers still
work, discovery resumes when the daemon comes; --no-discovery neither publishes nor browses; a
vanished service leaves a working connection alone; a partition heals; a receiver killed
mid-transfer converges. Runs in the root network namespace, in a private CASCADE_CLUSTER_DIR;
bounded by a watchdog (540 s); last line "N passed, N failed"; exit 77 if it cannot run here.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
from cluster_helpers import (CLOSED, CONNECTED, DISCOVERED, CLUSTER, cluster, device_id,  # noqa: E402
                             first_connections, grep, last_run, node_log, path,
                             protocol_version, read, run_main,
                             since, status, step, wait_file, wait_until, write)

PORT = 50051
measured = {}  # printed at the end, for the notes


def node_binary():
    with open(os.path.join(os.environ["CASCADE_CLUSTER_DIR"], "state.json")) as f:
        return json.load(f)["node"]


def addr(i):
    return f"198.18.0.{i}"


def ids(n):
    """{host: device id} once every node has logged its start line."""
    got = wait_until(lambda: (lambda d: d if all(d.values()) else None)(
        {i: device_id(i) for i in range(1, n + 1)}), 10)
    assert got, "not every node logged its start line"
    return got


def browse(i, want_addrs, timeout=10):
    """Resolved `avahi-browse -rpt _cascade._tcp` records on host i, polled until every address in
    want_addrs is resolved: [{name, addr, port, host, txt: [..], line}]."""
    recs = []

    def once():
        nonlocal recs
        out = cluster("exec", i, "avahi-browse", "-rpt", "_cascade._tcp", check=False,
                      quiet=True).stdout
        recs = []
        for line in out.splitlines():
            f = line.split(";", 9)
            if f[0] == "=" and len(f) == 10:
                recs.append({"name": f[3], "host": f[6], "addr": f[7], "port": int(f[8]),
                             "txt": re.findall(r'"((?:[^"\\]|\\.)*)"', f[9]), "line": line})
        return set(want_addrs) <= {r["addr"] for r in recs}
    wait_until(once, timeout, 0.3)
    return recs


def all_connected(hosts, idmap, t0=0.0):
    """True once every host of `hosts` logged "connected to" every other one (after t0)."""
    for i in hosts:
        got = first_connections(since(last_run(node_log(i)), t0))
        if not all(idmap[j] in got for j in hosts if j != i):
            return False
    return True


def connect_times(hosts, idmap, t0=0.0):
    """{host: seconds from its start line to the first "connected to" of the last of the others}."""
    out = {}
    for i in hosts:
        run = last_run(node_log(i))
        got = first_connections(since(run, t0))
        others = [got.get(idmap[j]) for j in hosts if j != i]
        out[i] = None if None in others else max(others) - run[0][0]
    return out


def closed_since(i, t0):
    return [m for t, _, m in since(last_run(node_log(i)), t0) if CLOSED.match(m)]


def fmt_times(d):
    return ", ".join(f"h{i} {'never' if v is None else f'{v:.2f} s'}" for i, v in sorted(d.items()))


# ------------------------------------------------------------------------- scenarios

def scenario_lan():
    """a, b, --no-discovery, e, f on one 5-host LAN, discovery only."""
    cluster("up", 5)
    idmap = ids(5)
    st = status()
    key = st["key"]

    # b. five together: every pair connected within 3 s of each node's start line
    ok = wait_until(lambda: all_connected(range(1, 6), idmap), 15, 0.2)
    times = connect_times(range(1, 6), idmap)
    worst = max((v for v in times.values() if v is not None), default=None)
    measured["5 together, max start->connected to all 4"] = worst
    print(f"    connect times (start line -> connected to all 4 others): {fmt_times(times)}")
    step("b: 5 nodes started together are all connected to each other within 3 s",
         lambda: (ok and worst is not None and worst <= 3.0) or f"{fmt_times(times)}")
    step("b: no session was torn down while the 5 found each other (no duplicate connections)",
         lambda: not [m for i in range(1, 6) for m in closed_since(i, 0)]
         or {i: closed_since(i, 0) for i in range(1, 6)})

    # a. a real DNS-SD client sees every other node with address, port and TXT id=, g=, v=<protocol version>
    recs = browse(1, [addr(j) for j in range(2, 6)])

    def check_browse():
        bad = []
        gs = set()
        for j in range(2, 6):
            mine = [r for r in recs if r["addr"] == addr(j)]
            if not mine:
                bad.append(f"host {j} ({addr(j)}) not listed")
                continue
            for r in mine:
                txt = dict(t.split("=", 1) for t in r["txt"] if "=" in t)
                if r["port"] != PORT:
                    bad.append(f"host {j}: port {r['port']}")
                if sorted(txt) != ["g", "id", "v"] or len(r["txt"]) != 3:
                    bad.append(f"host {j}: TXT {r['txt']}, want exactly id=, g=, v=")
                if txt.get("id") != idmap[j]:
                    bad.append(f"host {j}: id={txt.get('id')}, its node says {idmap[j]}")
                if txt.get("v") != protocol_version():
                    bad.append(f"host {j}: v={txt.get('v')}")
                if not re.fullmatch(r"[0-9a-f]{8,64}", txt.get("g", "")):
                    bad.append(f"host {j}: g={txt.get('g')!r} is not a hex tag")
                gs.add(txt.get("g"))
                body = key.split("-", 1)[-1]
                if key in r["line"] or body in r["line"] or body.lower() in r["line"].lower():
                    bad.append(f"host {j}: the group key is in its record: {r['line']}")
        if len(gs) != 1:
            bad.append(f"one group, but g values {gs}")
        return not bad or "; ".join(bad) + "\n" + "\n".join(r["line"] for r in recs)
    step("a: avahi-browse -rpt _cascade._tcp on host 1 lists hosts 2-5: address, port 50051, "
         "TXT id=<their id> g=<tag> v=<protocol version>, never the key", check_browse)

    # --no-discovery: a second node inside host 3 (same key, own folder, port 50052)
    nd_dir = os.path.join(os.environ["CASCADE_CLUSTER_DIR"], "nodisc")
    os.makedirs(os.path.join(nd_dir, "folder"))
    nd_log = open(os.path.join(nd_dir, "node.log"), "w")
    nd = subprocess.Popen([sys.executable, CLUSTER, "exec", "3", node_binary(), "--dir",
                           os.path.join(nd_dir, "folder"), "--key", key, "--port", "50052",
                           "--no-discovery", "--log-level", "debug"],
                          stdin=subprocess.DEVNULL, stdout=nd_log, stderr=subprocess.STDOUT)
    nd_t0 = time.monotonic()
    try:
        # b (late joiner): kill node 5, let the others see its service go, start it again
        cluster("kill", 5)
        t_kill = time.time()
        gone = wait_until(lambda: all(grep(since(node_log(i), t_kill), r"^mDNS service .* is gone")
                                      for i in range(1, 5)), 8, 0.2)
        if not gone:
            print("    note: not every node saw node 5's service go within 8 s")
        cluster("start", 5)
        t_start = last_run(node_log(5))[0][0] if last_run(node_log(5)) else time.time()
        ok = wait_until(lambda: all(first_connections(since(node_log(5), t_start)).get(idmap[j])
                                    and first_connections(since(node_log(j), t_start)).get(idmap[5])
                                    for j in range(1, 5)), 10, 0.1)
        late = connect_times([1, 2, 3, 4, 5], idmap, t_start)[5]
        seen_by = {i: (lambda t: None if t is None else t - t_start)(
            first_connections(since(node_log(i), t_start)).get(idmap[5])) for i in range(1, 5)}
        measured["late joiner, start->connected to all 4"] = late
        print(f"    late joiner: node 5 connected to all 4 {late if late is None else f'{late:.2f}'} s"
              f" after its start line; the others logged it after {fmt_times(seen_by)}")
        step("b: a node joining later (5 killed, restarted) is connected to all others within 2 s",
             lambda: (ok and late is not None and late <= 2.0
                      and all(v is not None and v <= 2.0 for v in seen_by.values()))
             or f"node 5: {late}, others: {fmt_times(seen_by)}")

        # --no-discovery neither publishes nor browses
        wait_until(lambda: time.monotonic() - nd_t0 > 4, 5)
        nd_lines = [ln for ln in open(nd_log.name).read().splitlines()]
        recs = browse(2, [addr(j) for j in (1, 3, 4, 5)])
        step("--no-discovery: the node runs (listening start line)",
             lambda: any("listening on" in ln for ln in nd_lines) or "\n".join(nd_lines[-10:]))
        step("--no-discovery: avahi-browse on host 2 does not list it (nothing on port 50052)",
             lambda: not [r for r in recs if r["port"] == 50052] and
             len([r for r in recs if r["addr"] == addr(3)]) == 1
             or "\n".join(r["line"] for r in recs))
        step("--no-discovery: it logs no mDNS, discovered or connected line",
             lambda: not [ln for ln in nd_lines if re.search(r"mDNS|discovered |connected to ", ln)]
             or [ln for ln in nd_lines if re.search(r"mDNS|discovered |connected to ", ln)])
    finally:
        nd.terminate()
        try:
            nd.wait(5)
        except subprocess.TimeoutExpired:
            nd.kill()
            nd.wait(5)
        nd_log.close()

    # e. a vanished service does not kill a working connection
    assert wait_until(lambda: all_connected(range(1, 6), idmap), 10, 0.2), \
        "nodes 1-5 not all connected within 10 s"
    t_stop = time.time()
    cluster("avahi", 2, "stop")
    vanished = wait_until(lambda: grep(since(node_log(1), t_stop), r"^mDNS service .* is gone"), 5, 0.1)
    if vanished:
        print(f"    host 2's service vanished for node 1 after {vanished[0][0] - t_stop:.2f} s")
    step("e: node 1 sees host 2's service vanish (avahi-daemon of host 2 stopped)",
         lambda: bool(vanished) or "no 'mDNS service ... is gone' on node 1 within 5 s")
    write(1, "e/from1.txt", "1 while 2 has no avahi\n")
    write(2, "e/from2.txt", "2 while it has no avahi\n")
    step("e: a new file syncs 1 -> 2 without host 2's service", lambda: wait_file(2, "e/from1.txt",
         "1 while 2 has no avahi\n", 10))
    step("e: a new file syncs 2 -> 1 without host 2's service", lambda: wait_file(1, "e/from2.txt",
         "2 while it has no avahi\n", 10))
    wait_until(lambda: time.time() - t_stop > 6, 7)
    step("e: no session closed on node 1 or node 2 in the 6 s after the service vanished",
         lambda: not (closed_since(1, t_stop) or closed_since(2, t_stop))
         or f"node 1: {closed_since(1, t_stop)}, node 2: {closed_since(2, t_stop)}")
    t_back = time.time()
    cluster("avahi", 2, "start")
    step("e: with its avahi-daemon back, node 2 publishes again and node 1 rediscovers it",
         lambda: bool(wait_until(lambda: grep(since(node_log(2), t_back), r"^mDNS: connected to avahi-daemon")
                                 and grep(since(node_log(1), t_back), "^discovered " + idmap[2]), 10, 0.2))
         or "no 'mDNS: connected' on 2 or no 'discovered' on 1 within 10 s")

    # f. partition cut and healed with changes on both sides converges, discovery only
    write(1, "f/shared.txt", "before the cut\n")
    step("f: wait-sync before the cut", lambda: cluster("wait-sync", "--timeout", 30).returncode == 0)
    t_cut = time.time()
    cluster("cut", 2, "switch")
    write(1, "f/from1.txt", "made on 1 during the cut\n")
    write(2, "f/from2.txt", "made on 2 during the cut\n")
    os.unlink(os.path.join(path(1), "f", "shared.txt"))
    write(2, "e/from2.txt", "changed on 2 during the cut\n")
    dropped = wait_until(lambda: len(closed_since(2, t_cut)) >= 4, 12, 0.2)
    print(f"    during the cut node 2 closed {len(closed_since(2, t_cut))} sessions"
          f"{'' if not dropped else f' (all 4 after {time.time() - t_cut:.1f} s)'}")
    step("f: while cut, node 2 drops its sessions (heartbeat) and host 3 gets host 1's change",
         lambda: (dropped and wait_file(3, "f/from1.txt", "made on 1 during the cut\n", 10) is True
                  and read(2, "f/from1.txt") is None)
         or f"dropped {closed_since(2, t_cut)}, h3 {read(3, 'f/from1.txt')!r}, h2 {read(2, 'f/from1.txt')!r}")
    t_heal = time.time()
    cluster("heal", 2, "switch")
    step("f: after heal, wait-sync converges", lambda: cluster("wait-sync", "--timeout", 45).returncode == 0)
    print(f"    in sync {time.time() - t_heal:.1f} s after the heal")
    # Not asserted here: the step below names which reconnections are missing.
    reconnected = wait_until(lambda: all(first_connections(since(node_log(2), t_heal)).get(idmap[j])
                                         for j in (1, 3, 4, 5)), 12, 0.2)
    reconn = {j: (lambda t: None if t is None else t - t_heal)(
        first_connections(since(node_log(2), t_heal)).get(idmap[j])) for j in (1, 3, 4, 5)}
    print(f"    after heal node 2 reconnected to: {fmt_times(reconn)}")
    worst = None if None in reconn.values() else max(reconn.values())
    measured["partition heal, heal->node 2 reconnected to all"] = worst
    step("f: after heal node 2 is connected to all 4 others again within 7 s (5 s max backoff + 2 s)",
         lambda: (reconnected and worst is not None and worst <= 7.0) or fmt_times(reconn))
    step("f: both sides' changes everywhere",
         lambda: all(read(i, "f/from1.txt") == "made on 1 during the cut\n"
                     and read(i, "f/from2.txt") == "made on 2 during the cut\n"
                     and read(i, "f/shared.txt") is None
                     and read(i, "e/from2.txt") == "changed on 2 during the cut\n" for i in range(1, 6))
         or [(i, read(i, "f/from1.txt"), read(i, "f/from2.txt"), read(i, "f/shared.txt"),
              read(i, "e/from2.txt")) for i in range(1, 6)])


def scenario_groups():
    """c. two groups on one LAN: hosts 1, 3 in group 0; 2, 4 in group 1."""
    cluster("up", 4, "--groups", 2)
    idmap = ids(4)
    st = status()
    grp = {int(k): h["group"] for k, h in st["hosts"].items()}
    step("c: tools/cluster put hosts 1,3 in one group and 2,4 in another, with distinct keys",
         lambda: grp == {1: 0, 2: 1, 3: 0, 4: 1} and len(set(st["keys"])) == 2 or f"{grp} {st['keys']}")
    ok = wait_until(lambda: all_connected([1, 3], idmap) and all_connected([2, 4], idmap), 10, 0.2)
    step("c: each node connects to its group's other node", lambda: bool(ok))
    recs = browse(1, [addr(j) for j in (2, 3, 4)])
    tags = {r["addr"]: dict(t.split("=", 1) for t in r["txt"] if "=" in t).get("g") for r in recs}
    step("c: avahi-browse shows one g= tag per group, different between the groups",
         lambda: tags.get(addr(3)) and tags.get(addr(2)) == tags.get(addr(4))
         and tags.get(addr(2)) != tags.get(addr(3)) or tags)
    write(1, "g0.txt", "group 0 only\n")
    write(2, "g1.txt", "group 1 only\n")
    step("c: a file of group 0 reaches host 3", lambda: wait_file(3, "g0.txt", "group 0 only\n", 10))
    step("c: a file of group 1 reaches host 4", lambda: wait_file(4, "g1.txt", "group 1 only\n", 10))
    time.sleep(3)
    step("c: no file crossed the groups",
         lambda: all(read(i, "g0.txt") is None for i in (2, 4))
         and all(read(i, "g1.txt") is None for i in (1, 3))
         or {i: sorted(os.listdir(path(i))) for i in range(1, 5)})

    def foreign():
        bad = []
        for i in range(1, 5):
            other = {idmap[j] for j in range(1, 5) if grp[j] != grp[i]}
            for t, _, m in node_log(i):
                c = CONNECTED.match(m) or DISCOVERED.match(m)
                if c and c.group(1) in other:
                    bad.append(f"h{i}: {m}")
        return not bad or bad
    step("c: no 'connected to' or 'discovered' line names a device of the other group", foreign)


def scenario_no_avahi():
    """d. no avahi-daemon (then no D-Bus either): one warning, static peers work, discovery resumes."""
    cluster("up", 2, "--static-peers")
    idmap = ids(2)
    assert wait_until(lambda: all_connected([1, 2], idmap), 10, 0.2), \
        "nodes 1 and 2 not connected within 10 s"
    warn = r"no avahi-daemon is running"

    for variant, daemons in (("no avahi-daemon", ["avahi"]), ("no D-Bus", ["avahi", "dbus"])):
        for d in daemons:
            cluster(d, 1, "stop")
        t0 = time.time()
        cluster("restart", 1)
        time.sleep(5.2)
        run = last_run(node_log(1))
        warns = grep(since(run, t0), warn)
        in5 = [w for w in warns if w[0] - run[0][0] <= 5.0]
        step(f"d ({variant}): node 1 logs exactly one '{warn}' WARN in its first 5 s",
             lambda: len(in5) == 1 and in5[0][1] == "WARN" and len(warns) == 1
             or [f"{t - run[0][0]:.2f} s {lv} {m}" for t, lv, m in warns])
        step(f"d ({variant}): node 1 does not publish (no 'mDNS: connected to avahi-daemon')",
             lambda: not grep(run, r"^mDNS: connected"))
        step(f"d ({variant}): node 1 connects to its static peer",
             lambda: bool(wait_until(lambda: all_connected([1, 2], idmap, t0), 10, 0.2)))
        write(1, f"d/{variant}.txt", "static\n")
        step(f"d ({variant}): a file syncs over the static peer",
             lambda: wait_file(2, f"d/{variant}.txt", "static\n", 10))
        t_up = time.time()
        for d in reversed(daemons):
            cluster(d, 1, "start")
        pub = wait_until(lambda: grep(since(node_log(1), t_up), r"^mDNS: connected to avahi-daemon"), 8, 0.1)
        if pub:
            print(f"    ({variant}) node 1 published {pub[0][0] - t_up:.2f} s after the daemons came back")
        step(f"d ({variant}): once the daemon runs again node 1 publishes",
             lambda: bool(pub) or "no 'mDNS: connected to avahi-daemon' within 8 s")
        step(f"d ({variant}): ... and node 2 discovers it, avahi-browse on host 2 lists it",
             lambda: bool(wait_until(lambda: grep(since(node_log(2), t_up), "^discovered " + idmap[1]), 8, 0.2)
                          and [r for r in browse(2, [addr(1)]) if r["addr"] == addr(1)])
             or "not discovered by node 2 / not listed by avahi-browse within 8 s")
        step(f"d ({variant}): still exactly one warning after the daemon came back",
             lambda: len(grep(since(last_run(node_log(1)), t0), warn)) == 1
             or grep(since(last_run(node_log(1)), t0), warn))


def tmp_files(i):
    d = os.path.join(path(i), ".cascade", "tmp")
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []


def scenario_kill_mid_transfer():
    """g. receiver SIGKILLed halfway through a 200 MB transfer, restarted: converges."""
    size = 200 << 20
    rate = "1gbit"  # 200 MB = 1600 Mbit: about 1.6-2 s at 1 Gbit/s (16 s at 100 Mbit/s)
    cluster("up", 2, "--rate", rate)
    idmap = ids(2)
    assert wait_until(lambda: all_connected([1, 2], idmap), 10, 0.2), \
        "nodes 1 and 2 not connected within 10 s"
    src = os.path.join(path(1), "big.bin")
    part = os.path.join(os.path.dirname(path(1)), "big.bin.part")  # same file system
    h = hashlib.sha256()
    with open(part, "wb") as f:  # written outside the folder, renamed in: one finished file
        for _ in range(size >> 20):
            b = os.urandom(1 << 20)
            h.update(b)
            f.write(b)
    want = h.hexdigest()
    os.rename(part, src)
    tmpdir = os.path.join(path(2), ".cascade", "tmp")
    t0 = time.monotonic()
    seen = {}

    def halfway():
        for n in os.listdir(tmpdir):
            try:
                s = os.stat(os.path.join(tmpdir, n))
            except FileNotFoundError:
                continue
            if s.st_size == size:
                seen["first"] = seen.get("first") or time.monotonic()
                if s.st_blocks * 512 >= size * 0.4:
                    seen["used"] = s.st_blocks * 512
                    return True
        return False
    hit = wait_until(halfway, 30, 0.005)
    if hit:
        cluster("kill", 2)
    partial = seen.get("used", 0)
    print(f"    killed the receiver with {partial / size:.0%} of the temp file written"
          f" ({time.monotonic() - t0:.1f} s after the file was complete on host 1,"
          f" {time.monotonic() - seen.get('first', t0):.2f} s after its temp file appeared)")
    step("g: the receiver was killed mid-transfer (temp file 40-95% written, no final file)",
         lambda: hit and partial < size * 0.95 and not os.path.exists(os.path.join(path(2), "big.bin"))
         or f"hit={hit}, written {partial}, final exists {os.path.exists(os.path.join(path(2), 'big.bin'))}")
    cluster("start", 2)
    t1 = time.monotonic()
    step("g: after restart, wait-sync converges", lambda: cluster("wait-sync", "--timeout", 90,
                                                                  timeout=120).returncode == 0)
    print(f"    converged {time.monotonic() - t1:.1f} s after the restart")

    def same():
        d = hashlib.sha256()
        with open(os.path.join(path(2), "big.bin"), "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                d.update(b)
        return d.hexdigest() == want or f"sha256 {d.hexdigest()} != {want}"
    step("g: host 2's big.bin is byte-identical", same)
    step("g: no file left in host 2's (or host 1's) .cascade/tmp",
         lambda: not tmp_files(2) and not tmp_files(1) or f"h2 {tmp_files(2)}, h1 {tmp_files(1)}")


def main():
    rc = run_main([("lan of 5: browse, connect times, --no-discovery, vanished service, partition",
                    scenario_lan),
                   ("two groups on one LAN", scenario_groups),
                   ("no avahi-daemon / no D-Bus, static peers", scenario_no_avahi),
                   ("receiver killed mid-transfer", scenario_kill_mid_transfer)],
                  540, "cascade-discovery-test-", report=lambda: print(
                      "measured: " + "; ".join(f"{k}: {'n/a' if v is None else f'{v:.2f} s'}"
                                              for k, v in measured.items())))
    return rc


if __name__ == "__main__":
    sys.exit(main())

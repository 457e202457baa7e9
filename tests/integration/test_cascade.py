#!/usr/bin/env python3
"""The push cascade on simulated LANs (tools/cluster; needs root, avahi-daemon, dbus).

Scenarios (discovery only, no --peer):
  chain   `up 5 --topology chain`: a 30 MB file on host 1 reaches host 5 byte-identical, hosts
          2-4 log "relay f: upstream <left>" and "relay f: downstream <right>", and relay it
          (host 4 starts receiving before host 2 has finished); the same from host 5 to host 1;
          200 small files in 10 directories from host 1 reach host 5; a rename and deletions on
          host 5 reach host 1.
  follow  `up 3 --topology chain`, links unshaped (the nodes, not the links, set the pace): a
          64 MB file from host 1 reaches host 3 byte-identical through host 2, which relays it
          while receiving; host 3 keeps up, so host 2 never hands it to repair ("fell far
          behind"), and no transfer or repair fails on any host.
  repair  `up 4 --rate 200mbit`: a 60 MB file from host 1; the first relay (the host whose log
          says "upstream <host 1>") is killed once its temp file is partly written; the others
          converge byte-identical with nothing left in .cascade/tmp; the killed one, started
          again, converges too.
  partial `up 3 --rate 50mbit`: host 3 is stopped; a 40 MB file from host 1 is pushed to host
          2; host 3, started while host 2 is still receiving, plans its pull from host 1 (and
          from host 2 as a partial holder if their session is up yet); host 1 is killed then.
          Nobody holds the file whole: hosts 2 and 3 complete each other from their partial
          files ("repair part.bin: ... from <h2> (partial)") until both keep the same verified
          chunks, and neither assembles a file; host 1 started again, all three hold it
          byte-identical, fetching only the chunks they still lacked.
  slow    `up 3 --rate 200mbit`: a 20 MB file from host 1; once host 1's first downstream X is
          known, the other host Y is slowed to 20 Mbit/s. X is not held to Y's pace: it has the
          file long before Y's link could carry it (limit: half of 8 s), and logs (within 5 s)
          that Y fell far behind and handed it to repair; Y completes by repair, byte-identical.
  sources `up 3 --rate 200mbit`: hosts 1 and 2 each write a different 40 MB file at the same
          moment; both reach every host within 1.25x of one such file alone plus the second
          file's bytes through host 3's shaped link (measured in the same run).
Runs in the root network namespace, in a private CASCADE_CLUSTER_DIR; bounded by a watchdog
(280 s); last line "N passed, N failed"; exit 77 if it cannot run here.
"""
import hashlib
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
from cluster_helpers import (CONNECTED, check, cluster, device_id, grep, last_run,  # noqa: E402
                             node_log, run_main, since, step, wait_until)

measured = {}  # printed at the end


def ids(n):
    """{host: device id} once every node has logged its start line."""
    got = wait_until(lambda: (lambda d: d if all(d.values()) else None)(
        {i: device_id(i) for i in range(1, n + 1)}), 10)
    assert got, "not every node logged its start line"
    return got


def connected(i, idmap, others):
    got = {CONNECTED.match(m).group(1) for _, _, m in last_run(node_log(i)) if CONNECTED.match(m)}
    return all(idmap[j] in got for j in others)


def wait_connected(idmap, neighbours, timeout=15):
    """Wait until every host logged "connected to" each of neighbours(i)."""
    ok = wait_until(lambda: all(connected(i, idmap, neighbours(i)) for i in idmap), timeout, 0.2)
    assert ok, "the nodes did not all connect to their neighbours"


def path(i):
    """Host i's folder (CLUSTER_DIR/hI/folder; no `tools/cluster path` process per file)."""
    return os.path.join(os.environ["CASCADE_CLUSTER_DIR"], f"h{i}", "folder")


def short(idmap, i):
    return idmap[i][:7]


def put(i, rel, data):
    """Write a file in host i's folder in one go (one write, then close)."""
    p = os.path.join(path(i), rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def digest(i, rel):
    try:
        with open(os.path.join(path(i), rel), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def wait_same(hosts, rel, data, timeout):
    """Wait until every host of hosts holds rel with exactly data."""
    want = hashlib.sha256(data).hexdigest()
    size = len(data)
    folders = {i: path(i) for i in hosts}

    def sized(i):
        try:
            return os.path.getsize(os.path.join(folders[i], rel)) == size
        except OSError:
            return False
    if not wait_until(lambda: all(sized(i) for i in hosts), timeout, 0.05):
        return f"{rel}: hosts {sorted(i for i in hosts if not sized(i))} lack the whole file " \
            f"after {timeout} s"
    bad = {i: digest(i, rel) for i in hosts if digest(i, rel) != want}
    return not bad or f"{rel}: want {want[:12]}, hosts {sorted(bad)} hold " \
        f"{ {i: (d or 'nothing')[:12] for i, d in bad.items()} }"


def first(lines, pattern):
    hit = grep(lines, pattern)
    return hit[0][0] if hit else None


def tmp_files(i):
    d = os.path.join(path(i), ".cascade", "tmp")
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []


def tmp_written(i, lo, hi):
    """Bytes written so far into a temp file of host i, if one holds between lo and hi (temp
    files are sized up front, sparse: their allocated blocks are what was written)."""
    d = os.path.join(path(i), ".cascade", "tmp")
    for n in tmp_files(i):
        try:
            st = os.stat(os.path.join(d, n))
        except OSError:
            continue
        if lo <= st.st_blocks * 512 < hi:
            return st.st_blocks * 512


def arrival_times(hosts, names, size, t0, timeout):
    """{(name, host): seconds after t0 at which host holds name with the right size} (polled every
    20 ms; the node installs a file by rename, so its final name with the right size means done)."""
    folders = {i: path(i) for i in hosts}
    done = {}
    end = time.monotonic() + timeout
    while len(done) < len(hosts) * len(names) and time.monotonic() < end:
        for n in names:
            for i in hosts:
                if (n, i) not in done:
                    try:
                        if os.path.getsize(os.path.join(folders[i], n)) == size:
                            done[(n, i)] = time.monotonic() - t0
                    except OSError:
                        pass
        time.sleep(0.02)
    return done


# ------------------------------------------------------------------------- scenarios

def check_relayed(idmap, order, rel, t0):
    """order: hosts from the source to the far end. Every middle host logged its upstream (the
    host before it) and its downstream (the host after it) for rel; the source its downstream; the
    end its upstream; and the host before the end started receiving before the first relay had
    received the whole file (relayed while arriving, not store-and-forward)."""
    logs = {i: since(last_run(node_log(i)), t0) for i in order}
    src, end = order[0], order[-1]
    bad = []
    for k, i in enumerate(order):
        up = order[k - 1] if k > 0 else None
        down = order[k + 1] if k + 1 < len(order) else None
        if up and not grep(logs[i], rf"^relay {re.escape(rel)}: upstream {short(idmap, up)}$"):
            bad.append(f"host {i} has no 'relay {rel}: upstream {short(idmap, up)}' (host {up})")
        if down and not grep(logs[i], rf"^relay {re.escape(rel)}: downstream {short(idmap, down)}$"):
            bad.append(f"host {i} has no 'relay {rel}: downstream {short(idmap, down)}' (host {down})")
    step(f"{rel}: every host logged its upstream and downstream along {'-'.join(map(str, order))}",
         lambda: not bad or "; ".join(bad) + "\n" + "\n".join(
             f"  h{i}: {[m for _, _, m in grep(logs[i], 'relay ' + re.escape(rel) + ':')]}" for i in order))
    last_up = first(logs[order[-2]], rf"^relay {re.escape(rel)}: upstream ")
    first_rx = first(logs[order[1]], rf"^received {re.escape(rel)} ")
    measured[f"{rel}: host {order[-2]} upstream line before host {order[1]} received, by"] = \
        None if last_up is None or first_rx is None else first_rx - last_up
    step(f"{rel}: relayed, not stored and forwarded (host {order[-2]}'s 'relay {rel}: upstream' is "
         f"earlier than host {order[1]}'s 'received {rel}')",
         lambda: (last_up is not None and first_rx is not None and last_up < first_rx)
         or f"host {order[-2]} upstream at {last_up}, host {order[1]} received at {first_rx}")
    received = [i for i in order[1:] if not grep(logs[i], rf"^received {re.escape(rel)} ")]
    step(f"{rel}: hosts {order[1]}-{end} logged 'received {rel}', host {src} did not",
         lambda: (not received and not grep(logs[src], rf"^received {re.escape(rel)} "))
         or f"missing on {received}")


def scenario_chain():
    cluster("up", 5, "--topology", "chain")
    idmap = ids(5)
    wait_connected(idmap, lambda i: [j for j in (i - 1, i + 1) if 1 <= j <= 5])
    hosts = list(range(1, 6))

    # one large file each way
    for src, order, rel in ((1, hosts, "f.bin"), (5, hosts[::-1], "g.bin")):
        data = os.urandom(30_000_000)
        t0 = time.time()
        put(src, rel, data)
        step(f"chain: a 30 MB file on host {src} reaches host {order[-1]} byte-identical",
             lambda: wait_same([order[-1]], rel, data, 40))
        measured[f"chain: 30 MB host {src} -> host {order[-1]}, s"] = time.time() - t0
        step(f"chain: and every host between", lambda: wait_same(hosts, rel, data, 10))
        check_relayed(idmap, order, rel, t0 - 1)

    # 200 small files in 10 directories: inline with the index records, hop by hop
    small = {f"small/d{d}/s{k}.txt": (f"small file {d}/{k}\n" * (1 + k)).encode()
             for d in range(10) for k in range(20)}
    t0 = time.monotonic()
    for rel, data in small.items():
        put(1, rel, data)

    def small_on_5():
        for rel, data in small.items():
            try:
                with open(os.path.join(path5, rel), "rb") as f:
                    if f.read() != data:
                        return False
            except OSError:
                return False
        return True
    path5 = path(5)
    ok = wait_until(small_on_5, 40, 0.1)
    measured["chain: 200 small files host 1 -> host 5, s"] = time.monotonic() - t0
    step("chain: 200 small files in 10 directories on host 1 reach host 5",
         lambda: ok or f"{sum(1 for r in small if os.path.exists(os.path.join(path5, r)))} of 200 there")

    # a rename of the large file, a rename of a small one and deletions, on host 5
    g = open(os.path.join(path(5), "g.bin"), "rb").read()
    p5 = path(5)
    os.rename(os.path.join(p5, "g.bin"), os.path.join(p5, "g-renamed.bin"))
    os.rename(os.path.join(p5, "small/d0/s0.txt"), os.path.join(p5, "small/d0/renamed.txt"))
    os.unlink(os.path.join(p5, "small/d1/s1.txt"))
    os.unlink(os.path.join(p5, "f.bin"))
    p1 = path(1)

    def on_1():
        return (not os.path.exists(os.path.join(p1, "g.bin"))
                and not os.path.exists(os.path.join(p1, "f.bin"))
                and not os.path.exists(os.path.join(p1, "small/d0/s0.txt"))
                and not os.path.exists(os.path.join(p1, "small/d1/s1.txt"))
                and os.path.exists(os.path.join(p1, "small/d0/renamed.txt"))
                and os.path.exists(os.path.join(p1, "g-renamed.bin"))
                and os.path.getsize(os.path.join(p1, "g-renamed.bin")) == len(g))
    t0 = time.monotonic()
    ok = wait_until(on_1, 40, 0.1)
    measured["chain: renames and deletions host 5 -> host 1, s"] = time.monotonic() - t0
    step("chain: renames (30 MB and small) and deletions (30 MB and small) on host 5 reach host 1",
         lambda: ok or f"host 1 has {sorted(os.listdir(p1))}")
    step("chain: the renamed files' contents on host 1",
         lambda: digest(1, "g-renamed.bin") == hashlib.sha256(g).hexdigest()
         and open(os.path.join(p1, "small/d0/renamed.txt"), "rb").read() == small["small/d0/s0.txt"])
    step("chain: wait-sync", lambda: cluster("wait-sync", "--timeout", 30).returncode == 0)


def scenario_follow():
    cluster("up", 3, "--topology", "chain")
    idmap = ids(3)
    wait_connected(idmap, lambda i: [j for j in (i - 1, i + 1) if 1 <= j <= 3])
    data = os.urandom(64_000_000)
    t0 = time.time()
    m0 = time.monotonic()
    put(1, "follow.bin", data)
    got = arrival_times([2, 3], ["follow.bin"], len(data), m0, 40)
    measured["follow: host 2, host 3 have the 64 MB file after, s"] = [
        got.get(("follow.bin", i)) for i in (2, 3)]
    step("follow: a 64 MB file on host 1 reaches hosts 2 and 3 byte-identical",
         lambda: wait_same([2, 3], "follow.bin", data, 5))
    check_relayed(idmap, [1, 2, 3], "follow.bin", t0 - 1)
    logs = {i: since(last_run(node_log(i)), t0 - 1) for i in (1, 2, 3)}
    step("follow: host 3 kept up: nobody was handed to repair ('fell far behind', offer timeout)",
         lambda: not any(grep(logs[i], r"^relay follow\.bin: .*(fell far behind|did not answer)")
                         for i in (1, 2))
         or [m for i in (1, 2) for _, _, m in grep(logs[i], r"^relay follow")])
    bad = r"^(transfer of follow\.bin failed|relay follow\.bin: .*(stopped|pulling))|cannot read"
    step("follow: no transfer, relay or repair failed on any host",
         lambda: not any(grep(logs[i], bad) for i in logs)
         or [m for i in logs for _, _, m in grep(logs[i], bad)])


def switch_up(n, rate):
    """`up n --rate rate` (a switch), every node connected to every other; returns the ids."""
    cluster("up", n, "--rate", rate)
    idmap = ids(n)
    wait_connected(idmap, lambda i: [j for j in range(1, n + 1) if j != i])
    return idmap


def first_relay(idmap, rel, t0, interval=0.02):
    """The host that logged 'relay REL: upstream <host 1>' since t0 (host 1's first downstream)."""
    pattern = rf"^relay {re.escape(rel)}: upstream {short(idmap, 1)}$"
    return wait_until(lambda: next((i for i in idmap if i != 1 and grep(
        since(last_run(node_log(i)), t0 - 1), pattern)), None), 10, interval)


def scenario_repair():
    idmap = switch_up(4, "200mbit")
    data = os.urandom(60_000_000)
    t0 = time.time()
    put(1, "big.bin", data)
    r = first_relay(idmap, "big.bin", t0)
    assert r, "no host logged 'relay big.bin: upstream <host 1>'"
    print(f"    host {r} is host 1's first downstream", flush=True)
    written = wait_until(lambda: tmp_written(r, 4_000_000, len(data) - 4_000_000), 10, 0.01)
    cluster("kill", r)
    check(f"repair: host {r} killed with its temp file partly written "
          f"({(written or 0) / 1e6:.0f} of 60 MB)", written)
    survivors = [i for i in range(1, 5) if i != r]
    t1 = time.monotonic()
    step(f"repair: wait-sync over the running hosts {survivors}",
         lambda: cluster("wait-sync", "--timeout", 60).returncode == 0)
    measured["repair: kill -> survivors in sync, s"] = time.monotonic() - t1
    step("repair: every survivor holds the 60 MB file byte-identical",
         lambda: wait_same(survivors, "big.bin", data, 5))
    step("repair: nothing left in any survivor's .cascade/tmp",
         lambda: not any(tmp_files(i) for i in survivors) or {i: tmp_files(i) for i in survivors})
    retries = {i: len(grep(since(last_run(node_log(i)), t0 - 1), r"^transfer of big\.bin failed"))
               for i in survivors}
    measured["repair: 'transfer of big.bin failed' lines per survivor"] = retries
    step("repair: the survivors' retries are paced (at most 20 failed transfers each)",
         lambda: max(retries.values()) <= 20 or retries)
    cluster("start", r)
    t1 = time.monotonic()
    step(f"repair: host {r} started again: wait-sync over all 4",
         lambda: cluster("wait-sync", "--timeout", 60).returncode == 0)
    measured["repair: restart -> all in sync, s"] = time.monotonic() - t1
    step(f"repair: host {r} holds the file byte-identical, nothing in its .cascade/tmp",
         lambda: (wait_same([r], "big.bin", data, 5) is True and not tmp_files(r))
         or (digest(r, "big.bin"), tmp_files(r)))


def kept(i, t0):
    """(chunks kept, of) from host i's last 'transfer of part.bin failed: ... kept N of M' line
    logged at or after t0, else None."""
    hits = grep(since(last_run(node_log(i)), t0), r"^transfer of part\.bin failed: .*; kept \d+ of \d+ ")
    if not hits:
        return None
    m = re.search(r"; kept (\d+) of (\d+) ", hits[-1][2])
    return int(m.group(1)), int(m.group(2))


def scenario_partial():
    idmap = switch_up(3, "50mbit")
    x, y = 2, 3
    cluster("kill", y)  # offline while host 1 pushes the file to host 2 alone
    data = os.urandom(40_000_000)
    t0 = time.time()
    put(1, "part.bin", data)
    check(f"partial: host {x} is receiving the file (its temp file passed 4 MB)",
          wait_until(lambda: tmp_written(x, 4_000_000, 30_000_000), 15, 0.01))
    cluster("start", y)
    t_start = time.time()

    def repair_line(t):
        hits = grep(since(last_run(node_log(y)), t), r"^repair part\.bin: ")
        return hits[0][2] if hits else None
    line = wait_until(lambda: repair_line(t_start), 15, 0.01)
    t_kill = time.time()
    cluster("kill", 1)
    measured["partial: host Y's first plan"] = line
    # Host 3 may plan before its session to host 2 is up (discovery lets the smaller id dial
    # first): then host 2 joins its plans after host 1 dies (checked below).
    step(f"partial: host {y}, started while host {x} was receiving, pulls from host 1"
         + (f" and from host {x} as a partial holder" if line and "(partial)" in line else ""),
         lambda: bool(line and re.search(rf"from {short(idmap, 1)}(,| |$)", line)) or line)

    def same_kept():
        kx, ky = kept(x, t_kill), kept(y, t_kill)
        return kx and ky and kx == ky and kx
    both = wait_until(same_kept, 40, 0.2)
    measured["partial: chunks kept by hosts X and Y once host 1 died"] = both
    step(f"partial: with host 1 gone, hosts {x} and {y} complete each other from their partial "
         f"files and end with the same verified chunks, short of the whole file",
         lambda: (both and both[0] < both[1]) or (kept(x, t_kill), kept(y, t_kill)))
    step(f"partial: after host 1 died, host {y} repaired from host {x} (partial)",
         lambda: bool(grep(since(last_run(node_log(y)), t_kill),
                           rf"^repair part\.bin: .*from {short(idmap, x)} \(partial\)"))
         or [m for _, _, m in grep(since(last_run(node_log(y)), t_kill), r"^repair part")])
    step("partial: no file was assembled from part of the chunks",
         lambda: not any(os.path.exists(os.path.join(path(i), "part.bin")) for i in (x, y)))
    cluster("start", 1)
    t1 = time.monotonic()
    step("partial: host 1 started again: wait-sync over all 3",
         lambda: cluster("wait-sync", "--timeout", 60).returncode == 0)
    measured["partial: restart -> all in sync, s"] = time.monotonic() - t1
    step("partial: every host holds the 40 MB file byte-identical, no temp file left",
         lambda: (wait_same([1, 2, 3], "part.bin", data, 5) is True
                  and not any(tmp_files(i) for i in (1, 2, 3)))
         or {i: tmp_files(i) for i in (1, 2, 3)})

    def fetched(i):
        hit = grep(since(last_run(node_log(i)), t_kill), r"^received part\.bin \(\d+ bytes fetched")
        return int(re.search(r"\((\d+) bytes", hit[-1][2]).group(1)) if hit else None
    got = {i: fetched(i) for i in (x, y)}
    measured["partial: bytes fetched by the last attempt, X and Y"] = got
    step("partial: the last attempts fetched only what was still missing (kept chunks reused)",
         lambda: all(v is not None and v < len(data) for v in got.values()) or got)


def scenario_slow():
    idmap = switch_up(3, "200mbit")
    # 40 MB: most of it must still be on its way when Y's link is slowed (after the first relay
    # line); at 200 Mbit/s X has 20 MB within a second, before the shaping is in place.
    data = os.urandom(40_000_000)
    t0 = time.time()
    m0 = time.monotonic()
    put(1, "slow.bin", data)
    x = first_relay(idmap, "slow.bin", t0, 0.01)
    assert x, "no host logged 'relay slow.bin: upstream <host 1>'"
    y = 5 - x
    cluster("rate", y, "20mbit")
    print(f"    host {x} is host 1's first downstream; host {y} slowed to 20 Mbit/s", flush=True)
    got = arrival_times([x], ["slow.bin"], len(data), m0, 30)
    t_x = got.get(("slow.bin", x))
    measured["slow: host X has the file after, s"] = t_x
    # Y's link alone needs 40 MB * 8 / 20 Mbit/s = 16 s: X held to Y's pace would take as long.
    step(f"slow: host {x} has the file in under 4 s, not held to host {y}'s 20 Mbit/s (16 s)",
         lambda: (t_x is not None and t_x < 4) or t_x)
    # Judged over a window (core::downstream_pace): about 1.5 s after host Y's push began.
    dropped = wait_until(lambda: grep(since(last_run(node_log(x)), t0),
                                      rf"^relay slow\.bin: {short(idmap, y)} fell far behind"), 5, 0.1)
    step(f"slow: host {x} handed host {y} to repair ('fell far behind')",
         lambda: bool(dropped) or
         [m for _, _, m in grep(since(last_run(node_log(x)), t0), r"^relay slow")])
    step(f"slow: host {y} completes by repair, byte-identical",
         lambda: wait_same([y], "slow.bin", data, 60))
    measured["slow: host Y has the file after, s"] = time.monotonic() - m0
    down = cluster("down")
    step("slow: every node stops cleanly on SIGTERM afterwards (no relay or upload left behind)",
         lambda: "SIGKILL" not in down.stdout + down.stderr or (down.stdout + down.stderr))


def scenario_sources():
    switch_up(3, "200mbit")
    size = 40_000_000
    hosts = [1, 2, 3]

    solo = os.urandom(size)
    t0 = time.monotonic()
    put(1, "solo.bin", solo)
    got = arrival_times(hosts, ["solo.bin"], size, t0, 60)
    t_one = max(got.values()) if len(got) == 3 else None
    step("sources: one 40 MB file from host 1 reaches hosts 2 and 3",
         lambda: t_one is not None and wait_same(hosts, "solo.bin", solo, 5))
    time.sleep(1)

    a, b = os.urandom(size), os.urandom(size)
    go = threading.Barrier(2)

    def writer(i, rel, data):
        go.wait()
        put(i, rel, data)
    ts = [threading.Thread(target=writer, args=(1, "a.bin", a)),
          threading.Thread(target=writer, args=(2, "b.bin", b))]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    got2 = arrival_times(hosts, ["a.bin", "b.bin"], size, t0, 90)
    t_two = max(got2.values()) if len(got2) == 6 else None
    step("sources: hosts 1 and 2 write a different 40 MB file at once: both reach every host "
         "byte-identical", lambda: t_two is not None and wait_same(hosts, "a.bin", a, 5) is True
         and wait_same(hosts, "b.bin", b, 5))
    measured["sources: one file to all, s"] = t_one
    measured["sources: two files from two sources to all, s"] = t_two
    measured["sources: per host, two files"] = {f"{n}@h{i}": round(v, 2) for (n, i), v in sorted(got2.items())}
    ratio = t_two / t_one if t_one and t_two else None
    measured["sources: ratio two/one"] = ratio
    # Every link is shaped both ways, so host 3 downloads both files through one 200 Mbit/s
    # link: 2 x 40 MB take 3.2 s there, against 1.6 s for one file (plus fixed costs).
    measured["sources: host 3's downlink alone needs, s"] = 2 * size * 8 / 200e6
    # Host 3 must download both files through one shaped link, so "about the time of one" is
    # one file's time plus the second file's bytes over that link; no global lock may add to it.
    floor = t_one + size * 8 / 200e6 if t_one else None
    measured["sources: one file + the second through host 3's link, s"] = floor
    step("sources: two sources at once take at most 1.25x what the shared link allows",
         lambda: (floor is not None and t_two is not None and t_two <= 1.25 * floor)
         or f"two files {t_two} s, one {t_one} s, link floor {floor} s")


def report():
    print("measured:")
    for k, v in measured.items():
        print(f"  {k}: {f'{v:.2f}' if isinstance(v, float) else v}")


def main():
    return run_main([("chain", scenario_chain), ("follow", scenario_follow),
                     ("repair", scenario_repair),
                     ("partial", scenario_partial), ("slow", scenario_slow),
                     ("sources", scenario_sources)],
                    280, "cascade-cascade-test-", report=report)


if __name__ == "__main__":
    sys.exit(main())

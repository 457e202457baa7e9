#!/usr/bin/env python3
"""Discovery under a flood of fake services (issue 10; tools/cluster; needs root, avahi, dbus).

Host 3's avahi-daemon publishes 2,000 `_cascade._tcp` services with our group's g= tag and
random id= (static service files bound over /etc/avahi/services inside host 3's own mount
namespace): 1,000 at host 3's address on ports where nothing listens (refused at once) and
1,000 on 40 made-up hosts: 20 black-hole at 198.18.0.1xx (ARP gets no answer: each connect
hangs for about 3 s; at 20 dials a second about 10 of them start each second, so 30 would be
pending without the cap of 16, which is therefore always full) and 20 at 198.18.1.1xx have no
route in the hosts (the connect fails at once, so the rate cap binds). Node 1 must keep within the caps (core/discovery.hpp): at most 256 services
tracked, at most 16 per address, at most 20 dial attempts per second (burst 20) and 16 connects
pending at once, threads and memory bounded; and a real node that starts during the flood
(host 2) is still found and syncs a file both ways. Bounded by a watchdog (150 s); last line
"N passed, N failed"; exit 77 if it cannot run here.
"""
import json
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
from cluster_helpers import (CLUSTER, cluster, grep, node_log, protocol_version, run_main,
                             status, step,  # noqa: E402
                             wait_file, wait_until, write)

FAKES = 2000
FAKE_HOSTS = 40          # at 198.18.0.1xx and 198.18.1.1xx: nobody there
MAX_TRACKED = 256        # core::discovery_limits
MAX_PER_HOST = 16
DIAL_RATE, DIAL_BURST, MAX_PENDING = 20, 20, 16  # core::dial_limits
measured = {}


def discovery_counters(i):
    r = subprocess.run([sys.executable, CLUSTER, "console", str(i), "--json", "actors"],
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        return None
    for a in json.loads(r.stdout).get("actors", []):
        if a.get("name") == "discovery":
            return a.get("counters", {})
    return None


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return {"threads": int(out["Threads"]), "rss_kib": int(out["VmRSS"].split()[0])}


def group_tag():
    """g= of host 1's own service, as host 3 sees it."""
    def once():
        out = cluster("exec", 3, "avahi-browse", "-rpt", "_cascade._tcp", check=False,
                      quiet=True).stdout
        for line in out.splitlines():
            f = line.split(";", 9)
            if f[0] == "=" and len(f) == 10 and f[7] == "198.18.0.1":
                for t in f[9].split('" "'):
                    t = t.strip('"')
                    if t.startswith("g="):
                        return t[2:]
        return None
    g = wait_until(once, 15, 0.5)
    assert g, "host 1's service (and its g= tag) not seen from host 3"
    return g


B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def format_device_id(raw):
    """core::format_device_id: base32 of 32 bytes, a Luhn mod 32 check char, groups of 7."""
    bits = int.from_bytes(raw, "big") << 4  # 256 bits padded to 260 = 52 chars
    digits = "".join(B32[(bits >> (5 * (51 - k))) & 31] for k in range(52))
    factor, total = 2, 0
    for ch in reversed(digits):
        addend = factor * B32.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    digits += B32[(32 - total % 32) % 32]
    return "-".join(digits[k:k + 7] for k in range(0, len(digits), 7))


def write_fakes(base, g):
    """Static avahi service files and a hosts file for the fakes; returns the two paths."""
    rnd = random.Random(10)
    sdir = os.path.join(base, "fake-services")
    os.makedirs(sdir)
    for k in range(FAKES):
        fake_id = format_device_id(bytes(rnd.randrange(256) for _ in range(32)))
        host = "" if k % 2 == 0 else f"<host-name>fake{k // 2 % FAKE_HOSTS}.local</host-name>"
        port = 20000 + k
        with open(os.path.join(sdir, f"f{k}.service"), "w") as f:
            f.write(f"""<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>fake-{k}</name><service protocol="ipv4"><type>_cascade._tcp</type>
<port>{port}</port>{host}<txt-record>id={fake_id}</txt-record><txt-record>g={g}</txt-record>
<txt-record>v={protocol_version()}</txt-record></service></service-group>
""")
    hosts = os.path.join(base, "fake-hosts")
    with open(hosts, "w") as f:
        for h in range(FAKE_HOSTS):
            # half black-hole (ARP gets no answer: ~3 s), half have no route (fail at once)
            f.write(f"198.18.{0 if h % 2 == 0 else 1}.{100 + h} fake{h}.local\n")
    return sdir, hosts


def scenario_flood():
    # avahi-daemon keeps at most cache-entries-max (default 4096) records and drops new ones
    # when full: 2,000 services (3 records each) would hide a real peer that comes later from
    # the daemon itself, whatever the node does (README, Discovery). The test is about the
    # node's caps, so its daemons get room for the whole flood.
    os.environ["CASCADE_AVAHI_SERVER"] = "cache-entries-max=16384"
    cluster("up", 3)
    base = os.environ["CASCADE_CLUSTER_DIR"]
    g = group_tag()
    # Only node 1 (observed) runs while the flood starts; node 2 joins during it.
    cluster("kill", 2)
    cluster("kill", 3)
    sdir, hosts = write_fakes(base, g)
    cluster("avahi", 3, "stop")
    cluster("exec", 3, "sh", "-ec", f"mount --bind {sdir} /etc/avahi/services; "
            f"mount --bind {hosts} /etc/avahi/hosts")
    pid1 = status()["hosts"]["1"]["node"]["pid"]
    before = proc_status(pid1)
    c0 = discovery_counters(1)
    t_flood = time.time()
    cluster("avahi", 3, "start")

    # Sample while the flood lasts: the counters, dial rate, threads and RSS of node 1.
    samples = []
    end = time.monotonic() + 20
    while time.monotonic() < end:
        c = discovery_counters(1)
        if c:
            samples.append((time.monotonic(), c, proc_status(pid1)))
        time.sleep(1)
    assert samples, "no console answers from node 1"
    last = samples[-1][1]
    tracked_max = max(s[1].get("tracked", 0) for s in samples)
    measured.update(tracked=tracked_max, hosts=last.get("hosts"), capped=last.get("capped"),
                    evicted=last.get("evicted"), ignored=last.get("ignored"))
    print(f"    discovery counters after 20 s: {last}")
    # Dial attempts per second over every window of 5 s (burst + rate * 5 at most).
    rates = []
    for a in range(len(samples)):
        for b in range(a + 1, len(samples)):
            dt = samples[b][0] - samples[a][0]
            if 4.5 <= dt <= 6:
                rates.append((samples[b][1]["dial_attempts"] - samples[a][1]["dial_attempts"]) / dt)
    measured["dials/s (max over 5 s windows)"] = round(max(rates), 1) if rates else None
    measured["peak pending"] = last.get("dial_peak_pending")
    threads = max(s[2]["threads"] for s in samples)
    rss = max(s[2]["rss_kib"] for s in samples)
    measured.update(threads_before=before["threads"], threads_max=threads,
                    rss_before_kib=before["rss_kib"], rss_max_kib=rss)
    print(f"    measured: {measured}")

    step("the fake services reach node 1 (more answers than the cap)",
         lambda: last.get("tracked", 0) + last.get("capped", 0) > MAX_TRACKED or last)
    step(f"at most {MAX_TRACKED} services tracked, and the cap is reached",
         lambda: tracked_max == MAX_TRACKED or f"tracked at most {tracked_max}")
    step(f"at most {MAX_PER_HOST} per address (41 addresses hold 256 services)",
         lambda: last.get("hosts", 0) * MAX_PER_HOST >= last.get("tracked", 0) or last)
    step(f"dial attempts stay within {DIAL_RATE}/s (burst {DIAL_BURST}) and something is dialed",
         lambda: (rates and max(rates) <= DIAL_RATE + DIAL_BURST / 5 + 1
                  and last["dial_attempts"] - c0.get("dial_attempts", 0) >= 3 * DIAL_RATE)
         or f"rates {rates}, attempts {last.get('dial_attempts')}")
    step(f"at most {MAX_PENDING} connects pending at once, and the cap is used",
         lambda: last.get("dial_peak_pending", 0) == MAX_PENDING or last)
    step("ignored-service warnings are rate-limited (at most 1 a minute)",
         lambda: len(grep([ln for ln in node_log(1) if ln[0] >= t_flood], r"^discovery: .* ignoring "))
         <= 1 or "more than one warning")
    step("threads bounded: at most 4 more than before the flood",
         lambda: threads <= before["threads"] + 4 or f"{before['threads']} -> {threads}")
    step("memory bounded: RSS grows by less than 64 MiB",
         lambda: rss - before["rss_kib"] < 64 * 1024 or f"{before['rss_kib']} -> {rss} KiB")

    # A real node joins during the flood: found, connected, syncing both ways.
    t_join = time.time()
    cluster("start", 2)
    ok = wait_until(lambda: grep([ln for ln in node_log(1) if ln[0] >= t_join],
                                 r"^connected to \S+ at 198\.18\.0\.2:"), 30, 0.2)
    found = grep([ln for ln in node_log(1) if ln[0] >= t_join], r"^discovered \S+ at 198\.18\.0\.2:")
    # From the start of node 2: avahi needs a while to announce it on a flooded LAN; then the
    # tie-break (the larger id waits 2 s) and the dial queue.
    measured["real peer discovered after (s)"] = round(found[0][0] - t_join, 2) if found else None
    measured["real peer connected after (s)"] = round(ok[0][0] - t_join, 2) if ok else None
    step("a real node started during the flood is connected within 30 s", lambda: bool(ok))
    write(2, "from2.txt", "hello from host 2\n")
    step("a file written on host 2 reaches host 1", lambda: wait_file(1, "from2.txt",
                                                                       "hello from host 2\n", 20))
    write(1, "from1.txt", "hello from host 1\n")
    step("a file written on host 1 reaches host 2", lambda: wait_file(2, "from1.txt",
                                                                       "hello from host 1\n", 20))
    c = discovery_counters(1)
    step("still within the caps after the real peer joined",
         lambda: c and c.get("tracked", 0) <= MAX_TRACKED or c)


def main():
    return run_main([("2,000 fake services, one real peer", scenario_flood)], 150,
                    "cascade-flood-test-", report=lambda: print(f"measured: {measured}"))


if __name__ == "__main__":
    sys.exit(main())

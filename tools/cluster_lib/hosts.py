"""Building a cluster (`up`), starting nodes, and tearing everything down (`down`)."""
import os
import subprocess
import time

from . import net, proc
from .common import (CDIR, ROLES, folder, hdir, in_host, logpath, ns_pid, record, say, tail,
                     wait_for)


def start_holder(st, put, cmd, log):
    """Start a namespace holder, record it at once (so `down` finds it even if we die now), and
    wait until its namespaces exist (unshare has exec'd sleep)."""
    rec = proc.spawn(cmd, log)
    put(rec)
    st.save()
    root_ns = proc.netns_inode("self")
    wait_for(f"namespace holder {rec['pid']}",
             lambda: proc.comm(rec["pid"]) == "sleep" and proc.netns_inode(rec["pid"]) != root_ns,
             10, lambda: None if proc.alive(rec) else f"{' '.join(cmd)} exited: {tail(log)}")
    rec["netns"] = proc.netns_inode(rec["pid"])
    st.save()


def build(st):
    d = st.data
    n, topo = d["n"], d["topology"]
    t0 = time.monotonic()
    # 1. namespace holders, recorded as soon as they exist
    if topo == "switch":
        start_holder(st, lambda r: d.update(switch=r), ["unshare", "--net", "sleep", "infinity"],
                     os.path.join(CDIR, "switch.log"))
    for i in range(1, n + 1):
        os.makedirs(folder(i))
        start_holder(st, lambda r: d["hosts"].__setitem__(str(i), {"holder": r}),
                     ["unshare", "--net", "--mount", "--uts", "--propagation", "private",
                      "sleep", "infinity"], os.path.join(hdir(i), "holder.log"))
    # 2. inside each namespace: no IPv6 (new devices inherit 'default'), lo up, hostname, /run
    no6 = ("echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; "
           "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; ip link set lo up; ")
    if topo == "switch":
        subprocess.run(["nsenter", "-t", str(d["switch"]["pid"]), "-n", "sh", "-ec",
                        no6 + "ip link add br0 type bridge stp_state 0 forward_delay 0 "
                        "mcast_snooping 0; ip link set br0 up"], check=True)
    for i in range(1, n + 1):
        subprocess.run(in_host(ns_pid(st, i), [
            "sh", "-ec", no6 + f"hostname host{i}; mount -t tmpfs -o mode=0755,size=16m tmpfs /run;"
            " mkdir -p /run/dbus /run/avahi-daemon"]), check=True)
    # 3. links: each veth pair is made inside one of our namespaces, the peer end goes straight
    #    into the other one by PID
    for ln in d["links"]:
        a, b = ln["ends"]
        mk, other = (b, a) if b["ns"] == "switch" else (a, b)
        net.ip_batch(ns_pid(st, mk["ns"]), [f"link add {mk['dev']} type veth peer name "
                                            f"{other['dev']} netns {ns_pid(st, other['ns'])}"])
        if mk["ns"] == "switch":
            net.ip_batch(ns_pid(st, "switch"), [f"link set {mk['dev']} master br0",
                                                 f"link set {mk['dev']} up"])
    for i in range(1, n + 1):
        cmds = []
        for _, me, _ in net.host_links(d["links"], i):
            cmds += [f"addr add {me['addr']} dev {me['dev']}", f"link set {me['dev']} up"]
        net.ip_batch(ns_pid(st, i), cmds)
    if d["rate"]:
        for ln in d["links"]:
            ln["rate"] = d["rate"]
            for e in ln["ends"]:
                net.shape(ns_pid(st, e["ns"]), e["dev"], d["rate"])
    t_net = time.monotonic()
    # 4. D-Bus system bus per host
    for i in range(1, n + 1):
        spawn_dbus(st, i)
    for i in range(1, n + 1):
        wait_dbus(st, i)
    # 5. avahi-daemon per host
    offsets = {i: spawn_avahi(st, i) for i in range(1, n + 1)}
    for i in range(1, n + 1):
        wait_avahi(st, i, offsets[i])
    t_daemons = time.monotonic()
    # 6. nodes
    for i in range(1, n + 1):
        start_node(st, i, wait=False)
    for i in range(1, n + 1):
        wait_node(st, i)
    say(f"up: {n} hosts ({topo}{', ' + d['rate'] if d['rate'] else ''}"
        f"{', static peers' if d['static_peers'] else ', discovery only'}) in "
        f"{time.monotonic() - t0:.1f} s (net {t_net - t0:.1f} s, dbus+avahi {t_daemons - t_net:.1f} s,"
        f" nodes {time.monotonic() - t_daemons:.1f} s); dir {CDIR}")


def dbus_socket(st, i):
    """The host's system bus socket, seen through its namespace holder's root."""
    return f"/proc/{ns_pid(st, i)}/root/run/dbus/system_bus_socket"


def spawn_dbus(st, i):
    sock = dbus_socket(st, i)
    if os.path.lexists(sock):  # left by a dbus-daemon that was killed: it would block the new one
        os.unlink(sock)
    record(st, i, "dbus", proc.spawn(in_host(ns_pid(st, i), [
        "dbus-daemon", "--system", "--nofork", "--nopidfile"]), logpath(i, "dbus")))


def wait_dbus(st, i):
    rec = st.data["hosts"][str(i)]["dbus"]
    wait_for(f"host {i}'s D-Bus socket", lambda: os.path.exists(dbus_socket(st, i)), 10,
             lambda: None if proc.alive(rec) else f"dbus-daemon of host {i} exited:\n"
             + tail(logpath(i, "dbus")))


def spawn_avahi(st, i):
    """Start host i's avahi-daemon; returns the size of its log before, for wait_avahi."""
    conf = os.path.join(hdir(i), "avahi-daemon.conf")
    with open(conf, "w") as f:
        f.write(net.avahi_conf(i, net.host_devs(st.data["links"], i)))
    log = logpath(i, "avahi")
    offset = os.path.getsize(log) if os.path.exists(log) else 0
    record(st, i, "avahi", proc.spawn(in_host(ns_pid(st, i), [
        "avahi-daemon", "-f", conf, "--no-chroot", "--no-drop-root", "--no-rlimits"]), log))
    return offset


def wait_avahi(st, i, offset=0):
    rec = st.data["hosts"][str(i)]["avahi"]

    def started():
        with open(logpath(i, "avahi"), errors="replace") as f:
            f.seek(offset)
            return "Server startup complete" in f.read()
    wait_for(f"host {i}'s avahi-daemon", started, 15,
             lambda: None if proc.alive(rec) else f"avahi-daemon of host {i} exited:\n"
             + tail(logpath(i, "avahi")))


def host_group(d, i):
    """Host i's group number: (i - 1) % number of group keys."""
    return (i - 1) % len(d.get("keys") or [d["key"]])


def host_key(d, i):
    return (d.get("keys") or [d["key"]])[host_group(d, i)]


def node_argv(st, i):
    d = st.data
    argv = [d["node"], "--dir", folder(i), "--key", host_key(d, i), "--port", str(net.PORT),
            "--log-level", "debug"]
    if d["static_peers"]:
        for p in net.static_peers(d["links"], d["topology"], d["n"], i):
            argv += ["--peer", p]
    return argv


def start_node(st, i, wait=True):
    argv = node_argv(st, i)
    hdr = f"=== tools/cluster {time.strftime('%H:%M:%S')}: start node {i}: {' '.join(argv)}\n"
    record(st, i, "node", proc.spawn(in_host(ns_pid(st, i), argv), logpath(i), cwd=hdir(i), header=hdr))
    if wait:
        wait_node(st, i)
    return st.data["hosts"][str(i)]["node"]


def wait_node(st, i):
    rec = st.data["hosts"][str(i)]["node"]
    wait_for(f"node {i} to listen on port {net.PORT}", lambda: net.listening(rec["pid"])[0], 20,
             lambda: None if proc.alive(rec) else f"node {i} exited at startup:\n" + tail(logpath(i)))


def all_recs(d):
    out = [h[r] for h in d["hosts"].values() for r in ROLES + ("holder",) if h.get(r)]
    return out + ([d["switch"]] if d.get("switch") else [])


def teardown(st):
    t0 = time.monotonic()
    d = st.data
    holders = [h["holder"] for h in d["hosts"].values() if h.get("holder")]
    if d.get("switch"):
        holders.append(d["switch"])
    # our namespaces: only those of holders that are provably still ours, never the root one
    root_ns = proc.netns_inode(os.getpid())
    ours = {r["netns"] for r in holders
            if proc.alive(r) and proc.netns_inode(r["pid"]) == r.get("netns") != root_ns}
    counts = []
    for role in ROLES:
        recs = sorted((h[role] for h in d["hosts"].values() if h.get(role)),
                      key=lambda r: -r.get("seq", 0))
        # a daemon must still be the process we started, and in one of our namespaces if those exist
        recs = [r for r in recs if proc.alive(r) and (not ours or proc.netns_inode(r["pid"]) in ours)]
        killed = proc.stop(recs, 5.0)
        counts.append(f"{len(recs)} {role}")
        for r in killed:
            say(f"{role} pid {r['pid']} ignored SIGTERM for 5 s; sent SIGKILL")
    strays = proc.pids_in_netns(ours)
    strays = [s for s in strays if all(s["pid"] != h["pid"] for h in holders)]
    for s in strays:
        say(f"straggler pid {s['pid']} ({s['comm']}) in one of our namespaces: SIGKILL")
    proc.kill_now(strays)
    live_holders = [h for h in holders if proc.alive(h)]
    left = proc.kill_now(live_holders)
    if left:
        say(f"could not end holders {[r['pid'] for r in left]}")
    st.remove()
    say(f"down: stopped {', '.join(counts)}, {len(strays)} stragglers, {len(live_holders)} "
        f"namespace holders in {time.monotonic() - t0:.1f} s (folders and logs kept in {CDIR})")

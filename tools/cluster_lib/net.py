"""Wiring of tools/cluster: which links exist, their addresses, and the ip/tc commands.

Nothing is ever created in the root network namespace: a veth pair is made inside the switch
namespace (or a host's) with its peer end created directly in the other namespace by PID.
Addresses come from 198.18.0.0/15 only; there are no default routes and ip_forward is untouched.
"""
import os
import re
import subprocess

PORT = 50051


def plan(n, topology):
    """The links of an n-host cluster: a list of {id, ends: [{ns, dev, addr?}, ...]}.

    ns is a host number (int) or "switch". Switch: host I's lan0 (198.18.0.I/24) <-> sw-hI on br0.
    Chain: host I's toJ <-> host J's toI for J = I+1, on 198.18.I.0/24 (.1 on I, .2 on I+1)."""
    links = []
    if topology == "switch":
        for i in range(1, n + 1):
            links.append({"id": f"{i}-switch", "up": True, "ends": [
                {"ns": i, "dev": "lan0", "addr": f"198.18.0.{i}/24"},
                {"ns": "switch", "dev": f"sw-h{i}"}]})
    else:
        for i in range(1, n):
            links.append({"id": f"{i}-{i + 1}", "up": True, "ends": [
                {"ns": i, "dev": f"to{i + 1}", "addr": f"198.18.{i}.1/24"},
                {"ns": i + 1, "dev": f"to{i}", "addr": f"198.18.{i}.2/24"}]})
    return links


def host_links(links, i):
    """(link, my end, other end) for every link of host i."""
    out = []
    for ln in links:
        a, b = ln["ends"]
        if a["ns"] == i:
            out.append((ln, a, b))
        elif b["ns"] == i:
            out.append((ln, b, a))
    return out


def host_devs(links, i):
    return [me["dev"] for _, me, _ in host_links(links, i)]


def host_addrs(links, i):
    return [me["addr"] for _, me, _ in host_links(links, i) if me.get("addr")]


def static_peers(links, topology, n, i):
    """HOST:PORT of host i's neighbours: every other host (switch) or i-1 and i+1 (chain)."""
    if topology == "switch":
        return [f"198.18.0.{j}:{PORT}" for j in range(1, n + 1) if j != i]
    return [f"{other['addr'].split('/')[0]}:{PORT}" for _, _, other in host_links(links, i)]


def find_link(links, topology, i, j):
    """The link between host i and j (j may be "switch" or 0 in a switch topology)."""
    if topology == "switch":
        if str(j) not in ("switch", "0"):
            raise ValueError(f"the switch topology has links host<->switch only: use '{i} switch'")
        want = f"{i}-switch"
    else:
        try:
            j = int(j)
        except ValueError:
            raise ValueError("the chain topology has no switch: name two neighbouring hosts")
        want = f"{min(i, j)}-{max(i, j)}"
    for ln in links:
        if ln["id"] == want:
            return ln
    raise ValueError(f"there is no link between {i} and {j}")


# ------------------------------------------------------------------------- commands

def run_in(pid, argv, input=None, check=True):
    """Run argv in the network namespace of pid (only the network one)."""
    r = subprocess.run(["nsenter", "-t", str(pid), "-n"] + argv, input=input, text=True,
                       capture_output=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"in netns of {pid}: {' '.join(argv)}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def ip_batch(pid, lines):
    if lines:
        run_in(pid, ["ip", "-batch", "-"], input="\n".join(lines) + "\n")


_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
          "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9, "tbps": 8e12,
          "kibit": 1024, "mibit": 1024 ** 2, "gibit": 1024 ** 3}


def tbf_args(rate):
    """tc tbf arguments for rate: burst is one 4 ms tick of the rate but at least 64 KiB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", rate)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"bad rate '{rate}' (want e.g. 100mbit, 1gbit, 500kbit, or 'off')")
    bits = float(m.group(1)) * _UNITS[m.group(2).lower()]
    burst = max(64 * 1024, int(bits / 8 / 250))
    return ["rate", rate, "burst", str(burst), "latency", "50ms"]


def shape(pid, dev, rate):
    """Shape the egress of dev in pid's netns to rate (None/'off' removes the shaping)."""
    if not rate or rate == "off":
        run_in(pid, ["tc", "qdisc", "del", "dev", dev, "root"], check=False)
    else:
        run_in(pid, ["tc", "qdisc", "replace", "dev", dev, "root", "tbf"] + tbf_args(rate))


def set_link(pid, dev, up):
    run_in(pid, ["ip", "link", "set", "dev", dev, "up" if up else "down"])


def ns_summary(pid):
    """`ip -br addr` inside pid's netns as {dev: (state, [addrs])}."""
    r = run_in(pid, ["ip", "-br", "addr"], check=False)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if f:
            out[f[0].split("@")[0]] = (f[1] if len(f) > 1 else "?", f[2:])
    return out


def listening(pid, port=PORT):
    """Is some socket in pid's netns listening on TCP port? And how many established on it."""
    listen, est = False, 0
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                next(f)
                for line in f:
                    p = line.split()
                    lport = int(p[1].rsplit(":", 1)[1], 16)
                    rport = int(p[2].rsplit(":", 1)[1], 16)
                    if p[3] == "0A" and lport == port:
                        listen = True
                    elif p[3] == "01" and port in (lport, rport):
                        est += 1
        except (OSError, StopIteration):
            pass
    return listen, est


def server_extra():
    """More [server] lines from CASCADE_AVAHI_SERVER ("key=value;key=value"), e.g. a larger
    cache-entries-max for a test that floods the LAN with services."""
    extra = [kv.strip() for kv in os.environ.get("CASCADE_AVAHI_SERVER", "").split(";")]
    return "".join(kv + "\n" for kv in extra if kv)


def avahi_conf(i, devs):
    return f"""# written by tools/cluster for host{i}
[server]
host-name=host{i}
use-ipv4=yes
use-ipv6=no
allow-interfaces={','.join(devs) if devs else 'lo'}
enable-dbus=yes
disallow-other-stacks=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
{server_extra()}[wide-area]
enable-wide-area=no
[publish]
publish-addresses=yes
publish-aaaa-on-ipv4=no
publish-hinfo=no
publish-workstation=no
publish-domain=no
[reflector]
enable-reflector=no
[rlimits]
"""

"""Paths, messages and small helpers shared by tools/cluster and its cluster_lib modules."""
import os
import sys
import time

from . import proc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
CDIR = os.path.abspath(os.environ.get("CASCADE_CLUSTER_DIR", "/tmp/cascade-cluster"))
NODE = os.environ.get("CASCADE_NODE") or os.path.join(ROOT, "build", "src", "app", "node")
ROLES = ("node", "avahi", "dbus")  # stop order in `down`


def say(msg):
    print(f"cluster: {msg}", flush=True)


def die(msg, code=1):
    print(f"cluster: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def hdir(i):
    return os.path.join(CDIR, f"h{i}")


def folder(i):
    return os.path.join(hdir(i), "folder")


def logpath(i, which="node"):
    return os.path.join(hdir(i), f"{which}.log")


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)\n"


def load(required=True):
    st = proc.State(CDIR)
    if st.load() is None and required:
        die(f"no cluster is up in {CDIR} (start one with: tools/cluster up N)")
    return st


def host(st, i):
    try:
        i = int(i)
    except ValueError:
        die(f"'{i}' is not a host number")
    h = st.data["hosts"].get(str(i))
    if h is None:
        die(f"no host {i}: the cluster has hosts 1..{st.data['n']}")
    return i, h


def ns_pid(st, ns):
    """PID of the live holder of ns (a host number or "switch")."""
    rec = st.data["switch"] if ns == "switch" else st.data["hosts"][str(ns)]["holder"]
    if not proc.alive(rec):
        die(f"the namespace holder of {'the switch' if ns == 'switch' else f'host {ns}'} is gone;"
            " run tools/cluster down (and up again)")
    return rec["pid"]


def in_host(pid, argv):
    return ["nsenter", "-t", str(pid), "-n", "-m", "-u"] + argv


def record(st, i, role, rec):
    st.data["seq"] += 1
    rec["seq"] = st.data["seq"]
    st.data["hosts"][str(i)][role] = rec
    st.save()


def wait_for(what, pred, timeout, dead=None):
    """Poll pred() until true; dead() returning a message aborts early."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        msg = dead() if dead else None
        if msg:
            raise RuntimeError(msg)
        time.sleep(0.02)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")

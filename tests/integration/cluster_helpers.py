"""Shared helpers of the tools/cluster integration tests (standard library only).

These tests run in the root network namespace (tools/cluster makes its own namespaces; they
must not run inside netns.sh), use a private CASCADE_CLUSTER_DIR under /tmp, always end with
`tools/cluster down`, are bounded in time by a watchdog and print "N passed, N failed" as their
last line. Exit 77 (meson: skipped) if they cannot run here.
"""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "..", "tools", "cluster")


def protocol_version():
    """The peer protocol's version (schema/cascade.capnp), as nodes put it in their TXT `v=`."""
    with open(os.path.join(HERE, "..", "..", "schema", "cascade.capnp")) as f:
        m = re.search(r"const protocolVersion :UInt32 = (\d+);", f.read())
    assert m, "no protocolVersion in schema/cascade.capnp"
    return m.group(1)
results = {"passed": 0, "failed": 0}


class Watchdog(BaseException):
    pass


def cluster(*args, timeout=90, check=True, quiet=None):
    r = subprocess.run([sys.executable, CLUSTER] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    quiet = args[0] in ("status", "path") if quiet is None else quiet
    out = (r.stderr if quiet else r.stdout + r.stderr).strip()
    if out:
        print("    | " + out.replace("\n", "\n    | "), flush=True)
    if check and r.returncode != 0:
        raise AssertionError(f"tools/cluster {' '.join(map(str, args))} exited {r.returncode}")
    return r


def check(name, cond, detail=""):
    if cond:
        results["passed"] += 1
        print(f"ok   {name}", flush=True)
    else:
        results["failed"] += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}", flush=True)
    return cond


def step(name, fn):
    """Run one check that may raise; a raise is a failure, not an abort. fn returns None or True
    for success, anything else (a message) for a failure."""
    try:
        r = fn()
        return check(name, r is None or r is True, "" if r is None or r is True else str(r))
    except Watchdog:
        raise
    except Exception as e:  # noqa: BLE001
        return check(name, False, f"{type(e).__name__}: {e}")


def status():
    return json.loads(cluster("status", "--json").stdout)


def path(i):
    return cluster("path", i).stdout.strip()


def write(i, rel, data):
    p = os.path.join(path(i), rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(data)


def read(i, rel):
    try:
        with open(os.path.join(path(i), rel)) as f:
            return f.read()
    except FileNotFoundError:
        return None


def wait_until(pred, timeout, interval=0.1):
    """Poll pred() until it returns something truthy (returned) or timeout passes (None)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return None
        time.sleep(interval)


def wait_file(i, rel, data, timeout=30):
    if wait_until(lambda: read(i, rel) == data, timeout, 0.2):
        return True
    return f"host {i} has {rel!r} = {read(i, rel)!r}, want {data!r}"


def alive(pid, start):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(rest[19]) == start and rest[0] not in "ZXx"


# ------------------------------------------------------------------------- node logs

_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\w+)\s+(.*)$")
START = re.compile(r"^device (\S+) syncing (.*), listening on (\S+)$")
CONNECTED = re.compile(r"^connected to (\S+) at (\S+) \((dialed|accepted)\)$")
CLOSED = re.compile(r"^session (\d+) closed: (.*)$")
DISCOVERED = re.compile(r"^discovered (\S+) at (\S+)$")


def log_lines(path):
    """[(t, level, message)] of a node log; t in seconds since the epoch (the log is UTC)."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = _LINE.match(line.rstrip("\n"))
                if m:
                    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                        tzinfo=datetime.timezone.utc).timestamp()
                    out.append((t, m.group(2), m.group(3)))
    except FileNotFoundError:
        pass
    return out


def node_log(i):
    return log_lines(os.path.join(os.environ["CASCADE_CLUSTER_DIR"], f"h{i}", "node.log"))


def last_run(lines):
    """The lines of the last run of the node: from its last start line on."""
    starts = [k for k, (_, _, m) in enumerate(lines) if START.match(m)]
    return lines[starts[-1]:] if starts else []


def device_id(i):
    """Host i's device id, from its node's (last) start line."""
    run = last_run(node_log(i))
    return START.match(run[0][2]).group(1) if run else None


def first_connections(lines):
    """{device id: time of the first "connected to" it} in these lines."""
    out = {}
    for t, _, m in lines:
        c = CONNECTED.match(m)
        if c and c.group(1) not in out:
            out[c.group(1)] = t
    return out


def since(lines, t0):
    return [ln for ln in lines if ln[0] >= t0]


def grep(lines, pattern):
    rx = re.compile(pattern)
    return [ln for ln in lines if rx.search(ln[2])]


# ------------------------------------------------------------------------- main

def run_main(scenarios, limit, prefix, setup=None, report=None):
    """Run (name, fn) scenarios in a private cluster dir with a watchdog of `limit` s, each
    followed by `down`; report() may print a summary before the last line. Returns the exit
    code (77: cannot run here). CASCADE_SCENARIOS=a,b runs only those (by hand)."""
    sys.dont_write_bytecode = True
    only = [n for n in os.environ.get("CASCADE_SCENARIOS", "").split(",") if n]
    scenarios = [(n, fn) for n, fn in scenarios if not only or n in only]
    if os.geteuid() != 0 or not shutil.which("avahi-daemon") or not shutil.which("dbus-daemon"):
        print("skip: needs root, avahi-daemon and dbus-daemon (tools/install-deps)")
        print("0 passed, 0 failed")
        return 77
    cdir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.environ["CASCADE_CLUSTER_DIR"] = cdir

    def on_alarm(*_):
        raise Watchdog(f"watchdog: the test ran over {limit} s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    t0 = time.monotonic()
    try:
        if setup:
            setup()
        for name, fn in scenarios:
            print(f"--- {name}", flush=True)
            t1 = time.monotonic()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 -- an aborted scenario counts as one failure
                check(f"{name} scenario ran to the end", False, f"{type(e).__name__}: {e}")
            finally:
                cluster("down", check=False)
                print(f"    ({name}: {time.monotonic() - t1:.1f} s)", flush=True)
    except Watchdog as e:
        check("finished in time", False, str(e))
    finally:
        signal.alarm(0)
        cluster("down", check=False)
        if results["failed"] == 0:
            shutil.rmtree(cdir, ignore_errors=True)
        else:
            print(f"logs and folders kept in {cdir}")
    if report:
        report()
    print(f"({time.monotonic() - t0:.1f} s)")
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0

"""A private network + mount namespace for a benchmark, and waiting on conditions."""
import os
import socket
import subprocess
import sys
import time


def in_private_netns():
    return sorted(n for _, n in socket.if_nameindex()) == ["lo"]


def enter_private_netns(script, tmpfs_size="8g"):
    """Re-runs `script` (with the same arguments) under `unshare --net --mount` unless already
    there; then brings lo up and mounts a tmpfs of its own, whose path it returns (the caller
    unmounts it)."""
    if not in_private_netns():
        if os.environ.get("CASCADE_BENCH_INNER"):
            sys.exit("bench: still not in a private network namespace; giving up")
        env = dict(os.environ, CASCADE_BENCH_INNER="1")
        args = ["unshare", "--net", "--mount", "--propagation", "private", "--",
                sys.executable, os.path.abspath(script)] + sys.argv[1:]
        os.execvpe("unshare", args, env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    tmpfs = f"/tmp/cascade-bench-{os.getpid()}"
    os.makedirs(tmpfs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_size}", "tmpfs", tmpfs],
                   check=True, timeout=10)
    return tmpfs


def wait_for(pred, timeout, interval):
    """Polls `pred` until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        time.sleep(interval)
    return time.monotonic()

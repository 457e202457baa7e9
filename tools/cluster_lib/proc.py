"""Processes of tools/cluster: identity by (PID, start time), spawning, killing, the state file.

A PID on its own is never trusted: every record keeps the start time (field 22 of
/proc/PID/stat, clock ticks since boot), and a PID is signalled only while that still matches.
A daemon that dies after tools/cluster exited is reparented to PID 1, which may reap it only
later (seen here: seconds); until then it is a zombie, and a zombie counts as dead.
"""
import fcntl
import json
import os
import signal
import subprocess
import time


def stat_of(pid):
    """(state letter, start time) of PID, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()  # rest[0] is field 3
    return rest[0], int(rest[19])        # field 22


def start_time(pid):
    st = stat_of(pid)
    return st[1] if st else None


def same(rec):
    """The process in rec still exists (maybe as a zombie) and is the one we recorded."""
    st = stat_of(rec["pid"]) if rec else None
    return st is not None and st[1] == rec["start"]


def alive(rec):
    st = stat_of(rec["pid"]) if rec else None
    return st is not None and st[1] == rec["start"] and st[0] not in "ZXx"


def netns_inode(pid):
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def spawn(argv, log_path, cwd=None, header=None):
    """Start argv in the background with its own session, output appended to log_path.

    argv is exec'd directly (nsenter without --fork execs its program), so the PID returned is
    the program itself."""
    with open(log_path, "ab") as logf:
        if header:
            logf.write(header.encode())
            logf.flush()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             cwd=cwd, start_new_session=True, close_fds=True)
    p.returncode = 0  # we never wait for it; keeps Popen.__del__ quiet
    return {"pid": p.pid, "start": start_time(p.pid)}


def wait_dead(recs, timeout):
    """Wait until no rec in recs is alive; returns the ones still alive."""
    end = time.monotonic() + timeout
    left = [r for r in recs if alive(r)]
    while left and time.monotonic() < end:
        time.sleep(0.02)
        _reap()
        left = [r for r in left if alive(r)]
    return left


def _reap():
    """Collect our own exited children (only ones started by this invocation)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def signal_rec(rec, sig):
    """Send sig to rec's process only if it is still that process. True if sent."""
    if not alive(rec):
        return False
    try:
        os.kill(rec["pid"], sig)
        return True
    except ProcessLookupError:
        return False


def stop(recs, term_timeout=5.0):
    """SIGTERM all, wait up to term_timeout, SIGKILL the rest. Returns the recs that needed SIGKILL."""
    recs = [r for r in recs if alive(r)]
    for r in recs:
        signal_rec(r, signal.SIGTERM)
    left = wait_dead(recs, term_timeout)
    for r in left:
        signal_rec(r, signal.SIGKILL)
    wait_dead(left, 5.0)
    return left


def kill_now(recs):
    for r in recs:
        signal_rec(r, signal.SIGKILL)
    return wait_dead(recs, 5.0)


def pids_in_netns(inodes):
    """PIDs (other than ours) whose network namespace inode is in inodes, with start times."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        ino = netns_inode(d)
        if ino in inodes:
            st = stat_of(d)
            if st and st[0] not in "ZXx":
                out.append({"pid": int(d), "start": st[1], "comm": comm(d)})
    return out


# ------------------------------------------------------------------------- state file

class State:
    def __init__(self, cdir):
        self.dir = cdir
        self.path = os.path.join(cdir, "state.json")
        self.data = None

    def load(self):
        try:
            with open(self.path) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = None
        return self.data

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def remove(self):
        try:
            os.replace(self.path, self.path + ".old")
        except FileNotFoundError:
            pass


class Lock:
    """An exclusive flock on CLUSTER_DIR/lock for commands that change the cluster."""

    def __init__(self, cdir):
        os.makedirs(cdir, exist_ok=True)
        self.f = open(os.path.join(cdir, "lock"), "a")

    def __enter__(self):
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *a):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()

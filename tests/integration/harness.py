"""Shared pieces of cascade's integration tests (standard library only).

Every test runs inside its own network + mount namespace (see netns.sh): nodes listen on fixed
ports on 127.0.0.1 and keep their folders in the tmpfs named by $CASCADE_SCRATCH. Every process
started here is tracked and ended by its PID; every wait is bounded.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = os.environ.get("CASCADE_NODE") or os.path.join(HERE, "..", "..", "build", "src", "app",
                                                      "node")
BIG = 128 * 1024  # files above this travel by chunk transfer, not inline (core::inline_limit)

from harness_files import (  # noqa: E402,F401 -- re-exported: tests call h.NAME
    wait_until, sha256_file, tree_state, diff_states, assert_converged, tmp_files, growing_tmp, write, make_big_file)


def require_private_netns():
    names = sorted(n for _, n in socket.if_nameindex())
    if names != ["lo"]:
        sys.stderr.write("refusing to start nodes outside a private network namespace "
                         f"(devices: {names}); run through netns.sh\n")
        sys.exit(2)


def scratch_root():
    s = os.environ.get("CASCADE_SCRATCH")
    if not s or not os.path.isdir(s):
        sys.stderr.write("CASCADE_SCRATCH is not set; run through netns.sh\n")
        sys.exit(2)
    return s


_case_counter = [0]


def new_scratch(name):
    """A fresh directory for one case."""
    _case_counter[0] += 1
    d = os.path.join(scratch_root(), f"{_case_counter[0]:02d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}")
    os.makedirs(d)
    return d


# ---------------------------------------------------------------- processes

_nodes = []  # every Node made, so cleanup() can end the live ones
_procs = []  # other children (writers, readers)


def spawn(args, **kw):
    """A tracked child process; cleanup() kills it by PID if it is still alive."""
    p = subprocess.Popen(args, **kw)
    _procs.append(p)
    return p


def keygen():
    out = subprocess.run([NODE, "keygen"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _proc_status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def cpu_seconds(pid):
    """utime + stime of a process (all its threads) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Node:
    """One `node` process with a fixed port and a log file that survives restarts."""

    def __init__(self, name, folder, port, peers, key, state=None, log_level="debug",
                 extra=()):
        self.name, self.dir, self.port = name, folder, port
        self.peers, self.key, self.state = list(peers), key, state
        self.log_level, self.extra = log_level, list(extra)
        self.log_path = os.path.join(os.path.dirname(os.path.abspath(folder)),
                                     f"{name}.log")
        self.proc = None
        self.returncode = None
        self.peak_rss_kb = 0  # max over every run: VmHWM samples and wait4's ru_maxrss
        self._sampler = None
        _nodes.append(self)

    def argv(self):
        a = [NODE, "--dir", self.dir, "--key", self.key, "--port", str(self.port),
             "--no-discovery", "--log-level", self.log_level]
        for p in self.peers:
            a += ["--peer", p]
        if self.state:
            a += ["--state", self.state]
        return a + self.extra

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.returncode is None

    def start(self, wait=True, timeout=10):
        assert not self.running(), f"{self.name} already running"
        self.start_mark = self.log_size()
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=logf, start_new_session=False)
        logf.close()
        self.returncode = None
        self._stop_sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()
        if wait:
            ok = wait_until(lambda: "listening on" in self.log(self.start_mark)
                            or self.proc.poll() is not None, timeout)
            if not ok or "listening on" not in self.log(self.start_mark):
                rc = self.poll()
                raise AssertionError(f"{self.name} did not start (exit code {rc}):\n"
                                     f"{self.tail(20)}")
        return self

    def _sample_rss(self):
        pid = self.proc.pid
        while not self._stop_sampling.wait(0.05):
            v = _proc_status_kb(pid, "VmHWM")
            if v is None:
                break
            self.peak_rss_kb = max(self.peak_rss_kb, v)

    def _reap(self, block, timeout=None):
        """wait4() the child (gives ru_maxrss); returns the exit code or None if alive."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            v = _proc_status_kb(self.proc.pid, "VmHWM")
            if v is not None:
                self.peak_rss_kb = max(self.peak_rss_kb, v)
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid == self.proc.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self.proc.returncode = self.returncode
                self.peak_rss_kb = max(self.peak_rss_kb, ru.ru_maxrss)
                self._stop_sampling.set()
                return self.returncode
            if not block or (deadline is not None and time.monotonic() >= deadline):
                return None
            time.sleep(0.005)

    def poll(self):
        if not self.running():
            return self.returncode
        return self._reap(False)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits; returns (exit code, seconds taken). SIGKILLs after timeout
        and then returns (None, seconds)."""
        if not self.running():
            return self.returncode, 0.0
        t0 = time.monotonic()
        os.kill(self.proc.pid, sig)
        rc = self._reap(True, timeout)
        took = time.monotonic() - t0
        if rc is None:
            self.kill9()
            return None, took
        return rc, took

    def kill9(self):
        if not self.running():
            return self.returncode
        os.kill(self.proc.pid, signal.SIGKILL)
        return self._reap(True, 10)

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    # --- log
    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def messages(self, since=0):
        """(level, message) of every log line since a mark."""
        out = []
        for line in self.log(since).splitlines():
            m = re.match(r"\S+Z (\w+)\s+(.*)$", line)
            if m:
                out.append((m.group(1), m.group(2)))
            elif line.strip():
                out.append(("RAW", line))
        return out

    def tail(self, n=30):
        return "\n".join(f"  [{self.name}] {l}" for l in self.log().splitlines()[-n:])

    def device_id(self):
        out = subprocess.run([NODE, "id", "--dir", self.dir], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip()


def pair(root, key=None, key_b=None, start=True, ports=None, log_level="debug"):
    """Nodes A and B (folders root/a, root/b) that are each other's --peer."""
    if ports is None:
        base = 7001 + 2 * (len(_nodes) // 2 % 500)
        ports = (base, base + 1)
    key = key or keygen()
    a = Node("A", os.path.join(root, "a"), ports[0], [f"127.0.0.1:{ports[1]}"], key,
             log_level=log_level)
    b = Node("B", os.path.join(root, "b"), ports[1], [f"127.0.0.1:{ports[0]}"], key_b or key,
             log_level=log_level)
    os.makedirs(a.dir, exist_ok=True)
    os.makedirs(b.dir, exist_ok=True)
    if start:
        a.start()
        b.start()
        wait_connected(a, b)
    return a, b


def synced_pair(name, files, timeout=10):
    """A fresh scratch dir and a running pair A, B that holds `files` ({relative path: text},
    written on A) on both sides."""
    a, b = pair(new_scratch(name))
    for rel, text in files.items():
        write(os.path.join(a.dir, rel), text)
    assert_converged(a.dir, b.dir, timeout)
    return a, b


def wait_connected(a, b, timeout=10):
    ok = wait_until(lambda: "connected to" in a.log(a.start_mark)
                    and "connected to" in b.log(b.start_mark), timeout)
    if not ok:
        raise AssertionError(f"nodes did not connect within {timeout}s\n{a.tail()}\n{b.tail()}")


def cleanup():
    """Ends every process still alive (by PID): nodes get SIGTERM, then SIGKILL."""
    for n in _nodes:
        if n.running():
            try:
                n.stop(signal.SIGTERM, 5)
            except Exception:
                pass
            try:
                n.kill9()
            except Exception:
                pass
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass
    _procs.clear()


# ---------------------------------------------------------------- running cases

class Runner:
    """Runs named cases in order; prints one line per case and "N passed, N failed" last.
    After each case every node still running is stopped (unless keep_nodes)."""

    def __init__(self, title):
        self.title = title
        self.cases = []
        require_private_netns()
        scratch_root()
        if not os.access(NODE, os.X_OK):
            sys.stderr.write(f"node binary not found: {NODE}\n")
            sys.exit(2)

        def on_signal(sig, _frame):
            cleanup()
            sys.exit(128 + sig)
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def run(self, keep_nodes=False):
        passed = failed = 0
        wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
        if wanted:  # test_x.py NAME...: only the cases whose name contains one of them
            self.cases = [c for c in self.cases if any(w in c.__name__ for w in wanted)]
        print(f"== {self.title} (node: {NODE})", flush=True)
        try:
            for fn in self.cases:
                first_node = len(_nodes)
                marks = {id(n): n.log_size() for n in _nodes}
                t0 = time.monotonic()
                try:
                    fn()
                    passed += 1
                    print(f"PASS {fn.__name__} ({time.monotonic() - t0:.1f}s)", flush=True)
                except Exception as e:
                    failed += 1
                    print(f"FAIL {fn.__name__} ({time.monotonic() - t0:.1f}s): "
                          f"{type(e).__name__}: {e}", flush=True)
                    traceback.print_exc(limit=4, file=sys.stdout)
                    for n in _nodes:
                        since = marks.get(id(n), 0)
                        lines = n.log(since).splitlines()
                        if lines or _nodes.index(n) >= first_node:
                            print(f"  --- {n.name} ({n.dir}) log, last 25 lines of this case:")
                            for l in lines[-25:]:
                                print("    " + l)
                finally:
                    if not keep_nodes:
                        cleanup()
        finally:
            cleanup()
        print(f"{passed} passed, {failed} failed", flush=True)
        return 0 if failed == 0 else 1

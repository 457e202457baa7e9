"""Per-process figures read from /proc: threads, RSS and CPU seconds (user + system)."""
import os
import threading

CLK_TCK = os.sysconf("SC_CLK_TCK")


def sample(pid):
    """(threads, rss_bytes, cpu_seconds) of pid, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        threads = int(fields[17])
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        return threads, rss, cpu
    except (OSError, IndexError, ValueError):
        return None


class Peaks:
    """Samples pids every `interval` s on a thread of its own; peak threads and RSS per pid."""

    def __init__(self, pids, interval=0.05):
        self.pids, self.interval = list(pids), interval
        self.threads = {p: 0 for p in self.pids}
        self.rss = {p: 0 for p in self.pids}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            for p in self.pids:
                s = sample(p)
                if s:
                    self.threads[p] = max(self.threads[p], s[0])
                    self.rss[p] = max(self.rss[p], s[1])

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


def cpu_seconds(pids):
    return sum((sample(p) or (0, 0, 0.0))[2] for p in pids)


def with_descendants(pids):
    """pids and every process below them (Syncthing's monitor runs the real one as a child)."""
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out

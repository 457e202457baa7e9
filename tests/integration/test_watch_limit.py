#!/usr/bin/env python3
"""Past the inotify watch limit the node is not blind (issue 12.4): A runs in a user namespace of
the test's own whose inotify watch limit (/proc/sys/user/max_inotify_watches, the per-namespace
twin of fs.inotify.max_user_watches) is 150, with 400 directories in its folder. It warns once,
naming fs.inotify.max_user_watches and how many watches the folder needs, shows the unwatched
directories in the console, rescans them every 10 s, and so a change in every directory, watched
or not, reaches B without a restart; little CPU is spent while it waits."""
import os
import sys
import time

import console_helpers as c
import harness as h

r = h.Runner("watch_limit")
DIRS = 400
LIMIT = 150
INTERVAL = 10  # io::fs_watcher::rescan_interval_s


class LimitedNode(h.Node):
    """A node whose user namespace allows LIMIT inotify watches (exec keeps the PID)."""

    def argv(self):
        return ["unshare", "--user", "--map-root-user", "sh", "-c",
                f'echo {LIMIT} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"'] + \
            super().argv()


@r.case
def unwatched_directories_are_rescanned():
    root = h.new_scratch("watch_limit")
    a, b = h.pair(root, start=False)
    for i in range(DIRS):
        h.write(f"{a.dir}/d{i:03}/sub/old.txt", f"old {i}\n")
    a.__class__ = LimitedNode
    a.start()
    b.start()
    h.wait_connected(a, b)
    h.assert_converged(a.dir, b.dir, 30)

    warns = [m for lvl, m in a.messages(a.start_mark) if "inotify watch limit reached" in m]
    assert len(warns) == 1, f"want one warning, got {warns}"
    assert "fs.inotify.max_user_watches" in warns[0] and "needs 801 watches" in warns[0], warns[0]
    acts = c.ask(a, "actors")["actors"]
    watcher = [x for x in acts if x["kind"] == "watcher"][0]
    assert watcher["counters"]["unwatched"] > 0, watcher
    assert watcher["counters"]["watches"] + watcher["counters"]["unwatched"] == 2 * DIRS + 1, \
        watcher
    assert "rescanned every 10 s" in watcher["state"], watcher
    faults = {f["name"]: f for f in c.ask(a, "errors")["faults"]}
    assert "unwatched" in faults and faults["unwatched"]["count"] > 0, faults
    assert "max_user_watches" in faults["unwatched"]["message"], faults
    assert faults["unwatched"]["since_ns"] > 0, faults
    assert "unwatched" in c.text(a, "status")

    cpu0 = a.cpu()
    for i in range(DIRS):
        h.write(f"{a.dir}/d{i:03}/sub/new.txt", f"new {i}\n")
    h.assert_converged(a.dir, b.dir, 2 * INTERVAL + 10)
    idle0 = a.cpu()
    time.sleep(INTERVAL)
    used = a.cpu() - idle0
    print(f"  converged; CPU while waiting over {INTERVAL} s: {used:.2f} s "
          f"(writes and sync took {idle0 - cpu0:.2f} s)")
    assert used < 0.05 * INTERVAL, f"A used {used:.2f} s CPU in {INTERVAL} s of rescans"
    assert a.poll() is None and b.poll() is None


if __name__ == "__main__":
    sys.exit(r.run())

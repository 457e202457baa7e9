#!/usr/bin/env python3
"""Ignore patterns, DIR/.cascadeignore (issue 14.1), on a pair A, B where only A has patterns:
- applied both ways: A's ignored files are not sent; B's files at ignored paths are neither
  fetched into A nor allowed to overwrite or delete A's own copies;
- an ignored directory costs no inotify watch (counted in /proc/PID/fdinfo of the node);
- .cascadeignore itself is never synced, while a file it #includes is;
- the console's `ignores` and `files --ignored`;
- a directory a peer deletes keeps A's ignored entries and comes back to the peer, empty;
- live reload both ways: an edit takes effect within 1 s without restart; a path that stops
  being ignored is sent and fetched like a new file, one that becomes ignored stays on disk
  and on the peer (no deletion announced) and its later changes stay local."""
import os
import sys
import time

import harness as h
import console_helpers as c

r = h.Runner("ignore")
IGNORED_DIRS = 300


def inotify_watches(pid):
    """Watches held by the process: one "inotify wd:" line each in its fdinfo."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                n += sum(1 for line in f if line.startswith("inotify wd:"))
        except FileNotFoundError:
            pass
    return n


def read(path):
    with open(path) as f:
        return f.read()


def sentinel(src, dst, name, timeout=10):
    """Writes `name` on src and waits until dst has it: what src sent before has been decided."""
    h.write(f"{src.dir}/{name}", name)
    assert h.wait_until(lambda: os.path.exists(f"{dst.dir}/{name}"), timeout), dst.tail()


STATE = {}


@r.case
def patterns_apply_both_ways():
    a, b = h.pair(h.new_scratch("ignore"), start=False)
    STATE["pair"] = (a, b)
    h.write(f"{a.dir}/.cascadeignore",
            "# A keeps these to itself\n*.tmp\n/build/\n#include shared.ignore\n")
    h.write(f"{a.dir}/shared.ignore", "*.log\n")
    h.write(f"{a.dir}/a.txt", "from A\n")
    h.write(f"{a.dir}/x.tmp", "A's own x.tmp\n")
    h.write(f"{a.dir}/docs/f.txt", "doc f\n")
    h.write(f"{a.dir}/docs/g.txt", "doc g\n")
    for i in range(IGNORED_DIRS):
        h.write(f"{a.dir}/build/d{i}/obj.o", "o")
    h.write(f"{b.dir}/b.txt", "from B\n")
    h.write(f"{b.dir}/x.tmp", "B's x.tmp\n")
    h.write(f"{b.dir}/y.tmp", "B's y.tmp\n")
    h.write(f"{b.dir}/z.log", "B's log\n")
    a.start()
    b.start()
    h.wait_connected(a, b)
    assert h.wait_until(lambda: os.path.exists(f"{a.dir}/b.txt")
                        and os.path.exists(f"{b.dir}/docs/g.txt")
                        and os.path.exists(f"{b.dir}/shared.ignore"), 10), a.tail() + b.tail()
    sentinel(a, b, "sent1")
    sentinel(b, a, "sent2")
    # A's ignored files and .cascadeignore stay on A; the included file syncs.
    assert read(f"{b.dir}/shared.ignore") == "*.log\n"
    assert not os.path.exists(f"{b.dir}/.cascadeignore")
    assert not os.path.exists(f"{b.dir}/build")
    assert read(f"{b.dir}/x.tmp") == "B's x.tmp\n"
    # B's files at paths A ignores are not fetched, A's own is untouched.
    assert read(f"{a.dir}/x.tmp") == "A's own x.tmp\n"
    assert not os.path.exists(f"{a.dir}/y.tmp") and not os.path.exists(f"{a.dir}/z.log")
    # B overwrites, then deletes, its x.tmp: A's copy stays as it is.
    h.write(f"{b.dir}/x.tmp", "B's x.tmp, edited\n")
    sentinel(b, a, "sent3")
    assert read(f"{a.dir}/x.tmp") == "A's own x.tmp\n"
    os.remove(f"{b.dir}/x.tmp")
    sentinel(b, a, "sent4")
    assert read(f"{a.dir}/x.tmp") == "A's own x.tmp\n"
    # B's own .cascadeignore is not sent to A either.
    h.write(f"{b.dir}/.cascadeignore", "nothing.here\n")
    sentinel(b, a, "sent5")
    assert "nothing.here" not in read(f"{a.dir}/.cascadeignore")
    # No watch under build/ (300 directories): the root and docs/ only.
    assert inotify_watches(a.pid) <= 3, inotify_watches(a.pid)
    assert inotify_watches(b.pid) == 2, inotify_watches(b.pid)  # B: root and docs/
    watcher = [x for x in c.ask(a, "actors")["actors"] if x["kind"] == "watcher"][0]
    assert watcher["counters"]["watches"] <= 3, watcher


@r.case
def console_lists_patterns_and_what_they_hide():
    a, _ = STATE["pair"]
    out = c.text(a, "ignores")
    assert ".cascadeignore:2  *.tmp" in out, out
    assert ".cascadeignore:3  /build/" in out, out
    assert "shared.ignore:1  *.log" in out, out
    pats = c.ask(a, "ignores")["patterns"]
    assert {"source": "shared.ignore", "line": 1, "pattern": "*.log"} in pats, pats
    hidden = c.ask(a, "files", "--ignored")
    assert hidden == {"ignored": ["build/", "x.tmp"], "truncated": False}, hidden
    assert c.text(a, "files", "--ignored", "*.tmp") == "x.tmp\n"
    assert "ignores" in c.text(a, "help")
    assert "files --ignored" in c.text(a, "help")


@r.case
def live_reload_both_ways():
    a, b = STATE["pair"]
    h.write(f"{a.dir}/new.tmp", "made on A while ignored\n")
    sentinel(a, b, "sent6")
    assert not os.path.exists(f"{b.dir}/new.tmp")
    # *.tmp stops being ignored: A's new.tmp goes out, B's y.tmp comes in (B deleted x.tmp
    # while A ignored it: A's copy is a new local file now and goes to B), within 1 s for
    # the patterns.
    t0 = time.monotonic()
    h.write(f"{a.dir}/.cascadeignore", "/build/\n#include shared.ignore\ndocs/\n")
    assert h.wait_until(lambda: "*.tmp" not in c.text(a, "ignores"), 1.0), a.tail()
    took = time.monotonic() - t0
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/new.tmp")
                        and os.path.exists(f"{a.dir}/y.tmp")
                        and os.path.exists(f"{b.dir}/x.tmp"), 10), a.tail() + b.tail()
    assert read(f"{b.dir}/x.tmp") == "A's own x.tmp\n"
    assert read(f"{a.dir}/y.tmp") == "B's y.tmp\n"
    print(f"  patterns active after {took * 1000:.0f} ms")
    # docs/ became ignored at the same time: still on both sides, its watch gone, and what
    # changes in it on either side stays there.
    assert h.wait_until(lambda: inotify_watches(a.pid) == 1, 1.0), inotify_watches(a.pid)
    assert read(f"{a.dir}/docs/f.txt") == "doc f\n" and read(f"{b.dir}/docs/f.txt") == "doc f\n"
    h.write(f"{a.dir}/docs/f.txt", "edited on A\n")
    h.write(f"{b.dir}/docs/g.txt", "edited on B\n")
    sentinel(a, b, "sent7")
    sentinel(b, a, "sent8")
    assert read(f"{b.dir}/docs/f.txt") == "doc f\n"
    assert read(f"{a.dir}/docs/g.txt") == "doc g\n"
    # docs/ stops being ignored again: A's edit is a local change and reaches B; B's edit,
    # made while A ignored docs/, conflicts with nothing on A's side for g.txt and arrives.
    h.write(f"{a.dir}/.cascadeignore", "/build/\n")
    assert h.wait_until(lambda: read(f"{b.dir}/docs/f.txt") == "edited on A\n"
                        and read(f"{a.dir}/docs/g.txt") == "edited on B\n", 10), a.tail()
    assert h.wait_until(lambda: inotify_watches(a.pid) == 2, 1.0), inotify_watches(a.pid)
    assert a.poll() is None and b.poll() is None


@r.case
def a_shared_include_edited_by_a_peer_reloads():
    a, b = STATE["pair"]
    h.write(f"{a.dir}/.cascadeignore", "/build/\n#include shared.ignore\n#include missing.txt\n")
    assert h.wait_until(lambda: "shared.ignore:1  *.log" in c.text(a, "ignores"), 1.0)
    warnings = c.ask(a, "ignores")["warnings"]
    assert len(warnings) == 1 and "missing.txt" in warnings[0], warnings
    # B edits the shared file: it syncs to A like any file, and A's patterns follow.
    h.write(f"{b.dir}/shared.ignore", "*.log\n*.md\n")
    assert h.wait_until(lambda: "shared.ignore:2  *.md" in c.text(a, "ignores"), 5), a.tail()
    h.write(f"{b.dir}/note.md", "B's note\n")
    sentinel(b, a, "sent9")
    assert not os.path.exists(f"{a.dir}/note.md")
    assert a.poll() is None and b.poll() is None


@r.case
def a_directory_deleted_by_a_peer_keeps_ignored_entries():
    a, b = STATE["pair"]
    h.write(f"{a.dir}/logs/keep.txt", "synced\n")
    h.write(f"{a.dir}/logs/run.log", "A's log, ignored\n")
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/logs/keep.txt"), 10), b.tail()
    sentinel(a, b, "sent10")
    assert not os.path.exists(f"{b.dir}/logs/run.log")
    for name in os.listdir(f"{b.dir}/logs"):
        os.remove(f"{b.dir}/logs/{name}")
    os.rmdir(f"{b.dir}/logs")
    # A removes what syncs, keeps its ignored log and the directory, and announces the
    # directory again: B gets it back, empty, and both sides settle (nothing stays needed).
    assert h.wait_until(lambda: not os.path.exists(f"{a.dir}/logs/keep.txt"), 10), a.tail()
    assert h.wait_until(lambda: os.path.isdir(f"{b.dir}/logs"), 10), a.tail() + b.tail()
    assert read(f"{a.dir}/logs/run.log") == "A's log, ignored\n"
    assert os.listdir(f"{b.dir}/logs") == []
    for n in (a, b):
        assert h.wait_until(lambda: c.ask(n, "status")["in_sync"], 10), c.ask(n, "status")


if __name__ == "__main__":
    sys.exit(r.run(keep_nodes=True))

#!/usr/bin/env python3
"""Reaching and driving the debug console (docs/console.md): a node that is not running (or
left its socket behind), unknown commands and help, the interactive session (libedit completion
and history on a terminal, one command per line piped), another user who must not get in, and
the commands that act on the node: log, rescan, deny. What the queries answer:
test_console_answers.py."""
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import time

import harness as h
from console_helpers import (COMMANDS, T, ask, console, drop_shared_pair, shared_pair, text,
                             wait_json)

r = h.Runner("console control")


@r.case
def not_running_is_a_clear_error():
    root = h.new_scratch("not_running")
    d = os.path.join(root, "never")
    os.makedirs(d)
    out = console(d, "status")
    assert out.returncode == 1, out
    assert "no node is running" in out.stderr and d in out.stderr, out.stderr
    out = console(d, "status", as_json=True)
    assert out.returncode == 1
    assert "no node is running" in json.loads(out.stdout)["error"]
    out = console(os.path.join(root, "missing"), "peers")
    assert out.returncode == 1 and "no node is running" in out.stderr
    # A node killed outright leaves its socket behind: still "not running", and a restart
    # takes the socket over.
    n = h.Node("K", os.path.join(root, "k"), 7190, [], h.keygen())
    os.makedirs(n.dir)
    n.start()
    assert console(n, "status").returncode == 0
    n.kill9()
    assert os.path.exists(os.path.join(n.dir, ".cascade", "console.sock"))
    out = console(n, "status")
    assert out.returncode == 1 and "no node is running" in out.stderr, out.stderr
    n.start()
    assert ask(n, "status")["device_id"] == n.device_id()
    rc, _ = n.stop()
    assert rc == 0
    assert not os.path.exists(os.path.join(n.dir, ".cascade", "console.sock")), \
        "a clean stop removes the socket"


@r.case
def unknown_command_and_help():
    a, _, _, _ = shared_pair()
    out = console(a, "frobnicate")
    assert out.returncode == 2 and "unknown command 'frobnicate'" in out.stderr, out
    out = console(a, "log")
    assert out.returncode == 2 and "usage: log LEVEL" in out.stderr, out
    helptext = text(a, "help")
    for c in COMMANDS:
        assert f"\n  {c}" in helptext, f"help does not list {c}:\n{helptext}"
    names = {c["name"] for c in ask(a, "help")["commands"]}
    assert names == COMMANDS, names


@r.case
def log_level_changes_take_effect():
    a, b, ida, idb = shared_pair()
    ans = ask(a, "log", "error")
    assert ans == {"level": "error", "previous": "info"}, ans
    assert ask(a, "status")["log_level"] == "error"
    mark = a.log_size()
    h.write(f"{a.dir}/quiet.txt", "q")
    h.assert_converged(a.dir, b.dir, T)
    time.sleep(0.3)
    assert [m for lvl, m in a.messages(mark) if lvl in ("DEBUG", "INFO")] == [], a.log(mark)
    assert ask(a, "log", "DEBUG") == {"level": "debug", "previous": "error"}
    mark = a.log_size()
    h.write(f"{a.dir}/loud.txt", "l")
    h.assert_converged(a.dir, b.dir, T)
    assert h.wait_until(lambda: any(lvl == "DEBUG" and "loud.txt" in m
                                    for lvl, m in a.messages(mark)), T), a.log(mark)
    assert "log level info (was debug)" in text(a, "log", "info")
    out = console(a, "log", "loud", as_json=True)
    assert out.returncode == 1 and "unknown log level" in json.loads(out.stdout)["error"]


@r.case
def rescan_finds_what_the_watcher_missed():
    a, b, ida, idb = shared_pair()
    os.makedirs(f"{a.dir}/mnt")
    h.assert_converged(a.dir, b.dir, T)
    time.sleep(0.3)
    # A tmpfs mounted over a watched directory: its files make no inotify event there.
    mnt = f"{a.dir}/mnt"
    rc = subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", mnt]).returncode
    assert rc == 0, "cannot mount (the test runs as root in its own mount namespace)"
    try:
        h.write(f"{mnt}/hidden.txt", "the watcher never saw me\n")
        time.sleep(1.5)
        assert not os.path.exists(f"{b.dir}/mnt/hidden.txt"), "the watcher saw it after all"
        assert ask(a, "files", "mnt/hidden.txt")["files"] == []
        ans = ask(a, "rescan", "mnt")
        assert ans["path"] == "mnt" and ans["scanned"] == 2 and ans["changes"] >= 1, ans
        assert ans["hashing"] == 0
        assert len(ask(a, "files", "mnt/hidden.txt")["files"]) == 1
        assert h.wait_until(lambda: os.path.exists(f"{b.dir}/mnt/hidden.txt"), T)
        full = ask(a, "rescan")
        assert full["path"] is None and full["changes"] == 0, full
        assert full["scanned"] == ask(a, "status")["files"] + ask(a, "status")["dirs"], full
        assert "rescanned the folder" in text(a, "rescan")
        out = console(a, "rescan", "../outside", as_json=True)
        assert out.returncode == 1 and "not a path inside the folder" in json.loads(out.stdout)["error"]
    finally:
        subprocess.run(["umount", "-l", mnt])


@r.case
def interactive_session_with_completion_and_history():
    a, _, ida, _ = shared_pair()
    # Piped: one answer per line, errors shown, the session goes on.
    out = console(a, stdin="status\nbogus\nfiles docs/readme.txt\nquit\n")
    assert out.returncode == 0, out
    assert ida in out.stdout and "docs/readme.txt" in out.stdout
    assert "unknown command 'bogus'" in out.stderr
    # On a terminal: libedit completes "sta<Tab>" to "status" and keeps the history.
    home = h.new_scratch("home")
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["HOME"] = home
        os.environ["TERM"] = "xterm"
        os.execv(h.NODE, [h.NODE, "console", "--dir", a.dir])
    buf = b""

    def read_until(token, timeout=10):
        nonlocal buf
        end = time.monotonic() + timeout
        while token not in buf and time.monotonic() < end:
            rl, _, _ = select.select([fd], [], [], 0.1)
            if rl:
                try:
                    buf += os.read(fd, 4096)
                except OSError:
                    break
        return token in buf
    try:
        assert read_until(b"cascade> "), buf
        os.write(fd, b"sta\t\n")
        assert read_until(ida.encode()), buf
        os.write(fd, b"log war\t\n")
        assert read_until(b"log level warn"), buf
        os.write(fd, b"log info\nquit\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    hist = open(os.path.join(home, ".cascade_console_history")).read().replace("\\040", " ")
    assert "status" in hist and "log warn" in hist, hist
    assert os.stat(os.path.join(home, ".cascade_console_history")).st_mode & 0o077 == 0


@r.case
def another_user_cannot_connect():
    a, _, _, _ = shared_pair()
    if not shutil.which("setpriv"):
        raise AssertionError("setpriv (util-linux) is needed for this test")
    sock = os.path.join(a.dir, ".cascade", "console.sock")
    st = os.stat(sock)
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == os.geteuid(), oct(st.st_mode)
    out = console(a, "status", user="nobody")
    assert out.returncode == 1 and "permission denied" in out.stderr, out
    assert a.device_id() not in out.stdout
    # Even if the modes were opened up (.cascade is 0700, the socket 0600), the node checks the
    # peer's uid itself.
    state = os.path.dirname(sock)
    assert os.stat(state).st_mode & 0o777 == 0o700, oct(os.stat(state).st_mode)
    os.chmod(state, 0o711)
    os.chmod(sock, 0o666)
    try:
        mark = a.log_size()
        out = console(a, "status", user="nobody")
        assert out.returncode == 1 and "refused" in out.stderr, out
        assert a.device_id() not in out.stdout
        assert h.wait_until(lambda: "refused a connection from uid 65534" in a.log(mark), 5)
    finally:
        os.chmod(sock, 0o600)
        os.chmod(state, 0o700)
    assert ask(a, "status")["device_id"] == a.device_id()


@r.case
def deny_drops_the_peer_at_once():
    a, b, ida, idb = shared_pair()
    out = console(a, "deny", "not-an-id", as_json=True)
    assert out.returncode == 1 and "not a device id" in json.loads(out.stdout)["error"]
    out = console(a, "deny", ida)
    assert out.returncode == 1 and "own device id" in out.stderr, out
    ans = ask(a, "deny", idb)
    assert ans["device_id"] == idb and "denied" in ans["message"]
    assert idb in open(os.path.join(a.dir, ".cascade", "denied")).read()
    p = wait_json(a, ["peers"], lambda p: all(x["state"] != "connected" for x in p["peers"]),
                  5, "B dropped")["peers"]
    row = [x for x in p if x["device_id"] == idb]
    assert row and "denied" in (row[0]["last_error"] or ""), p
    assert ask(a, "status")["peers_connected"] == 0
    drop_shared_pair()


sys_exit = r.run(keep_nodes=True)
raise SystemExit(sys_exit)

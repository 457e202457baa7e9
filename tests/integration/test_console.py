#!/usr/bin/env python3
"""The debug console (docs/console.md) against running nodes: every command in text and JSON,
the content of the answers (ids, counts, versions, conflicts, latency, transfers in flight),
the JSON shapes, a node that is not running, and another user who must not get in."""
import hashlib
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import time

import harness as h

r = h.Runner("console")
T = 10

# The documented shapes (docs/console.md): exact key sets.
STATUS_KEYS = {"device_id", "group", "folder", "state_dir", "files", "dirs", "bytes", "deleted",
               "sequence", "in_sync", "halted", "pending", "peers_connected", "uptime_s",
               "log_level", "latency"}
PENDING_KEYS = {"needed_files", "needed_bytes", "transfers", "waiting", "hashing",
                "deletes_held", "watcher_queue", "peers_behind"}
LATENCY_KEYS = {"count", "p50_ms", "p95_ms", "p99_ms", "max_ms"}
PEER_KEYS = {"device_id", "address", "found", "state", "direction", "session", "rtt_ms",
             "bytes_in", "bytes_out", "rate_in", "rate_out", "connected_s", "last_error",
             "latency"}
ACTOR_KEYS = {"kind", "name", "state", "mailbox", "answered", "counters", "transfer"}
TRANSFER_KEYS = {"path", "size", "done", "fetched", "copied", "progress", "rate", "eta_s",
                 "upstream", "downstreams", "started_ns"}
FILE_KEYS = {"record", "has", "sent_to", "received_from", "needed"}
RECORD_KEYS = {"path", "type", "size", "mtime_ns", "mode", "deleted", "version", "sequence",
               "modified_by", "chunks", "symlink_target", "changed_at_ns"}
CONFLICT_KEYS = {"path", "original", "device", "time", "size", "mtime_ns"}
COMMANDS = {"status", "peers", "actors", "transfers", "files", "conflicts", "rescan", "log",
            "deny", "top", "help"}


def console(node_or_dir, *words, as_json=False, user=None, stdin=None, timeout=30, env=None):
    d = node_or_dir if isinstance(node_or_dir, str) else node_or_dir.dir
    argv = [h.NODE, "console", "--dir", d] + (["--json"] if as_json else []) + list(words)
    if user:
        argv = ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=stdin,
                          env=env)


def ask(node, *words):
    """A JSON answer; the command must succeed."""
    out = console(node, *words, as_json=True)
    assert out.returncode == 0, f"console {words} exited {out.returncode}: {out.stdout} {out.stderr}"
    return json.loads(out.stdout)


def text(node, *words):
    out = console(node, *words)
    assert out.returncode == 0, f"console {words} exited {out.returncode}: {out.stderr}"
    return out.stdout


def keys(obj, want, what):
    assert set(obj) == want, f"{what}: keys {sorted(obj)}, documented {sorted(want)}"


def check_latency_shape(lat):
    keys(lat, LATENCY_KEYS, "latency")
    assert isinstance(lat["count"], int)
    for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        assert isinstance(lat[k], (int, float)) and lat[k] >= 0


def wait_json(node, words, pred, timeout=T, what="condition"):
    last = {}

    def ok():
        last["v"] = ask(node, *words)
        return pred(last["v"])
    assert h.wait_until(ok, timeout, 0.05), f"{what} not met within {timeout}s: {last.get('v')}"
    return last["v"]


def short_id(device_id):
    """The 13-character short id of a device id (its first 8 bytes in base32)."""
    import base64
    raw = device_id.replace("-", "")[:52]
    b = base64.b32decode(raw + "====")[:8]
    return base64.b32encode(b).decode().rstrip("=")


_pair = {}


def shared_pair():
    """A and B, each the other's --peer, log level info, with a small tree synced."""
    if "a" not in _pair or not _pair["a"].running():
        root = h.new_scratch("pair")
        a, b = h.pair(root, log_level="info")
        h.write(f"{a.dir}/docs/readme.txt", "read me\n")
        h.write(f"{a.dir}/docs/guide/intro.md", "# intro\n" * 100)
        h.write(f"{a.dir}/top.bin", os.urandom(5000))
        h.assert_converged(a.dir, b.dir, T)
        _pair.update(a=a, b=b, ida=a.device_id(), idb=b.device_id())
    return _pair["a"], _pair["b"], _pair["ida"], _pair["idb"]


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
def status_names_the_node_and_counts_its_files():
    a, b, ida, idb = shared_pair()
    for n, me in ((a, ida), (b, idb)):
        s = wait_json(n, ["status"], lambda s: s["in_sync"], T, f"{n.name} in sync")
        keys(s, STATUS_KEYS, "status")
        keys(s["pending"], PENDING_KEYS, "status.pending")
        check_latency_shape(s["latency"])
        assert s["device_id"] == me
        assert s["folder"] == os.path.realpath(n.dir)
        assert s["state_dir"] == os.path.join(os.path.realpath(n.dir), ".cascade")
        assert s["files"] == 3 and s["dirs"] == 2, s
        assert s["bytes"] == len("read me\n") + len("# intro\n" * 100) + 5000
        assert s["peers_connected"] == 1 and not s["halted"]
        assert all(v == 0 for v in s["pending"].values()), s["pending"]
        assert s["uptime_s"] > 0 and s["log_level"] == "info"
        assert s["sequence"] >= 5
        t = text(n, "status")
        assert me in t and "in sync" in t and "3 files" in t, t
    assert ask(a, "status")["group"] == ask(b, "status")["group"]
    # Something pending shows as pending, not in sync.
    h.write(f"{a.dir}/new.txt", "x")
    wait_json(b, ["status"], lambda s: s["files"] == 4 and s["in_sync"], T, "B has new.txt")


@r.case
def latency_is_measured_per_peer():
    a, b, ida, idb = shared_pair()
    before = ask(b, "status")["latency"]["count"]
    for i in range(20):
        h.write(f"{a.dir}/lat/{i}.txt", f"{i}\n")
        time.sleep(0.02)
    h.assert_converged(a.dir, b.dir, T)
    s = wait_json(b, ["status"], lambda s: s["latency"]["count"] >= before + 21, T, "samples")
    lat = s["latency"]
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"] < 5000, lat
    peers = ask(b, "peers")["peers"]
    row = [p for p in peers if p["device_id"] == ida]
    assert len(row) == 1, peers
    check_latency_shape(row[0]["latency"])
    assert row[0]["latency"]["count"] >= 21 and row[0]["latency"]["p99_ms"] < 5000
    assert "latency p50" in text(b, "peers") and "p99" in text(b, "status")
    # A received nothing from B: no samples there.
    arow = [p for p in ask(a, "peers")["peers"] if p["device_id"] == idb][0]
    assert arow["latency"] is None or arow["latency"]["count"] == 0, arow


@r.case
def peers_show_the_session_both_ways():
    a, b, ida, idb = shared_pair()
    for n, other, port in ((a, idb, b.port), (b, ida, a.port)):
        p = wait_json(n, ["peers"], lambda p: any(x["rtt_ms"] is not None for x in p["peers"]),
                      T, "a heartbeat round trip")["peers"]
        assert len(p) == 1, p
        row = p[0]
        keys(row, PEER_KEYS, "peer")
        assert row["device_id"] == other and row["state"] == "connected"
        assert row["found"] == "static", row  # each is the other's --peer
        assert row["direction"] in ("inbound", "outbound")
        if row["direction"] == "outbound":
            assert row["address"] == f"127.0.0.1:{port}"
        assert isinstance(row["session"], int) and row["session"] > 0
        assert 0 < row["rtt_ms"] < 1000
        assert row["bytes_in"] > 1000 and row["bytes_out"] > 1000, row
        assert row["rate_in"] >= 0 and row["rate_out"] >= 0 and row["connected_s"] > 0
        assert row["last_error"] is None
        t = text(n, "peers")
        assert other in t and "connected" in t and "rtt" in t, t
    # Bytes out of one side are bytes in of the other, give or take the traffic in between.
    pa = ask(a, "peers")["peers"][0]
    pb = ask(b, "peers")["peers"][0]
    assert abs(pa["bytes_out"] - pb["bytes_in"]) < 64 * 1024, (pa, pb)


@r.case
def files_show_records_versions_and_holders():
    a, b, ida, idb = shared_pair()
    data = open(f"{a.dir}/docs/readme.txt", "rb").read()
    ans = ask(b, "files", "docs/readme.txt")
    keys(ans, {"files", "truncated"}, "files")
    assert len(ans["files"]) == 1 and not ans["truncated"]
    f = ans["files"][0]
    keys(f, FILE_KEYS, "file")
    rec = f["record"]
    keys(rec, RECORD_KEYS, "record")
    assert rec["path"] == "docs/readme.txt" and rec["type"] == "file"
    assert rec["size"] == len(data) and rec["mode"] == "0644" and not rec["deleted"]
    assert rec["version"] == [{"device": short_id(ida), "device_id": ida, "counter": 1}], rec
    assert rec["modified_by"] == short_id(ida)
    assert rec["chunks"] == [{"offset": 0, "length": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}]
    assert rec["mtime_ns"] == os.stat(f"{b.dir}/docs/readme.txt").st_mtime_ns
    assert rec["changed_at_ns"] and abs(rec["changed_at_ns"] / 1e9 - time.time()) < 600
    assert f["received_from"] == ida and set(f["has"]) == {ida, idb} and f["needed"] is None
    # On the source: sent to B, no received_from.
    fa = ask(a, "files", "docs/readme.txt")["files"][0]
    assert fa["received_from"] is None and fa["has"] == [ida]
    assert fa["sent_to"] == [idb], fa
    assert fa["record"]["changed_at_ns"] == rec["changed_at_ns"], "relays keep the stamp"
    # Patterns: a plain directory is itself and everything below; globs span '/'.
    paths = [x["record"]["path"] for x in ask(b, "files", "docs")["files"]]
    assert paths == ["docs", "docs/guide", "docs/guide/intro.md", "docs/readme.txt"], paths
    paths = [x["record"]["path"] for x in ask(b, "files", "*.md")["files"]]
    assert paths == ["docs/guide/intro.md"], paths
    assert len(ask(b, "files")["files"]) == ask(b, "status")["files"] + ask(b, "status")["dirs"]
    assert ask(b, "files", "nothing*")["files"] == []
    # A second edit on A: counter 2 on both.
    h.write(f"{a.dir}/docs/readme.txt", "read me again\n")
    wait_json(b, ["files", "docs/readme.txt"],
              lambda x: x["files"][0]["record"]["version"][0]["counter"] == 2, T, "version 2")
    t = text(b, "files", "docs/readme.txt")
    assert "docs/readme.txt" in t and short_id(ida)[:7] + ":2" in t and ida in t, t
    # Deleted records stay visible as such.
    os.remove(f"{a.dir}/top.bin")
    x = wait_json(b, ["files", "top.bin"], lambda x: x["files"][0]["record"]["deleted"], T,
                  "top.bin deleted")
    assert x["files"][0]["record"]["chunks"] == []


@r.case
def actors_answer_for_themselves():
    a, b, ida, idb = shared_pair()
    wait_json(a, ["status"], lambda s: s["in_sync"], T, "A in sync")
    acts = ask(a, "actors")["actors"]
    for x in acts:
        keys(x, ACTOR_KEYS, "actor")
        assert x["answered"], x
        assert isinstance(x["mailbox"], int) and x["mailbox"] >= 0
        assert x["state"], x
    kinds = [x["kind"] for x in acts]
    for k in ("node", "watcher", "index", "scanner", "console", "peer"):
        assert k in kinds, kinds
    peer = [x for x in acts if x["kind"] == "peer"]
    assert len(peer) == 1 and peer[0]["name"] == idb
    assert peer[0]["counters"]["subscribed"] == 1
    index = [x for x in acts if x["kind"] == "index"][0]
    st = ask(a, "status")
    assert index["counters"]["files"] == st["files"]
    assert index["counters"]["sequence"] == st["sequence"]
    assert peer[0]["counters"]["sent_up_to"] == st["sequence"]
    watcher = [x for x in acts if x["kind"] == "watcher"][0]
    assert watcher["counters"]["watches"] == 1 + st["dirs"], watcher  # the root and each dir
    t = text(a, "actors")
    assert "KIND" in t and "MAILBOX" in t and "watcher" in t and "directories watched" in t


@r.case
def transfers_show_a_file_in_flight():
    a, b, ida, idb = shared_pair()
    size = 1 << 30
    outside = os.path.join(os.path.dirname(a.dir), "big.tmp")  # same tmpfs, not watched
    h.make_big_file(outside, size)
    os.rename(outside, f"{a.dir}/big.bin")
    seen = {}

    def in_flight():
        t = ask(b, "transfers")["transfers"]
        if t:
            seen["t"] = t
        return bool(t)
    assert h.wait_until(in_flight, 30, 0.01), "no transfer seen on B"
    (t,) = seen["t"]
    keys(t, TRANSFER_KEYS, "transfer")
    assert t["path"] == "big.bin" and t["size"] == size
    assert 0 <= t["done"] <= size and t["done"] == t["fetched"] + t["copied"]
    assert 0 <= t["progress"] <= 1 and t["upstream"] == ida and isinstance(t["downstreams"], list)
    tx = text(b, "transfers")
    if "big.bin" in tx:  # still running
        assert "%" in tx and "[" in tx and ida in tx, tx
        acts = ask(b, "actors")["actors"]
        tr = [x for x in acts if x["kind"] == "transfer"]
        assert tr and tr[0]["name"] == "big.bin" and tr[0]["transfer"]["size"] == size, acts
        # The live view: a progress bar and per-peer rates, until q.
        p = subprocess.Popen([h.NODE, "console", "--dir", b.dir, "top"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.3)
        p.stdin.write("q")
        p.stdin.flush()
        out, err = p.communicate(timeout=5)
        assert p.returncode == 0, err
        assert out.count("cascade top") >= 2, out  # refreshed every second
        assert "PEERS" in out and "TRANSFERS" in out and ida[:15] in out
        if "big.bin" in out:
            assert "[#" in out or "[." in out, out
            assert "/s" in out
    h.assert_converged(a.dir, b.dir, 60)
    assert ask(b, "transfers")["transfers"] == []
    assert "no transfers" in text(b, "transfers")
    os.remove(f"{a.dir}/big.bin")
    h.assert_converged(a.dir, b.dir, T)


@r.case
def top_json_refreshes_until_a_signal():
    a, _, ida, _ = shared_pair()
    p = subprocess.Popen([h.NODE, "console", "--dir", a.dir, "--json", "top"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    time.sleep(2.4)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=5)
    assert p.returncode == 0
    frames = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(frames) >= 2, out
    for f in frames:
        assert set(f) == {"status", "peers", "transfers"}
        keys(f["status"], STATUS_KEYS, "top status")
        assert f["status"]["device_id"] == ida


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
def conflicts_are_listed_with_their_original():
    root = h.new_scratch("conflicts")
    a, b = h.pair(root, ports=(7181, 7182), log_level="info")
    h.write(f"{a.dir}/doc/notes.txt", "base\n")
    h.assert_converged(a.dir, b.dir, T)
    time.sleep(1)
    assert ask(a, "conflicts") == {"conflicts": []}
    assert "no conflicts" in text(a, "conflicts")
    b.stop()
    h.write(f"{a.dir}/doc/notes.txt", "edited on A\n")
    time.sleep(0.05)
    h.write(f"{b.dir}/doc/notes.txt", "edited on B, differently\n")
    b.start()
    h.wait_connected(a, b)
    st = h.assert_converged(a.dir, b.dir, T)
    copies = [p for p in st if ".sync-conflict-" in p]
    assert len(copies) == 1, sorted(st)
    for n in (a, b):
        c = wait_json(n, ["conflicts"], lambda c: len(c["conflicts"]) == 1, T, "conflict")
        (x,) = c["conflicts"]
        keys(x, CONFLICT_KEYS, "conflict")
        assert x["path"] == copies[0] and x["original"] == "doc/notes.txt", x
        assert len(x["device"]) == 7 and len(x["time"]) == 15 and x["time"][8] == "-"
        assert x["size"] == os.path.getsize(f"{n.dir}/{copies[0]}")
        t = text(n, "conflicts")
        assert copies[0] in t and "doc/notes.txt" in t


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
    # Even if the file mode were opened up, the node checks the peer's uid itself.
    os.chmod(sock, 0o666)
    try:
        mark = a.log_size()
        out = console(a, "status", user="nobody")
        assert out.returncode == 1 and "refused" in out.stderr, out
        assert a.device_id() not in out.stdout
        assert h.wait_until(lambda: "refused a connection from uid 65534" in a.log(mark), 5)
    finally:
        os.chmod(sock, 0o600)
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
    h.cleanup()
    _pair.clear()


sys_exit = r.run(keep_nodes=True)
raise SystemExit(sys_exit)

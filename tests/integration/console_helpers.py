"""Shared by the console tests (test_console_answers.py, test_console_control.py): the
documented JSON shapes (docs/console.md), running `node console` in text or JSON, and a pair of
nodes A and B kept running from one case to the next."""
import base64
import json
import os
import subprocess

import harness as h

T = 10

# The documented shapes (docs/console.md): exact key sets.
STATUS_KEYS = {"device_id", "group", "folder", "state_dir", "files", "dirs", "bytes", "deleted",
               "sequence", "in_sync", "halted", "paused", "mode", "pending", "peers_connected", "uptime_s",
               "log_level", "latency", "faults"}
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
COMMANDS = {"status", "errors", "peers", "actors", "transfers", "files", "ignores", "conflicts",
            "versions", "restore", "pause", "resume", "out-of-sync", "override",
            "local-changes", "revert", "rescan", "log", "deny", "top", "help"}


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


def wait_in_sync(nodes, peers=1, timeout=T):
    """Each node's `status` says in sync (everything indexed, nothing needed or in flight, every
    connected peer has acknowledged our whole index) with at least `peers` peers connected."""
    for n in nodes:
        wait_json(n, ["status"], lambda s: s["in_sync"] and s["peers_connected"] >= peers,
                  timeout, f"{n.name} in sync with {peers}+ peers")


def sequence(node):
    return ask(node, "status")["sequence"]


def wait_indexed(node, since, changes, timeout=T):
    """`node` recorded at least `changes` local changes after its sequence was `since`, and has
    nothing left to index or send."""
    wait_json(node, ["status"], lambda s: s["sequence"] >= since + changes and s["in_sync"],
              timeout, f"{node.name} indexed {changes} changes")


def short_id(device_id):
    """The 13-character short id of a device id (its first 8 bytes in base32)."""
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


def drop_shared_pair():
    """Stops every node; the next shared_pair() starts a new pair."""
    h.cleanup()
    _pair.clear()

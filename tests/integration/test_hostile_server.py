#!/usr/bin/env python3
"""A hostile server that the node dials (`--peer`): it tries every Peer method before, during and
after its hello (tests/hostile/attacks_server.cpp), with no key, a wrong key, a replayed or
reflected proof, and the identity of a denied device. It must get nothing: no capability of the
node, no answered call, no byte of a file, no record; the node logs one refusal per connection
and never dials a denied device again. A member (the right key) is the positive control: the
same tool then receives the node's Peer and the file's bytes, so the checks can fail."""
import os
import re
import subprocess
import sys
import time

import harness as h
from hostile_helpers import HOSTILE

r = h.Runner("hostile server")

A_PORT = 7401
MARKER = "TOP-SECRET-MARKER-4711"
FIRST = 7410


def start_node(root, ports, extra=()):
    key = h.keygen()
    a = h.Node("A", os.path.join(root, "a"), A_PORT, [f"127.0.0.1:{p}" for p in ports], key,
               extra=extra)
    os.makedirs(a.dir, exist_ok=True)
    h.write(f"{a.dir}/secret.txt", MARKER * 100)
    return a, key


def serve(port, variant, key=None, count=4, wait=8, identity=None):
    argv = [HOSTILE, "serve", "--port", str(port), "--variant", variant, "--count", str(count),
            "--wait", str(wait), "--path", "secret.txt", "--deadline", "60"]
    if key:
        argv += ["--key", key]
    if identity:
        argv += ["--identity", identity]
    return h.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def outcome(p, name):
    out, _ = p.communicate(timeout=70)
    for line in out.splitlines():
        print(f"    {name} | {line[:160]}", flush=True)
    assert p.returncode == 0, f"hostile {name} could not run (exit {p.returncode})"
    res = {}
    for line in out.splitlines():
        m = re.match(r"RESULT ([a-z ]+?) (\d+)(?:, (\w+) (\d+))?(?:, (\w+) (\d+))?$", line)
        if m:
            res[m.group(1)] = int(m.group(2))
            for k, v in ((m.group(3), m.group(4)), (m.group(5), m.group(6))):
                if k:
                    res[k] = int(v)
    return res, out


def refusals(a, port):
    """Warning lines of A that name the hostile's address."""
    return [m for lvl, m in a.messages() if lvl in ("WARN", "ERROR") and f"127.0.0.1:{port}" in m]


@r.case
def strangers_get_nothing():
    root = h.new_scratch("strangers")
    variants = {"no-key": None, "wrong-key": h.keygen(), "replay": None}
    ports = {v: FIRST + i for i, v in enumerate(variants)}
    procs = {v: serve(ports[v], v, key=k) for v, k in variants.items()}
    time.sleep(0.3)  # the hostiles listen before the node dials
    a, _ = start_node(root, ports.values())
    a.start()
    for v, p in procs.items():
        res, out = outcome(p, v)
        assert res.get("connections") == 4, (v, res)
        assert res.get("node capabilities received") == 0, (v, res)
        assert res.get("calls answered") == 0, (v, res)
        assert res.get("refused", 0) >= 4, (v, res)  # the "before" calls on the node's bootstrap
        assert res.get("file bytes received") == 0, (v, res)
        assert res.get("records received") == 0 and res.get("subscribes") == 0, (v, res)
        assert res.get("fetches") == 0, (v, res)
        assert MARKER not in out
        assert "the node's hello carries no capability" in out, v
        lines = refusals(a, ports[v])
        # One refusal per connection, each saying why.
        assert len(lines) == res["connections"], (v, lines)
        for line in lines:
            assert "closed before handshake" in line, line
        if v != "replay":
            assert any("does not hold our group key" in m for m in lines), lines
    for name in ("planted-by-hostile.txt", "offered-by-hostile.bin"):
        assert not os.path.exists(f"{a.dir}/{name}"), name
    assert a.running(), "the node died"


@r.case
def member_is_served():
    """The positive control: with the group key the same tool gets the node's Peer in ready, and
    its fetch of secret.txt is answered with the file's bytes."""
    root = h.new_scratch("member")
    port = FIRST + 5
    a, key = start_node(root, [port])
    a.start()
    p = serve(port, "member", key=key, count=1, wait=10)
    res, out = outcome(p, "member")
    assert res.get("node capabilities received", 0) >= 1, res
    assert res.get("calls answered", 0) >= 1, res
    assert res.get("file bytes received", 0) >= len(MARKER), res
    assert "the node called ready" in out


@r.case
def denied_device_is_never_dialed_again():
    root = h.new_scratch("denied")
    port = FIRST + 6
    ident = os.path.join(root, "hostile.pem")
    probe = subprocess.run([HOSTILE, "serve", "--port", str(port), "--count", "0", "--identity",
                            ident, "--wait", "0"], capture_output=True, text=True, timeout=20)
    dev = re.search(r"device (\S+), mode serve", probe.stdout).group(1)
    a, key = start_node(root, [port])
    out = subprocess.run([h.NODE, "--dir", a.dir, "--key", key, "--deny", dev],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    p = serve(port, "denied", key=key, count=3, wait=8, identity=ident)
    time.sleep(0.3)
    a.start()
    res, _ = outcome(p, "denied")
    # The first dial learns who answers (TLS); the address is never dialed again.
    assert res.get("connections") == 1, res
    assert res.get("node capabilities received") == 0 and res.get("calls answered") == 0, res
    assert res.get("file bytes received") == 0, res
    lines = refusals(a, port)
    assert len(lines) == 1 and "is denied" in lines[0], lines


if __name__ == "__main__":
    sys.exit(r.run())

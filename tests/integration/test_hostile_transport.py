#!/usr/bin/env python3
"""Hostile transport: a hostile peer (tests/hostile/hostile_peer) attacks an honest node H's
handshake while H stays peered with an honest node T: connections that stall before or after
TLS (one each, and 200 at once), wrong group keys, device ids and protocol versions, plain text
instead of TLS, and repeated failures from one address that must not lock a member out. Also: a
loopback capture of an honest sync never shows the file's plaintext.
The checks after every attack and the known-bug rule: hostile_helpers.py.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import harness as h
from hostile_helpers import (H_PORT, HOSTILE, S, after_attack, hostile, known_bug, next_src,
                             results, setup_honest_pair, summary)

r = h.Runner("hostile_transport")
r.case(setup_honest_pair)


@r.case
def stalled_connections():
    """Silent TCP, TLS without a hello, and 200 such TLS connections at once."""
    H = S["H"]
    mark = H.log_size()
    rss0 = h._proc_status_kb(H.pid, "VmRSS") or 0

    def start(mode, *args):
        p = subprocess.Popen([HOSTILE, mode, "--port", str(H_PORT), "--src", next_src(),
                              "--wait", "12", "--deadline", "60"] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        h._procs.append(p)
        return p
    stall = start("stall-handshake")
    flood = start("conn-flood", "--count", "200")
    fl = []
    for line in flood.stdout:  # up to READY: all 200 connections are open
        fl.append(line)
        if line.startswith("READY"):
            break
    time.sleep(0.5)
    rss_held = h._proc_status_kb(H.pid, "VmRSS") or 0
    out, _ = stall.communicate(timeout=60)
    rest, _ = flood.communicate(timeout=60)
    fl = "".join(fl) + rest
    for line in (out + fl).splitlines():
        print("    | " + line[:200])
    assert stall.returncode == 0 and flood.returncode == 0, "the stall attacks could not run"
    res = results(out)
    tcp = next(x for x in res if x.startswith("silent TCP"))
    m = re.search(r"(\d+)/(\d+) closed, last after ([\d.]+)s", tcp)
    assert m and m.group(1) == m.group(2) and float(m.group(3)) < 11.5, \
        f"H did not close a silent TCP connection within ~10 s: {tcp}"
    after_attack("stall", mark, [r"refused 127\.0\.0\.\d+:\d+: operation timed out"])
    tls = next(x for x in res if x.startswith("TLS without hello"))
    m = re.search(r"(\d+)/(\d+) closed", tls)
    known_bug(m and m.group(1) == m.group(2),
              f"no hello timeout: a TLS connection that never says hello is never closed ({tls})")
    fr = next((x for x in results(fl) if x.startswith("conn-flood")), "none")
    known_bug(re.search(r"conn-flood: (\d+)/\1 ", fr),
              f"key-less TLS connections without hello are held open ({fr}); 200 of them took "
              f"H's RSS from {rss0 // 1024} to {rss_held // 1024} MiB")


@r.case
def wrong_key():
    H = S["H"]
    mark = H.log_size()
    src = next_src()
    out = hostile("wrong-key", src=src)
    res = results(out)
    assert len(res) == 5, res  # 4 wrong hellos, then a hello replayed from another session
    for x in res:
        assert "refused" in x and "ACCEPTED" not in x, f"H accepted: {x}"
        assert "NOT disconnected" not in x, f"H kept the connection: {x}"
        assert "subscribe 0, update 0 (0 records), fetch 0, ping 0" in x, \
            f"H talked to a peer it refused: {x}"
    esc = re.escape(src)
    after_attack("wrong-key", mark, [
        esc + r":\d+ closed before handshake: peer does not hold our group key",
        esc + r":\d+ closed before handshake: its device id does not match its TLS key",
        esc + r":\d+ closed before handshake: protocol version 99 is not ours",
    ])


@r.case
def handshake_order():
    """A member that calls H's Peer before its ready, sends ready twice, or ready first: each is
    refused and disconnected, and none of the early calls is answered."""
    H = S["H"]
    mark = H.log_size()
    src = next_src()
    res = results(hostile("early-calls", src=src))
    assert len(res) == 3, res
    assert re.match(r"calls before ready: answered 0, refused \d+, bytes 0; disconnected$",
                    res[0]), res[0]
    assert res[1] == "second ready: refused; disconnected", res[1]
    assert res[2] == "ready before hello: refused; disconnected, records 0, subscribes 0", res[2]
    esc = re.escape(src)
    after_attack("early-calls", mark, [
        esc + r":\d+ closed before handshake: it called Peer\.\w+ before the session was up",
        esc + r":\d+ closed before handshake: it sent ready before its hello",
    ])


@r.case
def no_tls():
    H = S["H"]
    mark = H.log_size()
    src = next_src()
    out = hostile("no-tls", src=src, key=False)
    res = " ".join(results(out))
    m = re.search(r"closed after ([\d.]+)s", res)
    assert m and "NOT" not in res and float(m.group(1)) < 2, f"H did not close: {res}"
    after_attack("no-tls", mark, [re.escape(src) + r":\d+: TLS handshake failed"])


@r.case
def failing_address_lockout():
    """Seven wrong-key tries from one address: a member with the right key from that address
    must still get in (slowed down, not locked out)."""
    H = S["H"]
    mark = H.log_size()
    src = next_src()
    hostile("wrong-key", "--count", "6", src=src, key=False)
    out = hostile("hello", src=src, timeout=40)
    res = " ".join(results(out))
    known_bug("hello accepted" in res,
              "after 7 failed handshakes from one address the slowdown reaches 10 s = the "
              f"handshake timeout, so every later connection from it fails ({res})")
    other = hostile("hello", src=next_src())
    assert "hello accepted" in " ".join(results(other)), "a fresh address was refused"
    after_attack("lockout", mark, [r"peer does not hold our group key"])


def _capture_start(path):
    """tcpdump on lo if installed, else an AF_PACKET socket in a thread. Returns stop()."""
    if shutil.which("tcpdump"):
        p = subprocess.Popen(["tcpdump", "-i", "lo", "-w", path, "-U", "--immediate-mode",
                              "-s", "0", "-Z", "root"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        h._procs.append(p)
        ready = []

        def read_err():
            for line in p.stderr:
                if b"listening on" in line:
                    ready.append(1)
        threading.Thread(target=read_err, daemon=True).start()
        assert h.wait_until(lambda: ready, 10), "tcpdump did not start"

        def stop():
            p.send_signal(signal.SIGINT)
            p.wait(10)
            with open(path, "rb") as f:
                return f.read()
        return stop
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind(("lo", 0))
    s.settimeout(0.1)
    buf, done = [], threading.Event()

    def loop():
        while not done.is_set():
            try:
                buf.append(s.recv(262144))
            except socket.timeout:
                pass
    t = threading.Thread(target=loop, daemon=True)
    t.start()

    def stop():
        done.set()
        t.join(5)
        s.close()
        return b"".join(buf)
    return stop


@r.case
def eavesdropper_learns_nothing():
    """A capture of loopback during an honest sync never shows the file's plaintext."""
    H, T = S["H"], S["T"]
    marker = ("PLAINTEXT-" + os.urandom(12).hex()).encode()
    name = "secret-" + os.urandom(4).hex()
    control = ("CONTROL-" + os.urandom(12).hex()).encode()
    stop = _capture_start(os.path.join(S["capture"], "lo.pcap"))
    try:
        # A small file (travels inline with its record) and a big one (chunk transfer).
        h.write(os.path.join(T.dir, name + ".txt"), marker + b"\n")
        big = bytearray(os.urandom(300 * 1024))
        for off in range(0, len(big) - len(marker), 4096):
            big[off:off + len(marker)] = marker
        h.write(os.path.join(T.dir, name + ".bin"), bytes(big))
        for n in (name + ".txt", name + ".bin"):
            assert h.wait_until(lambda: os.path.exists(os.path.join(H.dir, n))
                                and h.sha256_file(os.path.join(H.dir, n))
                                == h.sha256_file(os.path.join(T.dir, n)), 10), f"{n} did not sync"
        # Positive control: plaintext sent over loopback does show in the capture.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        c = socket.create_connection(srv.getsockname())
        a, _ = srv.accept()
        c.sendall(control)
        a.recv(100)
        for x in (a, c, srv):
            x.close()
        time.sleep(0.3)
    finally:
        data = stop()
    print(f"  captured {len(data)} bytes", flush=True)
    assert control in data, "the capture missed the plaintext control message: capture broken"
    assert len(data) > 300 * 1024, "the capture is smaller than the synced file"
    assert marker not in data, "the file's plaintext crossed loopback unencrypted"
    assert name.encode() not in data, "the file's name crossed loopback unencrypted"
    assert S["key"].encode() not in data, "the group key crossed the wire"


r.case(summary)


if __name__ == "__main__":
    sys.exit(r.run(keep_nodes=True))

#!/usr/bin/env python3
"""Pinning and rogue services: an mDNS answer that points a known device id at another address with another key is
refused and logged, and nothing syncs with the impostor (tools/cluster; root, avahi, dbus).

Host 2's node is stopped; an impostor node (the group's key, its own identity) listens on host 2
and a forged DNS-SD service (avahi-publish, a client no one here wrote) claims host 2's device
id for it. Host 1 dials what mDNS told it, the TLS handshake shows another key, and host 1
refuses: one log line names the address, the claimed id and the key's id.

Keyless: a host without the key advertises the group's tag (copied from the nodes' own public
TXT records) for a hostile server (tests/hostile, serve --variant no-key). Both nodes dial it:
the tag earns a dial, never a capability; the hostile tries every Peer method before, during and
after its hello and gets nothing, each node logs its refusals, and the nodes keep syncing.
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from cluster_helpers import (CLUSTER, cluster, device_id, grep, node_log, path,  # noqa: E402
                             protocol_version, read, run_main, status, step, wait_until, write)

HOSTILE = os.environ.get("CASCADE_HOSTILE_PEER", "build/tests/integration/hostile_peer")


def group_tag(of_id):
    browse = cluster("exec", 1, "avahi-browse", "-rpt", "_cascade._tcp", quiet=True).stdout
    return next(f.split("=", 1)[1].strip('"') for line in browse.splitlines()
                if line.startswith("=") and of_id in line
                for f in line.split(";")[-1].split() if f.strip('"').startswith("g="))


def end(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def scenario_impostor():
    cluster("up", 2)
    st = status()
    key = st["hosts"]["2"]["key"] if "key" in st["hosts"]["2"] else st["keys"][0]
    id1, id2 = device_id(1), device_id(2)
    step("hosts 1 and 2 connect",
         lambda: None if wait_until(lambda: grep(node_log(1), "connected to " + id2), 10)
         else "no connection")
    tag = group_tag(id2)
    cluster("kill", 2)
    imp_dir = os.path.join(os.environ["CASCADE_CLUSTER_DIR"], "impostor")
    os.makedirs(imp_dir, exist_ok=True)
    node = os.environ.get("CASCADE_NODE", "build/src/app/node")
    procs = []
    try:
        log = open(os.path.join(imp_dir, "node.log"), "w")
        procs.append(subprocess.Popen(
            [sys.executable, CLUSTER, "exec", "2", node, "--dir", imp_dir + "/folder", "--key", key,
             "--port", "50052", "--no-discovery", "--log-level", "debug"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL))
        time.sleep(0.5)
        procs.append(subprocess.Popen(
            [sys.executable, CLUSTER, "exec", "2", "avahi-publish", "-s", "cascade-forged",
             "_cascade._tcp", "50052", f"id={id2}", f"g={tag}", f"v={protocol_version()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
        assert wait_until(lambda: os.path.isdir(os.path.join(imp_dir, "folder")), 10), \
            "the impostor node made no folder"
        with open(os.path.join(imp_dir, "folder", "from-impostor.txt"), "w") as f:
            f.write("the impostor's data")
        refused = lambda: [l for l in grep(node_log(1), "answers for " + id2)]  # noqa: E731
        def refused_and_logged():
            if not wait_until(refused, 15):
                return "no refusal logged"
            line = refused()[0][2]
            return None if "198.18.0.2:50052" in line and "another key" in line else line
        step("host 1 refuses the forged answer and logs address, claimed id and key",
             refused_and_logged)
        step("nothing from the impostor reaches host 1",
             lambda: not os.path.exists(os.path.join(path(1), "from-impostor.txt")) or
             "the impostor's file arrived")
        step("the impostor never got a session with host 1",
             lambda: not grep(node_log(1), "connected to .* at 198.18.0.2:50052") or
             "host 1 connected to the impostor")
    finally:
        end(procs)


def scenario_keyless():
    cluster("up", 2)
    id1, id2 = device_id(1), device_id(2)
    step("hosts 1 and 2 connect",
         lambda: None if wait_until(lambda: grep(node_log(1), "connected to " + id2), 10)
         else "no connection")
    tag = group_tag(id2)
    out_path = os.path.join(os.environ["CASCADE_CLUSTER_DIR"], "hostile.out")
    procs = []
    try:
        out = open(out_path, "w")
        procs.append(subprocess.Popen(
            [sys.executable, CLUSTER, "exec", "2", HOSTILE, "serve", "--host", "198.18.0.2",
             "--port", "50060", "--variant", "no-key", "--count", "6", "--wait", "8",
             "--path", "secret.txt", "--deadline", "60"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        text = lambda: open(out_path).read()  # noqa: E731
        assert wait_until(lambda: "listening on" in text(), 10), text()[-2000:]
        hid = text().split("device ", 1)[1].split(",", 1)[0]
        write(1, "secret.txt", "SECRET-OF-THE-GROUP " * 100)
        procs.append(subprocess.Popen(
            [sys.executable, CLUSTER, "exec", "2", "avahi-publish", "-s", "cascade-rogue",
             "_cascade._tcp", "50060", f"id={hid}", f"g={tag}", f"v={protocol_version()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
        rogue = "198.18.0.2:50060"
        refused = lambda i: [ln for ln in grep(node_log(i), rogue)  # noqa: E731
                             if ln[1] in ("WARN", "ERROR")]
        step("both nodes dial the advertised service and refuse it",
             lambda: None if wait_until(lambda: refused(1) and refused(2), 20)
             else f"refusals: host 1 {len(refused(1))}, host 2 {len(refused(2))}")
        procs[0].wait(40)
        res = {ln.split(" ", 1)[1] for ln in text().splitlines() if ln.startswith("RESULT ")}
        print("    hostile: " + "; ".join(sorted(res)), flush=True)
        step("the hostile got no capability, no answer, no byte and no record",
             lambda: None if {"node capabilities received 0", "file bytes received 0",
                              "records received 0, subscribes 0, fetches 0"} <= res
             and any(r.startswith("calls answered 0,") for r in res) else str(sorted(res)))
        step("every refusal says why",
             lambda: None if all("closed before handshake" in ln[2]
                                 for i in (1, 2) for ln in refused(i))
             else [ln[2] for i in (1, 2) for ln in refused(i)])
        step("the secret never left the group",
             lambda: "SECRET-OF-THE-GROUP" not in text() or "the hostile printed the secret")
        write(2, "after-rogue.txt", "still syncing")
        step("hosts 1 and 2 still sync",
             lambda: None if wait_until(lambda: read(1, "after-rogue.txt") == "still syncing", 10)
             else "host 1 did not receive host 2's file")
    finally:
        end(procs)


sys.exit(run_main([("impostor", scenario_impostor), ("keyless", scenario_keyless)], 150,
                  "cascade-pin-"))

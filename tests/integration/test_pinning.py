#!/usr/bin/env python3
"""Pinning: an mDNS answer that points a known device id at another address with another key is
refused and logged, and nothing syncs with the impostor (tools/cluster; root, avahi, dbus).

Host 2's node is stopped; an impostor node (the group's key, its own identity) listens on host 2
and a forged DNS-SD service (avahi-publish, a client no one here wrote) claims host 2's device
id for it. Host 1 dials what mDNS told it, the TLS handshake shows another key, and host 1
refuses: one log line names the address, the claimed id and the key's id.
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
from cluster_helpers import (CLUSTER, cluster, device_id, grep, node_log, path, run_main,  # noqa: E402
                             status, step, wait_until)


def scenario_impostor():
    cluster("up", 2)
    st = status()
    key = st["hosts"]["2"]["key"] if "key" in st["hosts"]["2"] else st["keys"][0]
    id1, id2 = device_id(1), device_id(2)
    step("hosts 1 and 2 connect",
         lambda: None if wait_until(lambda: grep(node_log(1), "connected to " + id2), 10)
         else "no connection")
    browse = cluster("exec", 1, "avahi-browse", "-rpt", "_cascade._tcp", quiet=True).stdout
    tag = next(f.split("=", 1)[1].strip('"') for line in browse.splitlines()
               if line.startswith("=") and id2 in line
               for f in line.split(";")[-1].split() if f.strip('"').startswith("g="))
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
             "_cascade._tcp", "50052", f"id={id2}", f"g={tag}", "v=1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
        wait_until(lambda: os.path.isdir(os.path.join(imp_dir, "folder")), 10)
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
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)


sys.exit(run_main([("impostor", scenario_impostor)], 120, "cascade-pin-"))

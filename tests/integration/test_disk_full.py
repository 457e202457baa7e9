#!/usr/bin/env python3
"""A full disk on the receiver heals by itself (issue 12.1): B's folder, with its index
(.cascade/index.db), lives on a 4 MiB tmpfs filled up by a filler file; A creates 400 small
files and 3 larger ones. B stays up and answers its console, keeps its old files, names the
fault in one log line and in the console (`errors`, `status`), spends little CPU while full, and
once the filler is removed converges with A without a restart."""
import errno
import json
import os
import subprocess
import sys
import time

import console_helpers as c
import harness as h

r = h.Runner("disk_full")
WAIT = 5.0
FAULT = "index database: database or disk is full"


def fill(path):
    """Writes `path` until the file system is full; returns the bytes written."""
    n = 0
    block = b"\0" * 16384
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            try:
                n += os.write(fd, block)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                return n
    finally:
        os.close(fd)


def faults(node):
    out = c.console(node, "errors", as_json=True, timeout=10)
    assert out.returncode == 0, f"console errors exited {out.returncode}: {out.stderr}"
    return {f["name"]: f for f in json.loads(out.stdout)["faults"]}


@r.case
def full_disk_heals_without_restart():
    root = h.new_scratch("disk_full")
    a, b = h.pair(root, start=False)
    disk = b.dir  # B's folder and its state directory (index.db) in it, and the filler beside
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", disk],
                   check=True, timeout=10)
    b.dir = f"{disk}/folder"
    os.mkdir(b.dir)
    try:
        a.start()
        b.start()
        h.wait_connected(a, b)
        for i in range(20):
            h.write(f"{a.dir}/old/f{i}.txt", f"old file {i}\n" * 20)
        h.make_big_file(f"{a.dir}/old/big.bin", 200 * 1024)
        h.assert_converged(a.dir, b.dir, 15)
        old = {p: h.sha256_file(f"{b.dir}/old/{p}") for p in os.listdir(f"{b.dir}/old")}
        filler = f"{disk}/filler"
        mark = b.log_size()
        print(f"  filler: {fill(filler) >> 10} KiB")
        for i in range(400):
            h.write(f"{a.dir}/new/s{i:03d}.txt", f"small file {i}\n" * 30)
        for i in range(3):
            h.make_big_file(f"{a.dir}/new/big{i}.bin", 300 * 1024)
        said = lambda: FAULT in b.log(mark)  # noqa: E731
        assert h.wait_until(said, 20), b.tail(30)
        exited = h.wait_until(lambda: b.poll() is not None, 1)
        assert not exited, f"B exited ({b.poll()}) on a full disk:\n{b.tail(5)}"
        f = h.wait_until(lambda: "index_disk" in faults(b), 5) and faults(b)
        assert f and "disk is full" in f["index_disk"]["message"], f
        assert "index_disk" in c.text(b, "errors") and "disk is full" in c.text(b, "status")
        assert any(x["name"] == "index_disk" for x in c.ask(b, "status")["faults"])
        cpu0 = b.cpu()
        time.sleep(WAIT)
        used = b.cpu() - cpu0
        print(f"  B's CPU while full: {used:.2f} s in {WAIT:.0f} s")
        assert used < 0.05 * WAIT, f"B used {used:.2f} s CPU in {WAIT:.0f} s while full"
        for p, digest in old.items():
            assert h.sha256_file(f"{b.dir}/old/{p}") == digest, f"old/{p} changed"
        assert b.poll() is None
        os.unlink(filler)
        t0 = time.monotonic()
        h.assert_converged(a.dir, b.dir, 20)
        print(f"  converged {time.monotonic() - t0:.2f} s after the filler was removed")
        assert h.wait_until(lambda: "index_disk" not in faults(b), 10), faults(b)
        lines = [m for lvl, m in b.messages(mark) if FAULT in m and lvl in ("ERROR", "WARN")]
        assert len(lines) == 1, f"the fault was logged {len(lines)} times: {lines[:3]}"
        assert "writes again" in b.log(mark), b.tail(20)
        noisy = [m for lvl, m in b.messages(mark) if lvl in ("ERROR", "WARN")]
        print(f"  B's warnings and errors meanwhile: {len(noisy)}")
        for m in noisy[:12]:
            print("   ", m[:160])
        for p, digest in old.items():
            assert h.sha256_file(f"{b.dir}/old/{p}") == digest, f"old/{p} changed"
        assert b.poll() is None and a.poll() is None
    finally:
        h.cleanup()
        subprocess.run(["umount", "-l", disk], timeout=10)


if __name__ == "__main__":
    sys.exit(r.run())

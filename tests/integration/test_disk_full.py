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
# The index database or a received file's temp file, whichever fails first.
FAULT = "changes are not recorded until it can write again"
FULL = ("disk is full", "No space left on device")


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


def full_disk_heals_without_restart(name, changes):
    root = h.new_scratch(name)
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
        changes(a)
        said = lambda: FAULT in b.log(mark)  # noqa: E731
        assert h.wait_until(said, 20), b.tail(30)
        exited = h.wait_until(lambda: b.poll() is not None, 1)
        assert not exited, f"B exited ({b.poll()}) on a full disk:\n{b.tail(5)}"
        f = h.wait_until(lambda: "storage" in faults(b), 5) and faults(b)
        assert f and any(x in f["storage"]["message"] for x in FULL), f
        assert "storage" in c.text(b, "errors")
        assert any(x in c.text(b, "status") for x in FULL)
        assert any(x["name"] == "storage" for x in c.ask(b, "status")["faults"])
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
        assert h.wait_until(lambda: "storage" not in faults(b), 10), faults(b)
        lines = [m for lvl, m in b.messages(mark) if FAULT in m and lvl in ("ERROR", "WARN")]
        assert len(lines) == 1, f"the fault was logged {len(lines)} times: {lines[:3]}"
        assert "writes again" in b.log(mark), b.tail(20)
        for n in (a, b):
            noisy = [m for lvl, m in n.messages(mark if n is b else 0) if lvl in ("ERROR", "WARN")]
            print(f"  {n.name}'s warnings and errors: {len(noisy)}")
            for m in noisy[:6]:
                print("   ", m[:150])
        for p, digest in old.items():
            assert h.sha256_file(f"{b.dir}/old/{p}") == digest, f"old/{p} changed"
        assert b.poll() is None and a.poll() is None
    finally:
        h.cleanup()
        subprocess.run(["umount", "-l", disk], timeout=10)


@r.case
def small_and_big_files():
    """Inline data and temp files fail first (ENOSPC)."""
    def changes(a):
        for i in range(400):
            h.write(f"{a.dir}/new/s{i:03d}.txt", f"small file {i}\n" * 30)
        for i in range(3):
            h.make_big_file(f"{a.dir}/new/big{i}.bin", 300 * 1024)
    full_disk_heals_without_restart("data_full", changes)


@r.case
def records_without_data():
    """Directories and empty files: only the index database needs room (SQLITE_FULL)."""
    def changes(a):
        for i in range(600):
            os.makedirs(f"{a.dir}/tree/d{i:03d}/sub-directory-with-a-long-name-{i:03d}")
            h.write(f"{a.dir}/tree/d{i:03d}/empty-file-with-a-long-name-{i:03d}.txt", "")
    full_disk_heals_without_restart("index_full", changes)


if __name__ == "__main__":
    sys.exit(r.run())

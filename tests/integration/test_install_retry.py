#!/usr/bin/env python3
"""A failed install heals by itself (issue 12.2): B's `ro/` is made immutable (chattr +i, which
stops root too), A creates a small file (sent inline) and a 1 MiB one (a transfer) in it. B
says why it cannot apply them, never logs them as received, keeps syncing everything else, keeps
its old files and spends little CPU while it waits; once `ro/` is writable again both files
arrive without a restart. Directories, symlinks and deletions that fail are retried the same
way, and the console names the fault. On the sending side, a file the node (run as `nobody`)
cannot read is named once in the log and in the console, and syncs once it is readable."""
import json
import os
import subprocess
import sys
import time

import console_helpers as c
import harness as h

r = h.Runner("install_retry")
WAIT = 5.0


@r.case
def immutable_directory_heals():
    a, b = h.synced_pair("install_retry", {"ro/old.txt": "old\n"})
    old = h.sha256_file(f"{b.dir}/ro/old.txt")
    ro = f"{b.dir}/ro"
    subprocess.run(["chattr", "+i", ro], check=True, timeout=10)
    try:
        mark = b.log_size()
        h.write(f"{a.dir}/ro/new.txt", "new\n")
        h.make_big_file(f"{a.dir}/ro/new_big.bin", 1 << 20)
        h.write(f"{a.dir}/elsewhere.txt", "still syncing\n")
        assert h.wait_until(lambda: os.path.exists(f"{b.dir}/elsewhere.txt"), 10), \
            "B stopped syncing other files"
        said = lambda: all(f"could not apply ro/{n}" in b.log(mark)  # noqa: E731
                           for n in ("new.txt", "new_big.bin"))
        assert h.wait_until(said, 10), b.tail(20)
        log = b.log(mark)
        assert "cannot move into place ro/new_big.bin: Operation not permitted" in log, log[-2000:]
        assert "received ro/new_big.bin" not in log, "logged as received, yet not installed"
        assert h.sha256_file(f"{b.dir}/ro/old.txt") == old
        cpu0 = b.cpu()
        time.sleep(WAIT)
        used = b.cpu() - cpu0
        print(f"  B's CPU while the directory stayed immutable: {used:.2f} s in {WAIT:.0f} s")
        assert used < 0.05 * WAIT, f"B used {used:.2f} s CPU in {WAIT:.0f} s of retries"
        assert not os.path.exists(f"{b.dir}/ro/new.txt")
    finally:
        subprocess.run(["chattr", "-i", ro], check=True, timeout=10)
    t0 = time.monotonic()
    h.assert_converged(a.dir, b.dir, 15)
    print(f"  converged {time.monotonic() - t0:.2f} s after the directory was writable again")
    assert b.poll() is None and a.poll() is None



def faults(node, user=None):
    out = c.console(node, "errors", as_json=True, timeout=10, user=user)
    assert out.returncode == 0, f"console errors exited {out.returncode}: {out.stderr}"
    return {f["name"]: f for f in json.loads(out.stdout)["faults"]}


@r.case
def directories_symlinks_and_deletions_heal():
    a, b = h.synced_pair("apply_retry", {"ro/old.txt": "old\n", "ro/gone.txt": "gone\n"})
    ro = f"{b.dir}/ro"
    subprocess.run(["chattr", "+i", ro], check=True, timeout=10)
    try:
        mark = b.log_size()
        os.mkdir(f"{a.dir}/ro/newdir")
        os.symlink("old.txt", f"{a.dir}/ro/link")
        os.unlink(f"{a.dir}/ro/gone.txt")
        said = lambda: all(f"could not apply ro/{n}" in b.log(mark)  # noqa: E731
                           for n in ("newdir", "link", "gone.txt"))
        assert h.wait_until(said, 10), b.tail(20)
        log = b.log(mark)
        assert "cannot remove ro/gone.txt: Operation not permitted" in log, log[-2000:]
        f = faults(b)
        assert "installs" in f and "Operation not permitted" in f["installs"]["message"], f
        assert "installs" in c.text(b, "status")
        assert os.path.exists(f"{b.dir}/ro/gone.txt")
    finally:
        subprocess.run(["chattr", "-i", ro], check=True, timeout=10)
    t0 = time.monotonic()
    h.assert_converged(a.dir, b.dir, 15)
    print(f"  converged {time.monotonic() - t0:.2f} s after the directory was writable again")
    assert h.wait_until(lambda: "installs" not in faults(b), 5), faults(b)
    assert b.poll() is None and a.poll() is None


@r.case
def unreadable_local_file_is_named_and_syncs_once_readable():
    root = h.new_scratch("unreadable")
    a, b = h.pair(root, start=False)
    subprocess.run(["chown", "nobody:nogroup", a.dir], check=True, timeout=10)
    plain = a.argv
    a.argv = lambda: ["setpriv", "--reuid", "nobody", "--regid", "nogroup",
                      "--clear-groups"] + plain()
    a.start()
    b.start()
    h.wait_connected(a, b)
    mark = a.log_size()
    secret = f"{a.dir}/secret.txt"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o000)
    os.write(fd, b"not for nobody\n")
    os.close(fd)
    h.write(f"{a.dir}/plain.txt", "readable\n")
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/plain.txt"), 10), a.tail(10)
    warn = "cannot read secret.txt: Permission denied"
    assert h.wait_until(lambda: warn in a.log(mark), 10), a.tail(10)
    f = h.wait_until(lambda: "unreadable" in faults(a, "nobody"), 5) and faults(a, "nobody")
    assert f and "secret.txt" in f["unreadable"]["message"], f
    cpu0 = a.cpu()
    time.sleep(WAIT + 1)  # one look again at least
    used = a.cpu() - cpu0
    assert used < 0.05 * (WAIT + 1), f"A used {used:.2f} s CPU while waiting"
    assert a.log(mark).count(warn) == 1, "the unreadable file was named more than once"
    assert not os.path.exists(f"{b.dir}/secret.txt")
    os.chmod(secret, 0o644)
    t0 = time.monotonic()
    h.assert_converged(a.dir, b.dir, 10)
    print(f"  synced {time.monotonic() - t0:.2f} s after the file was readable again")
    assert h.wait_until(lambda: "unreadable" not in faults(a, "nobody"), 5), faults(a, "nobody")
    assert b.poll() is None and a.poll() is None


if __name__ == "__main__":
    sys.exit(r.run())

#!/usr/bin/env python3
"""A failed install heals by itself (issue 12.2): B's `ro/` is made immutable (chattr +i, which
stops root too), A creates a small file (sent inline) and a 1 MiB one (a transfer) in it. B
says why it cannot apply them, never logs them as received, keeps syncing everything else, keeps
its old files and spends little CPU while it waits; once `ro/` is writable again both files
arrive without a restart."""
import os
import subprocess
import sys
import time

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


if __name__ == "__main__":
    sys.exit(r.run())

#!/usr/bin/env python3
"""Issue 10: a local user who can write into directories a peer synced as 0777 swaps the names
the node is about to change for symlinks to root-owned targets outside the folder. For 30 s A
creates, chmods and rewrites directories and files while an unprivileged attacker (uid 65534)
swaps them on B. Nothing outside the folder may change (not even its ctime), B logs the applies
it refused, keeps running and still syncs afterwards."""
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import harness as h

r = h.Runner("local_attacker")
SECONDS = 30
TOPS = ["d0", "d1", "d2"]  # 0777: the attacker writes in them
NOBODY = 65534
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def open_dir(root_fd, rel):
    """A descriptor of rel below root_fd, never through a symlink (B's swaps come back to A as
    symlinks: the writer must not follow them either). Raises OSError."""
    fd = os.open(".", O_DIR, dir_fd=root_fd)
    for comp in rel.split("/") if rel else []:
        try:
            nfd = os.open(comp, O_DIR, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nfd
    return fd


def at(root_fd, rel, fn):
    """fn(parent_fd, name) with the parent opened safely; False if a swap got in the way."""
    parent, _, name = rel.rpartition("/")
    try:
        fd = open_dir(root_fd, parent)
    except OSError:
        return False
    try:
        fn(fd, name)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def make_dir(fd, name, mode=0o777):
    os.mkdir(name, mode, dir_fd=fd)
    chmod(fd, name, mode)


def chmod(fd, name, mode):
    f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    try:
        os.fchmod(f, mode)
    finally:
        os.close(f)


def put(fd, name, data, mode=0o666):
    f = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK,
                mode, dir_fd=fd)
    try:
        if not stat.S_ISREG(os.fstat(f).st_mode):
            raise OSError(errno.EPERM, "not a file")
        os.write(f, data)
        os.fchmod(f, mode)
    finally:
        os.close(f)


def snapshot(paths):
    """What must not change: mode, mtime, ctime, content (or entries) of every target."""
    out = {}
    for p in paths:
        st = os.lstat(p)
        body = sorted(os.listdir(p)) if os.path.isdir(p) else open(p, "rb").read()
        out[p] = (st.st_mode, st.st_mtime_ns, st.st_ctime_ns, st.st_uid, body)
    return out


def run_attacker(root, b, targets):
    script = os.path.join(root, "local_attacker.py")
    shutil.copy(os.path.join(h.HERE, "local_attacker.py"), script)
    os.chmod(script, 0o644)
    return h.spawn(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    sys.executable, script, b.dir, str(SECONDS + 5), *targets, *TOPS],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@r.case
def swaps_to_symlinks_change_nothing_outside():
    root = h.new_scratch("attacker")
    os.chmod(root, 0o755)  # the attacker walks through it
    outside = os.path.join(root, "outside")
    dir_t, file_t = os.path.join(outside, "secret"), os.path.join(outside, "secret.txt")
    os.makedirs(dir_t)
    os.chmod(outside, 0o755)
    os.chmod(dir_t, 0o700)
    h.write(file_t, "root only\n", 0o600)
    for p in (dir_t, file_t):
        os.utime(p, ns=(10**18, 10**18))
    before = snapshot([dir_t, file_t])

    a, b = h.pair(root, log_level="info")
    a_fd = os.open(a.dir, O_DIR)
    for t in TOPS + ["calm"]:
        at(a_fd, t, lambda fd, n: make_dir(fd, n, 0o755 if n == "calm" else 0o777))
    assert h.wait_until(lambda: all((os.lstat(f"{b.dir}/{t}").st_mode & 0o777) == 0o777
                                    for t in TOPS), 10), "the 0777 directories did not arrive"
    mark = b.log_size()
    attacker = run_attacker(root, b, [dir_t, file_t])

    # A: new 0777 directories and files, files written into existing directories, chmods and
    # rewrites of existing ones; `calm` (0755) is out of the attacker's reach.
    end = time.monotonic() + SECONDS
    i = 0
    while time.monotonic() < end:
        t = TOPS[i % len(TOPS)]
        k, j = i // len(TOPS), (i // len(TOPS)) // 2
        at(a_fd, f"{t}/n{k}", make_dir)
        at(a_fd, f"{t}/f{k}", lambda fd, n: put(fd, n, b"new %d\n" % i))
        at(a_fd, f"{t}/n{j}/g", lambda fd, n: put(fd, n, b"inner %d\n" % i, 0o644))
        at(a_fd, f"{t}/n{j}", lambda fd, n: chmod(fd, n, 0o777 if i % 2 else 0o775))
        at(a_fd, f"{t}/f{j}", lambda fd, n: put(fd, n, b"again %d\n" % i, 0o600 | (i % 2) * 6))
        at(a_fd, f"calm/c{i % 5}", lambda fd, n: put(fd, n, b"calm %d\n" % i, 0o640 + i % 2))
        i += 1
        time.sleep(0.04)

    attacker.send_signal(signal.SIGTERM)
    try:
        said, _ = attacker.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        attacker.kill()
        said, _ = attacker.communicate(timeout=5)
    print(f"  A made {i} rounds; {said.strip()}", flush=True)

    assert snapshot([dir_t, file_t]) == before, "a target outside the folder changed"
    refused = [m for lvl, m in b.messages(mark) if m.startswith("refused to apply")]
    print(f"  B refused {len(refused)} applies, e.g. {refused[:1]}", flush=True)
    assert refused, "B logged no refused apply"
    assert a.poll() is None and b.poll() is None, "a node died"

    # Still syncing: something new arrives whole, and the unattacked subtree converges.
    at(a_fd, "after", lambda fd, n: make_dir(fd, n, 0o750))
    at(a_fd, "after/x.txt", lambda fd, n: put(fd, n, b"after\n", 0o640))

    def calm_and_after_match():
        sa = {p: v for p, v in h.tree_state(a.dir).items() if p.split("/")[0] in ("calm", "after")}
        sb = {p: v for p, v in h.tree_state(b.dir).items() if p.split("/")[0] in ("calm", "after")}
        return len(sa) == 8 and sa == sb
    assert h.wait_until(calm_and_after_match, 10, 0.05), "B stopped syncing after the attack"
    os.close(a_fd)
    assert snapshot([dir_t, file_t]) == before, "a target outside the folder changed"


def mode_of(p):
    return stat.S_IMODE(os.lstat(p).st_mode)


def refused_start(n, want):
    """n does not start: exit 1 and one line saying why."""
    n.start(wait=False)
    assert h.wait_until(lambda: n.poll() is not None, 10), f"{n.name} started anyway"
    lines = n.log(n.start_mark).strip().splitlines()
    assert n.returncode == 1 and len(lines) == 1 and want in lines[0], \
        f"exit {n.returncode}, said {lines}"


@r.case
def state_dir_is_private_and_tmp_checked():
    root = h.new_scratch("state")
    a, b = h.pair(root, start=False)
    state = os.path.join(b.dir, ".cascade")
    os.makedirs(state, 0o755)  # as older versions made it
    b.start()
    assert h.wait_until(lambda: os.path.exists(f"{state}/index.db-wal"), 10), "no WAL"
    b.stop()
    os.chmod(state, 0o755)
    os.chmod(f"{state}/index.db", 0o644)
    b.start()
    assert h.wait_until(lambda: os.path.exists(f"{state}/index.db-shm"), 10), "no shm"
    modes = {n: mode_of(f"{state}/{n}") for n in ("", "tmp", "index.db", "index.db-wal",
                                                  "index.db-shm")}
    assert modes == {"": 0o700, "tmp": 0o700, "index.db": 0o600, "index.db-wal": 0o600,
                     "index.db-shm": 0o600}, f"modes {modes}"
    b.stop()

    elsewhere = os.path.join(root, "elsewhere")
    h.write(f"{elsewhere}/keep.txt", "keep\n")
    os.rename(f"{state}/tmp", f"{state}/tmp.old")
    os.symlink(elsewhere, f"{state}/tmp")
    refused_start(b, "tmp is a symlink, not a directory; remove it")
    assert os.listdir(elsewhere) == ["keep.txt"], "the clean-up followed the symlink"
    os.unlink(f"{state}/tmp")
    os.rename(f"{state}/tmp.old", f"{state}/tmp")
    os.chown(f"{state}/tmp", NOBODY, NOBODY)
    refused_start(b, f"tmp belongs to uid {NOBODY}, not to this node's uid")


sys.exit(r.run())

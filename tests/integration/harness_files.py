"""Waiting, writing and comparing files and trees, for the integration tests (standard library
only; re-exported by harness.py, so tests call them as h.NAME)."""
import hashlib
import os
import stat
import time

def wait_until(pred, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return True
        except (FileNotFoundError, NotADirectoryError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


_hash_cache = {}


def sha256_file(path, st=None):
    st = st or os.lstat(path)
    k = (path, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    h = _hash_cache.get(k)
    if h is None:
        d = hashlib.sha256()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                d.update(b)
        h = d.hexdigest()
        if len(_hash_cache) > 100000:
            _hash_cache.clear()
        _hash_cache[k] = h
    return h


def tree_state(root):
    """relative path -> (type, mode bits, mtime_ns, sha256 or link target); skips the
    top-level .cascade. Directories carry no mtime (not synced)."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel)) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError):
            if not rel:
                raise
            continue  # removed while we walked
        for e in entries:
            p = e.name if not rel else rel + "/" + e.name
            if p == ".cascade":
                continue
            try:
                st = os.lstat(e.path)
                if stat.S_ISLNK(st.st_mode):
                    out[p] = ("symlink", stat.S_IMODE(st.st_mode), st.st_mtime_ns,
                              os.readlink(e.path))
                elif stat.S_ISDIR(st.st_mode):
                    out[p] = ("dir", stat.S_IMODE(st.st_mode), None, None)
                    stack.append(p)
                elif stat.S_ISREG(st.st_mode):
                    out[p] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns,
                              sha256_file(e.path, st))
                else:
                    out[p] = ("other", stat.S_IMODE(st.st_mode), None, None)
            except FileNotFoundError:
                continue
    return out


def _comparable(state):
    # File mtimes are compared; symlink mtimes are not part of the convergence contract.
    return {p: (t, m, mt if t == "file" else None, x) for p, (t, m, mt, x) in state.items()}


def diff_states(sa, sb, limit=10):
    a, b = _comparable(sa), _comparable(sb)
    lines = []
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            lines.append(f"  {p}: A={a.get(p)} B={b.get(p)}")
    n = len(lines)
    return "\n".join(lines[:limit]) + (f"\n  ... {n - limit} more" if n > limit else "")


def assert_converged(a_dir, b_dir, timeout=5):
    """Waits until both trees match (contents, modes, file mtimes, links, empty dirs)."""
    last = {}

    def same():
        last["a"], last["b"] = tree_state(a_dir), tree_state(b_dir)
        return _comparable(last["a"]) == _comparable(last["b"])

    if not wait_until(same, timeout, 0.02):
        raise AssertionError(f"{a_dir} and {b_dir} did not converge within {timeout}s:\n"
                             + diff_states(last.get("a", {}), last.get("b", {})))
    return last["a"]


def tmp_files(node):
    d = os.path.join(node.state or os.path.join(node.dir, ".cascade"), "tmp")
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []


def growing_tmp(node, size, timeout=60):
    """Waits until node's .cascade/tmp holds a temp file of `size` being filled (its allocated
    blocks grow but are not complete). Returns True if seen."""
    d = os.path.join(node.dir, ".cascade", "tmp")
    last = {}

    def check():
        for n in os.listdir(d):
            try:
                st = os.stat(os.path.join(d, n))
            except FileNotFoundError:
                continue
            used = st.st_blocks * 512
            if st.st_size == size and 0 < used < size * 0.8:
                if n in last and used > last[n]:
                    return True
                last[n] = used
        return False

    return wait_until(check, timeout, 0.003)


def write(path, data, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    if mode is not None:
        os.chmod(path, mode)


def make_big_file(path, size):
    """Real (non-sparse) data, fast: one random block of up to 64 MiB repeated, each MiB
    stamped with an 8-byte counter so that no two MiB chunks are equal. Returns the sha256."""
    block_size = min(64 << 20, size) or 1
    block = memoryview(os.urandom(block_size))
    h = hashlib.sha256()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        off, i = 0, 0
        while off < size:
            n = min(1 << 20, size - off)
            boff = off % block_size
            stamp = i.to_bytes(8, "little")[:n]
            for part in (stamp, block[boff + len(stamp):boff + n]):
                h.update(part)
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            off += n
            i += 1
    finally:
        os.close(fd)
    return h.hexdigest()

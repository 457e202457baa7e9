"""Folder snapshots for `tools/cluster wait-sync`: relative path -> (type, size, sha256, target, mode).

The top-level .cascade (the node's state directory) is skipped. File hashes are cached by
(device, inode, size, mtime, ctime) so polling a large, quiet tree costs only stat calls.
"""
import hashlib
import os
import stat

_cache = {}


def _sha256(path, st):
    key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    h = _cache.get(key)
    if h is None:
        d = hashlib.sha256()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                d.update(b)
        h = d.hexdigest()
        _cache[key] = h
    return h


def snapshot(root):
    """{relpath: entry} for everything below root. Raises OSError if the tree changes mid-walk
    (caller retries)."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            for e in it:
                r = f"{rel}/{e.name}" if rel else e.name
                if r == ".cascade":
                    continue
                st = os.lstat(e.path)
                mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISLNK(st.st_mode):
                    out[r] = ("symlink", 0, None, os.readlink(e.path), None)
                elif stat.S_ISDIR(st.st_mode):
                    out[r] = ("dir", 0, None, None, mode)
                    stack.append(r)
                elif stat.S_ISREG(st.st_mode):
                    out[r] = ("file", st.st_size, _sha256(e.path, st), None, mode)
                else:
                    out[r] = ("other", 0, None, None, mode)
    return out


def describe(e):
    if e is None:
        return "missing"
    kind, size, sha, target, mode = e
    if kind == "file":
        return f"file {size}B sha {sha[:10]} mode {mode:04o}"
    if kind == "symlink":
        return f"symlink -> {target}"
    if kind == "dir":
        return f"dir mode {mode:04o}"
    return f"{kind} mode {mode:04o}"


def diff(snaps, limit=20):
    """Lines describing the paths on which the snapshots {host: snap} disagree."""
    hosts = sorted(snaps)
    paths = sorted(set().union(*[set(s) for s in snaps.values()]))
    lines, bad = [], 0
    for p in paths:
        vals = [snaps[h].get(p) for h in hosts]
        if all(v == vals[0] for v in vals):
            continue
        bad += 1
        if len(lines) < limit:
            lines.append(f"  {p}: " + " | ".join(f"h{h} {describe(v)}" for h, v in zip(hosts, vals)))
    if bad > limit:
        lines.append(f"  ... and {bad - limit} more differing paths")
    return bad, lines

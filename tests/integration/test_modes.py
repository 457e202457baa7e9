#!/usr/bin/env python3
"""Folder modes (issue 14.3). send-only A: its changes reach B, B's changes (new, edited,
deleted, renamed) never touch A and are listed by A's `out-of-sync`; `override` makes B take A's
state, B's replaced content kept in B's versions. receive-only B: A's changes arrive, B's own
are recorded but never reach A and are listed by `local-changes`; a change from A to a path B
changed locally wins (B's content to its versions); `revert` brings the group's state back,
B's content in its versions. The mode is kept across restarts and shown in status; changing it
deletes nothing (leaving receive-only announces what was recorded meanwhile)."""
import fnmatch
import os
import sys

import console_helpers as c
import harness as h

r = h.Runner("modes")
BIG_A = os.urandom(300 << 10)  # over the inline limit: fetched by a pull, not sent in a record
BIG_B = os.urandom(300 << 10)


def read(path):
    with open(path) as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def versions(node):
    root = f"{node.dir}/.cascade/versions"
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, _, names in os.walk(root) for n in names)


def has_version(node, rel):
    base, ext = os.path.splitext(rel)
    return any(fnmatch.fnmatch(v, f"{base}~*{ext}") for v in versions(node))


def listed(node, command):
    return {p["path"]: p["change"] for p in c.ask(node, command)["paths"]}


def wait_listed(node, command, want):
    c.wait_json(node, [command], lambda j: {p["path"]: p["change"] for p in j["paths"]} == want,
                what=f"{node.name}'s {command} lists {sorted(want)}")


def stays(pred, secs=1.0):
    """pred() holds the whole time (a change that must not happen does not)."""
    return not h.wait_until(lambda: not pred(), secs, 0.05)


def started_pair(name, mode_a=None, mode_b=None, files=None):
    a, b = h.pair(h.new_scratch(name), start=False)
    a.extra = ["--mode", mode_a] if mode_a else []
    b.extra = ["--mode", mode_b] if mode_b else []
    a.start()
    b.start()
    h.wait_connected(a, b)
    for rel, text in (files or {}).items():
        h.write(f"{a.dir}/{rel}", text)
    h.assert_converged(a.dir, b.dir, 10)
    return a, b


def restart(node, peer, mode):
    node.stop()
    node.extra = ["--mode", mode] if mode else []
    node.start()
    h.wait_connected(node, peer)


@r.case
def send_only_keeps_its_state_and_override_pushes_it():
    files = {"edit.txt": "A's edit.txt\n", "gone.txt": "A's gone.txt\n",
             "ren.txt": "A's ren.txt\n", "keep.txt": "untouched\n", "big.bin": BIG_A}
    a, b = started_pair("modes_send", mode_a="send-only", files=files)
    assert c.ask(a, "status")["mode"] == "send-only"
    assert "mode     send-only" in c.text(a, "status")

    h.write(f"{a.dir}/from_a.txt", "new on A\n")
    assert h.wait_until(lambda: os.path.exists(f"{b.dir}/from_a.txt"), 10), "A's file not sent"
    before = h.tree_state(a.dir)

    h.write(f"{b.dir}/new_on_b.txt", "new on B\n")
    h.write(f"{b.dir}/edit.txt", "B's edit\n")
    os.remove(f"{b.dir}/gone.txt")
    os.rename(f"{b.dir}/ren.txt", f"{b.dir}/ren2.txt")
    h.write(f"{b.dir}/big.bin", BIG_B)
    want = {"new_on_b.txt": "new", "edit.txt": "modified", "gone.txt": "deleted",
            "ren.txt": "deleted", "ren2.txt": "new", "big.bin": "modified"}
    wait_listed(a, "out-of-sync", want)
    assert set(c.ask(a, "out-of-sync", "*.txt")["paths"][0]) == {"path", "change"}
    assert [p["path"] for p in c.ask(a, "out-of-sync", "ren*")["paths"]] == ["ren.txt", "ren2.txt"]
    assert "modified  edit.txt" in c.text(a, "out-of-sync")
    assert stays(lambda: h.tree_state(a.dir) == before), "B's changes touched send-only A"
    assert versions(a) == [], versions(a)
    c.wait_in_sync([a])  # nothing A could still do: what differs is listed, not pending

    assert "6 paths" in c.text(a, "override")
    h.assert_converged(a.dir, b.dir, 10)
    assert read(f"{b.dir}/edit.txt") == "A's edit.txt\n"
    assert read_bytes(f"{b.dir}/big.bin") == BIG_A
    assert not os.path.exists(f"{b.dir}/new_on_b.txt")
    for rel in ("edit.txt", "new_on_b.txt", "ren2.txt", "big.bin"):
        assert has_version(b, rel), f"B's {rel} not in its versions: {versions(b)}"
    assert listed(a, "out-of-sync") == {}
    assert "nothing is out of sync" in c.text(a, "out-of-sync")
    # override is send-only's: elsewhere a clear error.
    out = c.console(b, "override")
    assert out.returncode != 0 and "send-only" in out.stderr, (out.returncode, out.stderr)


@r.case
def receive_only_keeps_its_changes_local_and_revert_restores():
    files = {"local.txt": "A's local.txt\n", "del.txt": "A's del.txt\n",
             "both.txt": "A's both.txt\n", "a_edit.txt": "A's first\n", "big.bin": BIG_A}
    a, b = started_pair("modes_receive", mode_b="receive-only", files=files)
    assert c.ask(b, "status")["mode"] == "receive-only"

    h.write(f"{a.dir}/a_edit.txt", "A's second\n")
    assert h.wait_until(lambda: read(f"{b.dir}/a_edit.txt") == "A's second\n", 10)

    h.write(f"{b.dir}/local.txt", "B's edit\n")
    h.write(f"{b.dir}/b_new.txt", "new on B\n")
    os.remove(f"{b.dir}/del.txt")
    h.write(f"{b.dir}/both.txt", "B's both\n")
    h.write(f"{b.dir}/b_dir/inner.txt", "in a directory made on B\n")
    h.write(f"{b.dir}/big.bin", BIG_B)
    want = {"local.txt": "changed", "b_new.txt": "changed", "del.txt": "deleted",
            "both.txt": "changed", "b_dir": "changed", "b_dir/inner.txt": "changed",
            "big.bin": "changed"}
    wait_listed(b, "local-changes", want)
    a_before = h.tree_state(a.dir)
    assert stays(lambda: h.tree_state(a.dir) == a_before
                 and read(f"{a.dir}/local.txt") == "A's local.txt\n"
                 and read(f"{a.dir}/both.txt") == "A's both.txt\n"
                 and os.path.exists(f"{a.dir}/del.txt")
                 and not os.path.exists(f"{a.dir}/b_new.txt")
                 and not os.path.exists(f"{a.dir}/b_dir")
                 and read_bytes(f"{a.dir}/big.bin") == BIG_A), "receive-only B's changes reached A"

    # A peer's change to a path changed here wins; B's content goes to its versions.
    h.write(f"{a.dir}/both.txt", "A's both, again\n")
    assert h.wait_until(lambda: read(f"{b.dir}/both.txt") == "A's both, again\n", 10)
    assert has_version(b, "both.txt"), versions(b)
    assert "both.txt" not in listed(b, "local-changes")

    assert "6 local changes reverted" in c.text(b, "revert")
    h.assert_converged(a.dir, b.dir, 10)
    assert read(f"{b.dir}/local.txt") == "A's local.txt\n"
    assert read_bytes(f"{b.dir}/big.bin") == BIG_A
    for rel in ("local.txt", "b_new.txt", "b_dir/inner.txt", "big.bin"):
        assert has_version(b, rel), f"B's {rel} not in its versions: {versions(b)}"
    assert listed(b, "local-changes") == {}
    c.wait_in_sync([a, b])
    out = c.console(a, "revert")
    assert out.returncode != 0 and "receive-only" in out.stderr, (out.returncode, out.stderr)


@r.case
def receive_only_keeps_a_directory_for_its_ignored_files_without_announcing_it():
    a, b = started_pair("modes_kept_dir", mode_b="receive-only",
                        files={"kept/a.txt": "A's file\n"})
    h.write(f"{b.dir}/.cascadeignore", "*.tmp\n")
    c.wait_json(b, ["ignores"], lambda j: any(p["pattern"] == "*.tmp" for p in j["patterns"]),
                what="B's pattern *.tmp active")
    h.write(f"{b.dir}/kept/scratch.tmp", "ignored on B\n")
    os.remove(f"{a.dir}/kept/a.txt")
    os.rmdir(f"{a.dir}/kept")
    # B removes a.txt and keeps the directory for its ignored file: a local change there.
    wait_listed(b, "local-changes", {"kept": "changed"})
    assert not os.path.exists(f"{b.dir}/kept/a.txt")
    assert stays(lambda: not os.path.exists(f"{a.dir}/kept")), \
        "receive-only B announced the directory it kept"


@r.case
def mode_is_kept_and_changing_it_deletes_nothing():
    a, b = started_pair("modes_switch", mode_b="receive-only", files={"seed.txt": "seed\n"})
    h.write(f"{b.dir}/later.txt", "made on receive-only B\n")
    c.wait_json(b, ["local-changes"], lambda j: len(j["paths"]) == 1, what="later.txt listed")

    restart(b, a, None)  # no --mode: the stored one
    assert c.ask(b, "status")["mode"] == "receive-only"
    assert stays(lambda: not os.path.exists(f"{a.dir}/later.txt"), 0.5)

    # receive-only -> send-receive: the local change goes out as an ordinary one.
    b_before = h.tree_state(b.dir)
    restart(b, a, "send-receive")
    assert c.ask(b, "status")["mode"] == "send-receive"
    h.assert_converged(a.dir, b.dir, 10)
    assert h.tree_state(b.dir) == b_before, "the mode change touched B's files"

    # send-receive -> send-only -> send-receive: what B held back is applied then, nothing lost.
    restart(b, a, "send-only")
    h.write(f"{a.dir}/while_send_only.txt", "from A\n")
    c.wait_json(b, ["out-of-sync"], lambda j: len(j["paths"]) == 1, what="A's file held on B")
    assert not os.path.exists(f"{b.dir}/while_send_only.txt")
    restart(b, a, None)
    assert c.ask(b, "status")["mode"] == "send-only"
    restart(b, a, "send-receive")
    h.assert_converged(a.dir, b.dir, 10)
    assert sorted(os.listdir(a.dir)) == [".cascade", "later.txt", "seed.txt",
                                         "while_send_only.txt"]


if __name__ == "__main__":
    sys.exit(r.run())

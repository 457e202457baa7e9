"""Fast-link scenarios of tools/bench-cascade (issue 11, point 5): the nodes, not the links, set
the pace. Every round runs each system once, alternating (the new node, the node at --before,
Syncthing), on the same data; medians over the rounds, ratios of medians.

  chain3  `up 3 --topology chain`, links as --rate (none: unshaped): host 1's file until hosts 2
          (B) and 3 (C) have it; C/B (the issue: <= 1.25; store-and-forward about 2).
  fanout  `up 5` (a switch, every host connected to every other: a mesh): host 1's file until
          all 4 others have it.
"""
import json
import os
import statistics
import time

SCENARIOS = {"chain3": (3, "chain", [2, 3]), "fanout": (5, "switch", [2, 3, 4, 5])}


def rounds(runs, systems, scenarios, one):
    """one(system, scenario) -> {host: seconds}; returns {system: {scenario: [results]}}, every
    round running each scenario for each system in turn (alternating, so drift hits all alike)."""
    out = {s: {sc: [] for sc in scenarios} for s in systems}
    for r in range(runs):
        for sc in scenarios:
            for s in systems:
                got = one(s, sc, r)
                if got:
                    out[s][sc].append(got)
    return out


def medians(results):
    """{system: {measure: median}}: chain3 B, C, C/B; fanout all (the last host to have it)."""
    med = {}
    for s, by in results.items():
        m = {}
        c3 = by.get("chain3") or []
        if c3:
            m["chain3 B, s"] = statistics.median(g[2] for g in c3)
            m["chain3 C, s"] = statistics.median(g[3] for g in c3)
            m["chain3 C/B"] = statistics.median(g[3] / g[2] for g in c3)
        fo = by.get("fanout") or []
        if fo:
            m["fanout all 4, s"] = statistics.median(max(g.values()) for g in fo)
        m["runs"] = max([len(v) for v in by.values()] or [0])
        med[s] = m
    return med


def table(results, size_mib, rate):
    med = medians(results)
    systems = list(med)
    keys = []
    for s in systems:
        keys += [k for k in med[s] if k not in keys]
    print(f"fast links ({rate}), {size_mib} MiB, medians:")
    print(f"{'measure':24}" + "".join(f"{s:>12}" for s in systems)
          + "".join(f"{'new/' + s:>16}" for s in systems if s != "new"))
    for k in keys:
        line = f"{k:24}"
        for s in systems:
            v = med[s].get(k)
            line += f"{'-' if v is None else format(v, '.3f' if '/' in k else '.2f' if ', s' in k else 'd'):>12}"
        for s in systems:
            if s == "new":
                continue
            a, b = med.get("new", {}).get(k), med[s].get(k)
            r = a / b if a is not None and b and k != "runs" else None
            line += f"{'-' if r is None else format(r, '.3f'):>16}"
        print(line)
    for s in systems:
        for sc, runs in results[s].items():
            for g in runs:
                print(f"  {s} {sc}: " + ", ".join(f"h{i} {t:.2f}" for i, t in sorted(g.items())))


def node_for(system, new, before):
    """The node binary a cascade system runs (None for Syncthing)."""
    return {"new": new, "before": before}.get(system)


def tmpfs_base(use_tmpfs):
    return "/dev/shm" if use_tmpfs and os.path.isdir("/dev/shm") else "/var/tmp"


def run(args, base, data, node, before, h):
    """Every round of args.fast for the new node, the node at `before` and Syncthing; prints the
    table. h: bench-cascade's helpers (Run, node_connected, folder, wait_for, start_syncthing,
    push_big, say)."""
    systems = ["new"] + (["before"] if before else []) + (["syncthing"] if args.only != "cascade" else [])

    def one(system, scenario, r):
        n, topology, targets = SCENARIOS[scenario]
        binary = node_for(system, node, before)
        if binary:
            os.environ["CASCADE_NODE"] = binary  # read by tools/cluster at `up`
        label = f"round {r + 1}: {scenario} @{args.rate}: {system}"
        try:
            with h["Run"](base, n, topology, args.rate) as cluster:
                if binary:
                    h["wait_for"](lambda: h["node_connected"](cluster), 20, 0.2, "the nodes to connect")
                    time.sleep(1)
                    dirs = {i: h["folder"](i) for i in range(1, cluster.n + 1)}
                else:
                    dirs = h["start_syncthing"](cluster)
                got = h["push_big"](cluster, dirs, data, targets)
            h["say"](f"bench: {label}: " + ", ".join(f"h{i} {t:.2f}" for i, t in sorted(got.items())))
            return got
        except Exception as e:  # noqa: BLE001 -- one failed run should not hide the others
            h["say"](f"bench: {label} failed: {type(e).__name__}: {e}")
    results = rounds(args.runs, systems, args.fast, one)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    table(results, args.size_mib, args.rate)

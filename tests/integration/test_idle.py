#!/usr/bin/env python3
"""Two converged nodes with nothing to do stay quiet: no records, no transfers, little CPU."""
import os
import re
import sys
import time

import harness as h

r = h.Runner("idle")
IDLE = 30.0
CPU_LIMIT = 0.3  # seconds of utime+stime per node over the idle period

RECORDS = re.compile(r"^(sending|got) (\d+) records")


def chatter(node, since):
    out = []
    for lvl, m in node.messages(since):
        mm = RECORDS.match(m)
        if (mm and int(mm.group(2)) > 0) or m.startswith(("received ", "applied ",
                                                           "local change ")):
            out.append(m)
    return out


@r.case
def idle_nodes_stay_quiet():
    root = h.new_scratch("idle")
    a, b = h.pair(root)
    for i in range(20):
        h.write(f"{a.dir}/d{i % 4}/a{i}.txt", f"file {i} from A\n" * (i + 1))
        h.write(f"{b.dir}/e{i % 4}/b{i}.txt", f"file {i} from B\n" * (i + 1))
    os.symlink("d0/a0.txt", f"{a.dir}/link")
    h.make_big_file(f"{b.dir}/big.bin", 2 << 20)
    h.assert_converged(a.dir, b.dir, 10)
    time.sleep(2)  # acknowledgements and the last publications settle
    marks = {n.name: n.log_size() for n in (a, b)}
    cpu0 = {n.name: n.cpu() for n in (a, b)}
    time.sleep(IDLE)
    cpu = {n.name: n.cpu() - cpu0[n.name] for n in (a, b)}
    talk = {n.name: chatter(n, marks[n.name]) for n in (a, b)}
    print(f"  idle CPU over {IDLE:.0f}s: A {cpu['A']:.2f}s, B {cpu['B']:.2f}s")
    assert not talk["A"] and not talk["B"], f"idle nodes exchanged or recorded data: {talk}"
    for name, used in cpu.items():
        assert used < CPU_LIMIT, f"{name} used {used:.2f}s CPU while idle for {IDLE:.0f}s"
    for n in (a, b):
        assert n.poll() is None, f"{n.name} exited while idle"


if __name__ == "__main__":
    sys.exit(r.run())

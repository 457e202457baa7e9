"""The "churn share" of a `perf record -g` profile: the fraction of samples spent in page faults,
clear_page, memset or memmove/memcpy (issue 11, point 3: under 10% over a 1 GiB transfer).

A sample counts when a page fault handler is anywhere on its stack (the fault and everything it
calls: clear_page, page allocation, ...), or when its leaf function is a clear_page, memset or
memmove/memcpy variant. Reads `perf script` output, streaming.

  python3 tools/bench_lib/perf_share.py perf.data      # prints the share and the top leaves
"""
import collections
import re
import subprocess
import sys

FAULT = re.compile(r"^(asm_exc_page_fault|exc_page_fault|do_user_addr_fault|page_fault|"
                   r"do_page_fault|handle_mm_fault)$")
LEAF = {
    "clear_page": re.compile(r"^clear_page"),
    "memset": re.compile(r"memset"),
    "memmove": re.compile(r"memmove|memcpy"),
}


def _symbol(line):
    # "	    7f12abcd __memmove_avx_unaligned_erms+0x1c (/usr/lib/...libc.so.6)"
    parts = line.split(None, 1)
    if len(parts) < 2:
        return ""
    sym = parts[1].rsplit(" (", 1)[0].strip()
    return re.sub(r"\+0x[0-9a-f]+$", "", sym)


def classify(stack):
    """'fault', 'clear_page', 'memset', 'memmove' or None for one sample (leaf first)."""
    if any(FAULT.match(s) for s in stack):
        return "fault"
    leaf = stack[0] if stack else ""
    for name, rx in LEAF.items():
        if rx.search(leaf):
            return name
    return None


def shares(perf_data):
    """(total samples, {class: samples}, Counter of leaf symbols)."""
    p = subprocess.Popen(["perf", "script", "-i", perf_data, "-F", "comm,tid,ip,sym"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         errors="replace")
    total, by_class, leaves = 0, collections.Counter(), collections.Counter()
    stack, in_sample = [], False

    def flush():
        nonlocal total
        if not stack and not in_sample:
            return
        total += 1
        c = classify(stack)
        if c:
            by_class[c] += 1
        leaves[stack[0] if stack else "?"] += 1

    for line in p.stdout:
        if not line.strip():
            flush()
            stack, in_sample = [], False
        elif line[0] in " \t":
            stack.append(_symbol(line))
        else:
            flush()
            stack, in_sample = [], True
    flush()
    p.wait()
    return total, by_class, leaves


def churn_share(perf_data):
    total, by_class, _ = shares(perf_data)
    return (sum(by_class.values()) / total) if total else None


def main():
    total, by_class, leaves = shares(sys.argv[1])
    if not total:
        sys.exit("no samples")
    churn = sum(by_class.values())
    print(f"samples: {total}, churn share: {100 * churn / total:.1f}%  " +
          ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in by_class.most_common()))
    for sym, n in leaves.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {sym}")


if __name__ == "__main__":
    main()

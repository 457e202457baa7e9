#!/bin/bash
# Runs one integration test inside the private network + mount namespace made by
#   unshare --net --mount --propagation private -- bash netns.sh python3 test_X.py
# It brings up `lo` (nodes only talk over 127.0.0.1 in here) and mounts a tmpfs scratch
# directory for the test's folders (exported as CASCADE_SCRATCH). Both vanish with the namespace.
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: unshare --net --mount --propagation private -- bash netns.sh CMD [ARGS...]" >&2
  exit 2
fi

# Refuse to run unless this network namespace holds nothing but a loopback device: the nodes
# must never reach a real network (the host's namespace has eth0 & co.).
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
if [ "$links" != "lo " ]; then
  echo "netns.sh: refusing to run: network devices here are '$links' (want only lo);" \
       "run me as: unshare --net --mount --propagation private -- bash netns.sh ..." >&2
  exit 2
fi

ip link set lo up

scratch="${CASCADE_SCRATCH_BASE:-/tmp}/cascade-it-$$"
mkdir -p "$scratch"
mount -t tmpfs -o "size=${CASCADE_TMPFS_SIZE:-12g},mode=0755" tmpfs "$scratch"
export CASCADE_SCRATCH="$scratch"

cleanup() {
  umount -l "$scratch" 2>/dev/null || true
  rmdir "$scratch" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Not exec'd, so the scratch mount point is removed afterwards; the test's own exit code is kept.
rc=0
"$@" || rc=$?
exit "$rc"

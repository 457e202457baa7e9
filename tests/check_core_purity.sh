#!/usr/bin/env bash
# Fails, printing the offending lines, if a file in src/core includes CAF, KJ, Cap'n Proto,
# libuv, Avahi or SQLite headers: the core must build and test with the standard library alone.
# Usage: check_core_purity.sh REPO_ROOT
set -u
root="${1:?usage: $0 REPO_ROOT}"
core="$root/src/core"
if [ ! -d "$core" ]; then
  echo "check_core_purity: no directory $core" >&2
  exit 1
fi
pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](caf/|kj/|capnp/|uv\.h|uv/|avahi|sqlite3)'
hits=$(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' --include='*.cc' \
  --include='*.ipp' "$pattern" "$core")
if [ -n "$hits" ]; then
  echo "src/core must use the standard library only; forbidden includes:"
  echo "$hits"
  exit 1
fi
exit 0

#!/usr/bin/env bash
# Builds cascade's libFuzzer targets with clang (ASan + UBSan) and runs each for a few seconds
# on its seed corpus. Exits non-zero if any target crashes or breaks a property; 77 (meson's
# "skipped") if clang or the libFuzzer runtime is missing.
#
#   tests/fuzz/run.sh [--work DIR] [--time SECONDS] [--regen-corpus] [TARGET...]
#
# --work DIR keeps objects and binaries there (rebuilt only when a source or header changes);
#   without it a temp dir is used and removed. --time: seconds per target (default 8, or
#   $FUZZ_TIME). --regen-corpus rewrites tests/fuzz/corpus/ with gen_corpus.cpp (keeps regress-*).
# Crashing inputs are saved as WORK/artifacts/TARGET-crash-*; replay one with
#   WORK/bin/TARGET FILE
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=""
secs="${FUZZ_TIME:-8}"
regen=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --time) secs="$2"; shift 2 ;;
    --regen-corpus) regen=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all_targets=(fuzz_path fuzz_record fuzz_update fuzz_version fuzz_chunks fuzz_device_id fuzz_ignore)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

cxx="${FUZZ_CXX:-clang++}"
if ! command -v "$cxx" >/dev/null; then
  echo "SKIP: $cxx not found (tools/install-deps installs clang and libclang-rt-14-dev)"
  exit 77
fi
if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/cascade-fuzz.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"/{gen,obj,bin,artifacts,corpus}
work=$(cd "$work" && pwd)

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cxxflags="-std=c++20 -g -O1 $san -I$root/src -I$work/gen -I$here $(pkg-config --cflags capnp-rpc kj-async)"
libs="$(pkg-config --libs capnp-rpc capnp kj-async kj sqlite3)"

# The libFuzzer runtime (libclang-rt-*-dev on Debian).
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$work/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer "$work/probe.cpp" -o "$work/probe" 2>"$work/probe.err"; then
  echo "SKIP: $cxx cannot link libFuzzer (install libclang-rt-14-dev):"
  sed 's/^/  /' "$work/probe.err" | head -5
  exit 77
fi

# Sources: the decoders under test, compiled as they are (no copies, no stubs).
# The whole SQLite store (store*.cpp: its class is split over several files).
lib_srcs=("$root"/src/core/*.cpp "$root/src/rpc/convert.cpp" "$root"/src/io/store*.cpp)
stamp=$( (cat "${lib_srcs[@]}" "$root"/src/core/*.hpp "$root/src/rpc/convert.hpp" \
           "$root/src/rpc/network.hpp" "$root/src/io/store.hpp" "$root/src/io/store_sql.hpp" \
           "$root/schema/cascade.capnp" \
           "$here"/*.cpp "$here"/*.hpp; echo "$cxx $cxxflags $libs") | sha256sum | cut -c1-16)

jobs_wait() { # runs at most 2 background jobs; fails if any failed
  local fail=0
  for p in "$@"; do wait "$p" || fail=1; done
  return $fail
}

if [ "$(cat "$work/stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "building fuzz targets in $work (clang, ASan, UBSan)"
  rm -f "$work"/obj/*.o "$work"/bin/* "$work/stamp"
  capnp compile -oc++:"$work/gen" --src-prefix="$root/schema" -I/usr/include \
    "$root/schema/cascade.capnp"
  objs=()
  srcs=("${lib_srcs[@]}" "$work/gen/cascade.capnp.c++")
  pids=()
  for s in "${srcs[@]}"; do
    o="$work/obj/$(basename "$s" | tr '.' '_').o"
    objs+=("$o")
    "$cxx" $cxxflags -fsanitize=fuzzer-no-link -x c++ -c "$s" -o "$o" &
    pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then jobs_wait "${pids[@]}"; pids=(); fi
  done
  jobs_wait "${pids[@]}"
  pids=()
  for t in "${all_targets[@]}"; do
    "$cxx" $cxxflags -fsanitize=fuzzer "$here/$t.cpp" "${objs[@]}" $libs -o "$work/bin/$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then jobs_wait "${pids[@]}"; pids=(); fi
  done
  jobs_wait "${pids[@]}"
  if [ "$regen" = 1 ] || [ ! -x "$work/bin/gen_corpus" ]; then
    "$cxx" $cxxflags "$here/gen_corpus.cpp" "${objs[@]}" $libs -o "$work/bin/gen_corpus"
  fi
  echo "$stamp" >"$work/stamp"
fi

if [ "$regen" = 1 ]; then
  [ -x "$work/bin/gen_corpus" ] || "$cxx" $cxxflags "$here/gen_corpus.cpp" "$work"/obj/*.o $libs \
    -o "$work/bin/gen_corpus"
  # regress-* files are inputs that once failed: kept.
  [ -d "$here/corpus" ] && find "$here/corpus" -type f ! -name 'regress-*' -delete
  "$work/bin/gen_corpus" "$here/corpus"
  echo "wrote $(find "$here/corpus" -type f | wc -l) seed files to $here/corpus"
fi

# Run: two targets at a time, each for $secs seconds. New inputs go to WORK/corpus/TARGET;
# the committed seeds are only read.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run_one() {
  local t="$1" seeds="$here/corpus/$1"
  mkdir -p "$work/corpus/$t"
  [ -d "$seeds" ] || seeds=""
  if "$work/bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$work/artifacts/$t-" -print_final_stats=1 \
      "$work/corpus/$t" $seeds >"$work/$t.log" 2>&1; then
    echo "PASS $t ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" \
      | grep -o '[0-9]*$') runs in ${secs}s)"
    grep -m1 '^KNOWN BUG' "$work/$t.log" | sed 's/^/  /' || true
  else
    echo "FAIL $t: see below; crashing input kept in $work/artifacts/"
    grep -E 'ERROR|property failed|runtime error|SUMMARY|Test unit written|==[0-9]+==' \
      "$work/$t.log" | head -20 | sed 's/^/  /'
    ls "$work/artifacts/$t-"* 2>/dev/null | head -3 | while read -r a; do
      echo "  input ($(stat -c %s "$a") bytes, base64): $(head -c 300 "$a" | base64 -w0)"
    done
    return 1
  fi
}
failed=0
passed=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" >"$work/$t.result" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge 2 ]; then
    for i in "${!pids[@]}"; do
      if wait "${pids[$i]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
      cat "$work/${names[$i]}.result"
    done
    pids=(); names=()
  fi
done
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  cat "$work/${names[$i]}.result"
done
if [ "$failed" -gt 0 ] && [ -z "${KEEP_WORK:-}" ]; then
  trap - EXIT # keep the artifacts of a failure
  echo "kept $work for the crashing inputs"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

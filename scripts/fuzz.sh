#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz with clang (ASan + UBSan, only the sources they
# need) and runs each for a bounded time, starting from its seed corpus and regressions. Fails
# on any crash, leak, timeout or sanitizer report; prints per target the executions and the
# coverage libFuzzer reached (cov: edges, ft: features). scripts/test.sh runs it last.
#   KGATE_FUZZ_SECONDS    seconds per target (default 20)
#   KGATE_FUZZ_TARGETS    targets to run (default: every directory of test/fuzz/corpus)
#   KGATE_FUZZ_JOBS       targets run side by side (default: the CPU count)
#   KGATE_FUZZ_BUILD_DIR  build directory (default build-fuzz); new inputs the runs find are
#                         kept in <dir>/corpus/<target>, crash inputs in <dir>/crashes/
#   KGATE_FUZZ_CXX        the clang++ to build with (default clang++-14)
#   KGATE_FUZZ_STEP       "build" or "run" for that half only (scripts/test.sh builds early)
# For long runs by hand see test/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${KGATE_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${KGATE_FUZZ_SECONDS:-20}
jobs=${KGATE_FUZZ_JOBS:-$(nproc)}
targets=${KGATE_FUZZ_TARGETS:-$(cd test/fuzz/corpus && echo */ | tr -d /)}

start=$SECONDS
mkdir -p "$dir"
if [ "${KGATE_FUZZ_STEP:-}" != run ]; then
  if ! { CXX=${KGATE_FUZZ_CXX:-clang++-14} cmake -S test/fuzz -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DKGATE_UNITY_BUILD=ALL &&
         cmake --build "$dir" -j"$(nproc)"; } >"$dir/build.log" 2>&1; then
    cat "$dir/build.log" >&2
    echo "fuzz: the build failed" >&2
    exit 1
  fi
  echo "fuzz: built in $((SECONDS - start)) s"
  [ "${KGATE_FUZZ_STEP:-}" = build ] && exit 0
fi

# Our own sanitizer settings: the sanitized test pass before this exports log_path, which would
# hide reports from libFuzzer.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/crashes" "$dir/logs"

run_target() {  # run_target NAME: the fuzzer's output goes to $dir/logs/NAME.log
  local t=$1
  rm -f "$dir/logs/$t.rc"
  mkdir -p "$dir/corpus/$t"
  # The first directory receives new inputs; the seeds and regressions are only read.
  local rc=0
  "$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/$t-" "$dir/corpus/$t" "test/fuzz/corpus/$t" \
    $( [ -d "test/fuzz/regressions/$t" ] && echo "test/fuzz/regressions/$t" ) \
    >"$dir/logs/$t.log" 2>&1 || rc=$?
  echo $rc >"$dir/logs/$t.rc"
}

for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$t" &
done
wait

status=0
for t in $targets; do
  if [ "$(cat "$dir/logs/$t.rc" 2>/dev/null)" = 0 ]; then
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/logs/$t.log" | tail -1 || true)
    printf 'fuzz: %-18s ok    %s\n' "$t" "$(sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/\1 runs, /; s/ lim:.*//' <<<"$done_line")"
  else
    status=1
    printf 'fuzz: %-18s FAIL  (log: %s)\n' "$t" "$dir/logs/$t.log"
    { grep -E 'ERROR|SUMMARY|Test unit written|fuzz:' "$dir/logs/$t.log" || true; } | head -20 | sed 's/^/    /'
  fi
done
echo "fuzz: ${seconds} s per target, $((SECONDS - start)) s in all"
if [ $status -ne 0 ]; then
  echo "fuzz: a crash input is in $dir/crashes/; reproduce with $dir/fuzz_<target> <input>," \
       "fix it, and add the input to test/fuzz/regressions/<target>/" >&2
fi
exit $status

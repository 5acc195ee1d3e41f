#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs what is missing
# (build and test tools), builds in a clean directory and runs every test through CTest; then
# builds again with AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer) and runs
# every test again under them, kgate processes started by the integration tests included. Any
# sanitizer report fails the run. Last, the fuzz targets (test/fuzz) run for a short while each
# (scripts/fuzz.sh: clang build, about 20 s per target, two at a time).
#   KGATE_TEST_ARGS    extra arguments to ctest (e.g. "-R Proxy")
#   KGATE_SANITIZERS=0 skips the sanitized run (quicker local runs; CI always does both)
#   KGATE_TEST_JOBS    tests run at once (default: CPUs + 1; integration tests mostly wait)
#   KGATE_FUZZ=0       skips the fuzzing step (same; CI always runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --with-tests
root=$PWD
jobs=${KGATE_TEST_JOBS:-$(($(nproc) + 1))}

run_suite() {  # run_suite BUILD_DIR [cmake args...]
  local dir=$1
  shift
  rm -rf "$dir"
  KGATE_BUILD_DIR=$dir ./scripts/build.sh "$@"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" ${KGATE_TEST_ARGS:-})
}

# -g1: line tables are enough for test failures, and full debug info costs a third of the build.
run_suite "${KGATE_BUILD_DIR:-build-test}" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

status=0
sanitized_run() {
  local reports=$root/build-sanitize-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  # Reports go to files (one per process), so a kgate child that a test stops is caught too.
  local rc=0
  ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1" \
  UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
    run_suite build-sanitize -DKGATE_SANITIZE=ON || rc=$?
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitizer reports:" >&2
    for f in "$reports"/*; do echo "== $f" >&2; cat "$f" >&2; done
    rc=1
  fi
  return $rc
}
if [ "${KGATE_SANITIZERS:-1}" != 0 ]; then sanitized_run || status=$?; fi
if [ "${KGATE_FUZZ:-1}" != 0 ]; then ./scripts/fuzz.sh || status=1; fi
exit $status

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

# Each tree after the first is built while the tests before it run: at nice 19 the build takes
# only the CPU those tests leave idle (integration tests mostly wait on their nodes), so their
# timing is as before and CI saves most of a build's time.
build_tree() {  # build_tree DIR [cmake args...]
  local dir=$1 start=$SECONDS
  shift
  rm -rf "$dir"
  KGATE_BUILD_DIR=$dir ./scripts/build.sh "$@"
  echo "test.sh: $dir built in $((SECONDS - start)) s (at $SECONDS s)"
}
background() {  # background VAR LOG command...: runs it at nice 19, its PID in VAR
  local var=$1 log=$2
  shift 2
  ( renice -n 19 "$BASHPID" >/dev/null; "$@" ) >"$log" 2>&1 &
  printf -v "$var" %s $!
}
finish() {  # finish PID LOG: waits; on failure prints the log and fails
  if ! wait "$1"; then
    cat "$2" >&2
    echo "test.sh: background build failed (log above)" >&2
    return 1
  fi
}
run_tests() {  # run_tests DIR
  local start=$SECONDS status=0
  (cd "$1" && ctest --output-on-failure -j"$jobs" ${KGATE_TEST_ARGS:-}) || status=$?
  echo "test.sh: the tests of $1 ran in $((SECONDS - start)) s (at $SECONDS s)"
  return $status
}

sanitize=${KGATE_SANITIZERS:-1}
fuzz=${KGATE_FUZZ:-1}
reports=$root/build-sanitize-reports
plain=${KGATE_BUILD_DIR:-build-test}

# -g1: line tables are enough for test failures, and full debug info costs a third of the build.
# Unity builds (cmake/common.cmake), 40% less compiling: the tests here, everything in the
# sanitized tree, so that kgate's sources still compile file by file, as they ship, once.
build_tree "$plain" -DKGATE_UNITY_BUILD=TESTS -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
if [ "$sanitize" != 0 ]; then
  mkdir -p build-logs
  # The tests' own objects are the same in both trees (uninstrumented): that tree links these.
  background san_pid build-logs/sanitize.log build_tree build-sanitize -DKGATE_UNITY_BUILD=ALL \
    -DKGATE_SANITIZE=ON -DKGATE_TEST_OBJECTS_FROM="$(realpath "$plain")"
elif [ "$fuzz" != 0 ]; then
  mkdir -p build-logs
  background fuzz_pid build-logs/fuzz.log env KGATE_FUZZ_STEP=build ./scripts/fuzz.sh
fi
status=0
run_tests "$plain" || status=$?

if [ "$sanitize" != 0 ]; then
  finish "$san_pid" build-logs/sanitize.log || exit 1
  echo "test.sh: sanitized tree built (in the background; waited for it until $SECONDS s)"
  if [ "$fuzz" != 0 ]; then
    background fuzz_pid build-logs/fuzz.log env KGATE_FUZZ_STEP=build ./scripts/fuzz.sh
  fi
  rm -rf "$reports"
  mkdir -p "$reports"
  # Reports go to files (one per process), so a kgate child that a test stops is caught too.
  ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1" \
  UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
    run_tests build-sanitize || status=$?
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitizer reports:" >&2
    for f in "$reports"/*; do echo "== $f" >&2; cat "$f" >&2; done
    status=1
  fi
fi
if [ "$fuzz" != 0 ]; then
  finish "$fuzz_pid" build-logs/fuzz.log || exit 1
  cat build-logs/fuzz.log
  echo "test.sh: fuzz targets built (waited for them until $SECONDS s)"
  KGATE_FUZZ_STEP=run ./scripts/fuzz.sh || status=1
fi
exit $status

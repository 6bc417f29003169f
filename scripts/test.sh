#!/usr/bin/env bash
# Builds and runs every test: set-up, the normal build's suite, the fuzz
# targets for a bounded time, then the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Ends with ctest's summary.
# Exit status is non-zero when anything failed.
#
# The fuzz and sanitizer builds start as soon as the normal build is done and
# go on in the background at the lowest CPU priority (nice 19) while the
# normal suite and then the fuzz targets run: many tests wait on sockets,
# subprocesses and timeouts, and the builds use the CPU those leave idle
# without slowing the tests down. Each background build's output is printed
# when it is waited for.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)
status=0

# Release (-O2, no debug info): the suite needs optimised code, not a debugger,
# and debug info is a third of the compile time.
"$root/scripts/setup.sh" "$root/build" -DCMAKE_BUILD_TYPE=Release || exit 1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# The fuzz build, then the sanitizer build; each leaves its exit status in
# $logs/<name>.status when it ends.
(
  nice -n 19 "$root/fuzz/run.sh" --build > "$logs/fuzz.log" 2>&1
  echo $? > "$logs/fuzz.status"
  nice -n 19 "$root/scripts/setup.sh" "$root/build-asan" -DECR_SANITIZE=ON \
    -DECR_BUILD_BENCH=OFF > "$logs/asan.log" 2>&1
  echo $? > "$logs/asan.status"
) &
builds=$!
# wait_for NAME: waits for that background build, prints its output and
# returns its exit status.
wait_for() {
  while [ ! -e "$logs/$1.status" ] && kill -0 "$builds" 2>/dev/null; do sleep 1; done
  cat "$logs/$1.log" 2>/dev/null
  [ "$(cat "$logs/$1.status" 2>/dev/null)" = 0 ]
}

ctest --test-dir "$root/build" --output-on-failure -j"$jobs" || status=1

# A short run of every fuzz target (eleven); the long runs are done by hand.
if wait_for fuzz; then
  "$root/fuzz/run.sh" "${ECR_FUZZ_SECONDS:-15}" || status=1
else
  echo "test.sh: the fuzz build failed" >&2
  status=1
fi

wait_for asan || { wait "$builds"; exit 1; }
wait "$builds"
# Under the sanitizers, everything but the long recovery loops (the crash
# loops, which kill processes 60 times over, and the 277 MB pushes and pulls
# through a resetting link): they run the same code as the fault tests that
# stay in, only many times, and would double this run's time.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" \
  -LE crash-loop -E 'ResettingLink' || status=1
exit $status

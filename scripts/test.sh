#!/usr/bin/env bash
# Builds and runs every test: set-up, the normal build's suite, the fuzz
# targets for a bounded time, then the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Ends with ctest's summary.
# Exit status is non-zero when anything failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)
status=0

# Release (-O2, no debug info): the suite needs optimised code, not a debugger,
# and debug info is a third of the compile time.
"$root/scripts/setup.sh" "$root/build" -DCMAKE_BUILD_TYPE=Release || exit 1
ctest --test-dir "$root/build" --output-on-failure -j"$jobs" || status=1

# A short run of every fuzz target (eleven); the long runs are done by hand.
if [ -x "$root/fuzz/run.sh" ]; then
  "$root/fuzz/run.sh" "${ECR_FUZZ_SECONDS:-15}" || status=1
fi

"$root/scripts/setup.sh" "$root/build-asan" -DECR_SANITIZE=ON -DECR_BUILD_BENCH=OFF \
  || exit 1
# Under the sanitizers, everything but the long recovery loops (the crash
# loops, which kill processes 60 times over, and the 277 MB pushes and pulls
# through a resetting link): they run the same code as the fault tests that
# stay in, only many times, and would double this run's time.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" \
  -LE crash-loop -E 'ResettingLink' || status=1
exit $status

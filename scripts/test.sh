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

if [ -x "$root/fuzz/run.sh" ]; then
  "$root/fuzz/run.sh" "${ECR_FUZZ_SECONDS:-30}" || status=1
fi

"$root/scripts/setup.sh" "$root/build-asan" -DECR_SANITIZE=ON -DECR_BUILD_BENCH=OFF \
  || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" || status=1
exit $status

#!/usr/bin/env bash
# ecr-local's answer under slow connections, in one command:
#
#   bench/server/run.sh [--build DIR] [--connections N] [--requests N] [--no-distribution]
#
# Builds ecr-local (in build/ unless --build says otherwise) and runs
# slow_connections.py against it and against distribution (Debian's
# docker-registry, installed by bench/transfer/run.sh). Prints figures only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
pass=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    *) pass+=("$1"); shift ;;
  esac
done

[ -f "$build/CMakeCache.txt" ] || "$root/scripts/setup.sh" "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target ecr-local
exec python3 "$here/slow_connections.py" --ecr-local "$build/tools/ecr-local/ecr-local" \
  --label ecr-local "${pass[@]}"

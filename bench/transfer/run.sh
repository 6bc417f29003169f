#!/usr/bin/env bash
# The transfer benchmark, in one command:
#
#   bench/transfer/run.sh [--profile realistic,docker-save,synthetic,big-layer]
#                         [--size 770MB|4GiB] [--quick] [--sweep] [--build DIR] [--jobs N]
#                         [--no-skopeo] [--keep-work]
#
# Installs what it needs that is missing (Debian's docker-registry and skopeo,
# and the project's build dependencies through scripts/setup.sh), builds
# ecr-push, ecr-pull, ecr-local and the image generator (an optimised
# RelWithDebInfo build in build/ unless --build says otherwise), then runs
# transfer_bench.py: generates each profile's image once (cached in
# ~/.cache/ecr-bench), measures ecr-push/ecr-pull against ecr-local and skopeo
# against a distribution registry, both on free loopback ports, and prints the
# figures and the ratios against the targets. See docs/performance.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --build) build=${args[i + 1]:?--build needs a directory} ;;
    --build=*) build=${args[i]#--build=} ;;
  esac
done

log() { printf '[bench] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; exit 1
  fi
}

missing=()
for pkg in docker-registry skopeo; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d on most build machines keeps the packaged service from
  # starting; the bench runs its own registry on a free port either way.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

targets=(ecr-push ecr-pull ecr-local ecr make_bench_image wan_proxy sha256_bench)
if [ ! -f "$build/CMakeCache.txt" ]; then
  log "building into $build (scripts/setup.sh)"
  "$root/scripts/setup.sh" "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
else
  # An existing build: bring the measured binaries up to date, nothing else.
  cmake --build "$build" --target "${targets[@]}" >&2
fi
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
case $type in
  Release | RelWithDebInfo | '') ;; # empty: CMakeLists.txt picks RelWithDebInfo
  *) log "warning: $build is a '${type:-no type}' build; figures need Release or RelWithDebInfo" ;;
esac
if grep -q '^ECR_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  log "warning: $build is a sanitizer build; figures will be meaningless"
fi

exec python3 "$here/transfer_bench.py" --build "$build" "$@"

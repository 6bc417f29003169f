#!/usr/bin/env bash
# Prepares a Debian 12 machine and builds the project.
#
#   scripts/setup.sh [BUILD_DIR] [extra cmake -D options...]
#
# Installs the Debian packages in scripts/packages.txt that are missing (only
# those; nothing when all are present), checks the Python peers the tests use
# (boto3, moto_server, the AWS CLI), configures with warnings as errors and
# builds. Safe to run again: a second run with everything present only
# rebuilds what changed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$root/build"}
shift || true

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; exit 1
  fi
}

install_missing() {
  local missing=()
  local pkg
  while read -r pkg; do
    pkg=${pkg%%#*}; pkg=${pkg//[[:space:]]/}
    [ -n "$pkg" ] || continue
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done < "$root/scripts/packages.txt"
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

# The tests drive real peers from Python: boto3, moto_server and the AWS CLI.
# Machines of this kind ship them on their Python; elsewhere Debian's
# packages provide them.
check_python_peers() {
  if python3 -c 'import boto3, moto' 2>/dev/null && command -v aws >/dev/null 2>&1; then
    return
  fi
  log "python3 lacks boto3/moto or the AWS CLI is missing: installing Debian's"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-boto3 python3-moto python3-flask python3-flask-cors awscli >/dev/null || \
    log "could not install the Python peers; tests that need them will say they skipped"
}

install_missing
check_python_peers

gen=()
[ -f "$build/CMakeCache.txt" ] || gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DECR_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"

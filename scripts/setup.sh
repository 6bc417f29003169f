#!/usr/bin/env bash
# Prepares a Debian 12 machine and builds the project.
#
#   scripts/setup.sh [BUILD_DIR] [extra cmake -D options...]
#
# Installs the Debian packages in scripts/packages.txt that are missing (only
# those; nothing when all are present), installs the Python peers the tests
# use where Debian has them (boto3, the AWS CLI), configures with warnings as
# errors and builds. Safe to run again: a second run with everything present
# only rebuilds what changed.
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

# The tests drive real peers from Python: boto3 and the AWS CLI (against
# ecr-local, and botocore's signer) and moto_server (against ecr::Client).
# The project's development machines ship all three on their own Python;
# elsewhere Debian's packages provide boto3 and the AWS CLI. Debian 12 has no
# moto package (python3-moto, which this used to ask for, made the whole
# install fail), and PyPI may be out of reach: without moto_server the tests
# against it say they skipped.
check_python_peers() {
  local wanted=()
  python3 -c 'import boto3' 2>/dev/null || wanted+=(python3-boto3)
  command -v aws >/dev/null 2>&1 || wanted+=(awscli)
  if [ ${#wanted[@]} -gt 0 ]; then
    log "installing Debian packages for the tests' Python peers: ${wanted[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${wanted[@]}" >/dev/null
  fi
  if ! command -v moto_server >/dev/null 2>&1; then
    log "moto_server is not on PATH (pip install 'moto[server]'; Debian 12 has no package):" \
        "the tests against moto will be skipped"
  fi
}

install_missing
check_python_peers

gen=()
[ -f "$build/CMakeCache.txt" ] || gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DECR_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"

#!/usr/bin/env bash
# Checks the README's quick start on a fresh Debian 12 machine: builds a
# Debian 12 (bookworm) minbase root with debootstrap, clones the repository's
# committed HEAD into it, and runs the commands of the README's quick start
# (scripts/demo.sh, then scripts/test.sh) inside it as root, reporting
# pass/fail and the time of each. Run by hand, as root (not in CI): it takes
# 40-60 minutes on 2 cores, since the test command builds everything twice.
#
#   scripts/check-fresh-machine.sh [DIR]
#
# DIR: where to make the root (must be absent or empty); it is kept, with the
# output of each command in DIR/check-*.log. Without DIR a temporary
# directory is used and removed at the end. Debian's mirror is the one apt
# uses here (/etc/apt/sources.list, /etc/apt/sources.list.d/). Uncommitted
# changes are not part of the check: commit first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=bookworm

log() { printf '[fresh-machine] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: debootstrap, chroot and mount need it"

if [ $# -ge 1 ]; then
  target=$(mkdir -p "$1" && cd "$1" && pwd)
  [ -z "$(ls -A "$target")" ] || die "$target is not empty: give a new directory"
  keep=1
else
  target=$(mktemp -d /var/tmp/ecr-fresh-machine.XXXXXX)
  keep=0
fi

# Unmounts what was mounted (innermost first), ends any process still running
# in the root, and removes a temporary root.
mounted=()
cleanup() {
  local status=$? pid i
  for pid in /proc/[0-9]*; do
    if [ "$(readlink "$pid/root" 2>/dev/null)" = "$target" ]; then
      kill -9 "${pid#/proc/}" 2>/dev/null || true
    fi
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" 2>/dev/null ||
      log "could not unmount ${mounted[i]}"
  done
  if [ "$keep" = 0 ]; then
    if findmnt -rn -o TARGET | grep -q "^$target/"; then
      log "something is still mounted under $target: not removing it"
    else
      rm -rf "$target"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Debian mirror apt uses on this machine: the first URI listed for the
# suite itself, from one-line (.list) or deb822 (.sources) files.
mirror_for() {
  local want=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == want) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      function flush() { if (deb && uri != "" && (" " suites " ") ~ (" " want " ")) { print uri; found = 1 }
                         deb = 0; uri = ""; suites = "" }
      /^[[:space:]]*$/ { flush(); if (found) exit; next }
      /^Types:/  { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
      /^URIs:/   { uri = $2 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      END        { if (!found) flush() }' "$f"
  done
}
mirror=$(mirror_for "$suite" | sed -n 1p)
[ -n "$mirror" ] || die "no Debian mirror for $suite in /etc/apt/sources.list{,.d}"

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
    >/dev/null
fi

head_commit=$(git -C "$root" rev-parse HEAD)
log "root: $target; mirror: $mirror; commit: $(git -C "$root" log -1 --format='%h %s')"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  log "the work tree has uncommitted changes: they are not part of the check"
fi

started=$(date +%s)
log "debootstrap --variant=minbase $suite"
debootstrap --variant=minbase "$suite" "$target" "$mirror" > "$target/check-debootstrap.log" 2>&1 ||
  { tail -n 30 "$target/check-debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap took $(($(date +%s) - started)) s"

# What a fresh machine's apt knows: the suite, its updates and its security
# archive, from the mirrors this machine uses.
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  security=$(mirror_for "$suite-security" | sed -n 1p)
  [ -z "$security" ] || echo "deb $security $suite-security main"
} > "$target/etc/apt/sources.list"
cp /etc/resolv.conf /etc/hosts "$target/etc/"
# No daemon that a package installs starts inside the root.
printf '#!/bin/sh\nexit 101\n' > "$target/usr/sbin/policy-rc.d"
chmod +x "$target/usr/sbin/policy-rc.d"

git clone --quiet --no-hardlinks "$root" "$target/root/ecr"
git -C "$target/root/ecr" checkout --quiet --detach "$head_commit"

mount -t proc proc "$target/proc"; mounted+=("$target/proc")
mount --rbind /sys "$target/sys"; mount --make-rslave "$target/sys"; mounted+=("$target/sys")
mount --rbind /dev "$target/dev"; mount --make-rslave "$target/dev"; mounted+=("$target/dev")

# The README's quick start: the lines of the first sh block after its heading.
mapfile -t commands < <(awk '/^## Quick start/ { q = 1 } q && /^```sh/ { b = 1; next }
                             b && /^```/ { exit } b && NF { print }' "$target/root/ecr/README.md")
[ ${#commands[@]} -gt 0 ] || die "no commands found in the README's quick start"

# Each command runs as root in the clone, with a fresh machine's environment
# (nothing of this shell's: no PATH additions, no pip or Python settings).
results=()
overall=0
for i in "${!commands[@]}"; do
  command=${commands[i]}
  out="$target/check-$((i + 1)).log"
  log "running: $command (output: $out)"
  begin=$(date +%s)
  # In the background with a wait, so that a signal to this script is handled
  # at once (the trap ends what runs in the root) rather than after the command.
  (env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
     PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
     chroot "$target" /bin/bash -c "cd /root/ecr && $command" </dev/null 2>&1 | tee "$out") &
  if wait $!; then
    verdict=PASS
  else
    verdict=FAIL
    overall=1
  fi
  seconds=$(($(date +%s) - begin))
  results+=("$(printf '%-4s %-20s %3dm%02ds' "$verdict" "$command" $((seconds / 60)) $((seconds % 60)))")
  log "$verdict: $command ($seconds s)"
done

total=$(($(date +%s) - started))
echo
echo "== fresh Debian 12 ($suite minbase), commit ${head_commit:0:12}"
printf '%s\n' "${results[@]}"
printf 'total (with debootstrap): %dm%02ds\n' $((total / 60)) $((total % 60))
exit $overall

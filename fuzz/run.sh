#!/bin/sh
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for
# SECONDS (default 30; CI passes 15), seeded from fixtures/ and fuzz/corpus/<target>/ (a
# copy: the run never writes into the repository). UndefinedBehaviorSanitizer
# findings stop a target like crashes. Targets run one per core at a time
# (each fuzzer is one process on one core, so each still gets SECONDS of a
# whole core); each one's output is printed when it ends, and the run fails
# when any target failed. Usage: fuzz/run.sh [SECONDS]; fuzz/run.sh --build
# only builds.
set -eu
seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
CXX="${CXX:-clang++}" cmake -S "$root/fuzz" -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j2
if [ "$seconds" = "--build" ]; then exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
mkdir -p "$work/manifest" "$work/archive" "$work/http" "$work/part" "$work/v2"
printf '{"repositoryName":"a","uploadId":"u","partFirstByte":0,"partLastByte":2,"layerPartBlob":"QUJD"}' \
  > "$work/part/plain"
printf '{"uploadId":"u","partFirstByte":0,"layerPartBlob":"QUJDRA==","partLastByte":3,"repositoryName":"a"}' \
  > "$work/part/push"
printf '{"x":{"y":["}",{"z":"\\"q"}]},"layerPartBlob":"QU\\/D"}' > "$work/part/escaped"
printf 'bytes=0-99\n/blobs/sha256/ab?repository=a%%2Fb&expires=1&signature=x+y' > "$work/http/download"
printf 'bytes=-5\n/?a&&b=%%zz&c=%%41' > "$work/http/suffix"
printf '/v2/team/app/blobs/uploads/0b9a\n0-1048575\napplication/vnd.oci.image.manifest.v1+json, */*;q=0.5\nBasic QVdTOmVjcmxvY2FsMS4=' \
  > "$work/v2/patch"
printf '/v2/a/manifests/b/manifests/latest\nbytes 10-9\n\nbasic  %%%%' > "$work/v2/odd"
cp "$root"/fixtures/*.tar "$work/archive/"
for t in "$root"/fixtures/*.tar; do
  tar -xOf "$t" index.json > "$work/manifest/$(basename "$t").index" 2>/dev/null || true
  tar -xOf "$t" manifest.json > "$work/manifest/$(basename "$t").manifest" 2>/dev/null || true
done
cores="$(nproc 2>/dev/null || echo 1)"
running=""
failed=""
# finish: waits for the running targets and prints each one's output.
finish() {
  for entry in $running; do
    target="${entry%%:*}"
    if wait "${entry#*:}"; then
      cat "$work/$target.log"
    else
      cat "$work/$target.log"
      echo "fuzz/run.sh: $target failed" >&2
      failed="$failed $target"
    fi
  done
  running=""
}
# fuzz TARGET ARGS...: starts build-fuzz/TARGET ARGS... in the background, at
# most one per core.
fuzz() {
  target="$1"
  shift
  "$build/$target" "$@" > "$work/$target.log" 2>&1 &
  running="$running $target:$!"
  set -- $running
  if [ "$#" -ge "$cores" ]; then finish; fi
}
fuzz manifest_fuzz -max_total_time="$seconds" -max_len=65536 "$work/manifest"
fuzz archive_fuzz -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 "$work/archive"
fuzz http_request_fuzz -max_total_time="$seconds" -max_len=4096 "$work/http"
fuzz layer_part_fuzz -max_total_time="$seconds" -max_len=4096 "$work/part"
fuzz registry_api_fuzz -max_total_time="$seconds" -max_len=4096 "$work/v2"
# Seeded from fuzz/corpus/<target>/ (fuzz/make_seeds.py wrote the last three).
for t in aws_config reference sigv4 aws_json response docker_manifest; do
  mkdir -p "$work/$t"
  cp "$root/fuzz/corpus/$t/"* "$work/$t/"
  fuzz "${t}_fuzz" -max_total_time="$seconds" -max_len=8192 "$work/$t"
done
finish
if [ -n "$failed" ]; then
  echo "fuzz/run.sh: failed:$failed" >&2
  exit 1
fi

#!/usr/bin/env bash
# The main job: builds the tools, starts ecr-local on a free loopback port,
# pushes the fixture image fixtures/hello.oci.tar with ecr-push, pulls it back
# into an oci-archive with ecr-pull (straight into the archive), into an OCI
# layout (through the blob cache) and into an oci-archive again (served from
# the cache), checks that the manifest digests match, prints what happened and stops the
# server. Everything it writes (registry, cache, archives) is in a temporary
# directory removed at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build"
# Release, as scripts/test.sh builds build/: running the two one after the
# other then builds the tree once, not twice.
"$root/scripts/setup.sh" "$build" -DCMAKE_BUILD_TYPE=Release >&2

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# ecr-local accepts one credential pair; the tools find the same pair in the
# environment, as the AWS CLI would.
export AWS_ACCESS_KEY_ID=ecr-local AWS_SECRET_ACCESS_KEY=ecr-local-secret AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECR
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"

mkfifo "$work/url"
"$build/tools/ecr-local/ecr-local" --root "$work/registry" --listen 127.0.0.1:0 \
  --log-level warn > "$work/url" 2> "$work/ecr-local.log" &
server_pid=$!
read -r -t 30 url < "$work/url" || { echo "ecr-local did not start:" >&2; cat "$work/ecr-local.log" >&2; exit 1; }
echo "ecr-local listening on $url"

source_image="$root/fixtures/hello.oci.tar"
echo
echo "== source: $source_image"
"$build/tools/ecr/ecr" image inspect "oci-archive:$source_image"

echo
echo "== ecr-push oci-archive:fixtures/hello.oci.tar hello:latest"
"$build/tools/ecr-push/ecr-push" --endpoint-url "$url" --cache-dir "$work/cache" --create-repository --json \
  "oci-archive:$source_image" hello:latest | tee "$work/push.json"

echo
echo "== ecr-pull hello:latest oci-archive:pulled.tar"
"$build/tools/ecr-pull/ecr-pull" --endpoint-url "$url" --cache-dir "$work/cache" --json \
  hello:latest "oci-archive:$work/pulled.tar" | tee "$work/pull.json"

echo
echo "== ecr-pull hello:latest oci:pulled-layout (the blobs go through the cache, $work/cache)"
"$build/tools/ecr-pull/ecr-pull" --endpoint-url "$url" --cache-dir "$work/cache" --json \
  hello:latest "oci:$work/pulled-layout" | tee "$work/pull-layout.json"

echo
echo "== ecr-pull into an oci-archive again: the blobs come from the cache"
"$build/tools/ecr-pull/ecr-pull" --endpoint-url "$url" --cache-dir "$work/cache" --json \
  hello:latest "oci-archive:$work/pulled-again.tar" | tee "$work/pull-again.json"

echo
echo "== the registry's view (ecr describe-images)"
"$build/tools/ecr/ecr" --endpoint-url "$url" describe-images --repository-name hello

digest_of() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["digest"])' "$1"; }
pushed=$(digest_of "$work/push.json")
pulled=$(digest_of "$work/pull.json")
pulled_again=$(digest_of "$work/pull-again.json")
actions_of() { python3 -c 'import json,sys,collections; c=collections.Counter(b["action"] for b in json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["blobs"]); print(", ".join(f"{n} {a}" for a, n in sorted(c.items())))' "$1"; }
expected=$("$build/tools/ecr/ecr" image inspect "oci-archive:$source_image" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
reread=$("$build/tools/ecr/ecr" image inspect "oci-archive:$work/pulled.tar" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')

echo
echo "== summary"
echo "fixture manifest digest: $expected"
echo "pushed:                  $pushed ($(actions_of "$work/push.json"))"
echo "pulled:                  $pulled ($(actions_of "$work/pull.json"))"
echo "pulled into a layout:    $(digest_of "$work/pull-layout.json") ($(actions_of "$work/pull-layout.json"))"
echo "pulled again:            $pulled_again ($(actions_of "$work/pull-again.json"))"
echo "pulled archive reads as: $reread"
if [ "$expected" = "$pushed" ] && [ "$pushed" = "$pulled" ] && [ "$pulled" = "$reread" ] &&
   [ "$pulled_again" = "$pulled" ] && cmp -s "$work/pulled.tar" "$work/pulled-again.tar"; then
  echo "OK: the image went to ecr-local and came back with the same manifest digest;"
  echo "    the pull from the cache wrote a byte-identical archive"
else
  echo "FAILED: digests differ" >&2
  exit 1
fi

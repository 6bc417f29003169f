#!/usr/bin/env bash
# Installs this build tree into a temporary prefix, builds examples/ against
# the installed package and pushes fixtures/hello.oci.tar to a fresh ecr-local
# with it.
#
#   package_test.sh MODE CMAKE BUILD_DIR SOURCE_DIR LIBDIR ECR_LOCAL CXX BINDIR
#
# MODE cmake:      examples/CMakeLists.txt (find_package(ecr CONFIG)) builds
#                  push_image and pull_image; the fixture is pushed, pulled back
#                  into an oci-archive, and both report the fixture's digest.
# MODE pkg-config: push_image.cpp is compiled and linked by CXX with only
#                  `pkg-config --cflags --libs ecr`, then pushes the fixture.
# ECR_EXAMPLE_FLAGS (environment): extra compile and link flags (sanitizers).
# Everything happens in one temporary directory, removed on exit; ecr-local
# listens on a port the kernel picks.
set -euo pipefail

mode=$1 cmake=$2 build_dir=$3 source_dir=$4 libdir=$5 ecr_local=$6 cxx=$7 bindir=$8
example_flags=${ECR_EXAMPLE_FLAGS:-}
# fixtures/README.md: the manifest digest of hello.oci.tar.
expected=sha256:2c08ddd3f6dd05fb9768756e6ba3b1c203e4ad69cff1673318968b122e8458de

work=$(mktemp -d "${TMPDIR:-/tmp}/ecr-install-test.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  exec 3<&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# Runs a command with its output in $work/<name>.log, shown only on failure.
logged() {
  local name=$1
  shift
  if ! "$@" >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    fail "$name: $*"
  fi
}

prefix="$work/prefix"
logged install "$cmake" --install "$build_dir" --prefix "$prefix"
for f in "$prefix/include/ecr/transfer.hpp" "$prefix/$libdir/libecr_transfer.a" \
  "$prefix/$libdir/cmake/ecr/ecrConfig.cmake" "$prefix/$libdir/pkgconfig/ecr.pc"; do
  [ -f "$f" ] || fail "cmake --install did not install $f"
done
# docker finds its credential helper on PATH by name: docker-credential-<name>.
helper="$prefix/$bindir/docker-credential-ecr"
[ -x "$helper" ] || fail "cmake --install did not install $helper"
version=$("$helper" version) || fail "$helper version failed"
[[ $version == "docker-credential-ecr "* ]] || fail "$helper version printed '$version'"

# Deliberately strict: installed headers must compile warning-free in a
# consumer's build.
cxxflags="-Wall -Wextra -Werror $example_flags"
bin="$work/bin"
mkdir -p "$bin"
case $mode in
  cmake)
    logged configure "$cmake" -S "$source_dir/examples" -B "$work/build" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$example_flags" \
      -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$bin"
    found=$(sed -n 's/^ecr_DIR:PATH=//p' "$work/build/CMakeCache.txt")
    [ "$found" = "$prefix/$libdir/cmake/ecr" ] ||
      fail "find_package(ecr) used '$found', not the package installed in $prefix"
    logged build "$cmake" --build "$work/build"
    ;;
  pkg-config)
    export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
    flags=$(pkg-config --print-errors --cflags --libs ecr) || fail "pkg-config --cflags --libs ecr"
    case " $flags " in
      *" -I$prefix/"*) ;;
      *) fail "pkg-config's flags do not point into $prefix: $flags" ;;
    esac
    # shellcheck disable=SC2086 # both are lists of flags
    logged compile "$cxx" -std=c++20 $cxxflags "$source_dir/examples/push_image.cpp" \
      -o "$bin/push_image" $flags $example_flags
    ;;
  *) fail "unknown mode '$mode' (cmake or pkg-config)" ;;
esac

# ecr-local on 127.0.0.1, port chosen by the kernel; its first stdout line is
# its URL. The FIFO stays open on fd 3 so later output cannot hit a closed pipe.
mkfifo "$work/stdout"
"$ecr_local" --root "$work/registry" --listen 127.0.0.1:0 --access-key ecr-local \
  --secret-key ecr-local-secret >"$work/stdout" 2>"$work/ecr-local.log" &
server_pid=$!
exec 3<"$work/stdout"
if ! read -r -t 30 url <&3 || [[ $url != http://127.0.0.1:* ]]; then
  cat "$work/ecr-local.log" >&2
  fail "ecr-local printed no URL"
fi

# The examples resolve everything from the environment, as the AWS CLI does:
# only ecr-local's credentials and URL, nothing from the user's ~/.aws or cache.
run_example() {
  env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL \
    AWS_ACCESS_KEY_ID=ecr-local AWS_SECRET_ACCESS_KEY=ecr-local-secret \
    AWS_REGION=us-east-1 AWS_ENDPOINT_URL_ECR="$url" \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    XDG_CACHE_HOME="$work/cache" "$@"
}

fixture="$source_dir/fixtures/hello.oci.tar"
status=0
run_example "$bin/push_image" "oci-archive:$fixture" hello:latest \
  >"$work/push.out" 2>"$work/push.err" || status=$?
[ "$status" -eq 0 ] || {
  cat "$work/push.err" >&2
  fail "push_image exited $status"
}
pushed=$(cat "$work/push.out")
[ "$pushed" = "$expected" ] || fail "push_image printed '$pushed', expected $expected"
# The progress callback saw the layer go through the engine.
grep -q ' done ' "$work/push.err" || {
  cat "$work/push.err" >&2
  fail "push_image printed no progress"
}

if [ "$mode" = cmake ]; then
  run_example "$bin/pull_image" hello:latest "oci-archive:$work/pulled.tar" \
    >"$work/pull.out" 2>"$work/pull.err" || status=$?
  [ "$status" -eq 0 ] || {
    cat "$work/pull.err" >&2
    fail "pull_image exited $status"
  }
  pulled=$(cat "$work/pull.out")
  [ "$pulled" = "$expected" ] || fail "pull_image printed '$pulled', expected $expected"
  [ -s "$work/pulled.tar" ] || fail "pull_image wrote no $work/pulled.tar"
fi

# ecr-local must shut down cleanly on SIGTERM (a sanitizer report makes it fail).
kill -TERM "$server_pid"
wait "$server_pid" || status=$?
server_pid=
[ "$status" -eq 0 ] || {
  cat "$work/ecr-local.log" >&2
  fail "ecr-local exited $status on SIGTERM"
}
echo "ok: $mode example pushed $pushed"

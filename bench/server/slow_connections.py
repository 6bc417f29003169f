#!/usr/bin/env python3
"""Latency of a normal request while N slow connections are open.

    bench/server/slow_connections.py --ecr-local BUILD/tools/ecr-local/ecr-local
                                     [--connections 1000] [--requests 50]
                                     [--no-distribution] [--label NAME]

For ecr-local (run with --no-auth, so the normal request is a plain
DescribeRepositories POST any client can send) and for distribution (Debian's
docker-registry, GET /v2/), both on free loopback ports: opens N connections
that each send half a request header and then wait, then times REQUESTS
normal requests, each on a fresh connection, and prints the median, 90th
percentile and worst latency next to the same figures with no slow
connections open. A request that gets no answer within 60 s is reported as
such. Figures, not assertions (docs/performance.md).
"""
import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ANSWER_WAIT_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def one_request(port, request):
    """Seconds until the whole response head arrived, or None without one."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WAIT_S) as s:
            s.sendall(request)
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    return None
                got += chunk
            if not got.startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - start


def measure(port, request, count):
    times = [one_request(port, request) for _ in range(count)]
    answered = sorted(t for t in times if t is not None)
    return answered, count - len(answered)


def describe(answered, missing):
    if not answered:
        return f"no answer to any of {missing} requests within {ANSWER_WAIT_S} s"
    p90 = answered[min(len(answered) - 1, int(len(answered) * 0.9))]
    text = (f"median {statistics.median(answered) * 1000:8.2f} ms  p90 {p90 * 1000:8.2f} ms  "
            f"worst {answered[-1] * 1000:8.2f} ms")
    if missing:
        text += f"  ({missing} of {len(answered) + missing} unanswered within {ANSWER_WAIT_S} s)"
    return text


def open_slow(port, n, half_header):
    slow = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(half_header)
        except OSError:
            s.close()
            continue
        slow.append(s)
    return slow


def run(label, port, request, half_header, args):
    base_answered, base_missing = measure(port, request, args.requests)
    slow = open_slow(port, args.connections, half_header)
    time.sleep(0.5)  # let the server take them all in
    answered, missing = measure(port, request, args.requests)
    for s in slow:
        s.close()
    print(f"{label:<22} {0:>5} slow: {describe(base_answered, base_missing)}")
    print(f"{label:<22} {len(slow):>5} slow: {describe(answered, missing)}")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ecr-local", action="append", default=[],
                        help="an ecr-local binary (repeat to compare builds)")
    parser.add_argument("--label", action="append", default=[],
                        help="a name for each --ecr-local, in order")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--no-distribution", action="store_true")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 100:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below {args.connections + 100}")

    print(f"{args.connections} connections that each sent half a header; "
          f"{args.requests} requests on fresh connections; load {os.getloadavg()[0]:.2f}")
    work = tempfile.mkdtemp(prefix="slow-connections-")
    try:
        for i, binary in enumerate(args.ecr_local):
            label = args.label[i] if i < len(args.label) else f"ecr-local #{i + 1}"
            proc = subprocess.Popen([binary, "--root", os.path.join(work, f"ecr-local-{i}"),
                                     "--listen", "127.0.0.1:0", "--no-auth", "--log-level", "error"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                url = proc.stdout.readline().strip()
                port = int(url.rsplit(":", 1)[1])
                request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/x-amz-json-1.1\r\n"
                           b"X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories\r\n"
                           b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
                run(label, port, request, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar", args)
            finally:
                stop(proc)
        if not args.no_distribution and shutil.which("docker-registry"):
            port = free_port()
            config = os.path.join(work, "distribution.yml")
            with open(config, "w") as f:
                f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {os.path.join(work, "distribution")}
http:
  addr: 127.0.0.1:{port}
""")
            proc = subprocess.Popen(["docker-registry", "serve", config],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                if not wait_port(port, proc):
                    sys.exit("docker-registry did not start")
                request = b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                run("distribution", port, request, b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sl", args)
            finally:
                stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

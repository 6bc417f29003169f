#!/usr/bin/env python3
"""The transfer benchmark: ecr-push/ecr-pull against ecr-local, and skopeo
against a distribution registry (Debian docker-registry) as the reference, on
the same generated image. Prints figures; never fails on a figure.

Run through bench/transfer/run.sh, which installs what is missing and builds.
See docs/performance.md for what is measured and how to read it.
"""
import argparse
import datetime
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# Generator version: bump when make_bench_image changes its output, so cached
# images of the old shape are not reused under the new name.
IMAGE_VERSION = 1
LAYERS = 8
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ecr-bench", "AWS_SECRET_ACCESS_KEY": "ecr-bench-secret"}

# The targets, for this 2-core machine: ratios against skopeo in the same run
# (issue 12), per profile; the synthetic image also keeps issue 5's re-push,
# CPU and RSS targets.
TARGETS = {
    "realistic": {"push": 2.0, "pull": 2.0},
    "wan": {"push": None, "pull": 1.0},
    "docker-save": {"push": 2.5, "pull": None},
    "synthetic": {"push": 2.5, "pull": 2.2},
    "big-layer": {"push": 2.0, "pull": 2.0},
}
TARGET_REPUSH_S = 0.1
TARGET_CPU_PER_GB = 1.3
TARGET_RSS_MB = 256
PROFILES = ["realistic", "docker-save", "synthetic", "big-layer", "wan"]
# The wan profile's link (bench/transfer/wan_proxy.cpp): 20 ms of round trip,
# 1 Gbit/s each way.
WAN_DELAY_MS = 10
WAN_RATE_MBIT = 1000
DEFAULT_PROFILES = ["realistic", "docker-save", "synthetic"]
# Bumped when a profile's image changes shape, so a cached one is remade.
PROFILE_VERSION = 1


def parse_size(text):
    """'770MB' (decimal), '4GiB' (binary), or a plain byte count."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 770MB, 4GiB)")
    number, unit, binary = float(m.group(1)), m.group(2).upper(), m.group(3)
    power = " KMGT".index(unit) if unit else 0
    return int(number * (1024 if binary else 1000) ** power)


def human(n):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


class Measured:
    """One client run: wall seconds, CPU seconds (user+sys) and peak RSS of
    the client process (from wait4's rusage), and the server's CPU and peak
    RSS over the same interval (from /proc)."""

    def __init__(self, label, wall, cpu, rss_kb, server=None, output="", written=0):
        self.label, self.wall, self.cpu, self.rss_mb = label, wall, cpu, rss_kb / 1024
        # Bytes the client made the kernel write to storage (rusage's
        # ru_oublock, the /proc/PID/io write_bytes of the process and its
        # children), in MB.
        self.disk_mb = written / 1e6
        self.server_cpu, self.server_rss_mb = server if server else (None, None)
        self.output = output


class Server:
    """A registry process we started; stop() ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, argv, log_path, stdout=subprocess.DEVNULL, env=None):
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=self.log, env=env,
                                     start_new_session=True)

    def reset_peak(self):
        # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so each phase
        # reports its own peak.
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def run_measured(label, argv, env, server=None, log=None):
    """Runs argv to completion; raises with its output when it fails."""
    if server:
        server.reset_peak()
        server_cpu_before = server.cpu_seconds()
    out = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C or SIGTERM: the client goes too
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode(errors="replace")
    if log:
        log.write(f"$ {' '.join(argv)}\n{text}\n")
        log.flush()
    if proc.returncode != 0:
        raise RuntimeError(f"{label}: {' '.join(argv)} exited {proc.returncode}:\n{text}")
    server_figures = None
    if server:
        server_figures = (server.cpu_seconds() - server_cpu_before, server.peak_rss_mb())
    return Measured(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, server_figures,
                    text, usage.ru_oublock * 512)


def free_port():
    # For docker-registry, which cannot report a port it picked itself: the
    # kernel picks one, we release it and hand it over (a retry covers the race).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def layout_image(layout):
    """(manifest digest, bytes of its config and layers) of a layout's only image."""
    with open(os.path.join(layout, "index.json")) as f:
        manifest_desc = json.load(f)["manifests"][0]
    with open(os.path.join(layout, "blobs", "sha256", manifest_desc["digest"][7:])) as f:
        manifest = json.load(f)
    size = sum(l["size"] for l in manifest["layers"]) + manifest["config"]["size"]
    return manifest_desc["digest"], size


def file_sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 2**20):
            h.update(chunk)
    return h.hexdigest()


def store_blob(blobs, path, media_type):
    digest = file_sha256(path)
    size = os.path.getsize(path)
    os.rename(path, os.path.join(blobs, digest))
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": size}


def store_bytes(blobs, data, media_type):
    import hashlib
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}


def write_layout(out, layers):
    """Writes the OCI layout `out`: the uncompressed tars `layers(staging)`
    writes, each gzipped with pigz, a config naming their diff_ids, a
    manifest and index.json; renamed into place when whole."""
    staging = out + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    blobs = os.path.join(staging, "blobs", "sha256")
    os.makedirs(blobs)
    descriptors, diff_ids = [], []
    for tar in layers(staging):
        diff_ids.append("sha256:" + file_sha256(tar))
        with open(tar + ".gz", "wb") as gz:
            subprocess.run(["pigz", "-n", "-6", "-c", tar], stdout=gz, check=True)
        os.unlink(tar)
        descriptors.append(store_blob(blobs, tar + ".gz",
                                      "application/vnd.oci.image.layer.v1.tar+gzip"))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "config": {}}, separators=(",", ":")).encode()
    config_desc = store_bytes(blobs, config, "application/vnd.oci.image.config.v1+json")
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config_desc, "layers": descriptors},
                          separators=(",", ":")).encode()
    manifest_desc = store_bytes(blobs, manifest,
                                "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    with open(os.path.join(staging, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest_desc]}, f)
    with open(os.path.join(staging, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    os.rename(staging, out)


def random_tar(staging, name, random_bytes, text_bytes):
    """A tar holding one file of `random_bytes` random bytes followed by
    `text_bytes` of text (the machine's license texts, repeated)."""
    import tarfile
    data = os.path.join(staging, name + ".bin")
    with open(data, "wb") as f:
        left = random_bytes
        while left:
            n = min(left, 16 * 2**20)
            f.write(os.urandom(n))
            left -= n
        text = b"".join(open(os.path.join("/usr/share/common-licenses", n), "rb").read()
                        for n in sorted(os.listdir("/usr/share/common-licenses"))
                        if os.path.isfile(os.path.join("/usr/share/common-licenses", n)))
        left = text_bytes
        while left and text:
            chunk = text[:left]
            f.write(chunk)
            left -= len(chunk)
    tar = os.path.join(staging, name + ".tar")
    with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as t:
        info = t.gettarinfo(data, arcname=name + ".bin")
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        with open(data, "rb") as f:
            t.addfile(info, f)
    os.unlink(data)
    return tar


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = args.build
        self.work = tempfile.mkdtemp(prefix="ecr-transfer-bench-", dir=args.tmp)
        self.servers = []
        # Set for the wan profile: registries are reached through wan_proxy.
        self.wan = False
        self.log = open(os.path.join(self.work, "commands.log"), "w")
        # The tools read credentials from the environment; nothing of the
        # user's (profiles, endpoints, cache) leaks in.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k != "XDG_CACHE_HOME"}
        env.update(CREDENTIALS)
        env.update({"AWS_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": os.path.join(self.work, "aws-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.work, "aws-credentials"),
                    "XDG_CACHE_HOME": os.path.join(self.work, "xdg-cache")})
        self.env = env

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def tool(self, name):
        return os.path.join(self.bin, "tools", name, name)

    # --- servers -----------------------------------------------------------------

    def start_ecr_local(self, name):
        root = self.path(name)
        server = Server([self.tool("ecr-local"), "--root", root, "--listen", "127.0.0.1:0",
                         "--log-level", "warn", "--access-key", CREDENTIALS["AWS_ACCESS_KEY_ID"],
                         "--secret-key", CREDENTIALS["AWS_SECRET_ACCESS_KEY"]],
                        self.path(name + ".log"), stdout=subprocess.PIPE)
        self.servers.append(server)
        url = server.proc.stdout.readline().decode().strip()
        if not url.startswith("http://"):
            server.stop()
            raise RuntimeError(f"ecr-local did not start: {open(self.path(name + '.log')).read()}")
        server.url = url
        if self.wan:
            # Clients talk to the link; ecr-local builds its download URLs
            # from the Host header, so the blobs cross the link too.
            server.url = self.start_link(name, url.split("//", 1)[1])
        return server

    def start_link(self, name, target):
        proxy = Server([os.path.join(self.bin, "bench", "transfer", "wan_proxy"), "--target", target,
                        "--delay-ms", str(WAN_DELAY_MS), "--rate-mbit", str(WAN_RATE_MBIT)],
                       self.path(name + "-link.log"), stdout=subprocess.PIPE)
        self.servers.append(proxy)
        url = proxy.proc.stdout.readline().decode().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"wan_proxy did not start: {open(self.path(name + '-link.log')).read()}")
        return url

    def stop_server(self, server, name):
        status = server.stop()
        self.servers.remove(server)
        if status not in (0, -signal.SIGTERM):
            print(f"warning: {name} exited {status}", file=sys.stderr)

    def start_distribution(self):
        root = self.path("distribution")
        os.makedirs(root, exist_ok=True)
        for _ in range(5):
            port = free_port()
            config = self.path("distribution.yml")
            with open(config, "w") as f:
                f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
""")
            server = Server(["/usr/bin/docker-registry", "serve", config],
                            self.path("distribution.log"))
            self.servers.append(server)
            if wait_http(f"http://127.0.0.1:{port}/v2/", server.proc):
                server.address = f"127.0.0.1:{port}"
                if self.wan:
                    server.address = self.start_link("distribution", server.address).split("//")[1]
                return server
            self.stop_server(server, "docker-registry")
        raise RuntimeError("docker-registry did not start: " + open(self.path("distribution.log")).read())

    def close(self):
        for server in list(self.servers):
            server.stop()
        self.log.close()
        if self.args.keep_work:
            print(f"work directory kept: {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # --- the image ---------------------------------------------------------------

    def image(self):
        size = self.args.size
        cache = os.path.join(self.args.image_cache, f"image-{size}-{LAYERS}-v{IMAGE_VERSION}")
        if not os.path.exists(os.path.join(cache, "index.json")):
            os.makedirs(self.args.image_cache, exist_ok=True)
            print(f"generating the test image ({human(size)}, {LAYERS} layers) in {cache} ...",
                  flush=True)
            start = time.perf_counter()
            subprocess.run([os.path.join(self.bin, "bench", "transfer", "make_bench_image"),
                            "--out", cache, "--size", str(size), "--layers", str(LAYERS)],
                           check=True, stdout=subprocess.DEVNULL)
            print(f"  generated in {time.perf_counter() - start:.1f} s (cached for later runs)")
        return (cache, *layout_image(cache))

    # --- the profiles' images ---------------------------------------------------------

    def profile(self, name):
        """The image a profile transfers: (source location, manifest digest or
        None when a push rewrites it, blob bytes, OCI layout or None)."""
        if name == "synthetic":
            layout, digest, size = self.image()
            return f"oci:{layout}:latest", digest, size, layout
        if name == "docker-save":
            layout, _, _ = self.realistic()
            archive = os.path.join(self.args.image_cache, f"realistic-v{PROFILE_VERSION}.docker.tar")
            if not os.path.exists(archive):
                print(f"writing the realistic image as a docker-archive: {archive} ...", flush=True)
                subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet",
                                f"oci:{layout}:latest", f"docker-archive:{archive}.partial:bench:latest"],
                               check=True)
                os.rename(archive + ".partial", archive)
            return f"docker-archive:{archive}", None, os.path.getsize(archive), None
        if name in ("realistic", "wan"):
            layout, digest, size = self.realistic()
            return f"oci:{layout}:latest", digest, size, layout
        layout, digest, size = self.big_layer()
        return f"oci:{layout}:latest", digest, size, layout

    def make_layout(self, name, layers):
        """An OCI layout in the image cache named `name`, made once, whose
        layers are the uncompressed tars `layers()` writes into a directory
        (a list of paths), each gzipped with pigz."""
        out = os.path.join(self.args.image_cache, f"{name}-v{PROFILE_VERSION}")
        if not os.path.exists(os.path.join(out, "index.json")):
            print(f"making the {name} image in {out} ...", flush=True)
            start = time.perf_counter()
            # In a child process: the clients measured later are forked from
            # this one and start with its peak RSS (ru_maxrss), so it must
            # stay small.
            child = multiprocessing.get_context("fork").Process(
                target=write_layout, args=(out, layers))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise RuntimeError(f"making the {name} image failed (exit {child.exitcode})")
            print(f"  made in {time.perf_counter() - start:.1f} s (cached for later runs)")
        return (out, *layout_image(out))

    def realistic(self):
        """Three uneven layers of real files, as an application image has: the
        machine's programs (an OS root's bulk), a language runtime tree, and
        64 MiB of random bytes (a data file or a compiled artifact)."""
        def layers(staging):
            tars = []
            for i, paths in enumerate([["usr/bin", "usr/sbin", "usr/share/perl"],
                                       ["usr/lib/python3", "usr/lib/python3.11"]]):
                tar = os.path.join(staging, f"layer{i}.tar")
                present = [p for p in paths if os.path.exists("/" + p)]
                subprocess.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
                                "--numeric-owner", "-C", "/", "-cf", tar, *present], check=True)
                tars.append(tar)
            tars.append(random_tar(staging, "layer2", 64 * 2**20, 0))
            return tars
        return self.make_layout("realistic", layers)

    def big_layer(self):
        """One 2 GiB layer, half random bytes and half text: the shape of an
        ML image's weights next to its code."""
        return self.make_layout("big-layer", lambda staging: [
            random_tar(staging, "big", 2**30, 2**30)])

    # --- ecr-push / ecr-pull -----------------------------------------------------------

    def jobs_flag(self, jobs):
        return ["--jobs", str(jobs)] if jobs else []

    def push(self, label, server, source, repo, cache_dir, jobs=None):
        return run_measured(label, [self.tool("ecr-push"), "--endpoint-url", server.url,
                                    "--create-repository", "--quiet", "--json", "--cache-dir",
                                    cache_dir, *self.jobs_flag(jobs), source, f"{repo}:latest"],
                            self.env, server, self.log)

    def pull(self, label, server, repo, cache_dir, dest, jobs=None):
        """`dest`: a location, oci:DIR:latest or oci-archive:FILE."""
        return run_measured(label, [self.tool("ecr-pull"), "--endpoint-url", server.url,
                                    "--quiet", "--json", "--cache-dir", cache_dir,
                                    *self.jobs_flag(jobs), f"{repo}:latest", dest],
                            self.env, server, self.log)

    @staticmethod
    def summary(m):
        return json.loads(m.output.strip().splitlines()[-1])

    def check_digest(self, m, digest):
        got = self.summary(m)["digest"]
        if got != digest:
            raise RuntimeError(f"{m.label}: manifest digest {got}, expected {digest}")

    def ours(self, source, digest):
        """Push `source`, push it again, pull it cold into an OCI layout, warm,
        and cold into an oci-archive. `digest` None: a push that compresses
        layers names the image; every pull must give that digest back."""
        server = self.start_ecr_local("ecr-local-root")
        push_cache, pull_cache = self.path("push-cache"), self.path("pull-cache")
        jobs = self.args.jobs
        runs = [self.push("cold push", server, source, "bench", push_cache, jobs)]
        digest = digest or self.summary(runs[0])["digest"]
        runs.append(self.push("re-push", server, source, "bench", push_cache, jobs))
        dest = self.path("pull-oci")
        runs.append(self.pull("cold pull", server, "bench", pull_cache, f"oci:{dest}:latest", jobs))
        shutil.rmtree(dest)
        runs.append(self.pull("warm pull", server, "bench", pull_cache, f"oci:{dest}:latest", jobs))
        shutil.rmtree(dest)
        shutil.rmtree(pull_cache)
        archive = self.path("pull.tar")
        runs.append(self.pull("cold pull archive", server, "bench", pull_cache,
                              f"oci-archive:{archive}", jobs))
        os.unlink(archive)
        shutil.rmtree(pull_cache)
        for m in runs:
            self.check_digest(m, digest)
        self.stop_server(server, "ecr-local")
        shutil.rmtree(self.path("ecr-local-root"))
        shutil.rmtree(push_cache, ignore_errors=True)
        return runs

    # --- skopeo to distribution ------------------------------------------------------

    def skopeo(self, label, server, *argv):
        return run_measured(label, ["skopeo", "--insecure-policy", "copy", "--quiet", *argv],
                            self.env, server, self.log)

    def reference(self, source):
        server = self.start_distribution()
        remote = f"docker://{server.address}/bench:latest"
        runs = [
            self.skopeo("cold push", server, "--dest-tls-verify=false", source, remote),
            self.skopeo("re-push", server, "--dest-tls-verify=false", source, remote),
            self.skopeo("cold pull", server, "--src-tls-verify=false", remote,
                        f"oci:{self.path('skopeo-pull')}:latest"),
            self.skopeo("cold pull archive", server, "--src-tls-verify=false", remote,
                        f"oci-archive:{self.path('skopeo-pull.tar')}"),
        ]
        shutil.rmtree(self.path("skopeo-pull"))
        os.unlink(self.path("skopeo-pull.tar"))
        self.stop_server(server, "docker-registry")
        shutil.rmtree(self.path("distribution"))
        return runs

    # --- skopeo to ecr-local's registry API (/v2/) ----------------------------------

    def skopeo_to_ecr_local(self, source):
        """The same four skopeo copies as reference(), against ecr-local's
        registry API door: the registry a docker/podman pipeline would see."""
        server = self.start_ecr_local("ecr-local-v2-root")
        env = dict(self.env, AWS_ENDPOINT_URL_ECR=server.url)
        subprocess.run([self.tool("ecr"), "create-repository", "--repository-name", "bench"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        password = subprocess.run([self.tool("ecr"), "get-login-password"], env=env, check=True,
                                  stdout=subprocess.PIPE, text=True).stdout.strip()
        creds = f"AWS:{password}"
        remote = f"docker://{server.url.split('//', 1)[1]}/bench:latest"
        runs = [
            self.skopeo("cold push", server, "--dest-tls-verify=false", "--dest-creds", creds,
                        source, remote),
            self.skopeo("re-push", server, "--dest-tls-verify=false", "--dest-creds", creds,
                        source, remote),
            self.skopeo("cold pull", server, "--src-tls-verify=false", "--src-creds", creds,
                        remote, f"oci:{self.path('skopeo-v2-pull')}:latest"),
            self.skopeo("cold pull archive", server, "--src-tls-verify=false", "--src-creds",
                        creds, remote, f"oci-archive:{self.path('skopeo-v2-pull.tar')}"),
        ]
        shutil.rmtree(self.path("skopeo-v2-pull"))
        os.unlink(self.path("skopeo-v2-pull.tar"))
        self.stop_server(server, "ecr-local")
        shutil.rmtree(self.path("ecr-local-v2-root"))
        return runs

    # --- sweep -------------------------------------------------------------------

    def sweep(self, layout, digest, image_bytes):
        rows = []
        for jobs in self.args.sweep_jobs:
            server = self.start_ecr_local(f"sweep-root-{jobs}")
            m = self.push(f"push --jobs {jobs}", server, f"oci:{layout}:latest", "bench",
                          self.path(f"sweep-push-cache-{jobs}"), jobs)
            self.check_digest(m, digest)
            rows.append(m)
            if jobs == self.args.sweep_jobs[-1]:
                for pull_jobs in self.args.sweep_jobs:
                    dest = self.path(f"sweep-pull-{pull_jobs}")
                    m = self.pull(f"pull --jobs {pull_jobs}", server, "bench",
                                  self.path(f"sweep-pull-cache-{pull_jobs}"),
                                  f"oci:{dest}:latest", pull_jobs)
                    self.check_digest(m, digest)
                    rows.append(m)
                    shutil.rmtree(dest)
                    shutil.rmtree(self.path(f"sweep-pull-cache-{pull_jobs}"))
            self.stop_server(server, "ecr-local")
            shutil.rmtree(self.path(f"sweep-root-{jobs}"))
            shutil.rmtree(self.path(f"sweep-push-cache-{jobs}"))
        print()
        print(f"sweep: {human(image_bytes)} image, cold runs, fresh ecr-local and caches per push")
        print_table([(None, rows)], image_bytes)
        print("\nrange threshold/chunk of pulls are not settable from the command line "
              "(src/transfer/blob_landing.hpp DownloadTuning); see docs/performance.md.")


def median_of_runs(runs):
    """runs: one [Measured] per run, the same labels in the same order. Returns
    one [Measured] whose every figure is the median of that figure over the
    runs (so a row's wall and CPU may come from different runs)."""
    if len(runs) == 1:
        return runs[0]
    out = []
    for rows in zip(*runs):
        def med(field):
            values = [getattr(m, field) for m in rows]
            return None if any(v is None for v in values) else statistics.median(values)
        m = Measured(rows[0].label, med("wall"), med("cpu"), med("rss_mb") * 1024,
                     (med("server_cpu"), med("server_rss_mb")), rows[0].output, med("disk_mb") * 1e6)
        if m.server_cpu is None:
            m.server_cpu, m.server_rss_mb = None, None
        out.append(m)
    return out


def print_runs(tool, runs):
    """The wall and CPU time of every run, so the spread behind a median
    shows (on a VM the CPU figures move with the cost of fresh memory)."""
    if len(runs) < 2:
        return
    for rows in zip(*runs):
        walls = " ".join(f"{m.wall:.2f}" for m in rows)
        cpus = " ".join(f"{m.cpu:.2f}" for m in rows)
        print(f"  {tool} {rows[0].label:<24} wall s of each run: {walls}; CPU s: {cpus}")


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_table(groups, image_bytes):
    """groups: [(tool name or None, [Measured])], printed as one table."""
    header = (f"{'run':<36} {'wall s':>8} {'MB/s':>8} {'CPU s':>7} {'RSS MB':>7} "
              f"{'disk MB':>8} {'srv CPU s':>9} {'srv RSS MB':>10}")
    print(header)
    print("-" * len(header))
    for tool, rows in groups:
        for m in rows:
            name = f"{tool} {m.label}" if tool else m.label
            rate = image_bytes / 1e6 / m.wall if m.wall > 0 else 0
            print(f"{name:<36} {m.wall:>8.2f} {rate:>8.0f} {m.cpu:>7.2f} {m.rss_mb:>7.0f} "
                  f"{m.disk_mb:>8.0f} {fmt(m.server_cpu, '9.2f')} {fmt(m.server_rss_mb, '10.0f')}")


def verdict(ok):
    return "meets" if ok else "MISSES"


def report(profile, ours, theirs, image_bytes):
    o = {m.label: m for m in ours}
    print()
    print_table([("ecr", ours)] + ([("skopeo", theirs)] if theirs else []), image_bytes)
    print("\n(MB/s: image bytes over wall time; CPU, RSS and disk (bytes written to storage) are "
          "the client's; srv: the registry process over the same interval)")
    print("\ntargets")
    targets = TARGETS[profile]
    lines = []
    if theirs:
        t = {m.label: m for m in theirs}
        for label, key in [("cold push", "push"), ("cold pull", "pull"),
                           ("cold pull archive", "pull")]:
            ratio = t[label].wall / o[label].wall
            target = targets[key]
            lines.append((f"{label} vs skopeo: {ratio:.2f}x",
                          f">= {target}x" if target else "(no target)",
                          ratio >= target if target else None))
        repush_ratio = t["re-push"].wall / o["re-push"].wall
        lines.append((f"re-push vs skopeo re-push: {repush_ratio:.2f}x", "(no target)", None))
        if profile == "docker-save":
            share = o["cold push"].cpu / t["cold push"].cpu
            lines.append((f"push client CPU / skopeo's: {share:.2f}", "<= 0.33", share <= 1 / 3))
    lines.append((f"re-push: {o['re-push'].wall:.3f} s", f"<= {TARGET_REPUSH_S} s",
                  o["re-push"].wall <= TARGET_REPUSH_S))
    cpu_per_gb = o["cold push"].cpu / (image_bytes / 1e9)
    lines.append((f"push client CPU: {cpu_per_gb:.2f} s/GB", f"<= {TARGET_CPU_PER_GB} s/GB",
                  cpu_per_gb <= TARGET_CPU_PER_GB if profile != "docker-save" else None))
    if o["cold push"].server_cpu is not None:
        srv = o["cold push"].server_cpu / (image_bytes / 1e9)
        lines.append((f"ecr-local CPU per GB pushed: {srv:.2f} s", "<= 2.5 s", srv <= 2.5))
    # (docker-save's image bytes are the uncompressed archive; what is pulled
    # back is the compressed image, so its pull is not measured per byte.)
    if profile != "docker-save":
        archive = o["cold pull archive"]
        per_gb, written = archive.cpu / (image_bytes / 1e9), archive.disk_mb * 1e6 / image_bytes
        lines.append((f"pull into oci-archive: {per_gb:.2f} CPU s/GB, wrote {written:.2f}x",
                      "<= 1.0 s/GB, <= 1.1x", per_gb <= 1.0 and written <= 1.1))
    peak = max(m.rss_mb for m in ours)
    at_4gib = image_bytes >= 4 * 2**30 * 0.95
    lines.append((f"client peak RSS: {peak:.0f} MB",
                  f"<= {TARGET_RSS_MB} MB" + ("" if at_4gib else " (target is for 4 GiB)"),
                  peak <= TARGET_RSS_MB))
    for text, target, ok in lines:
        print(f"  {text:<58} target {target:<28} {'' if ok is None else verdict(ok)}")


def sha256_rate():
    """SHA-256 bytes per second on one core, through OpenSSL as the tools hash.
    Measured in a child process: its 64 MiB buffer would otherwise raise this
    process's peak RSS, which the clients measured after it inherit."""
    code = """
import hashlib, os, time
block = os.urandom(64 * 2**20)
best = 0.0
for _ in range(3):
    h = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(4):
        h.update(block)
    best = max(best, 4 * len(block) / (time.perf_counter() - start))
print(best)
"""
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout)


def sha256_pair_rate(build):
    """SHA-256 bytes per second of one core hashing two streams together,
    both streams' bytes counted, as ecr-push hashes its part bodies
    (core/sha256_lanes.hpp; bench/sha256_bench.cpp's paired benchmark).
    None when the bench is not built."""
    binary = os.path.join(build, "bench", "sha256_bench")
    if not os.path.exists(binary):
        return None
    out = subprocess.run([binary, "--benchmark_filter=BM_LanesTwoStreamsPaired/0$",
                          "--benchmark_repetitions=3", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    return max(b["bytes_per_second"] for b in runs) if runs else None


def durable_write_rate(layout, work):
    """Bytes per second of writing the image's blobs into one file in the work
    directory and fsyncing it, as both tools must (best of two)."""
    blobs = os.path.join(layout, "blobs", "sha256")
    best = 0.0
    target = os.path.join(work, "durable-write-probe")
    for _ in range(2):
        os.sync()
        written = 0
        start = time.perf_counter()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for name in sorted(os.listdir(blobs)):
                with open(os.path.join(blobs, name), "rb") as f:
                    while chunk := f.read(4 * 2**20):
                        written += os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        best = max(best, written / (time.perf_counter() - start))
        os.unlink(target)
    return best


def receive_and_write_cpu(work, total=1 << 30):
    """CPU seconds per GB a process spends receiving bytes over loopback TCP
    and writing them into a file: the kernel's share of every pull into an
    oci-archive (the TCP stack, the copy out of the socket, the write), with
    no hashing, no HTTP and no gathering. Written as ecr-pull writes bytes it
    hashes as they land: whole 1 MiB pieces past the page cache (O_DIRECT,
    src/core/direct_writer.hpp), or through it where the file system takes
    no direct writes. Measured in a child process filling a page-aligned
    1 MiB buffer with recv_into and writing it when full, fed by this
    process; best of two."""
    code = """
import mmap, os, socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
try:
    fd = os.open(sys.argv[1], flags | os.O_DIRECT, 0o600)
except OSError:
    fd = os.open(sys.argv[1], flags, 0o600)
buf = mmap.mmap(-1, 1 << 20)
view = memoryview(buf)
got = used = 0
start = time.process_time()
while n := conn.recv_into(view[used:]):
    used += n
    got += n
    if used == len(buf):
        os.write(fd, view)
        used = 0
if used:
    os.close(fd)
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.pwrite(fd, view[:used], got - used)
print(got, time.process_time() - start, flush=True)
view.release()
os.close(fd)
"""
    best = None
    target = os.path.join(work, "receive-write-probe")
    block = bytes(1 << 20)
    for _ in range(2):
        child = subprocess.Popen([sys.executable, "-c", code, target], stdout=subprocess.PIPE,
                                 text=True)
        try:
            port = int(child.stdout.readline())
            with socket.create_connection(("127.0.0.1", port)) as sender:
                for _ in range(total // len(block)):
                    sender.sendall(block)
            got, cpu = child.stdout.readline().split()
            per_gb = float(cpu) / (int(got) / 1e9)
            best = per_gb if best is None else min(best, per_gb)
        finally:
            child.wait()
            if os.path.exists(target):
                os.unlink(target)
    return best


def fresh_memory_cpu(size=512 << 20):
    """CPU seconds per GB to touch memory a process has just mapped: what each
    client pays for its buffers and every new page-cache page it fills. On a
    VM whose host backs guest memory lazily (or takes freed pages back), this
    is many times what touching the same memory again costs (0.84 against
    0.04 s/GB on the project's bench VM, docs/performance.md), and it varies
    from run to run.
    Measured in a child process (memset of a fresh anonymous mapping); one
    try, since a second would find the memory warm."""
    code = f"""
import ctypes, mmap, time
start = time.process_time()
m = mmap.mmap(-1, {size})
ctypes.memset(ctypes.addressof(ctypes.c_char.from_buffer(m)), 1, {size})
print(time.process_time() - start)
"""
    cpu = float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                               text=True).stdout)
    return cpu / (size / 1e9)


def report_floors(layout, work, image_bytes, ours, theirs, build):
    """What the wire protocol and the storage rules cost on this machine before
    any other work, and so the best ratios against skopeo they allow."""
    sha, disk = sha256_rate(), durable_write_rate(layout, work)
    pair = sha256_pair_rate(build)
    cores = os.cpu_count() or 1
    # UploadLayerPart bodies are JSON with the part in base64 (4/3 of its
    # bytes); SigV4 hashes the whole body, on the client when signing and on
    # the server when checking; the server also hashes the layer itself.
    body = 4 / 3
    client_cpu = body / (sha / 1e9)
    push_hash = image_bytes * (2 * body + 1) / sha / cores
    # A pull hashes every byte and writes it to disk durably (fsync).
    pull_hash = image_bytes / sha / cores
    durable = image_bytes / disk
    print("\nfloors on this machine (the wire protocol and the storage rules alone; "
          "skopeo fsyncs too)")
    print(f"  SHA-256 {sha / 1e9:.2f} GB/s on one core; write + fsync {disk / 1e9:.2f} GB/s")
    print(f"  push client CPU >= {client_cpu:.2f} s/GB (SigV4 hash of the base64 part bodies)")
    if pair:
        print(f"    hashed two bodies at a time as ecr-push does: >= {body / (pair / 1e9):.2f} s/GB "
              f"(SHA-256 of two streams together {pair / 1e9:.2f} GB/s on one core)")
    push_floor, pull_floor = max(push_hash, durable), max(pull_hash, durable)
    lines = [("push", push_floor, f"SHA-256 of {2 * body + 1:.2f}x the bytes on {cores} cores "
              f"{push_hash:.2f} s, durable write {durable:.2f} s"),
             ("pull", pull_floor, f"SHA-256 of the bytes on {cores} cores {pull_hash:.2f} s, "
              f"durable write {durable:.2f} s")]
    kernel, fresh = receive_and_write_cpu(work), fresh_memory_cpu()
    one_stream = 1e9 / sha
    print(f"  pull into oci-archive client CPU >= {one_stream + kernel:.2f} s/GB for a blob hashed "
          f"alone (SHA-256 on one core {one_stream:.2f} s/GB, receiving over loopback TCP and "
          f"writing past the page cache {kernel:.2f} s/GB)")
    if pair:
        print(f"    hashed beside another blob, as ecr-pull's downloads meet to: "
              f">= {1e9 / pair + kernel:.2f} s/GB")
    print(f"  touching fresh memory: {fresh:.2f} CPU s/GB (each client's buffers, and every "
          f"page-cache page a pull fills)")
    push = {m.label: m for m in ours}.get("cold push")
    if push:
        cost = push.rss_mb * 1e6 / 1e9 * fresh
        # An upper bound: the RSS includes the page-cache pages of parts
        # mapped from a file (src/core/mapped_range.hpp), which are not fresh.
        print(f"    ecr-push's {push.rss_mb:.0f} MB peak RSS touched once: at most "
              f"{cost:.2f} CPU s, {cost / (image_bytes / 1e9):.2f} s/GB of this image (the RSS "
              f"counts the file pages of parts it maps)")
    t = {m.label: m for m in theirs} if theirs else {}
    for what, floor, why in lines:
        ceiling = ""
        if t:
            ceiling = f" -> at most {t['cold ' + what].wall / floor:.1f}x skopeo"
        print(f"  {what} wall >= {floor:.2f} s ({why}){ceiling}")


def report_link(ours, theirs, image_bytes):
    """The wan profile's floor: the bytes each transfer must put on the link,
    over its bandwidth (a push sends its parts in base64, 4/3 of the bytes;
    the link's round trips come on top)."""
    rate = WAN_RATE_MBIT * 1e6 / 8
    floors = {"cold push": image_bytes * 4 / 3 / rate, "cold pull": image_bytes / rate,
              "cold pull archive": image_bytes / rate}
    targets = {"cold push": 1.35, "cold pull": 1.15, "cold pull archive": 1.15}
    o = {m.label: m for m in ours}
    t = {m.label: m for m in theirs} if theirs else {}
    print(f"\nthe link: {2 * WAN_DELAY_MS} ms round trip, {WAN_RATE_MBIT} Mbit/s each way")
    for label, floor in floors.items():
        ratio = o[label].wall / floor
        skopeo = f"; skopeo {t[label].wall / floor:.2f}x" if label in t else ""
        print(f"  {label:<18} floor {floor:.2f} s: ecr {ratio:.2f}x{skopeo}"
              f"   target <= {targets[label]}x {verdict(ratio <= targets[label])}")


def machine_line():
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), load average {load}"


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=parse_size, default=parse_size("770MB"),
                   help="total gzip size of the image's layers (770MB; 4GiB for the large variant)")
    p.add_argument("--quick", action="store_true", help="a 40 MB image (development)")
    p.add_argument("--build", default=os.path.join(root, "build"), help="build directory")
    p.add_argument("--image-cache", default=os.path.join(xdg, "ecr-bench"),
                   help="where generated images are kept between runs")
    p.add_argument("--tmp", default=None, help="parent of the temporary work directory")
    p.add_argument("--jobs", type=int, default=None, help="--jobs for ecr-push/ecr-pull (tool default)")
    p.add_argument("--no-skopeo", action="store_true", help="skip the skopeo reference")
    p.add_argument("--sweep", action="store_true",
                   help="instead of the comparison: push and pull with each --sweep-jobs value")
    p.add_argument("--sweep-jobs", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 8])
    p.add_argument("--registry-api", action="store_true",
                   help="also run skopeo against ecr-local's registry API (/v2/), beside skopeo "
                        "against distribution")
    p.add_argument("--keep-work", action="store_true", help="keep the work directory (logs)")
    p.add_argument("--runs", type=int, default=1,
                   help="measure each profile this many times, alternating the tools, and "
                        "report medians (the issue's targets are medians of 3)")
    p.add_argument("--profile", default=",".join(DEFAULT_PROFILES),
                   help="comma-separated images to measure: " + ", ".join(PROFILES) +
                   " (default: " + ",".join(DEFAULT_PROFILES) + "); --size and --quick apply "
                   "to synthetic")
    args = p.parse_args()
    if args.quick:
        args.size = parse_size("40MB")

    # SIGTERM unwinds like Ctrl-C, so servers are stopped and temp dirs removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    profiles = [name.strip() for name in args.profile.split(",") if name.strip()]
    unknown = [name for name in profiles if name not in PROFILES]
    if unknown:
        p.error(f"unknown profile {', '.join(unknown)}; choose from {', '.join(PROFILES)}")
    bench = Bench(args)
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "?"
        # The binaries are built from the working tree, which may differ from HEAD.
        if subprocess.run(["git", "-C", root, "diff", "--quiet", "HEAD", "--", "src", "include",
                           "tools"]).returncode == 1:
            commit += " + uncommitted changes in src/include/tools"
        print(f"transfer bench {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
              f"commit {commit}, {platform.node()}")
        if args.sweep:
            layout, digest, image_bytes = bench.image()
            print(f"machine: {machine_line()}")
            bench.sweep(layout, digest, image_bytes)
            return 0
        for profile in profiles:
            source, digest, image_bytes, layout = bench.profile(profile)
            bench.wan = profile == "wan"
            print(f"\n=== {profile}: {source} ({human(image_bytes)})")
            print(f"machine: {machine_line()}")
            # Runs alternate between the tools, so a change in the machine's
            # load falls on both; the report gives each figure's median.
            our_runs, their_runs, v2_runs = [], [], []
            for _ in range(args.runs):
                our_runs.append(bench.ours(source, digest))
                if not args.no_skopeo:
                    their_runs.append(bench.reference(source))
                if args.registry_api:
                    v2_runs.append(bench.skopeo_to_ecr_local(source))
            ours = median_of_runs(our_runs)
            theirs = median_of_runs(their_runs) if their_runs else None
            if args.runs > 1:
                print(f"\nmedians of {args.runs} runs")
                print_runs("ecr", our_runs)
                print_runs("skopeo", their_runs)
            report(profile, ours, theirs, image_bytes)
            if v2_runs:
                print("\nskopeo through ecr-local's registry API (/v2/) next to skopeo against "
                      "distribution" + (f", medians of {args.runs} runs" if args.runs > 1 else ""))
                print_runs("skopeo->ecr-local", v2_runs)
                print_table([("skopeo->ecr-local", median_of_runs(v2_runs))] +
                            ([("skopeo->distrib.", theirs)] if theirs else []), image_bytes)
            if profile == "wan":
                report_link(ours, theirs, image_bytes)
            elif layout:
                report_floors(layout, bench.work, image_bytes, ours, theirs, args.build)
            print(f"\nload average after the run: {machine_line().split('load average ')[1]}")
        return 0
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())

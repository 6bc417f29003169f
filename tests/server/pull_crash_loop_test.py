#!/usr/bin/env python3
"""ecr-pull killed with SIGKILL over and over while it pulls a multi-layer
image with its blob cache. Usage:

    pull_crash_loop_test.py ECR_LOCAL ECR_PUSH ECR_PULL ECR

Each round prunes the cache to a random size (so blobs are downloaded
again), starts ecr-pull into an OCI layout, an oci-archive or a
docker-archive, and kills it at a random moment. Then: `ecr cache verify`
drops nothing and no temp file stays in the cache; the destination is
absent, or whole when the kill came after the pull's commit; no
staging directory or temp file of a killed pull is left next to the
destination once a pull to it has run again. A last pull of each format
must equal, byte for byte, a pull made before the loop with no cache.

The kill points come from a seed, printed first; CRASH_LOOP_SEED=N repeats
a run, CRASH_LOOP_ROUNDS=N sets the number of rounds (30).
"""
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402

ECR_PUSH = ECR_PULL = ECR = None
KIB = 1024
MIB = 1024 * KIB
FORMATS = ("oci", "oci-archive", "docker-archive")
# Uncompressed layer sizes: small ones, and ones large enough to be
# downloaded as parallel byte ranges.
LAYER_SIZES = (100 * KIB, 300 * KIB, 1 * MIB, 3 * MIB, 9 * MIB, 14 * MIB)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_layout(directory, rng):
    """An OCI layout of one image whose layers are gzip streams (so a
    docker-archive can hold it: its config's diff_ids are their contents)."""
    plain = [rng.randbytes(n) for n in LAYER_SIZES]
    layers = [gzip.compress(p, compresslevel=1, mtime=0) for p in plain]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha(p) for p in plain]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha(l), "size": len(l)} for l in layers]}).encode()
    blobs = {sha(b): b for b in [config, manifest, *layers]}
    os.makedirs(os.path.join(directory, "blobs", "sha256"))
    for digest, data in blobs.items():
        with open(os.path.join(directory, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
            "size": len(manifest)}]}, f)
    return blobs


def tree(path):
    """A layout's files and their bytes, or an archive's bytes."""
    if os.path.isfile(path):
        with open(path, "rb") as f:
            return f.read()
    out = {}
    for top, _, files in os.walk(path):
        for name in files:
            full = os.path.join(top, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = f.read()
    return out


class PullCrashLoop(unittest.TestCase):
    def setUp(self):
        self.seed, self.rounds, self.rng = support.crash_loop_draws("pull crash loop")
        self.work = tempfile.mkdtemp(prefix="ecr-pull-crash-loop-")
        self.cache = os.path.join(self.work, "cache")
        self.server = support.Server(os.path.join(self.work, "root"))
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=support.ACCESS,
                        AWS_SECRET_ACCESS_KEY=support.SECRET, AWS_REGION="us-east-1",
                        AWS_ENDPOINT_URL_ECR=self.server.url, HOME=self.work,
                        XDG_CACHE_HOME=os.path.join(self.work, "xdg-cache"))
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            self.env.pop(name, None)

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def run_tool(self, *args):
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              timeout=120)

    def pull_args(self, fmt, dest, *extra):
        return [ECR_PULL, "--quiet", "--format", fmt, *extra, "pull/app:v1", dest]

    def verify_cache(self, context):
        r = self.run_tool(ECR, "cache", "verify", "--cache-dir", self.cache)
        self.assertEqual(r.returncode, 0, f"{context}: {r.stdout}{r.stderr}")
        self.assertRegex(r.stdout, r"^\d+ blobs intact, dropped 0\n$", context)
        self.assertEqual(os.listdir(os.path.join(self.cache, "tmp")), [], context)

    def test_kill_9_mid_pull_leaves_the_cache_verified_and_no_partial_output(self):
        started = time.monotonic()
        source = os.path.join(self.work, "source")
        blobs = write_layout(source, self.rng)
        r = self.run_tool(ECR_PUSH, "--quiet", "--create-repository", f"oci:{source}",
                          "pull/app:v1")
        self.assertEqual(r.returncode, 0, r.stderr)

        # What each format's pull writes, made with no cache; and how long a
        # pull takes, for the kill window.
        reference = {}
        durations = []
        for fmt in FORMATS:
            dest = os.path.join(self.work, "reference", fmt)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            t = time.monotonic()
            r = self.run_tool(*self.pull_args(fmt, dest, "--no-cache"))
            durations.append(time.monotonic() - t)
            self.assertEqual(r.returncode, 0, r.stderr)
            reference[fmt] = tree(dest)
        layout_blobs = {"sha256:" + os.path.basename(p): data
                        for p, data in reference["oci"].items() if p.startswith("blobs/")}
        self.assertEqual(layout_blobs, blobs)
        window = 1.3 * sorted(durations)[len(durations) // 2]

        destinations = os.path.join(self.work, "pulled")
        os.makedirs(destinations)
        finished = killed = mid_transfer = 0
        for number in range(self.rounds):
            context = f"round {number}"
            if os.path.isdir(self.cache):
                size = self.rng.choice((0, 0, 1 * MIB, 4 * MIB, 12 * MIB))
                r = self.run_tool(ECR, "cache", "prune", "--max-size", str(size),
                                  "--cache-dir", self.cache)
                self.assertEqual(r.returncode, 0, r.stderr)
            fmt = FORMATS[number % len(FORMATS)]
            dest = os.path.join(destinations, fmt)
            before = set(os.listdir(destinations))
            pull = subprocess.Popen(self.pull_args(fmt, dest, "--cache-dir", self.cache),
                                    env=self.env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            began = time.monotonic()
            try:
                pull.wait(timeout=self.rng.uniform(0, window))
                # Done before the kill: warm pulls are quicker than the
                # cold ones the window was measured on, so it shrinks to
                # keep most kills landing mid-pull.
                window = max(0.02, 0.8 * (time.monotonic() - began))
            except subprocess.TimeoutExpired:
                pull.send_signal(signal.SIGKILL)
                pull.wait()
            err = pull.stderr.read()
            pull.stderr.close()
            if pull.returncode == 0:
                finished += 1
            else:
                self.assertEqual(pull.returncode, -signal.SIGKILL, f"{context}: {err}")
                killed += 1
                # Killed with a blob in the cache's tmp/ or a staged
                # destination half written (an oci-archive is written
                # unnamed: it does not show)? A pull killed before it set up
                # the cache has no tmp/ yet.
                cache_tmp = os.path.join(self.cache, "tmp")
                if ((os.path.isdir(cache_tmp) and os.listdir(cache_tmp)) or
                        set(os.listdir(destinations)) - before - {fmt}):
                    mid_transfer += 1
            # Whole or absent: a pull killed after its commit left the whole
            # image.
            if os.path.lexists(dest):
                self.assertEqual(tree(dest), reference[fmt], f"{context}: partial {fmt}")
                shutil.rmtree(dest) if os.path.isdir(dest) else os.remove(dest)
            self.verify_cache(context)
        print(f"pull crash loop: {killed} pulls killed ({mid_transfer} with a blob or the "
              f"destination half written), {finished} finished first "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        self.assertGreater(killed, self.rounds // 3)

        # The last pulls, warm, are byte-exact; and they leave nothing of the
        # killed pulls next to their destination.
        for fmt in FORMATS:
            dest = os.path.join(destinations, fmt)
            r = self.run_tool(*self.pull_args(fmt, dest, "--cache-dir", self.cache))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(tree(dest), reference[fmt], fmt)
        self.assertEqual(sorted(os.listdir(destinations)), sorted(FORMATS))
        self.verify_cache("after the last pulls")
        print(f"pull crash loop: done in {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    ECR_PUSH = os.path.abspath(sys.argv.pop(1))
    ECR_PULL = os.path.abspath(sys.argv.pop(1))
    ECR = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""ecr-local killed with SIGKILL over and over under 20 concurrent pushes.
Usage:

    crash_loop_test.py ECR_LOCAL ECR_PUSH ECR_PULL

Each round starts 20 pushes of small multi-layer images with distinct tags
(ecr-push processes, and boto3 threads doing InitiateLayerUpload,
UploadLayerPart, CompleteLayerUpload and PutImage), some sharing layers,
kills ecr-local at a random moment, checks the root (`ecr-local check`:
nothing but leftovers), and restarts it on the same root and port, where the
pushes still running retry. Every PutImage that was acknowledged (ecr-push
exit 0, a boto3 PutImage answered) is recorded. After the last round:
every acknowledged image is there under its tag and pulls with ecr-pull,
blob for blob; every blob either door serves hashes to its digest; every
file of the blob store does; and `ecr-local check` finds no problem.

The kill points come from a seed, printed first; CRASH_LOOP_SEED=N repeats
a run, CRASH_LOOP_ROUNDS=N sets the number of rounds (30).
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (points botocore at the vendored model)
from botocore.config import Config  # noqa: E402
from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402
import boto3  # noqa: E402

ECR_PUSH = ECR_PULL = None
KIB = 1024
MIB = 1024 * KIB
REPOSITORIES = ("crash/a", "crash/b", "crash/c")
PUSHES_PER_ROUND = 20
TOOL_PUSHES_PER_ROUND = 12  # the rest are boto3 threads
# The kill lands this long after a round's pushes start, at most: about as
# long as 20 pushes take here, so kills fall before, during and after them.
KILL_WINDOW_S = 1.2
# How long the pushes still running after the last round may take.
PUSH_TIMEOUT_S = 30
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Image:
    """A small OCI image: a config and 2-3 layers, one of them shared."""

    def __init__(self, rng, number, shared):
        own = [rng.randbytes(rng.randrange(8 * KIB, 160 * KIB))
               for _ in range(rng.choice((1, 1, 2)))]
        self.layers = [rng.choice(shared)] + own
        # The last image of every other round (a boto3 push) has a layer of
        # two UploadLayerPart parts (ECR's minimum part is 5 MiB).
        if number % (2 * PUSHES_PER_ROUND) == PUSHES_PER_ROUND - 1:
            self.layers.append(rng.randbytes(5 * MIB + rng.randrange(1, 64 * KIB)))
        # Uncompressed layers: each one's diff_id is its digest.
        self.config = json.dumps({
            "architecture": "amd64", "os": "linux", "image": number,
            "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in self.layers]}}).encode()
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha(self.config),
                       "size": len(self.config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha(layer), "size": len(layer)}
                       for layer in self.layers]}).encode()
        self.digest = sha(self.manifest)

    def blobs(self):
        return {sha(b): b for b in [self.config, *self.layers]}

    def write_layout(self, directory):
        os.makedirs(os.path.join(directory, "blobs", "sha256"))
        for digest, data in {**self.blobs(), self.digest: self.manifest}.items():
            with open(os.path.join(directory, "blobs", "sha256", digest[7:]), "wb") as f:
                f.write(data)
        with open(os.path.join(directory, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with open(os.path.join(directory, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": self.digest, "size": len(self.manifest),
                "annotations": {"org.opencontainers.image.ref.name": "img"}}]}, f)


def boto3_client(url):
    return boto3.client("ecr", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=support.ACCESS, aws_secret_access_key=support.SECRET,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=2,
                                      read_timeout=10))


def boto3_push(url, repository, tag, image):
    """The push as an SDK user writes it; True once PutImage is answered."""
    ecr = boto3_client(url)
    try:
        for digest, data in image.blobs().items():
            upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
            for first in range(0, len(data), 5 * MIB):
                part = data[first:first + 5 * MIB]
                ecr.upload_layer_part(repositoryName=repository, uploadId=upload,
                                      partFirstByte=first, partLastByte=first + len(part) - 1,
                                      layerPartBlob=part)
            try:
                ecr.complete_layer_upload(repositoryName=repository, uploadId=upload,
                                          layerDigests=[digest])
            except ClientError as e:
                if e.response["Error"]["Code"] != "LayerAlreadyExistsException":
                    raise
        ecr.put_image(repositoryName=repository, imageTag=tag,
                      imageManifest=image.manifest.decode(), imageManifestMediaType=OCI_MANIFEST)
        return True
    except (ClientError, BotoCoreError):
        return False


class EcrLocal:
    """ecr-local on a fixed port, so pushes survive its restarts."""

    def __init__(self, root, port):
        self.root, self.port = root, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None

    def start(self):
        deadline = time.monotonic() + 10
        while True:
            self.proc = subprocess.Popen(
                [support.ECR_LOCAL, "--root", self.root, "--listen", f"127.0.0.1:{self.port}",
                 "--access-key", support.ACCESS, "--secret-key", support.SECRET,
                 "--log-level", "error", "--lifecycle-interval", "1"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline().strip()
            if line == self.url:
                return
            self.proc.wait()
            err = self.proc.stderr.read()
            self.close_pipes()
            if "address" not in err.lower() or time.monotonic() > deadline:
                raise AssertionError(f"ecr-local did not start: {line!r} {err}")
            time.sleep(0.05)

    def close_pipes(self):
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.close_pipes()

    def stop(self):
        self.proc.terminate()
        status = self.proc.wait(timeout=10)
        self.close_pipes()
        return status


def ecr_local(*args):
    return subprocess.run([support.ECR_LOCAL, *args], capture_output=True, text=True, timeout=120)


class CrashLoop(unittest.TestCase):
    def setUp(self):
        self.seed, self.rounds, self.rng = support.crash_loop_draws("crash loop")
        self.work = tempfile.mkdtemp(prefix="ecr-crash-loop-")
        self.root = os.path.join(self.work, "root")
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=support.ACCESS,
                        AWS_SECRET_ACCESS_KEY=support.SECRET, AWS_REGION="us-east-1",
                        AWS_MAX_ATTEMPTS="5", HOME=self.work,
                        XDG_CACHE_HOME=os.path.join(self.work, "cache"))
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR"):
            self.env.pop(name, None)
        self.server = EcrLocal(self.root, free_port())
        self.failed_pushes = []  # why ecr-push runs failed, for the summary
        self.pending = []  # pushes running: (repository, tag, Image, Popen or Future)
        self.acknowledged = []  # (repository, tag, Image)

    def tearDown(self):
        if self.server.proc and self.server.proc.poll() is None:
            self.server.kill()
        shutil.rmtree(self.work, ignore_errors=True)

    def make_images(self):
        shared = [self.rng.randbytes(self.rng.randrange(64 * KIB, 256 * KIB)) for _ in range(6)]
        images = []
        for n in range(self.rounds * PUSHES_PER_ROUND):
            image = Image(self.rng, n, shared)
            if n % PUSHES_PER_ROUND < TOOL_PUSHES_PER_ROUND:
                image.layout = os.path.join(self.work, "layouts", str(n))
                image.write_layout(image.layout)
            images.append(image)
        return images

    def run_round(self, number, images, pool):
        """Starts the round's pushes, kills ecr-local, checks the root and
        restarts it; returns the check's leftovers. Pushes still running go
        on against the restarted server (and may see the next kill)."""
        for i, image in enumerate(images):
            repository = REPOSITORIES[self.rng.randrange(len(REPOSITORIES))]
            tag = f"r{number}-p{i}"
            if i < TOOL_PUSHES_PER_ROUND:
                push = subprocess.Popen(
                    [ECR_PUSH, "--quiet", "--compression", "none", "--endpoint-url",
                     self.server.url, f"oci:{image.layout}:img", f"{repository}:{tag}"],
                    env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            else:
                push = pool.submit(boto3_push, self.server.url, repository, tag, image)
            self.pending.append((repository, tag, image, push))
        time.sleep(self.rng.uniform(0, KILL_WINDOW_S))
        self.server.kill()
        check = ecr_local("check", "--root", self.root)
        self.assertEqual(check.returncode, 0, f"round {number}: {check.stdout}{check.stderr}")
        leftovers = [line for line in check.stdout.splitlines() if line.startswith("leftover: ")]
        self.assertEqual(len(check.stdout.splitlines()), len(leftovers) + 1, check.stdout)
        self.server.start()
        self.reap(wait=False)
        return leftovers

    def reap(self, wait):
        """Records the pushes that ended (all of them, waiting up to
        PUSH_TIMEOUT_S, when `wait`): acknowledged when they succeeded."""
        deadline = time.monotonic() + PUSH_TIMEOUT_S
        still = []
        for repository, tag, image, push in self.pending:
            if isinstance(push, subprocess.Popen):
                if not wait and push.poll() is None:
                    still.append((repository, tag, image, push))
                    continue
                try:
                    push.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    push.kill()
                    push.wait()
                err = push.stderr.read()
                push.stderr.close()
                done = push.returncode == 0
                if not done:
                    self.failed_pushes.append(err.strip().splitlines()[-1:] or [push.returncode])
            else:
                if not wait and not push.done():
                    still.append((repository, tag, image, push))
                    continue
                done = push.result()
            if done:
                self.acknowledged.append((repository, tag, image))
        self.pending = still

    def test_kill_9_under_concurrent_pushes_loses_nothing_acknowledged(self):
        started = time.monotonic()
        images = self.make_images()
        self.server.start()
        ecr = boto3_client(self.server.url)
        for repository in REPOSITORIES:
            ecr.create_repository(repositoryName=repository)
        leftovers = {}
        with concurrent.futures.ThreadPoolExecutor(4 * PUSHES_PER_ROUND) as pool:
            for number in range(self.rounds):
                batch = images[number * PUSHES_PER_ROUND:(number + 1) * PUSHES_PER_ROUND]
                for line in self.run_round(number, batch, pool):
                    kind = re.sub(r"[0-9a-f]{64}|[0-9a-f-]{36}|\d+", "N", line)
                    leftovers[kind] = leftovers.get(kind, 0) + 1
            self.reap(wait=True)
        acknowledged = self.acknowledged
        print(f"crash loop: {len(acknowledged)} of {self.rounds * PUSHES_PER_ROUND} pushes "
              f"acknowledged ({time.monotonic() - started:.1f} s); the checks after the kills "
              f"listed:", flush=True)
        for kind, n in sorted(leftovers.items(), key=lambda x: -x[1]):
            print(f"  {n} x {kind}", flush=True)
        reasons = {}
        for reason in self.failed_pushes:
            reason = re.sub(r"[0-9a-f]{64}|[0-9a-f-]{36}|\d+", "N", str(reason))
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, n in sorted(reasons.items(), key=lambda x: -x[1]):
            print(f"crash loop: {n} ecr-push runs failed: {reason}", flush=True)
        self.assertGreater(len(acknowledged), self.rounds * PUSHES_PER_ROUND // 4)

        for name, check in (
                ("tags", lambda: self.check_images_by_tag(acknowledged)),
                ("ecr-pull", lambda: self.check_pulls(acknowledged)),
                ("served blobs", self.check_served_blobs),
                ("blob files", self.check_blob_files),
                ("stop", lambda: self.assertEqual(self.server.stop(), 0)),
                ("ecr-local check and gc", self.check_root_after_restarts)):
            t = time.monotonic()
            check()
            print(f"crash loop: checked {name} in {time.monotonic() - t:.1f} s", flush=True)
        print(f"crash loop: verified in {time.monotonic() - started:.1f} s", flush=True)

    def check_images_by_tag(self, acknowledged):
        ecr = boto3_client(self.server.url)
        for repository in REPOSITORIES:
            mine = [(tag, image) for r, tag, image in acknowledged if r == repository]
            for first in range(0, len(mine), 100):
                batch = mine[first:first + 100]
                got = ecr.batch_get_image(repositoryName=repository,
                                          imageIds=[{"imageTag": tag} for tag, _ in batch])
                self.assertEqual(got["failures"], [], repository)
                found = {i["imageId"]["imageTag"]: i for i in got["images"]}
                for tag, image in batch:
                    self.assertEqual(found[tag]["imageId"]["imageDigest"], image.digest, tag)
                    self.assertEqual(found[tag]["imageManifest"].encode(), image.manifest, tag)

    def check_pulls(self, acknowledged):
        """Each acknowledged image pulls with ecr-pull (once per repository
        and digest; the tags were checked above), blob for blob."""
        distinct = {(repository, image.digest): (tag, image)
                    for repository, tag, image in acknowledged}
        cache = os.path.join(self.work, "pull-cache")
        os.makedirs(os.path.join(self.work, "pulled"))

        def pull(item):
            (repository, _), (tag, image) = item
            dest = os.path.join(self.work, "pulled", repository.replace("/", "_") + "-" + tag)
            r = subprocess.run([ECR_PULL, "--quiet", "--format", "oci", "--cache-dir", cache,
                                "--endpoint-url", self.server.url, f"{repository}:{tag}", dest],
                               env=self.env, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                return f"{repository}:{tag}: ecr-pull exit {r.returncode}: {r.stderr}"
            blobs = os.path.join(dest, "blobs", "sha256")
            want = {**image.blobs(), image.digest: image.manifest}
            names = {"sha256:" + n for n in os.listdir(blobs)}
            if names != set(want):
                return f"{repository}:{tag}: pulled {sorted(names)}, expected {sorted(want)}"
            for digest, data in want.items():
                with open(os.path.join(blobs, digest[7:]), "rb") as f:
                    if f.read() != data:
                        return f"{repository}:{tag}: blob {digest} differs"
            shutil.rmtree(dest)
            return None

        # ecr-pull waits on fsyncs more than it computes: 8 at once.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            errors = [e for e in pool.map(pull, distinct.items()) if e]
        self.assertEqual(errors, [])

    def check_served_blobs(self):
        """Every blob either door serves hashes to its digest: the layers
        images reference, through GetDownloadUrlForLayer's URLs, and every
        layer a repository reports AVAILABLE, through /v2/."""
        ecr = boto3_client(self.server.url)
        on_disk = ["sha256:" + n for n in os.listdir(os.path.join(self.root, "blobs", "sha256"))]
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        auth = {"Authorization": "Basic " + token}

        def fetch(path, headers):
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()

        served = 0
        for repository in REPOSITORIES:
            referenced = set()
            for page in ecr.get_paginator("list_images").paginate(repositoryName=repository):
                ids = page["imageIds"]
                if not ids:
                    continue
                got = ecr.batch_get_image(repositoryName=repository, imageIds=ids)
                for image in got["images"]:
                    manifest = json.loads(image["imageManifest"])
                    referenced.update(d["digest"] for d in [manifest["config"], *manifest["layers"]])
            # The layers images reference through their download URLs, the
            # others through /v2/.
            for digest in sorted(referenced):
                url = ecr.get_download_url_for_layer(repositoryName=repository,
                                                     layerDigest=digest)["downloadUrl"]
                status, body = fetch(url[len(self.server.url):], {})
                self.assertEqual((status, sha(body)), (200, digest), url)
                served += 1
            available = []
            for first in range(0, len(on_disk), 100):
                answer = ecr.batch_check_layer_availability(
                    repositoryName=repository, layerDigests=on_disk[first:first + 100])
                available += [layer["layerDigest"] for layer in answer["layers"]
                              if layer["layerAvailability"] == "AVAILABLE"]
            self.assertTrue(referenced <= set(available), repository)
            for digest in set(available) - referenced:
                status, body = fetch(f"/v2/{repository}/blobs/{digest}", auth)
                self.assertEqual((status, sha(body)), (200, digest), (repository, digest))
                served += 1
        conn.close()
        self.assertGreater(served, 0)

    def check_blob_files(self):
        directory = os.path.join(self.root, "blobs", "sha256")
        for name in os.listdir(directory):
            with open(os.path.join(directory, name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), name)

    def check_root_after_restarts(self):
        """Restarts removed every temp and upload file a kill left. What may
        remain: blobs committed by an upload whose layer row a kill cut off
        (gc removes them), unless their session may still claim them (a
        retried CompleteLayerUpload; until the session expires)."""
        gc_removes = (r"^leftover: blob sha256:[0-9a-f]{64} \(\d+ bytes\) that no repository "
                      r"holds \(gc removes it\)$")
        claimable = [r"^leftover: blob sha256:[0-9a-f]{64} \(\d+ bytes\) that no repository "
                     r"holds yet: an upload session of its size may claim it \(a retried "
                     r"CompleteLayerUpload\)$",
                     r"^leftover: upload session [0-9a-f-]{36} \(repository crash/[abc]\) of "
                     r"\d+ bytes: its completion was cut short after its blob was committed "
                     r"\(a retried CompleteLayerUpload finishes it\)$"]
        # The counts are written as English: "1 upload session", "2 upload sessions".
        summary = r"^checked \d+ blobs?, \d+ images?, \d+ upload sessions?: consistent"
        for allowed in ([gc_removes, *claimable], claimable):
            check = ecr_local("check", "--root", self.root)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            lines = check.stdout.splitlines()
            for line in lines[:-1]:
                self.assertTrue(any(re.match(p, line) for p in allowed), line)
            self.assertRegex(lines[-1], summary)
            gc = ecr_local("gc", "--root", self.root)
            self.assertEqual(gc.returncode, 0, gc.stderr)


class CheckCommand(unittest.TestCase):
    """`ecr-local check`'s exit codes and lines, on a root damaged on purpose."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ecr-check-")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def test_exit_codes(self):
        server = support.Server(self.root)
        try:
            ecr = support.client(server.url)
            ecr.create_repository(repositoryName="check/app")
            layer = b"a layer" * 100
            support.push_blob(ecr, "check/app", layer)
            support.push_blob(ecr, "check/app", support.CONFIG)
            ecr.put_image(repositoryName="check/app", imageTag="v1",
                          imageManifest=support.docker_manifest(support.CONFIG, [layer]))
        finally:
            server.stop()
        ok = ecr_local("check", "--root", self.root)
        self.assertEqual((ok.returncode, ok.stdout),
                         (0, "checked 2 blobs, 1 image, 0 upload sessions: consistent\n"))

        temp = os.path.join(self.root, "blobs", "sha256", "x.tmp-1")
        open(temp, "wb").close()
        leftover = ecr_local("check", "--root", self.root)
        self.assertEqual((leftover.returncode, leftover.stdout), (0, (
            "leftover: temp file blobs/sha256/x.tmp-1 (the next start removes it)\n"
            "checked 2 blobs, 1 image, 0 upload sessions: consistent; 1 leftover, removed by "
            "the next start or gc\n")))

        path = os.path.join(self.root, "blobs", "sha256", sha(layer)[7:])
        with open(path, "r+b") as f:
            f.write(b"A")
        damaged = ecr_local("check", "--root", self.root)
        self.assertEqual(damaged.returncode, 1)
        self.assertEqual(damaged.stdout.splitlines()[0],
                         f"damaged: blob {sha(layer)}: its {len(layer)} bytes hash to "
                         f"{sha(b'A' + layer[1:])}")
        self.assertEqual(damaged.stdout.splitlines()[-1],
                         "checked 2 blobs, 1 image, 0 upload sessions: 1 problem (1 damaged); "
                         "1 leftover, removed by the next start or gc")

        missing = ecr_local("check", "--root", os.path.join(self.root, "blobs"))
        self.assertEqual(missing.returncode, 2)
        self.assertEqual(missing.stderr, f"ecr-local: check: {self.root}/blobs is not an "
                                         f"ecr-local root: it has no metadata.db\n")


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    ECR_PUSH = os.path.abspath(sys.argv.pop(1))
    ECR_PULL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

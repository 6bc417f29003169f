#!/usr/bin/env python3
"""Real registry clients nobody here wrote against ecr-local's registry API:
skopeo (and podman where it can run) push and pull through /v2/, and what
they push is what ecr-pull pulls, and the other way round. Usage:

    registry_api_peers.py BUILD_DIR FIXTURES_DIR

Starts its own ecr-local on 127.0.0.1 port 0 with a fresh root.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = None
FIXTURES = None
ACCESS, SECRET = "AKIDPEERS", "peers-secret"


def run(*args, env=None, check=True):
    result = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def file_sha(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()


class Peers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ecr-v2-peers-")
        cls.proc = subprocess.Popen(
            [f"{BUILD}/tools/ecr-local/ecr-local", "--root", f"{cls.work}/root", "--listen",
             "127.0.0.1:0", "--access-key", ACCESS, "--secret-key", SECRET, "--log-level",
             "warn"], stdout=subprocess.PIPE, text=True)
        cls.url = cls.proc.stdout.readline().strip()
        cls.host = cls.url.removeprefix("http://")
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
                       AWS_REGION="us-east-1", AWS_ENDPOINT_URL_ECR=cls.url,
                       XDG_CACHE_HOME=f"{cls.work}/cache", HOME=cls.work)
        cls.password = run(f"{BUILD}/tools/ecr/ecr", "get-login-password",
                           env=cls.env).stdout.strip()
        cls.creds = f"AWS:{cls.password}"

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def ecr(self, *args):
        return run(f"{BUILD}/tools/ecr/ecr", *args, env=self.env)

    def repo(self, name):
        self.ecr("create-repository", "--repository-name", name)
        return name

    def skopeo_copy(self, source, dest, *flags):
        return run("skopeo", "copy", "--quiet", *flags, source, dest, env=self.env)

    def raw_manifest(self, image, *flags):
        return run("skopeo", "inspect", "--raw", *flags, image, env=self.env).stdout.encode()

    def registry_manifest(self, repo, tag):
        return self.raw_manifest(f"docker://{self.host}/{repo}:{tag}", "--tls-verify=false",
                                 "--creds", self.creds)

    def layout_blobs(self, layout):
        blobs = os.path.join(layout, "blobs", "sha256")
        return {f"sha256:{name}": file_sha(os.path.join(blobs, name))
                for name in os.listdir(blobs)}

    def ecr_pull_blobs(self, repo, name):
        """The blobs of `repo`:v1 as ecr-pull lands them in an OCI layout."""
        pulled = f"{self.work}/{name}"
        run(f"{BUILD}/tools/ecr-pull/ecr-pull", f"{repo}:v1", f"oci:{pulled}", env=self.env)
        return self.layout_blobs(pulled)

    def test_skopeo_copies_an_oci_archive_in_and_out(self):
        repo = self.repo("skopeo-oci")
        source = f"oci-archive:{FIXTURES}/hello.oci.tar"
        self.skopeo_copy(source, f"docker://{self.host}/{repo}:v1", "--dest-tls-verify=false",
                         "--dest-creds", self.creds)
        pushed = self.registry_manifest(repo, "v1")
        self.assertEqual(pushed, self.raw_manifest(source))
        out = f"{self.work}/skopeo-oci-out"
        self.skopeo_copy(f"docker://{self.host}/{repo}:v1", f"oci:{out}:v1",
                         "--src-tls-verify=false", "--src-creds", self.creds)
        for digest, actual in self.layout_blobs(out).items():
            self.assertEqual(digest, actual)
        with open(f"{out}/index.json") as f:
            index = json.load(f)
        self.assertEqual(index["manifests"][0]["digest"],
                         "sha256:" + hashlib.sha256(pushed).hexdigest())

    def test_skopeo_copies_a_docker_archive_in_and_ecr_pull_reads_it(self):
        repo = self.repo("skopeo-docker")
        self.skopeo_copy(f"docker-archive:{FIXTURES}/hello.docker.tar",
                         f"docker://{self.host}/{repo}:v1", "--dest-tls-verify=false",
                         "--dest-creds", self.creds)
        manifest = self.registry_manifest(repo, "v1")
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        images = json.loads(self.ecr("batch-get-image", "--repository-name", repo, "--image-ids",
                                     "imageTag=v1").stdout)["images"]
        self.assertEqual(images[0]["imageManifest"].encode(), manifest)
        self.assertEqual(images[0]["imageId"]["imageDigest"], digest)
        out = f"{self.work}/ecr-pull-docker"
        run(f"{BUILD}/tools/ecr-pull/ecr-pull", f"{repo}:v1", f"oci:{out}", env=self.env)
        blobs = self.layout_blobs(out)
        for digest_name, actual in blobs.items():
            self.assertEqual(digest_name, actual)
        self.assertIn(digest, blobs)
        for layer in json.loads(manifest)["layers"]:
            self.assertIn(layer["digest"], blobs)

    def test_ecr_push_then_skopeo_pulls_the_same_bytes(self):
        repo = self.repo("ecr-pushed")
        run(f"{BUILD}/tools/ecr-push/ecr-push", f"oci-archive:{FIXTURES}/hello.oci.tar",
            f"{repo}:v1", env=self.env)
        out = f"{self.work}/skopeo-from-ecr-push"
        self.skopeo_copy(f"docker://{self.host}/{repo}:v1", f"oci:{out}:v1",
                         "--src-tls-verify=false", "--src-creds", self.creds)
        self.assertEqual(self.layout_blobs(out), self.ecr_pull_blobs(repo, "ecr-pull-of-ecr-push"))

    def test_skopeo_push_then_ecr_pull_gets_the_same_bytes(self):
        repo = self.repo("skopeo-pushed")
        source = f"{self.work}/source-layout"
        self.skopeo_copy(f"oci-archive:{FIXTURES}/hello.oci.tar", f"oci:{source}:v1")
        self.skopeo_copy(f"oci:{source}:v1", f"docker://{self.host}/{repo}:v1",
                         "--dest-tls-verify=false", "--dest-creds", self.creds)
        self.assertEqual(self.layout_blobs(source), self.ecr_pull_blobs(repo, "ecr-pull-of-skopeo"))

    def helper_env(self):
        """An auth file naming docker-credential-ecr for ecr-local's host, and
        the helper on PATH: no password handed to the client."""
        auth = f"{self.work}/helper-auth.json"
        with open(auth, "w") as f:
            json.dump({"auths": {}, "credHelpers": {self.host: "ecr"}}, f)
        helper_dir = f"{BUILD}/tools/docker-credential-ecr"
        return dict(self.env, REGISTRY_AUTH_FILE=auth,
                    PATH=helper_dir + os.pathsep + os.environ["PATH"])

    def test_skopeo_through_the_credential_helper(self):
        repo = self.repo("helper-skopeo")
        env = self.helper_env()
        source = f"oci-archive:{FIXTURES}/hello.oci.tar"
        run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", source,
            f"docker://{self.host}/{repo}:v1", env=env)
        pushed = run("skopeo", "inspect", "--raw", "--tls-verify=false",
                     f"docker://{self.host}/{repo}:v1", env=env).stdout.encode()
        self.assertEqual(pushed, self.raw_manifest(source))
        run("skopeo", "copy", "--quiet", "--dest-tls-verify=false",
            f"docker-archive:{FIXTURES}/hello.docker.tar", f"docker://{self.host}/{repo}:docker",
            env=env)
        out = f"{self.work}/helper-docker-out"
        run("skopeo", "copy", "--quiet", "--src-tls-verify=false",
            f"docker://{self.host}/{repo}:docker", f"oci:{out}:v1", env=env)
        manifest = run("skopeo", "inspect", "--raw", "--tls-verify=false",
                       f"docker://{self.host}/{repo}:docker", env=env).stdout.encode()
        blobs = self.layout_blobs(out)
        for digest, actual in blobs.items():
            self.assertEqual(digest, actual)
        for layer in json.loads(manifest)["layers"]:
            self.assertIn(layer["digest"], blobs)
        # Without the helper the same client is refused.
        refused = run("skopeo", "inspect", "--raw", "--tls-verify=false",
                      f"docker://{self.host}/{repo}:v1", env=dict(
                          self.env, REGISTRY_AUTH_FILE=f"{self.work}/none.json"), check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("unauthorized", refused.stderr)

    def podman(self):
        if shutil.which("podman") is None:
            self.skipTest("podman is not installed (scripts/packages.txt installs it)")
        storage = f"{self.work}/podman"
        podman = ["podman", "--root", f"{storage}/root", "--runroot", f"{storage}/run",
                  "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend",
                  "file"]
        # Storing an image from a local archive involves no registry: when
        # that fails (a chroot without the mounts podman needs), podman cannot
        # run here, and that is what the skip says.
        for probe in (["info"], ["pull", f"oci-archive:{FIXTURES}/hello.oci.tar"]):
            result = run(*podman, *probe, env=self.env, check=False)
            if result.returncode != 0:
                lines = result.stderr.strip().splitlines() or ["(no message)"]
                self.skipTest(f"podman cannot run here ({' '.join(probe[:1])}): {lines[-1]}")
        return podman

    def test_podman_through_the_credential_helper(self):
        podman = self.podman()
        repo = self.repo("helper-podman")
        env = self.helper_env()
        run(*podman, "pull", f"oci-archive:{FIXTURES}/hello.oci.tar", env=env)
        image_id = run(*podman, "images", "-q", env=env).stdout.split()[0]
        run(*podman, "push", "--tls-verify=false", image_id, f"{self.host}/{repo}:v1", env=env)
        manifest = self.registry_manifest(repo, "v1")
        # Emptied first, so the digest below is the one the registry served
        # (an image podman already stores keeps the digest it came with).
        run(*podman, "rmi", "-a", "-f", env=env)
        run(*podman, "pull", "--tls-verify=false", f"{self.host}/{repo}:v1", env=env)
        digest = run(*podman, "image", "inspect", "--format", "{{.Digest}}",
                     f"{self.host}/{repo}:v1", env=env).stdout.strip()
        self.assertEqual(digest, "sha256:" + hashlib.sha256(manifest).hexdigest())

    def test_podman_logs_in_pushes_and_pulls(self):
        podman = self.podman()
        repo = self.repo("podman")
        auth = f"{self.work}/podman-auth.json"
        env = dict(self.env, REGISTRY_AUTH_FILE=auth)
        subprocess.run([*podman, "login", "--tls-verify=false", "-u", "AWS", "--password-stdin",
                        self.host], input=self.password, env=env, text=True, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        run(*podman, "pull", f"oci-archive:{FIXTURES}/hello.oci.tar", env=env)
        image_id = run(*podman, "images", "-q", env=env).stdout.split()[0]
        run(*podman, "push", "--tls-verify=false", image_id, f"{self.host}/{repo}:v1", env=env)
        manifest = self.registry_manifest(repo, "v1")
        run(*podman, "rmi", "-a", "-f", env=env)
        run(*podman, "pull", "--tls-verify=false", f"{self.host}/{repo}:v1", env=env)
        digest = run(*podman, "image", "inspect", "--format", "{{.Digest}}",
                     f"{self.host}/{repo}:v1", env=env).stdout.strip()
        self.assertEqual(digest, "sha256:" + hashlib.sha256(manifest).hexdigest())


class PeersOverTls(unittest.TestCase):
    """The registry API over https (--tls-cert/--tls-key), as docker and podman
    insist on for any host but localhost: skopeo and podman verify a
    self-signed certificate given as their certificate directory."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ecr-v2-tls-")
        cls.certs = f"{cls.work}/certs"
        os.makedirs(cls.certs)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1", "-keyout", f"{cls.work}/key.pem", "-out",
            f"{cls.certs}/ca.crt")
        cls.proc = subprocess.Popen(
            [f"{BUILD}/tools/ecr-local/ecr-local", "--root", f"{cls.work}/root", "--listen",
             "127.0.0.1:0", "--access-key", ACCESS, "--secret-key", SECRET, "--log-level",
             "warn", "--tls-cert", f"{cls.certs}/ca.crt", "--tls-key", f"{cls.work}/key.pem"],
            stdout=subprocess.PIPE, text=True)
        cls.url = cls.proc.stdout.readline().strip()
        assert cls.url.startswith("https://127.0.0.1:"), cls.url
        cls.host = cls.url.removeprefix("https://")
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
                       AWS_REGION="us-east-1", AWS_ENDPOINT_URL_ECR=cls.url,
                       AWS_CA_BUNDLE=f"{cls.certs}/ca.crt", XDG_CACHE_HOME=f"{cls.work}/cache",
                       HOME=cls.work)
        cls.creds = "AWS:" + run(f"{BUILD}/tools/ecr/ecr", "get-login-password",
                                 env=cls.env).stdout.strip()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_skopeo_pushes_and_pulls_over_verified_https(self):
        run(f"{BUILD}/tools/ecr/ecr", "create-repository", "--repository-name", "tls",
            env=self.env)
        source = f"oci-archive:{FIXTURES}/hello.oci.tar"
        run("skopeo", "copy", "--quiet", "--dest-cert-dir", self.certs, "--dest-creds",
            self.creds, source, f"docker://{self.host}/tls:v1", env=self.env)
        pushed = run("skopeo", "inspect", "--raw", "--cert-dir", self.certs, "--creds",
                     self.creds, f"docker://{self.host}/tls:v1", env=self.env).stdout
        self.assertEqual(pushed, run("skopeo", "inspect", "--raw", source).stdout)
        # Without the certificate, verification fails rather than falling back.
        refused = run("skopeo", "inspect", "--raw", "--creds", self.creds,
                      f"docker://{self.host}/tls:v1", env=self.env, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("certificate", refused.stderr)
        out = f"{self.work}/pulled"
        run(f"{BUILD}/tools/ecr-pull/ecr-pull", "tls:v1", f"oci:{out}", env=self.env)
        self.assertTrue(os.path.exists(f"{out}/index.json"))


if __name__ == "__main__":
    BUILD = os.path.abspath(sys.argv.pop(1))
    FIXTURES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

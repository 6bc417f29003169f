#!/usr/bin/env python3
"""ecr-local with its --root on a small tmpfs that runs out of space: every
door answers the failure as the server's (ECR API: 500 ServerException; the
registry API: 500 with the spec's error document), names it, keeps what it
had acknowledged, and takes the upload again once space is back. Usage:

    full_disk_test.py /path/to/ecr-local /path/to/ecr-push

Needs root for mount(2) (CI runs as root). As another user the tests are
skipped, saying why; as root a mount that fails is a failure, not a skip.
"""
import base64
import errno
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (Server, client, error_name, push_blob)
from botocore.exceptions import ClientError  # noqa: E402
from registry_api_test import oci_manifest, sha  # noqa: E402

ECR_PUSH = None
MIB = 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
NO_SPACE = "No space left on device"
SQLITE_FULL = "database or disk is full"


class SmallDisk:
    """A tmpfs of `size_mib` MiB mounted on a fresh directory, and a filler
    file on it that takes whatever space a test wants gone."""

    def __init__(self, test, size_mib):
        if os.geteuid() != 0:
            test.skipTest("mounting a tmpfs needs root (euid %d); CI runs these as root"
                          % os.geteuid())
        self.dir = tempfile.mkdtemp(prefix="ecr-full-disk-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs",
                                self.dir], capture_output=True, text=True)
        if mount.returncode != 0:
            test.fail(f"cannot mount a {size_mib} MiB tmpfs on {self.dir} (needed to run out "
                      f"of space): {mount.stderr.strip()}")
        test.addCleanup(self.unmount)
        self.filler = os.path.join(self.dir, "filler")

    def unmount(self):
        subprocess.run(["umount", self.dir], check=True)

    def free(self):
        st = os.statvfs(self.dir)
        return st.f_bavail * st.f_frsize

    def fill(self, leave=0):
        """Writes the filler until the disk is full, then gives back `leave`
        bytes of it; returns the free bytes left."""
        chunk = b"\0" * MIB
        # Unbuffered: a write the disk cannot take fails here, not at close.
        with open(self.filler, "ab", buffering=0) as f:
            while True:
                try:
                    f.write(chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
        size = os.path.getsize(self.filler)
        os.truncate(self.filler, max(0, size - leave))
        return self.free()

    def unfill(self):
        os.remove(self.filler)


def files_under(path):
    return sorted(os.listdir(path))


class FullDiskCase(unittest.TestCase):
    """ecr-local with its root on a fresh 24 MiB tmpfs, and a client."""

    def setUp(self):
        self.disk = SmallDisk(self, 24)
        self.root = os.path.join(self.disk.dir, "registry")
        self.server = support.Server(self.root)
        self.addCleanup(self.server.stop)
        self.ecr = support.client(self.server.url)


class EcrApiFullDisk(FullDiskCase):
    """UploadLayerPart, CompleteLayerUpload and PutImage with the root full."""

    def setUp(self):
        super().setUp()
        self.ecr.create_repository(repositoryName="full")

    def push_image(self, tag, layer):
        config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
        support.push_blob(self.ecr, "full", config)
        support.push_blob(self.ecr, "full", layer)
        manifest = oci_manifest(config, [layer])
        self.ecr.put_image(repositoryName="full", imageManifest=manifest.decode(),
                           imageManifestMediaType=OCI_MANIFEST, imageTag=tag)
        return manifest

    def download(self, digest):
        url = self.ecr.get_download_url_for_layer(repositoryName="full",
                                                  layerDigest=digest)["downloadUrl"]
        path = url.split("127.0.0.1:%d" % self.server.port, 1)[1]
        status, _, data = support.get(self.server.port, path)
        self.assertEqual(status, 200)
        return data

    def assert_image_intact(self, tag, manifest, layer):
        got = self.ecr.batch_get_image(repositoryName="full", imageIds=[{"imageTag": tag}])
        self.assertEqual(got["failures"], [])
        self.assertEqual(got["images"][0]["imageManifest"].encode(), manifest)
        self.assertEqual(self.download(sha(layer)), layer)

    def server_error(self, call, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        error = caught.exception.response["Error"]
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        return error["Code"], error["Message"]

    def test_part_that_does_not_fit_is_a_server_exception_and_the_upload_resumes(self):
        before = os.urandom(MIB)
        manifest = self.push_image("before", before)
        layer = os.urandom(9 * MIB)
        up = self.ecr.initiate_layer_upload(repositoryName="full")["uploadId"]
        first = layer[:5 * MIB]
        self.ecr.upload_layer_part(repositoryName="full", uploadId=up, partFirstByte=0,
                                   partLastByte=len(first) - 1, layerPartBlob=first)
        self.disk.fill(leave=2 * MIB)

        rest = layer[5 * MIB:]
        code, message = self.server_error(
            self.ecr.upload_layer_part, repositoryName="full", uploadId=up,
            partFirstByte=5 * MIB, partLastByte=len(layer) - 1, layerPartBlob=rest)

        self.assertEqual(code, "ServerException")
        upload_file = os.path.join(self.root, "uploads", up)
        self.assertEqual(message, f"blob store: cannot write {upload_file}: {NO_SPACE}")
        # The part that did not fit gave its space back: the file holds the
        # acknowledged part only, and no blob or temp file appeared.
        self.assertEqual(os.path.getsize(upload_file), 5 * MIB)
        self.assertEqual(files_under(os.path.join(self.root, "uploads")), [up])
        self.assertEqual(len(files_under(os.path.join(self.root, "blobs", "sha256"))), 2)
        self.assert_image_intact("before", manifest, before)
        # The server says which byte it has: the client resumes from there.
        with self.assertRaises(ClientError) as caught:
            self.ecr.upload_layer_part(repositoryName="full", uploadId=up, partFirstByte=0,
                                       partLastByte=9, layerPartBlob=b"0123456789")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidLayerPartException")
        self.assertEqual(caught.exception.response["lastValidByteReceived"], 5 * MIB - 1)

        self.disk.unfill()
        r = self.ecr.upload_layer_part(repositoryName="full", uploadId=up, partFirstByte=5 * MIB,
                                       partLastByte=len(layer) - 1, layerPartBlob=rest)
        self.assertEqual(r["lastByteReceived"], len(layer) - 1)
        digest = self.ecr.complete_layer_upload(repositoryName="full", uploadId=up,
                                                layerDigests=[sha(layer)])["layerDigest"]
        self.assertEqual(digest, sha(layer))
        config = json.dumps({"architecture": "amd64", "os": "linux", "tag": "after"}).encode()
        support.push_blob(self.ecr, "full", config)
        after = oci_manifest(config, [layer])
        self.ecr.put_image(repositoryName="full", imageManifest=after.decode(),
                           imageManifestMediaType=OCI_MANIFEST, imageTag="after")
        self.assert_image_intact("after", after, layer)
        self.assert_image_intact("before", manifest, before)
        self.assertEqual(files_under(os.path.join(self.root, "uploads")), [])

    def test_put_image_that_sqlite_cannot_store_is_a_server_exception_and_not_recorded(self):
        before = os.urandom(MIB)
        manifest = self.push_image("before", before)
        config = json.dumps({"architecture": "amd64", "os": "linux", "big": True}).encode()
        layer = os.urandom(MIB)
        support.push_blob(self.ecr, "full", config)
        support.push_blob(self.ecr, "full", layer)
        # 3 MiB of annotations (ECR takes manifests up to 4 MiB): more than the
        # WAL has pages for, so SQLite needs space that is not there.
        big = oci_manifest(config, [layer], annotations={"pad": "p" * (3 * MIB)})
        self.disk.fill(leave=0)

        code, message = self.server_error(
            self.ecr.put_image, repositoryName="full", imageManifest=big.decode(),
            imageManifestMediaType=OCI_MANIFEST, imageTag="big")

        self.assertEqual(code, "ServerException")
        self.assertIn(SQLITE_FULL, message)
        self.assertTrue(message.startswith("metadata store: "), message)
        self.assertIsNone(self.server.proc.poll(), "ecr-local exited")
        got = self.ecr.batch_get_image(repositoryName="full", imageIds=[{"imageTag": "big"}])
        self.assertEqual([f["failureCode"] for f in got["failures"]], ["ImageNotFound"])
        listed = self.ecr.list_images(repositoryName="full")["imageIds"]
        self.assertEqual([i.get("imageTag") for i in listed], ["before"])
        self.assert_image_intact("before", manifest, before)

        self.disk.unfill()
        put = self.ecr.put_image(repositoryName="full", imageManifest=big.decode(),
                                 imageManifestMediaType=OCI_MANIFEST, imageTag="big")
        self.assertEqual(put["image"]["imageId"]["imageDigest"], sha(big))
        self.assert_image_intact("big", big, layer)
        self.assertEqual(self.server.stop(), 0)
        db = sqlite3.connect(os.path.join(self.root, "metadata.db"))
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
        self.assertEqual(db.execute("SELECT COUNT(*) FROM images").fetchone()[0], 2)
        db.close()


class RegistryApiFullDisk(FullDiskCase):
    """PATCH and PUT on /v2/<name>/blobs/uploads/ with the root full."""

    def setUp(self):
        super().setUp()
        self.ecr.create_repository(repositoryName="full")
        data = self.ecr.get_authorization_token()["authorizationData"][0]
        token = base64.b64decode(data["authorizationToken"]).decode()
        self.auth = "Basic " + base64.b64encode(token.encode()).decode()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        hdrs = {"Authorization": self.auth}
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def start(self):
        status, headers, body = self.request("POST", "/v2/full/blobs/uploads/")
        self.assertEqual(status, 202, body)
        return headers["location"], headers["docker-upload-uuid"]

    def patch(self, location, first, piece):
        return self.request("PATCH", location, piece,
                            {"Content-Range": f"{first}-{first + len(piece) - 1}",
                             "Content-Type": "application/octet-stream"})

    def push(self, data):
        location, _ = self.start()
        status, headers, body = self.patch(location, 0, data)
        self.assertEqual(status, 202, body)
        status, _, body = self.request("PUT", f"{headers['location']}?digest={sha(data)}")
        self.assertEqual(status, 201, body)

    def blob(self, data):
        status, _, body = self.request("GET", f"/v2/full/blobs/{sha(data)}")
        self.assertEqual(status, 200)
        self.assertEqual(body, data)

    def assert_unknown_error(self, status, headers, body, upload_file):
        self.assertEqual(status, 500, body)
        self.assertEqual(headers["content-type"], "application/json")
        errors = json.loads(body)["errors"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["code"], "UNKNOWN")
        self.assertEqual(errors[0]["message"],
                         f"blob store: cannot write {upload_file}: {NO_SPACE}")

    def test_patch_that_does_not_fit_is_500_and_the_chunk_is_taken_again(self):
        before = os.urandom(2 * MIB)
        self.push(before)
        layer = os.urandom(8 * MIB)
        location, session = self.start()
        status, headers, body = self.patch(location, 0, layer[:3 * MIB])
        self.assertEqual(status, 202, body)
        self.disk.fill(leave=MIB)

        status, headers, body = self.patch(location, 3 * MIB, layer[3 * MIB:])

        upload_file = os.path.join(self.root, "uploads", session)
        self.assert_unknown_error(status, headers, body, upload_file)
        self.assertEqual(os.path.getsize(upload_file), 3 * MIB)
        status, headers, _ = self.request("GET", location)
        self.assertEqual(status, 204)
        self.assertEqual(headers["range"], f"0-{3 * MIB - 1}")
        self.blob(before)

        self.disk.unfill()
        status, headers, body = self.patch(location, 3 * MIB, layer[3 * MIB:])
        self.assertEqual(status, 202, body)
        status, _, body = self.request("PUT", f"{headers['location']}?digest={sha(layer)}")
        self.assertEqual(status, 201, body)
        self.blob(layer)
        self.blob(before)

    def test_put_with_a_last_chunk_that_does_not_fit_is_500_and_completes_later(self):
        layer = os.urandom(6 * MIB)
        location, session = self.start()
        status, headers, body = self.patch(location, 0, layer[:2 * MIB])
        self.assertEqual(status, 202, body)
        self.disk.fill(leave=MIB)

        status, headers, body = self.request(
            "PUT", f"{location}?digest={sha(layer)}", layer[2 * MIB:],
            {"Content-Range": f"{2 * MIB}-{len(layer) - 1}",
             "Content-Type": "application/octet-stream"})

        upload_file = os.path.join(self.root, "uploads", session)
        self.assert_unknown_error(status, headers, body, upload_file)
        self.assertEqual(os.path.getsize(upload_file), 2 * MIB)
        self.assertEqual(files_under(os.path.join(self.root, "blobs", "sha256")), [])
        status, _, _ = self.request("HEAD", f"/v2/full/blobs/{sha(layer)}")
        self.assertEqual(status, 404)

        self.disk.unfill()
        status, _, body = self.request(
            "PUT", f"{location}?digest={sha(layer)}", layer[2 * MIB:],
            {"Content-Range": f"{2 * MIB}-{len(layer) - 1}",
             "Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201, body)
        self.blob(layer)
        self.assertEqual(files_under(os.path.join(self.root, "uploads")), [])


def write_layout(path, layer, tag):
    """An OCI layout holding one image of `layer` (labelled gzip, so nothing
    on the way decompresses it) tagged `tag`; returns the manifest bytes."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
    manifest = oci_manifest(config, [layer])
    for data in (config, layer, manifest):
        with open(os.path.join(blobs, sha(data)[7:]), "wb") as f:
            f.write(data)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest),
             "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    return manifest


class EcrPushFullDisk(FullDiskCase):
    """ecr-push against an ecr-local whose disk is full: it retries the 500s
    as the AWS SDKs do, then stops with the server's reason; run again once
    there is room, it finishes."""

    def setUp(self):
        super().setUp()
        self.work = tempfile.mkdtemp(prefix="ecr-full-disk-push-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def ecr_push(self, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=support.ACCESS,
                   AWS_SECRET_ACCESS_KEY=support.SECRET, AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL_ECR=self.server.url, AWS_MAX_ATTEMPTS="2",
                   HOME=self.work, XDG_CACHE_HOME=os.path.join(self.work, "cache"))
        return subprocess.run([ECR_PUSH, "--quiet", "--no-cache", *args], env=env, text=True,
                              capture_output=True, timeout=300)

    def test_push_onto_a_full_registry_fails_naming_it_and_succeeds_after(self):
        layer = os.urandom(8 * MIB)
        layout = os.path.join(self.work, "layout")
        manifest = write_layout(layout, layer, "v1")
        self.disk.fill(leave=3 * MIB)

        first = self.ecr_push("--create-repository", f"oci:{layout}:v1", "full/app:v1")

        self.assertEqual(first.returncode, 1, first.stderr)
        uploads = os.path.join(self.root, "uploads")
        sessions = files_under(uploads)
        self.assertEqual(len(sessions), 1, sessions)
        self.assertEqual(first.stderr,
                         "ecr-push: push failed: the registry answered ServerException: blob "
                         f"store: cannot write {os.path.join(uploads, sessions[0])}: "
                         f"{NO_SPACE}\n")
        self.assertEqual(os.path.getsize(os.path.join(uploads, sessions[0])), 0)
        self.assertEqual(self.ecr.list_images(repositoryName="full/app")["imageIds"], [])

        self.disk.unfill()
        again = self.ecr_push(f"oci:{layout}:v1", "full/app:v1")
        self.assertEqual(again.returncode, 0, again.stderr)
        got = self.ecr.batch_get_image(repositoryName="full/app", imageIds=[{"imageTag": "v1"}])
        self.assertEqual(got["images"][0]["imageManifest"].encode(), manifest)
        url = self.ecr.get_download_url_for_layer(repositoryName="full/app",
                                                  layerDigest=sha(layer))["downloadUrl"]
        status, _, data = support.get(self.server.port,
                                      url.split("127.0.0.1:%d" % self.server.port, 1)[1])
        self.assertEqual((status, data == layer), (200, True))


class FirstStartFullDisk(unittest.TestCase):
    def test_a_start_that_cannot_write_its_keys_fails_and_the_next_one_starts(self):
        disk = SmallDisk(self, 8)
        root = os.path.join(disk.dir, "registry")
        os.mkdir(root)
        disk.fill(leave=0)

        proc = subprocess.run(
            [support.ECR_LOCAL, "--root", root, "--listen", "127.0.0.1:0",
             "--access-key", support.ACCESS, "--secret-key", support.SECRET],
            capture_output=True, text=True, timeout=60)

        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout, "")
        self.assertIn(root, proc.stderr)
        self.assertTrue(NO_SPACE in proc.stderr or SQLITE_FULL in proc.stderr, proc.stderr)
        for name in os.listdir(root):
            path = os.path.join(root, name)
            self.assertFalse(name.endswith(".key") and os.path.getsize(path) != 32,
                             f"{name} holds {os.path.getsize(path)} bytes")
            self.assertNotIn(".tmp-", name)

        disk.unfill()
        server = support.Server(root)
        self.addCleanup(server.stop)
        ecr = support.client(server.url)
        ecr.create_repository(repositoryName="after")
        self.assertEqual(len(ecr.get_authorization_token()["authorizationData"]), 1)


if __name__ == "__main__":
    support.ECR_LOCAL = sys.argv.pop(1)
    ECR_PUSH = os.path.abspath(sys.argv.pop(1))
    unittest.main()

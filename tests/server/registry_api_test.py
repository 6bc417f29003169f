#!/usr/bin/env python3
"""ecr-local's second door, the registry API (/v2/, OCI distribution), driven
by hand over HTTP and checked through both doors with boto3. Usage:

    registry_api_test.py /path/to/ecr-local /path/to/ecr

Each test class starts its own ecr-local on 127.0.0.1 port 0 with a fresh
root and stops it at the end. `ecr` (the project's CLI) sets account
settings, which Debian's boto3 predates.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (Server, client, push_blob)

ECR_CLI = None
MIB = 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def token_of(ecr):
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS"
    return password


class V2:
    """A registry API client over one keep-alive connection."""

    def __init__(self, port, password):
        self.port = port
        self.auth = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method, path, body=None, headers=None, auth=True):
        hdrs = {"Authorization": self.auth} if auth else {}
        hdrs.update(headers or {})
        self.conn.request(method, path, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def error_code(self, data):
        return json.loads(data)["errors"][0]["code"]

    def push_blob(self, repo, data, chunk=None):
        status, headers, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert status == 202, status
        location = headers["location"]
        chunk = chunk or max(len(data), 1)
        for pos in range(0, len(data), chunk):
            piece = data[pos:pos + chunk]
            status, headers, body = self.request(
                "PATCH", location, piece,
                {"Content-Range": f"{pos}-{pos + len(piece) - 1}",
                 "Content-Type": "application/octet-stream"})
            assert status == 202, (status, body)
            assert headers["range"] == f"0-{pos + len(piece) - 1}", headers
            location = headers["location"]
        status, headers, body = self.request("PUT", f"{location}?digest={sha(data)}")
        assert status == 201, (status, body)
        return headers["docker-content-digest"]

    def put_manifest(self, repo, ref, manifest, media_type=OCI_MANIFEST):
        return self.request("PUT", f"/v2/{repo}/manifests/{ref}", manifest,
                            {"Content-Type": media_type})


def oci_manifest(config, layers, subject=None, artifact_type=None, annotations=None):
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha(layer), "size": len(layer)} for layer in layers],
    }
    if subject:
        doc["subject"] = subject
    if artifact_type:
        doc["artifactType"] = artifact_type
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc, separators=(",", ":")).encode()


class RegistryApiTest(support.ServerCase):
    root_prefix = "ecr-v2-"

    @classmethod
    def started(cls):
        cls.v2 = V2(cls.server.port, token_of(cls.ecr))

    def push_image(self, repo, tag, size=3 * MIB, seed=b"x"):
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed.hex()}).encode()
        layer = os.urandom(size)
        self.v2.push_blob(repo, config)
        self.v2.push_blob(repo, layer, chunk=MIB + 7)
        manifest = oci_manifest(config, [layer])
        status, headers, body = self.v2.put_manifest(repo, tag, manifest)
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["docker-content-digest"], sha(manifest))
        return manifest, layer

    # --- authentication ---

    def test_base_asks_for_basic_credentials_and_takes_the_token(self):
        status, headers, body = self.v2.request("GET", "/v2/", auth=False)
        self.assertEqual(status, 401)
        self.assertTrue(headers["www-authenticate"].startswith('Basic realm="http://127.0.0.1:'))
        self.assertEqual(self.v2.error_code(body), "UNAUTHORIZED")
        status, headers, body = self.v2.request("GET", "/v2/")
        self.assertEqual((status, body), (200, b"{}"))
        self.assertEqual(headers["docker-distribution-api-version"], "registry/2.0")

    def test_wrong_and_forged_tokens_are_refused(self):
        good = token_of(self.ecr)
        prefix, key_hex, expiry, mac = good.split(".")
        forged = [
            "not-a-token",
            f"{prefix}.{key_hex}.{int(expiry) + 3600}.{mac}",    # a later expiry
            f"{prefix}.{key_hex}.{expiry}.{'0' * len(mac)}",     # a made-up signature
            f"{prefix}.{b'other'.hex()}.{expiry}.{mac}",         # another access key
            f"{prefix}.{key_hex}.1000000000.{mac}",              # long expired
        ]
        for password in forged:
            status, headers, body = V2(self.server.port, password).request("GET", "/v2/")
            self.assertEqual(status, 401, password)
            self.assertEqual(self.v2.error_code(body), "UNAUTHORIZED")
            self.assertIn("www-authenticate", headers)
        for header in ["Basic " + base64.b64encode(f"root:{good}".encode()).decode(),
                       "Bearer " + good, "Basic %%%"]:
            status, _, _ = self.v2.request("GET", "/v2/", headers={"Authorization": header},
                                           auth=False)
            self.assertEqual(status, 401, header)

    # --- blobs and uploads ---

    def test_chunked_upload_lands_the_exact_bytes(self):
        repo = self.repo("chunked")
        data = os.urandom(5 * MIB + 123)
        digest = self.v2.push_blob(repo, data, chunk=2 * MIB + 1)
        self.assertEqual(digest, sha(data))
        status, headers, _ = self.v2.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["content-length"]), len(data))
        self.assertEqual(headers["docker-content-digest"], digest)
        status, _, body = self.v2.request("GET", f"/v2/{repo}/blobs/{digest}")
        self.assertEqual((status, sha(body)), (200, digest))
        status, headers, body = self.v2.request("GET", f"/v2/{repo}/blobs/{digest}",
                                                headers={"Range": "bytes=10-19"})
        self.assertEqual((status, body), (206, data[10:20]))
        self.assertEqual(headers["content-range"], f"bytes 10-19/{len(data)}")

    def test_monolithic_upload_in_the_post(self):
        repo = self.repo("monolithic")
        data = os.urandom(MIB)
        status, headers, body = self.v2.request(
            "POST", f"/v2/{repo}/blobs/uploads/?digest={sha(data)}", data,
            {"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["location"], f"/v2/{repo}/blobs/{sha(data)}")
        status, _, body = self.v2.request("GET", f"/v2/{repo}/blobs/{sha(data)}")
        self.assertEqual(body, data)

    def test_upload_status_and_cancel(self):
        repo = self.repo("status")
        status, headers, _ = self.v2.request("POST", f"/v2/{repo}/blobs/uploads/")
        location = headers["location"]
        uuid = headers["docker-upload-uuid"]
        self.assertTrue(location.endswith(uuid))
        self.v2.request("PATCH", location, b"a" * 1000)
        status, headers, _ = self.v2.request("GET", location)
        self.assertEqual((status, headers["range"]), (204, "0-999"))
        status, _, _ = self.v2.request("DELETE", location)
        self.assertEqual(status, 204)
        status, _, body = self.v2.request("GET", location)
        self.assertEqual((status, self.v2.error_code(body)), (404, "BLOB_UPLOAD_UNKNOWN"))

    def test_a_wrong_digest_leaves_nothing_visible(self):
        repo = self.repo("wrong-digest")
        data = os.urandom(100_000)
        status, headers, _ = self.v2.request("POST", f"/v2/{repo}/blobs/uploads/")
        location = headers["location"]
        self.v2.request("PATCH", location, data)
        other = sha(b"something else")
        status, _, body = self.v2.request("PUT", f"{location}?digest={other}")
        self.assertEqual((status, self.v2.error_code(body)), (400, "DIGEST_INVALID"))
        for digest in (other, sha(data)):
            status, _, _ = self.v2.request("HEAD", f"/v2/{repo}/blobs/{digest}")
            self.assertEqual(status, 404)

    def test_chunk_gaps_and_overlaps_are_refused(self):
        repo = self.repo("gaps")
        status, headers, _ = self.v2.request("POST", f"/v2/{repo}/blobs/uploads/")
        location = headers["location"]
        self.v2.request("PATCH", location, b"a" * 100, {"Content-Range": "0-99"})
        for bad_range, body in [("150-199", b"b" * 50), ("50-149", b"c" * 100),
                                ("100-199", b"d" * 10), ("x-y", b"e")]:
            status, _, answer = self.v2.request("PATCH", location, body,
                                                {"Content-Range": bad_range})
            self.assertEqual((status, self.v2.error_code(answer)), (416, "BLOB_UPLOAD_INVALID"),
                             bad_range)
        status, headers, _ = self.v2.request("GET", location)
        self.assertEqual(headers["range"], "0-99")
        status, _, _ = self.v2.request("PUT", f"{location}?digest={sha(b'a' * 100)}")
        self.assertEqual(status, 201)

    def test_blob_delete_is_refused_and_unknown_things_are_named(self):
        repo = self.repo("unknowns")
        digest = sha(b"never pushed")
        status, _, body = self.v2.request("DELETE", f"/v2/{repo}/blobs/{digest}")
        self.assertEqual((status, self.v2.error_code(body)), (405, "UNSUPPORTED"))
        status, _, body = self.v2.request("GET", f"/v2/{repo}/blobs/{digest}")
        self.assertEqual((status, self.v2.error_code(body)), (404, "BLOB_UNKNOWN"))
        status, _, body = self.v2.request("GET", f"/v2/no-such-repo/manifests/latest")
        self.assertEqual((status, self.v2.error_code(body)), (404, "NAME_UNKNOWN"))
        status, _, body = self.v2.request("POST", "/v2/no-such-repo/blobs/uploads/")
        self.assertEqual((status, self.v2.error_code(body)), (404, "NAME_UNKNOWN"))
        status, _, body = self.v2.request("GET", f"/v2/{repo}/manifests/latest")
        self.assertEqual((status, self.v2.error_code(body)), (404, "MANIFEST_UNKNOWN"))
        for path in ["/v2/UPPER/tags/list", "/v2/a..b/tags/list", "/v2/a/../b/tags/list",
                     "/v2/%2e%2e/tags/list"]:
            status, _, body = self.v2.request("GET", path)
            self.assertEqual((status, self.v2.error_code(body)), (400, "NAME_INVALID"), path)
        status, _, body = self.v2.request("GET", f"/v2/{repo}/blobs/sha256:abc")
        self.assertEqual((status, self.v2.error_code(body)), (400, "DIGEST_INVALID"))
        status, _, body = self.v2.request("PATCH", f"/v2/{repo}/blobs/uploads/../../etc", b"x")
        self.assertIn(status, (400, 404))
        status, _, body = self.v2.request(
            "PATCH", f"/v2/{repo}/blobs/uploads/00000000-0000-4000-8000-000000000000", b"x")
        self.assertEqual((status, self.v2.error_code(body)), (404, "BLOB_UPLOAD_UNKNOWN"))

    def raw_exchange(self, request_bytes, close_after_send=False):
        """Sends bytes exactly as given on a fresh connection; returns the
        status line and the rest of what came back (until the server closes
        or 10 s pass)."""
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            sock.sendall(request_bytes)
            if close_after_send:
                sock.shutdown(socket.SHUT_WR)
            data = b""
            while b"\r\n\r\n" not in data:
                piece = sock.recv(65536)
                if not piece:
                    break
                data += piece
            return data.split(b"\r\n", 1)[0].decode(), data
        finally:
            sock.close()

    def new_session(self, repo):
        _, headers, _ = self.v2.request("POST", f"/v2/{repo}/blobs/uploads/")
        return headers["location"]

    def session_range(self, location):
        _, headers, _ = self.v2.request("GET", location)
        return headers["range"]

    def test_hostile_chunk_bodies_leave_the_session_as_it_was(self):
        repo = self.repo("hostile-chunks")
        location = self.new_session(repo)
        self.v2.request("PATCH", location, b"a" * 100)
        auth = self.v2.auth.encode()
        head = b"PATCH " + location.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth
        # Chunk framing that is not hex.
        status, _ = self.raw_exchange(head + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      b"zz\r\nabc\r\n0\r\n\r\n")
        self.assertIn(" 400 ", status)
        # A body cut short by the client.
        status, _ = self.raw_exchange(head + b"\r\nContent-Length: 1000\r\n\r\n" + b"b" * 10,
                                      close_after_send=True)
        self.assertIn(" 400 ", status)
        # More than a layer may hold, declared up front.
        status, data = self.raw_exchange(head + b"\r\nContent-Length: 99999999999999\r\n\r\n")
        self.assertIn(" 413 ", status)
        self.assertIn(b"SIZE_INVALID", data)
        self.assertEqual(self.session_range(location), "0-99")
        status, _, _ = self.v2.request("PUT", f"{location}?digest={sha(b'a' * 100)}")
        self.assertEqual(status, 201)

    def test_a_chunked_manifest_over_the_limit_is_refused(self):
        repo = self.repo("hostile-manifest")
        head = (f"PUT /v2/{repo}/manifests/t HTTP/1.1\r\nHost: x\r\nAuthorization: "
                f"{self.v2.auth}\r\nContent-Type: {OCI_MANIFEST}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        chunk = b" " * MIB
        body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(5))
        status, data = self.raw_exchange(head + body + b"0\r\n\r\n")
        self.assertIn(" 413 ", status)
        status, _, _ = self.v2.request("GET", f"/v2/{repo}/manifests/t")
        self.assertEqual(status, 404)

    def test_two_requests_cannot_append_to_one_session_at_once(self):
        repo = self.repo("one-writer")
        location = self.new_session(repo)
        first = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            first.sendall(b"PATCH " + location.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: " + self.v2.auth.encode() +
                          b"\r\nContent-Length: 3000000\r\n\r\n" + b"a" * (2 * MIB))
            # The first request holds the session from its first written piece:
            # wait (up to 60 s, a bound for sanitizer builds) for the upload
            # file to hold it before the second request comes.
            upload_file = os.path.join(self.root, "uploads", location.rsplit("/", 1)[1])
            deadline = time.monotonic() + 60
            while (not os.path.exists(upload_file) or os.path.getsize(upload_file) < MIB) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            status, _, body = self.v2.request("PATCH", location, b"b" * 10)
            self.assertEqual((status, self.v2.error_code(body)), (416, "BLOB_UPLOAD_INVALID"))
        finally:
            first.close()

    # --- manifests, both doors ---

    def test_an_image_pushed_through_v2_is_the_same_image_through_the_ecr_api(self):
        repo = self.repo("both-doors")
        manifest, layer = self.push_image(repo, "v1")
        details = self.ecr.describe_images(repositoryName=repo)["imageDetails"]
        self.assertEqual(len(details), 1)
        self.assertEqual(details[0]["imageDigest"], sha(manifest))
        self.assertEqual(details[0]["imageTags"], ["v1"])
        self.assertEqual(details[0]["imageManifestMediaType"], OCI_MANIFEST)
        self.assertEqual(details[0]["imageSizeInBytes"], len(layer))
        images = self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
        self.assertEqual(images["images"][0]["imageManifest"].encode(), manifest)
        for ref in ("v1", sha(manifest)):
            status, headers, body = self.v2.request("GET", f"/v2/{repo}/manifests/{ref}",
                                                    headers={"Accept": OCI_MANIFEST})
            self.assertEqual((status, body), (200, manifest))
            self.assertEqual(headers["content-type"], OCI_MANIFEST)
            self.assertEqual(headers["docker-content-digest"], sha(manifest))
        status, headers, body = self.v2.request("HEAD", f"/v2/{repo}/manifests/v1")
        self.assertEqual((status, body, int(headers["content-length"])),
                         (200, b"", len(manifest)))
        status, _, body = self.v2.request("GET", f"/v2/{repo}/manifests/v1",
                                          headers={"Accept": DOCKER_MANIFEST})
        self.assertEqual((status, self.v2.error_code(body)), (404, "MANIFEST_UNKNOWN"))

    def test_an_image_pushed_through_the_ecr_api_is_served_by_v2(self):
        repo = self.repo("ecr-door")
        config = b'{"architecture":"amd64","os":"linux"}'
        layer = os.urandom(6 * MIB)
        support.push_blob(self.ecr, repo, config)
        support.push_blob(self.ecr, repo, layer, part=5 * MIB)
        manifest = oci_manifest(config, [layer]).decode()
        self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="t",
                           imageManifestMediaType=OCI_MANIFEST)
        status, _, body = self.v2.request("GET", f"/v2/{repo}/manifests/t")
        self.assertEqual(body, manifest.encode())
        status, _, body = self.v2.request("GET", f"/v2/{repo}/blobs/{sha(layer)}")
        self.assertEqual(body, layer)

    def test_manifest_errors(self):
        repo = self.repo("manifest-errors")
        config = b"{}"
        self.v2.push_blob(repo, config)
        missing = oci_manifest(config, [b"not pushed"])
        status, _, body = self.v2.put_manifest(repo, "t", missing)
        self.assertEqual((status, self.v2.error_code(body)), (400, "MANIFEST_BLOB_UNKNOWN"))
        status, _, body = self.v2.put_manifest(repo, "t", b"{not json")
        self.assertEqual((status, self.v2.error_code(body)), (400, "MANIFEST_INVALID"))
        good = oci_manifest(config, [])
        status, _, body = self.v2.put_manifest(repo, "bad:tag", good)
        self.assertEqual(status, 400)
        status, _, body = self.v2.put_manifest(repo, sha(b"other"), good)
        self.assertEqual((status, self.v2.error_code(body)), (400, "DIGEST_INVALID"))
        status, _, body = self.v2.request(
            "PUT", f"/v2/{repo}/manifests/big", b"{" + b" " * (4 * MIB + 1) + b"}",
            {"Content-Type": OCI_MANIFEST})
        self.assertEqual(status, 413)

    def test_immutable_tags_refuse_another_digest_through_both_doors(self):
        repo = self.repo("immutable")
        first, _ = self.push_image(repo, "stable", size=1000, seed=b"1")
        self.ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
        second, _ = None, None
        config = b'{"seed":"2"}'
        self.v2.push_blob(repo, config)
        second = oci_manifest(config, [])
        status, _, body = self.v2.put_manifest(repo, "stable", second)
        self.assertEqual((status, self.v2.error_code(body)), (400, "TAG_INVALID"))
        self.assertEqual(
            support.error_name(self.ecr.put_image, repositoryName=repo, imageTag="stable",
                               imageManifest=second.decode()),
            "ImageTagAlreadyExistsException")
        status, _, body = self.v2.put_manifest(repo, "stable", first)
        self.assertEqual(status, 201)  # the same digest again is fine
        status, _, body = self.v2.request("GET", f"/v2/{repo}/manifests/stable")
        self.assertEqual(body, first)

    def test_delete_manifest_by_tag_and_by_digest(self):
        repo = self.repo("deletes")
        manifest, _ = self.push_image(repo, "a", size=100)
        self.v2.put_manifest(repo, "b", manifest)
        status, _, _ = self.v2.request("DELETE", f"/v2/{repo}/manifests/a")
        self.assertEqual(status, 202)
        status, _, _ = self.v2.request("GET", f"/v2/{repo}/manifests/b")
        self.assertEqual(status, 200)
        status, _, _ = self.v2.request("DELETE", f"/v2/{repo}/manifests/{sha(manifest)}")
        self.assertEqual(status, 202)
        status, _, body = self.v2.request("GET", f"/v2/{repo}/manifests/b")
        self.assertEqual((status, self.v2.error_code(body)), (404, "MANIFEST_UNKNOWN"))
        self.assertEqual(self.ecr.describe_images(repositoryName=repo)["imageDetails"], [])

    def test_tags_list_pages(self):
        repo = self.repo("tags")
        manifest, _ = self.push_image(repo, "t0", size=10)
        tags = sorted(["t0"] + [f"t{i}" for i in range(1, 7)] + ["A", "_x"])
        for tag in tags:
            self.v2.put_manifest(repo, tag, manifest)
        status, _, body = self.v2.request("GET", f"/v2/{repo}/tags/list")
        self.assertEqual(json.loads(body), {"name": repo, "tags": tags})
        seen, path = [], f"/v2/{repo}/tags/list?n=4"
        while path:
            status, headers, body = self.v2.request("GET", path)
            self.assertEqual(status, 200)
            page = json.loads(body)["tags"]
            self.assertLessEqual(len(page), 4)
            seen += page
            link = headers.get("link")
            path = link[1:link.index(">")] if link else None
        self.assertEqual(seen, tags)
        status, _, body = self.v2.request("GET", f"/v2/{repo}/tags/list?n=2&last=t3")
        self.assertEqual(json.loads(body)["tags"], ["t4", "t5"])
        status, _, body = self.v2.request("GET", f"/v2/{repo}/tags/list?n=-1")
        self.assertEqual((status, self.v2.error_code(body)), (400, "PAGINATION_NUMBER_INVALID"))

    def test_referrers_list_manifests_by_subject(self):
        repo = self.repo("referrers")
        image, _ = self.push_image(repo, "app", size=100)
        subject = {"mediaType": OCI_MANIFEST, "digest": sha(image), "size": len(image)}
        empty = b"{}"
        self.v2.push_blob(repo, empty)
        sbom = oci_manifest(empty, [], subject=subject, artifact_type="application/spdx+json",
                            annotations={"org.example": "sbom"})
        sig = oci_manifest(empty, [], subject=subject, artifact_type="application/sig")
        for manifest in (sbom, sig):
            status, headers, body = self.v2.put_manifest(repo, sha(manifest), manifest)
            self.assertEqual(status, 201, body)
            self.assertEqual(headers["oci-subject"], sha(image))
        status, headers, body = self.v2.request("GET", f"/v2/{repo}/referrers/{sha(image)}")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/vnd.oci.image.index.v1+json")
        index = json.loads(body)
        found = {m["digest"]: m for m in index["manifests"]}
        self.assertEqual(set(found), {sha(sbom), sha(sig)})
        self.assertEqual(found[sha(sbom)]["artifactType"], "application/spdx+json")
        self.assertEqual(found[sha(sbom)]["annotations"], {"org.example": "sbom"})
        self.assertEqual(found[sha(sbom)]["size"], len(sbom))
        status, headers, body = self.v2.request(
            "GET", f"/v2/{repo}/referrers/{sha(image)}?artifactType=application/sig")
        self.assertEqual([m["digest"] for m in json.loads(body)["manifests"]], [sha(sig)])
        self.assertEqual(headers["oci-filters-applied"], "artifactType")
        status, _, body = self.v2.request("GET", f"/v2/{repo}/referrers/{sha(b'none')}")
        self.assertEqual(json.loads(body)["manifests"], [])

    def test_mount_follows_the_blob_mounting_setting(self):
        source, target = self.repo("mount-source"), self.repo("mount-target")
        _, layer = self.push_image(source, "v1", size=2000)
        path = f"/v2/{target}/blobs/uploads/?mount={sha(layer)}&from={source}"
        status, headers, _ = self.v2.request("POST", path)
        self.assertEqual(status, 202)  # BLOB_MOUNTING is DISABLED by default: a session
        self.v2.request("DELETE", headers["location"])
        env = dict(os.environ, AWS_ACCESS_KEY_ID=support.ACCESS,
                   AWS_SECRET_ACCESS_KEY=support.SECRET, AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL_ECR=self.server.url)
        subprocess.run([ECR_CLI, "put-account-setting", "--name", "BLOB_MOUNTING", "--value",
                        "ENABLED"], env=env, check=True, stdout=subprocess.DEVNULL)
        try:
            status, headers, _ = self.v2.request("POST", path)
            self.assertEqual(status, 201)
            self.assertEqual(headers["location"], f"/v2/{target}/blobs/{sha(layer)}")
            status, _, body = self.v2.request("GET", f"/v2/{target}/blobs/{sha(layer)}")
            self.assertEqual(body, layer)
            layers = self.ecr.batch_check_layer_availability(
                repositoryName=target, layerDigests=[sha(layer)])["layers"]
            self.assertEqual(layers[0]["layerAvailability"], "AVAILABLE")
            # A blob no image of the source references is not mounted.
            status, _, _ = self.v2.request(
                "POST", f"/v2/{target}/blobs/uploads/?mount={sha(b'x')}&from={source}")
            self.assertEqual(status, 202)
        finally:
            subprocess.run([ECR_CLI, "put-account-setting", "--name", "BLOB_MOUNTING",
                            "--value", "DISABLED"], env=env, check=True,
                           stdout=subprocess.DEVNULL)

    def test_concurrent_pushes_through_both_doors(self):
        repo = self.repo("concurrent")
        results, errors = {}, []

        def through_v2(i):
            try:
                v2 = V2(self.server.port, token_of(self.ecr))
                config = json.dumps({"door": "v2", "i": i}).encode()
                layer = os.urandom(256 * 1024 + i)
                v2.push_blob(repo, config)
                v2.push_blob(repo, layer, chunk=100_000)
                manifest = oci_manifest(config, [layer])
                status, _, body = v2.put_manifest(repo, f"v2-{i}", manifest)
                assert status == 201, body
                results[f"v2-{i}"] = (manifest, layer)
            except Exception as e:  # noqa: BLE001  (reported below)
                errors.append(repr(e))

        def through_ecr(i):
            try:
                ecr = support.client(self.server.url)
                config = json.dumps({"door": "ecr", "i": i}).encode()
                layer = os.urandom(256 * 1024 + i)
                support.push_blob(ecr, repo, config)
                support.push_blob(ecr, repo, layer)
                manifest = oci_manifest(config, [layer])
                ecr.put_image(repositoryName=repo, imageManifest=manifest.decode(),
                              imageTag=f"ecr-{i}")
                results[f"ecr-{i}"] = (manifest, layer)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=through_v2, args=(i,)) for i in range(16)]
        threads += [threading.Thread(target=through_ecr, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 32)
        for tag, (manifest, layer) in results.items():
            status, _, body = self.v2.request("GET", f"/v2/{repo}/manifests/{tag}")
            self.assertEqual(body, manifest, tag)
            status, _, body = self.v2.request("GET", f"/v2/{repo}/blobs/{sha(layer)}")
            self.assertEqual(sha(body), sha(layer), tag)


class TokenBindingTest(unittest.TestCase):
    """A token stops working when its credential pair is no longer accepted."""

    def test_a_token_from_one_pair_does_not_work_for_another(self):
        root = tempfile.mkdtemp(prefix="ecr-v2-tokens-")
        try:
            server = support.Server(root)
            password = token_of(support.client(server.url))
            status, _, _ = V2(server.port, password).request("GET", "/v2/")
            self.assertEqual(status, 200)
            server.stop()
            # The same root (the same server key), another secret for the key.
            rotated = subprocess.Popen(
                [support.ECR_LOCAL, "--root", root, "--listen", "127.0.0.1:0", "--access-key",
                 support.ACCESS, "--secret-key", "rotated-secret", "--log-level", "warn"],
                stdout=subprocess.PIPE, text=True)
            try:
                url = rotated.stdout.readline().strip()
                port = int(url.rsplit(":", 1)[1])
                status, _, body = V2(port, password).request("GET", "/v2/")
                self.assertEqual(status, 401)
                fresh = token_of(support.client(url, secret="rotated-secret"))
                status, _, _ = V2(port, fresh).request("GET", "/v2/")
                self.assertEqual(status, 200)
            finally:
                rotated.terminate()
                rotated.wait(timeout=10)
                rotated.stdout.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)


class KillMidUploadTest(unittest.TestCase):
    """kill -9 while a chunk streams in: nothing half-written is visible."""

    def test_kill_mid_chunk_leaves_the_session_as_it_was(self):
        root = tempfile.mkdtemp(prefix="ecr-v2-kill-")
        try:
            server = support.Server(root)
            ecr = support.client(server.url)
            ecr.create_repository(repositoryName="killed")
            v2 = V2(server.port, token_of(ecr))
            _, headers, _ = v2.request("POST", "/v2/killed/blobs/uploads/")
            location = headers["location"]
            v2.request("PATCH", location, b"a" * 1000)
            data = os.urandom(4 * MIB)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.putrequest("PATCH", location)
            conn.putheader("Authorization", v2.auth)
            conn.putheader("Content-Length", str(len(data)))
            conn.endheaders()
            conn.send(data[: 2 * MIB])
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            conn.close()
            server = support.Server(root)
            try:
                v2 = V2(server.port, token_of(support.client(server.url)))
                status, headers, _ = v2.request("GET", location)
                self.assertEqual((status, headers["range"]), (204, "0-999"))
                status, _, _ = v2.request("HEAD", f"/v2/killed/blobs/{sha(b'a' * 1000 + data)}")
                self.assertEqual(status, 404)
                status, _, _ = v2.request("PUT", f"{location}?digest={sha(b'a' * 1000)}")
                self.assertEqual(status, 201)
            finally:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    ECR_CLI = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""boto3 and the AWS CLI drive ecr-local through every seed operation and
every error the issue lists, plus hostile requests. Usage:

    ecr_local_boto3.py /path/to/ecr-local

Starts its own ecr-local on 127.0.0.1 port 0 (reads the URL from the first
stdout line) with a fresh root, and stops it at the end.
"""
import atexit
import base64
import datetime
import hashlib
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError


def use_vendored_model():
    """Points botocore at the project's copy of the ECR service model and
    paginators (third_party/aws), so a botocore older than the model (Debian 12's 1.29)
    still knows every operation ecr-local serves. botocore reads
    AWS_DATA_PATH/<service>/<api version>/service-2.json before its own data.
    """
    aws = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "third_party", "aws")
    data = tempfile.mkdtemp(prefix="ecr-model-")
    version = os.path.join(data, "ecr", "2015-09-21")
    os.makedirs(version)
    shutil.copy(os.path.join(aws, "ecr-service-model.json"), os.path.join(version, "service-2.json"))
    shutil.copy(os.path.join(aws, "ecr-paginators.json"), os.path.join(version, "paginators-1.json"))
    os.environ["AWS_DATA_PATH"] = data
    atexit.register(shutil.rmtree, data, True)


use_vendored_model()

ECR_LOCAL = None
ACCESS, SECRET = "AKIDTESTKEY", "test-secret"
TARGET = "AmazonEC2ContainerRegistry_V20150921."
MIB = 1024 * 1024


class Server:
    def __init__(self, root, *extra, lifecycle_interval="0"):
        self.proc = subprocess.Popen(
            [ECR_LOCAL, "--root", root, "--listen", "127.0.0.1:0", "--access-key", ACCESS,
             "--secret-key", SECRET, "--lifecycle-interval", lifecycle_interval,
             "--log-level", "warn", *extra],
            stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self):
        self.proc.terminate()
        status = self.proc.wait(timeout=10)
        self.proc.stdout.close()
        return status


def client(url, secret=SECRET, access=ACCESS):
    return boto3.client("ecr", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def error_name(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    return "no error"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def pinned_clock(when):
    """Makes botocore's signer see `when` as the time: botocore.auth's
    get_current_datetime, or in a botocore without it (Debian 12's 1.29) the
    datetime.datetime.utcnow() that SigV4Auth calls there."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch("botocore.auth.get_current_datetime", return_value=when)

    class PinnedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    return mock.patch("botocore.auth.datetime.datetime", PinnedDatetime)


def api_headers(port, operation, body, headers=None, sign=True, secret=SECRET, when=None):
    """The headers of an ECR API call (POST /) with `body`: its X-Amz-Target
    (none for operation None), `headers`, and botocore's SigV4 signature over
    all of them unless sign=False."""
    url = f"http://127.0.0.1:{port}/"
    hdrs = {"Content-Type": "application/x-amz-json-1.1"}
    if operation is not None:
        hdrs["X-Amz-Target"] = TARGET + operation
    hdrs.update(headers or {})
    req = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body, headers=hdrs)
    if sign:
        creds = botocore.credentials.Credentials(ACCESS, secret)
        if when is None:
            botocore.auth.SigV4Auth(creds, "ecr", "us-east-1").add_auth(req)
        else:
            with pinned_clock(when):
                botocore.auth.SigV4Auth(creds, "ecr", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def raw_post(port, operation, body, headers=None, sign=True, secret=SECRET, when=None):
    """POSTs `body` as it is, signed with botocore's SigV4 unless sign=False."""
    hdrs = api_headers(port, operation, body, headers, sign, secret, when)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/", body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def push_blob(ecr, repo, data, part=None):
    up = ecr.initiate_layer_upload(repositoryName=repo)
    part = part or max(len(data), 1)
    pos = 0
    while pos < len(data):
        chunk = data[pos:pos + part]
        r = ecr.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"], partFirstByte=pos,
                                  partLastByte=pos + len(chunk) - 1, layerPartBlob=chunk)
        assert r["lastByteReceived"] == pos + len(chunk) - 1
        pos += len(chunk)
    return ecr.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                                     layerDigests=[sha(data)])["layerDigest"]


def crash_loop_draws(label):
    """The seed, the number of rounds and the random draws of a crash loop:
    CRASH_LOOP_SEED repeats a run (the seed is printed), CRASH_LOOP_ROUNDS
    changes its length (default 30)."""
    seed = int(os.environ.get("CRASH_LOOP_SEED", random.randrange(1 << 32)))
    rounds = int(os.environ.get("CRASH_LOOP_ROUNDS", "30"))
    print(f"{label}: seed {seed} (CRASH_LOOP_SEED={seed} repeats it), {rounds} rounds",
          flush=True)
    return seed, rounds, random.Random(seed)


def docker_manifest(config, layers):
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": sha(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(l), "digest": sha(l)} for l in layers],
    }, indent=3)


class ServerCase(unittest.TestCase):
    """One ecr-local for the test class, on a fresh root removed at the end,
    with a boto3 client to it (`ecr`). A subclass may set `root_prefix` and
    `server_args` (extra flags), and extend `started()`, which runs after
    every start (setUpClass and restart())."""

    root_prefix = "ecr-local-"
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix=cls.root_prefix)
        cls.start()

    @classmethod
    def start(cls):
        cls.server = Server(cls.root, *cls.server_args)
        cls.ecr = client(cls.server.url)
        cls.started()

    @classmethod
    def started(cls):
        """Runs after each start of the server."""

    @classmethod
    def restart(cls):
        """Stops the server and starts another on the same root."""
        cls.server.stop()
        cls.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def repo(self, name, **kw):
        self.ecr.create_repository(repositoryName=name, **kw)
        return name


CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": []}}).encode()


class EcrLocal(ServerCase):
    root_prefix = "ecr-local-boto3-"

    # --- repositories -----------------------------------------------------
    def test_repositories_create_describe_page_delete(self):
        r = self.ecr.create_repository(repositoryName="team/app", imageTagMutability="IMMUTABLE",
                                       imageScanningConfiguration={"scanOnPush": True},
                                       tags=[{"Key": "env", "Value": "dev"}])["repository"]
        self.assertEqual(r["repositoryUri"], "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app")
        self.assertEqual(r["repositoryArn"], "arn:aws:ecr:us-east-1:000000000000:repository/team/app")
        self.assertEqual(r["imageTagMutability"], "IMMUTABLE")
        self.assertTrue(r["imageScanningConfiguration"]["scanOnPush"])
        self.assertEqual(error_name(self.ecr.create_repository, repositoryName="team/app"),
                         "RepositoryAlreadyExistsException")
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"],
                         [{"Key": "env", "Value": "dev"}])
        for n in ("page/a", "page/b", "page/c"):
            self.repo(n)
        first = self.ecr.describe_repositories(maxResults=2)
        self.assertEqual(len(first["repositories"]), 2)
        rest = self.ecr.describe_repositories(maxResults=1000, nextToken=first["nextToken"])
        names = [x["repositoryName"] for x in first["repositories"] + rest["repositories"]]
        self.assertEqual(names, sorted(names))
        self.assertIn("page/c", names)
        self.assertNotIn("nextToken", rest)
        self.assertEqual(error_name(self.ecr.describe_repositories, repositoryNames=["page/a"], maxResults=5),
                         "InvalidParameterException")
        self.assertEqual(error_name(self.ecr.describe_repositories, repositoryNames=["nope"]),
                         "RepositoryNotFoundException")
        self.assertEqual(error_name(self.ecr.describe_repositories, nextToken="garbage"),
                         "InvalidParameterException")
        self.assertEqual(self.ecr.delete_repository(repositoryName="page/a")["repository"]["repositoryName"], "page/a")
        self.assertEqual(error_name(self.ecr.delete_repository, repositoryName="page/a"),
                         "RepositoryNotFoundException")

    def test_invalid_repository_name_names_the_member(self):
        try:
            self.ecr.create_repository(repositoryName="Bad_Name")
            self.fail("accepted")
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException")
            self.assertIn("repositoryName", e.response["Error"]["Message"])

    def test_tags_mutability_scanning_registry(self):
        arn = self.ecr.create_repository(repositoryName="settings")["repository"]["repositoryArn"]
        self.ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.ecr.untag_resource(resourceArn=arn, tagKeys=["a"])
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=arn)["tags"], [{"Key": "b", "Value": "2"}])
        self.assertEqual(error_name(self.ecr.tag_resource, resourceArn=arn, tags=[{"Key": "aws:x", "Value": "1"}]),
                         "InvalidTagParameterException")
        self.assertEqual(error_name(self.ecr.tag_resource, resourceArn=arn,
                                    tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]),
                         "TooManyTagsException")
        self.assertEqual(self.ecr.put_image_tag_mutability(repositoryName="settings", imageTagMutability="IMMUTABLE")
                         ["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(self.ecr.put_image_scanning_configuration(
            repositoryName="settings", imageScanningConfiguration={"scanOnPush": True})
            ["imageScanningConfiguration"], {"scanOnPush": True})
        d = self.ecr.describe_repositories(repositoryNames=["settings"])["repositories"][0]
        self.assertEqual((d["imageTagMutability"], d["imageScanningConfiguration"]["scanOnPush"]), ("IMMUTABLE", True))
        self.assertEqual(self.ecr.describe_registry()["registryId"], "000000000000")

    def test_authorization_token(self):
        data = self.ecr.get_authorization_token()["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        self.assertEqual(user, "AWS")
        self.assertTrue(password)
        self.assertEqual(data["proxyEndpoint"], self.server.url)
        left = data["expiresAt"] - datetime.datetime.now(datetime.timezone.utc)
        self.assertTrue(datetime.timedelta(hours=11, minutes=59) < left <= datetime.timedelta(hours=12))

    # --- layers and images ------------------------------------------------
    def test_multi_part_push_put_get_download(self):
        repo = self.repo("push/app")
        layer = os.urandom(11 * MIB)
        init = self.ecr.initiate_layer_upload(repositoryName=repo)
        self.assertEqual(init["partSize"], 10485760)
        up = init["uploadId"]
        parts = [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, 11 * MIB)]
        for first, end in parts:
            r = self.ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=first,
                                           partLastByte=end - 1, layerPartBlob=layer[first:end])
            self.assertEqual(r["lastByteReceived"], end - 1)
        digest = self.ecr.complete_layer_upload(repositoryName=repo, uploadId=up,
                                                layerDigests=[sha(layer)])["layerDigest"]
        self.assertEqual(digest, sha(layer))
        config_digest = push_blob(self.ecr, repo, CONFIG)
        self.assertEqual(config_digest, sha(CONFIG))

        avail = self.ecr.batch_check_layer_availability(
            repositoryName=repo, layerDigests=[digest, sha(b"missing"), "bogus"])
        self.assertEqual(avail["layers"][0]["layerAvailability"], "AVAILABLE")
        self.assertEqual(avail["layers"][0]["layerSize"], len(layer))
        self.assertEqual(avail["layers"][1]["layerAvailability"], "UNAVAILABLE")
        self.assertEqual(avail["failures"][0]["failureCode"], "InvalidLayerDigest")

        # Before any image references it, the layer is not downloadable.
        self.assertEqual(error_name(self.ecr.get_download_url_for_layer, repositoryName=repo, layerDigest=digest),
                         "LayerInaccessibleException")
        self.assertEqual(error_name(self.ecr.get_download_url_for_layer, repositoryName=repo,
                                    layerDigest=sha(b"unknown")), "LayersNotFoundException")

        manifest = docker_manifest(CONFIG, [layer])
        img = self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1")["image"]
        mdigest = sha(manifest.encode())
        self.assertEqual(img["imageId"], {"imageDigest": mdigest, "imageTag": "v1"})
        self.assertEqual(img["imageManifestMediaType"], "application/vnd.docker.distribution.manifest.v2+json")
        self.assertEqual(error_name(self.ecr.put_image, repositoryName=repo, imageManifest=manifest, imageTag="v1"),
                         "ImageAlreadyExistsException")

        got = self.ecr.batch_get_image(repositoryName=repo, imageIds=[
            {"imageTag": "v1"}, {"imageDigest": mdigest}, {"imageTag": "nope"},
            {"imageDigest": "sha256:xyz"}, {}, {"imageTag": "v1", "imageDigest": sha(b"other")},
            {"imageTag": "bad tag!"}])
        self.assertEqual([i["imageManifest"] for i in got["images"]], [manifest, manifest])
        self.assertEqual([f["failureCode"] for f in got["failures"]],
                         ["ImageNotFound", "InvalidImageDigest", "MissingDigestAndTag",
                          "ImageTagDoesNotMatchDigest", "InvalidImageTag"])
        oci_only = self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}],
                                            acceptedMediaTypes=["application/vnd.oci.image.manifest.v1+json"])
        self.assertEqual((oci_only["images"], oci_only["failures"][0]["failureCode"]), ([], "ImageNotFound"))

        url = self.ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]
        self.assertTrue(url.startswith(self.server.url + "/"))
        path = url[len(self.server.url):]
        status, headers, body = get(self.server.port, path)
        self.assertEqual((status, int(headers["Content-Length"])), (200, len(layer)))
        self.assertEqual(sha(body), digest)
        status, headers, body = get(self.server.port, path, {"Range": "bytes=100-199"})
        self.assertEqual((status, body), (206, layer[100:200]))
        self.assertEqual(headers["Content-Range"], f"bytes 100-199/{len(layer)}")
        status, _, body = get(self.server.port, path, {"Range": f"bytes={len(layer) - 10}-"})
        self.assertEqual((status, body), (206, layer[-10:]))
        # Forged: another digest under the same signature; tampered expiry.
        other = path.replace(digest[7:], sha(CONFIG)[7:])
        self.assertEqual(get(self.server.port, other)[0], 403)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        tampered = path.replace("expires=" + q["expires"][0], "expires=" + str(int(q["expires"][0]) + 1))
        self.assertEqual(get(self.server.port, tampered)[0], 403)
        self.assertEqual(get(self.server.port, path.split("?")[0])[0], 403)

        details = self.ecr.describe_images(repositoryName=repo)["imageDetails"]
        self.assertEqual(len(details), 1)
        self.assertEqual(details[0]["imageSizeInBytes"], len(layer))
        self.assertEqual(details[0]["imageTags"], ["v1"])
        self.assertEqual(details[0]["artifactMediaType"], "application/vnd.docker.container.image.v1+json")
        self.assertEqual(error_name(self.ecr.describe_images, repositoryName=repo, imageIds=[{"imageTag": "zzz"}]),
                         "ImageNotFoundException")

    def test_upload_errors(self):
        repo = self.repo("uploads/err")
        other = self.repo("uploads/other")
        up = self.ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        self.assertEqual(error_name(self.ecr.complete_layer_upload, repositoryName=repo, uploadId=up,
                                    layerDigests=[sha(b"")]), "EmptyUploadException")
        self.ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=0, partLastByte=9,
                                   layerPartBlob=b"0123456789")
        try:  # a gap: the error says where to resume
            self.ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=20, partLastByte=29,
                                       layerPartBlob=b"x" * 10)
            self.fail("accepted a gap")
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "InvalidLayerPartException")
        self._check_raw_gap(repo, up)
        self.assertEqual(error_name(self.ecr.upload_layer_part, repositoryName=repo, uploadId=up,
                                    partFirstByte=10, partLastByte=19, layerPartBlob=b"short"),
                         "InvalidLayerPartException")
        self.ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=10, partLastByte=19,
                                   layerPartBlob=b"abcdefghij")
        # A 10-byte first part followed by another part is too small.
        self.assertEqual(error_name(self.ecr.complete_layer_upload, repositoryName=repo, uploadId=up,
                                    layerDigests=[sha(b"0123456789abcdefghij")]), "LayerPartTooSmallException")
        up2 = self.ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        self.ecr.upload_layer_part(repositoryName=repo, uploadId=up2, partFirstByte=0, partLastByte=2,
                                   layerPartBlob=b"abc")
        self.assertEqual(error_name(self.ecr.complete_layer_upload, repositoryName=other, uploadId=up2,
                                    layerDigests=[sha(b"abc")]), "UploadNotFoundException")
        self.assertEqual(error_name(self.ecr.complete_layer_upload, repositoryName=repo, uploadId=up2,
                                    layerDigests=[sha(b"abd")]), "InvalidLayerException")
        push_blob(self.ecr, repo, b"abc")
        self.assertEqual(error_name(push_blob, self.ecr, repo, b"abc"), "LayerAlreadyExistsException")
        self.assertEqual(error_name(self.ecr.upload_layer_part, repositoryName=repo,
                                    uploadId="00000000-0000-4000-8000-000000000000", partFirstByte=0,
                                    partLastByte=0, layerPartBlob=b"a"), "UploadNotFoundException")
        self.assertEqual(error_name(self.ecr.initiate_layer_upload, repositoryName="missing/repo"),
                         "RepositoryNotFoundException")

    def _check_raw_gap(self, repo, up):
        """The error document carries lastValidByteReceived, so a client can resume, and the
        other modeled fields of InvalidLayerPartException."""
        status, _, body = raw_post(self.server.port, "UploadLayerPart", json.dumps({
            "repositoryName": repo, "uploadId": up, "partFirstByte": 50, "partLastByte": 50,
            "layerPartBlob": base64.b64encode(b"z").decode()}))
        doc = json.loads(body)
        self.assertEqual((status, doc["__type"], doc["lastValidByteReceived"]), (400, "InvalidLayerPartException", 9))
        self.assertEqual((doc["registryId"], doc["repositoryName"], doc["uploadId"]), ("000000000000", repo, up))
        self.assertEqual(set(doc), {"__type", "message", "lastValidByteReceived", "registryId", "repositoryName",
                                    "uploadId"})

    def test_put_image_errors_and_tag_moves(self):
        repo = self.repo("images/err")
        layer = b"layer-bytes"
        push_blob(self.ecr, repo, layer)
        push_blob(self.ecr, repo, CONFIG)
        m1 = docker_manifest(CONFIG, [layer])
        self.assertEqual(error_name(self.ecr.put_image, repositoryName=repo,
                                    imageManifest=docker_manifest(CONFIG, [b"not pushed"])),
                         "LayersNotFoundException")
        self.assertEqual(error_name(self.ecr.put_image, repositoryName=repo, imageManifest=m1,
                                    imageDigest=sha(b"x")), "ImageDigestDoesNotMatchException")
        self.assertEqual(error_name(self.ecr.put_image, repositoryName=repo, imageManifest="{not json"),
                         "InvalidParameterException")
        self.ecr.put_image(repositoryName=repo, imageManifest=m1, imageTag="latest")
        m2 = m1 + " "  # same content, different bytes: a different image
        self.ecr.put_image(repositoryName=repo, imageManifest=m2, imageTag="latest")
        tagged = self.ecr.list_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})["imageIds"]
        self.assertEqual(tagged, [{"imageDigest": sha(m2.encode()), "imageTag": "latest"}])
        untagged = self.ecr.list_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})["imageIds"]
        self.assertEqual(untagged, [{"imageDigest": sha(m1.encode())}])
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                                           "digest": sha(b"nothing"), "size": 7,
                                           "platform": {"os": "linux", "architecture": "amd64"}}]})
        self.assertEqual(error_name(self.ecr.put_image, repositoryName=repo, imageManifest=index),
                         "ReferencedImagesNotFoundException")
        good_index = index.replace(sha(b"nothing"), sha(m1.encode())).replace('"size": 7', f'"size": {len(m1)}')
        self.ecr.put_image(repositoryName=repo, imageManifest=good_index, imageTag="multi")
        # Immutable repository: a tag cannot move.
        imm = self.repo("images/immutable", imageTagMutability="IMMUTABLE")
        push_blob(self.ecr, imm, layer)
        push_blob(self.ecr, imm, CONFIG)
        self.ecr.put_image(repositoryName=imm, imageManifest=m1, imageTag="v1")
        self.assertEqual(error_name(self.ecr.put_image, repositoryName=imm, imageManifest=m2, imageTag="v1"),
                         "ImageTagAlreadyExistsException")
        # Deletes: by tag drops the tag (image keeps others), by digest drops all tags.
        self.ecr.put_image(repositoryName=imm, imageManifest=m1, imageTag="v1b")
        r = self.ecr.batch_delete_image(repositoryName=imm, imageIds=[{"imageTag": "v1"}, {"imageTag": "gone"}])
        self.assertEqual(r["imageIds"], [{"imageDigest": sha(m1.encode()), "imageTag": "v1"}])
        self.assertEqual(r["failures"][0]["failureCode"], "ImageNotFound")
        r = self.ecr.batch_delete_image(repositoryName=imm, imageIds=[{"imageDigest": sha(m1.encode())}])
        self.assertEqual(r["imageIds"], [{"imageDigest": sha(m1.encode()), "imageTag": "v1b"}])
        self.assertEqual(self.ecr.list_images(repositoryName=imm)["imageIds"], [])
        self.assertEqual(error_name(self.ecr.delete_repository, repositoryName=repo), "RepositoryNotEmptyException")
        self.ecr.delete_repository(repositoryName=repo, force=True)

    def test_tag_mutability_exclusion_filters(self):
        def filters(*patterns):
            return [{"filterType": "WILDCARD", "filter": p} for p in patterns]

        layer = b"exclusions layer"
        manifests = [docker_manifest(CONFIG, [layer]) + " " * i for i in range(3)]

        def put(repo, which, tag):
            return error_name(self.ecr.put_image, repositoryName=repo,
                              imageManifest=manifests[which], imageTag=tag)

        imm = self.repo("mutability/imm", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                        imageTagMutabilityExclusionFilters=filters("dev-*", "latest"))
        r = self.ecr.describe_repositories(repositoryNames=[imm])["repositories"][0]
        self.assertEqual(r["imageTagMutability"], "IMMUTABLE_WITH_EXCLUSION")
        self.assertEqual(r["imageTagMutabilityExclusionFilters"], filters("dev-*", "latest"))
        push_blob(self.ecr, imm, layer)
        push_blob(self.ecr, imm, CONFIG)
        # Immutable except the excluded tags: those move, the others stay.
        for tag in ("v1", "dev-7", "latest"):
            self.assertEqual(put(imm, 0, tag), "no error")
        self.assertEqual(put(imm, 1, "v1"), "ImageTagAlreadyExistsException")
        self.assertEqual(put(imm, 1, "dev-7"), "no error")
        self.assertEqual(put(imm, 1, "latest"), "no error")
        # Mutable except the excluded tags: those stay, the others move.
        r = self.ecr.put_image_tag_mutability(repositoryName=imm,
                                              imageTagMutability="MUTABLE_WITH_EXCLUSION",
                                              imageTagMutabilityExclusionFilters=filters("v*"))
        self.assertEqual((r["imageTagMutability"], r["imageTagMutabilityExclusionFilters"]),
                         ("MUTABLE_WITH_EXCLUSION", filters("v*")))
        self.assertEqual(put(imm, 2, "v1"), "ImageTagAlreadyExistsException")
        self.assertEqual(put(imm, 2, "dev-7"), "no error")
        # Back to plain MUTABLE: the filters go, every tag moves.
        r = self.ecr.put_image_tag_mutability(repositoryName=imm, imageTagMutability="MUTABLE")
        self.assertNotIn("imageTagMutabilityExclusionFilters", r)
        self.assertNotIn("imageTagMutabilityExclusionFilters",
                         self.ecr.describe_repositories(repositoryNames=[imm])["repositories"][0])
        self.assertEqual(put(imm, 2, "v1"), "no error")
        # The pair must be one ECR accepts; nothing changes otherwise.
        for bad in (dict(imageTagMutability="IMMUTABLE_WITH_EXCLUSION"),
                    dict(imageTagMutability="MUTABLE", imageTagMutabilityExclusionFilters=filters("a")),
                    dict(imageTagMutability="MUTABLE_WITH_EXCLUSION",
                         imageTagMutabilityExclusionFilters=filters("a", "b", "c", "d", "e", "f")),
                    dict(imageTagMutability="MUTABLE_WITH_EXCLUSION",
                         imageTagMutabilityExclusionFilters=filters("a/b")),
                    dict(imageTagMutability="MUTABLE_WITH_EXCLUSION",
                         imageTagMutabilityExclusionFilters=[{"filterType": "REGEX", "filter": "a"}])):
            with self.subTest(bad=bad):
                self.assertEqual(error_name(self.ecr.put_image_tag_mutability, repositoryName=imm, **bad),
                                 "InvalidParameterException")
                self.assertEqual(error_name(self.ecr.create_repository,
                                            repositoryName="mutability/bad", **bad),
                                 "InvalidParameterException")
        self.assertEqual(self.ecr.describe_repositories(repositoryNames=[imm])["repositories"][0]
                         ["imageTagMutability"], "MUTABLE")
        self.assertEqual(error_name(self.ecr.describe_repositories, repositoryNames=["mutability/bad"]),
                         "RepositoryNotFoundException")

    def test_list_and_describe_images_page(self):
        repo = self.repo("images/paging")
        push_blob(self.ecr, repo, CONFIG)
        for i in range(5):
            self.ecr.put_image(repositoryName=repo, imageManifest=docker_manifest(CONFIG, []) + " " * i,
                               imageTag=f"t{i}")
        seen, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = self.ecr.list_images(repositoryName=repo, maxResults=2, **kw)
            self.assertLessEqual(len(page["imageIds"]), 2)
            seen += page["imageIds"]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(sorted(i["imageTag"] for i in seen), [f"t{i}" for i in range(5)])
        page = self.ecr.describe_images(repositoryName=repo, maxResults=3)
        self.assertEqual((len(page["imageDetails"]), "nextToken" in page), (3, True))
        self.assertEqual(error_name(self.ecr.describe_images, repositoryName=repo, imageIds=[{"imageTag": "t1"}],
                                    maxResults=3), "InvalidParameterException")

    # --- policies and lifecycle -------------------------------------------
    def test_repository_policy(self):
        repo = self.repo("policy/repo")
        self.assertEqual(error_name(self.ecr.get_repository_policy, repositoryName=repo),
                         "RepositoryPolicyNotFoundException")
        text = json.dumps({"Version": "2012-10-17", "Statement": []})
        self.assertEqual(self.ecr.set_repository_policy(repositoryName=repo, policyText=text)["policyText"], text)
        self.assertEqual(self.ecr.get_repository_policy(repositoryName=repo)["policyText"], text)
        self.assertEqual(error_name(self.ecr.set_repository_policy, repositoryName=repo, policyText="{nope"),
                         "InvalidParameterException")
        self.assertEqual(self.ecr.delete_repository_policy(repositoryName=repo)["policyText"], text)
        self.assertEqual(error_name(self.ecr.delete_repository_policy, repositoryName=repo),
                         "RepositoryPolicyNotFoundException")

    def test_lifecycle_policy_and_preview(self):
        repo = self.repo("lifecycle/repo")
        push_blob(self.ecr, repo, CONFIG)
        digests = []
        for i, tag in enumerate(["prod-1", None, "prod-2", None, "prod-3"]):
            m = docker_manifest(CONFIG, []) + " " * i
            kw = {"imageTag": tag} if tag else {}
            self.ecr.put_image(repositoryName=repo, imageManifest=m, **kw)
            digests.append(sha(m.encode()))
        self.assertEqual(error_name(self.ecr.get_lifecycle_policy, repositoryName=repo),
                         "LifecyclePolicyNotFoundException")
        self.assertEqual(error_name(self.ecr.start_lifecycle_policy_preview, repositoryName=repo),
                         "LifecyclePolicyNotFoundException")
        self.assertEqual(error_name(self.ecr.get_lifecycle_policy_preview, repositoryName=repo),
                         "LifecyclePolicyPreviewNotFoundException")
        bad = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged",
                          "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]})
        self.assertEqual(error_name(self.ecr.put_lifecycle_policy, repositoryName=repo, lifecyclePolicyText=bad),
                         "InvalidParameterException")
        policy = json.dumps({"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan",
                                              "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"],
                                              "countType": "imageCountMoreThan", "countNumber": 2},
             "action": {"type": "expire"}}]})
        self.ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy)
        self.assertEqual(self.ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"], policy)
        started = self.ecr.start_lifecycle_policy_preview(repositoryName=repo)
        self.assertEqual(started["status"], "IN_PROGRESS")
        self.assertEqual(error_name(self.ecr.start_lifecycle_policy_preview, repositoryName=repo),
                         "LifecyclePolicyPreviewInProgressException")
        preview = self.ecr.get_lifecycle_policy_preview(repositoryName=repo)
        self.assertEqual(preview["status"], "COMPLETE")
        got = [(r["imageDigest"], r.get("imageTags", []), r["action"]["type"], r["appliedRulePriority"])
               for r in preview["previewResults"]]
        # Pushes in the same millisecond tie on time; compare as sets of expirations.
        self.assertEqual(sorted(got), sorted([(digests[0], ["prod-1"], "EXPIRE", 2),
                                              (digests[1], [], "EXPIRE", 1)]))
        self.assertEqual(preview["summary"]["expiringImageTotalCount"], 2)
        self.assertEqual(self.ecr.delete_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"], policy)
        self.assertEqual(error_name(self.ecr.delete_lifecycle_policy, repositoryName=repo),
                         "LifecyclePolicyNotFoundException")

    # --- authentication ---------------------------------------------------
    def test_authentication_errors(self):
        self.assertEqual(error_name(client(self.server.url, secret="wrong").describe_repositories),
                         "InvalidSignatureException")
        self.assertEqual(error_name(client(self.server.url, access="AKIDUNKNOWN").describe_repositories),
                         "UnrecognizedClientException")
        status, headers, body = raw_post(self.server.port, "DescribeRepositories", b"{}", sign=False)
        self.assertEqual((status, json.loads(body)["__type"]), (403, "MissingAuthenticationTokenException"))
        old = datetime.datetime.utcnow() - datetime.timedelta(minutes=16)
        status, headers, body = raw_post(self.server.port, "DescribeRepositories", b"{}", when=old)
        doc = json.loads(body)
        self.assertEqual((status, doc["__type"]), (403, "InvalidSignatureException"))
        self.assertIn("expired", doc["message"].lower())
        self.assertEqual(headers["x-amzn-ErrorType"], "InvalidSignatureException")

    # --- hostile requests -------------------------------------------------
    def test_hostile_requests_get_the_right_error_and_the_server_stays_up(self):
        port = self.server.port
        cases = [
            ("DescribeRepositories", b"{not json", 400, "SerializationException"),
            ("DescribeRepositories", b"[1,2]", 400, "SerializationException"),
            ("CreateRepository", b'{"repositoryName": 5}', 400, "SerializationException"),
            ("CreateRepository", b'{}', 400, "InvalidParameterException"),
            ("DescribeRepositories", b'{"maxResults": 0}', 400, "InvalidParameterException"),
            ("NoSuchOperation", b"{}", 400, "UnknownOperationException"),
            (None, b"{}", 400, "UnknownOperationException"),
            ("CreatePullThroughCacheRule", b"{}", 400, "UnsupportedOperationException"),
            # Layer parts are decoded into a buffer reused across requests: a
            # part that is missing, null or not base64 is refused, never
            # replaced by the buffer's previous bytes.
            ("UploadLayerPart", b'{"repositoryName":"hostile/parts","uploadId":"u","partFirstByte":0,'
             b'"partLastByte":9,"layerPartBlob":"not base64!"}', 400, "SerializationException"),
            ("UploadLayerPart", b'{"repositoryName":"hostile/parts","uploadId":"u","partFirstByte":0,'
             b'"partLastByte":9,"layerPartBlob":null}', 400, "InvalidParameterException"),
            ("UploadLayerPart", b'{"repositoryName":"hostile/parts","uploadId":"u","partFirstByte":0,'
             b'"partLastByte":9}', 400, "InvalidParameterException"),
            ("UploadLayerPart", b'{"repositoryName":"hostile/parts","uploadId":"u","partFirstByte":0,'
             b'"partLastByte":9,"layerPartBlob":7}', 400, "SerializationException"),
        ]
        for op, body, want_status, want_type in cases:
            status, headers, data = raw_post(port, op, body)
            doc = json.loads(data)
            self.assertEqual((status, doc["__type"]), (want_status, want_type), (op, body))
            self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.1")
            self.assertEqual(headers["x-amzn-ErrorType"], want_type)
            self.assertTrue(headers["x-amzn-RequestId"])
        # Oversize: refused from Content-Length, unsigned so no hashing either.
        big = b"{" + b" " * (30 * MIB) + b"}"
        status, headers, data = raw_post(port, "DescribeRepositories", big, sign=False)
        self.assertEqual((status, json.loads(data)["__type"]), (413, "RequestEntityTooLargeException"))
        for path in ["/../metadata.db", "/blobs/sha256/../../metadata.db", "/blobs/sha256/" + "0" * 64,
                     "/blobs/sha256/%2e%2e%2fmetadata.db", "/download-url.key"]:
            status, _, _ = get(port, path)
            self.assertIn(status, (400, 403, 404), path)
        status, headers, data = get(port, "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["x-amzn-RequestId"])
        self.assertEqual(self.ecr.describe_registry()["registryId"], "000000000000")


class AwsCliSmoke(unittest.TestCase):
    """A smoke subset through the AWS CLI with --endpoint-url."""

    def test_cli_subset(self):
        root = tempfile.mkdtemp(prefix="ecr-local-cli-")
        server = Server(root)
        try:
            env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
                       AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
            env.pop("AWS_PROFILE", None)

            def aws(*args, check=True):
                p = subprocess.run(["aws", "ecr", *args, "--endpoint-url", server.url, "--output", "json"],
                                   env=env, capture_output=True, text=True, timeout=120)
                if check and p.returncode != 0:
                    raise AssertionError(p.stderr)
                return p
            repo = json.loads(aws("create-repository", "--repository-name", "cli/app").stdout)["repository"]
            self.assertEqual(repo["repositoryName"], "cli/app")
            names = [r["repositoryName"] for r in json.loads(aws("describe-repositories").stdout)["repositories"]]
            self.assertEqual(names, ["cli/app"])
            token = json.loads(aws("get-authorization-token").stdout)["authorizationData"][0]
            self.assertEqual(token["proxyEndpoint"], server.url)
            self.assertEqual(aws("get-login-password").stdout.strip() != "", True)
            self.assertEqual(json.loads(aws("list-images", "--repository-name", "cli/app").stdout)["imageIds"], [])
            p = aws("describe-repositories", "--repository-names", "missing", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("RepositoryNotFoundException", p.stderr)
            aws("delete-repository", "--repository-name", "cli/app")
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)


class CrashSafety(unittest.TestCase):
    """kill -9 during a stream of part uploads and putImages; after a restart
    every acknowledged image is intact and every blob matches its digest."""

    def test_kill_9_loses_no_acknowledged_image(self):
        import signal
        import threading
        root = tempfile.mkdtemp(prefix="ecr-local-crash-")
        server = Server(root)
        ecr = client(server.url)
        ecr.create_repository(repositoryName="crash/repo")
        acknowledged = {}  # manifest digest -> (tag, manifest)
        stop = threading.Event()
        enough = threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                try:
                    layer = os.urandom(5 * MIB + 17 * i)
                    push_blob(ecr, "crash/repo", layer, part=5 * MIB)
                    cfg = json.dumps({"architecture": "amd64", "os": "linux", "n": i,
                                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
                    push_blob(ecr, "crash/repo", cfg)
                    m = docker_manifest(cfg, [layer])
                    ecr.put_image(repositoryName="crash/repo", imageManifest=m, imageTag=f"t{i}")
                    acknowledged[sha(m.encode())] = (f"t{i}", m)
                    if len(acknowledged) >= 3:
                        enough.set()
                    i += 1
                except Exception:
                    return  # the server died under us

        t = threading.Thread(target=writer)
        t.start()
        self.assertTrue(enough.wait(timeout=120))
        # Kill while parts are in flight (the writer never pauses).
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        server.proc.stdout.close()
        stop.set()
        t.join(timeout=60)

        server = Server(root)
        try:
            ecr = client(server.url)
            for digest, (tag, manifest) in acknowledged.items():
                got = ecr.batch_get_image(repositoryName="crash/repo", imageIds=[{"imageTag": tag}])
                self.assertEqual(got["failures"], [], tag)
                self.assertEqual(got["images"][0]["imageManifest"], manifest)
                self.assertEqual(got["images"][0]["imageId"]["imageDigest"], digest)
            blobs = os.path.join(root, "blobs", "sha256")
            for name in os.listdir(blobs):
                with open(os.path.join(blobs, name), "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), name)
            # Uploads left open by the crash are intact or gone: a new push works.
            push_blob(ecr, "crash/repo", os.urandom(1000))
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)

    def test_kill_9_between_parts_resumes_from_last_valid_byte(self):
        """Acknowledged parts survive kill -9: after a restart the upload goes on
        after the last byte acknowledged, and completes to the digest of all parts
        (the running digest is gone with the process, so the file is hashed)."""
        import signal
        root = tempfile.mkdtemp(prefix="ecr-local-resume-")
        server = Server(root)
        try:
            ecr = client(server.url)
            ecr.create_repository(repositoryName="resume/repo")
            layer = os.urandom(2 * 5 * MIB + 1234)
            up = ecr.initiate_layer_upload(repositoryName="resume/repo")["uploadId"]
            for first in (0, 5 * MIB):
                ecr.upload_layer_part(repositoryName="resume/repo", uploadId=up, partFirstByte=first,
                                      partLastByte=first + 5 * MIB - 1,
                                      layerPartBlob=layer[first:first + 5 * MIB])
            os.kill(server.proc.pid, signal.SIGKILL)
            server.proc.wait()
            server.proc.stdout.close()

            server = Server(root)
            ecr = client(server.url)
            # A client that lost track resends the first part: told where to go on.
            try:
                ecr.upload_layer_part(repositoryName="resume/repo", uploadId=up, partFirstByte=0,
                                      partLastByte=5 * MIB - 1, layerPartBlob=layer[:5 * MIB])
                self.fail("a part before the last valid byte was accepted")
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "InvalidLayerPartException")
                self.assertEqual(e.response["lastValidByteReceived"], 2 * 5 * MIB - 1)
            r = ecr.upload_layer_part(repositoryName="resume/repo", uploadId=up,
                                      partFirstByte=2 * 5 * MIB, partLastByte=len(layer) - 1,
                                      layerPartBlob=layer[2 * 5 * MIB:])
            self.assertEqual(r["lastByteReceived"], len(layer) - 1)
            done = ecr.complete_layer_upload(repositoryName="resume/repo", uploadId=up,
                                             layerDigests=[sha(layer)])
            self.assertEqual(done["layerDigest"], sha(layer))
            with open(os.path.join(root, "blobs", "sha256", sha(layer)[7:]), "rb") as f:
                self.assertEqual(f.read(), layer)
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)


class GarbageCollection(unittest.TestCase):
    """Layers no image references go after --blob-retention, in the server's
    maintenance pass or with `ecr-local gc`, and their files once no
    repository has them."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ecr-local-gc-")
        self.blobs = os.path.join(self.root, "blobs", "sha256")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self):
        return {"sha256:" + name for name in os.listdir(self.blobs)}

    def test_maintenance_removes_what_deleted_images_left(self):
        config, other_config = CONFIG, CONFIG + b" "
        shared, own = b"shared layer" * 100, b"own layer" * 100
        server = Server(self.root)
        try:
            ecr = client(server.url)
            for repo in ("gc/app", "gc/keep"):
                ecr.create_repository(repositoryName=repo)
            for data in (config, shared, own):
                push_blob(ecr, "gc/app", data)
            for data in (other_config, shared):
                push_blob(ecr, "gc/keep", data)
            ecr.put_image(repositoryName="gc/app", imageTag="v1",
                          imageManifest=docker_manifest(config, [shared, own]))
            ecr.put_image(repositoryName="gc/keep", imageTag="v1",
                          imageManifest=docker_manifest(other_config, [shared]))
            ecr.batch_delete_image(repositoryName="gc/app", imageIds=[{"imageTag": "v1"}])
        finally:
            server.stop()
        self.assertEqual(self.files(), {sha(config), sha(other_config), sha(shared), sha(own)})

        server = Server(self.root, "--blob-retention", "0", lifecycle_interval="1")
        try:
            deadline = time.monotonic() + 30
            while self.files() != {sha(other_config), sha(shared)} and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.files(), {sha(other_config), sha(shared)})
            ecr = client(server.url)
            app = ecr.batch_check_layer_availability(
                repositoryName="gc/app", layerDigests=[sha(config), sha(shared), sha(own)])
            self.assertEqual([l["layerAvailability"] for l in app["layers"]], ["UNAVAILABLE"] * 3)
            keep = ecr.batch_check_layer_availability(repositoryName="gc/keep",
                                                      layerDigests=[sha(shared)])
            self.assertEqual(keep["layers"][0]["layerAvailability"], "AVAILABLE")
            url = ecr.get_download_url_for_layer(repositoryName="gc/keep",
                                                 layerDigest=sha(shared))["downloadUrl"]
            status, _, body = get(server.port, urllib.parse.urlsplit(url).path + "?" +
                                  urllib.parse.urlsplit(url).query)
            self.assertEqual((status, body), (200, shared))
        finally:
            server.stop()

    def test_gc_command_keeps_new_layers_for_the_retention(self):
        layer = b"uploaded, never put in an image" * 10
        server = Server(self.root)
        try:
            ecr = client(server.url)
            ecr.create_repository(repositoryName="gc/once")
            push_blob(ecr, "gc/once", layer)
        finally:
            server.stop()

        def gc(*extra):
            done = subprocess.run([ECR_LOCAL, "gc", "--root", self.root, *extra],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            return done.stdout

        self.assertEqual(gc(), "dropped 0 unreferenced layers, removed 0 blobs (0 bytes)\n")
        self.assertEqual(self.files(), {sha(layer)})
        self.assertEqual(gc("--blob-retention", "0"),
                         f"dropped 1 unreferenced layers, removed 1 blobs ({len(layer)} bytes)\n")
        self.assertEqual(self.files(), set())


if __name__ == "__main__":
    ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

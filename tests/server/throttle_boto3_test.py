#!/usr/bin/env python3
"""ecr-local --throttle and --throttle-file, seen from boto3 and the registry
API: a burst over an operation's rate gets ThrottlingException (HTTP 400,
"Rate exceeded"), requests within it succeed, the bucket refills, the
registry API counts against the operations it stands for, nothing is
throttled by default, and a bad throttle file stops ecr-local at start.
Usage:

    throttle_boto3_test.py /path/to/ecr-local

Each test class starts its own ecr-local (buckets are per server).
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (Server, client, push_blob, ...)

TARGET = "AmazonEC2ContainerRegistry_V20150921."
THROTTLED = {"__type": "ThrottlingException", "message": "Rate exceeded"}


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Burst:
    """Signed ECR API requests sent back to back over one keep-alive
    connection, so a burst takes milliseconds, not connection set-ups."""

    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.creds = botocore.credentials.Credentials(support.ACCESS, support.SECRET)

    def send(self, operation, body):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": TARGET + operation}
        req = botocore.awsrequest.AWSRequest(method="POST", url=self.url,
                                             data=data, headers=headers)
        botocore.auth.SigV4Auth(self.creds, "ecr", "us-east-1").add_auth(req)
        self.conn.request("POST", "/", body=data, headers=dict(req.headers.items()))
        resp = self.conn.getresponse()
        answer = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(answer)

    def close(self):
        self.conn.close()


def throttled(call, *args, **kwargs):
    """The ClientError's (status, code, message), or "no error"."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"]["Message"])
    return "no error"


class ServerCase(unittest.TestCase):
    """One ecr-local per class, with the class's FLAGS and throttle FILE."""
    FLAGS = []
    FILE = None

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="ecr-local-throttle-")
        flags = list(cls.FLAGS)
        if cls.FILE is not None:
            path = os.path.join(cls.root, "rates")
            with open(path, "w") as f:
                f.write(cls.FILE)
            flags += ["--throttle-file", path]
        cls.server = support.Server(os.path.join(cls.root, "registry"), *flags)
        # One attempt per call: botocore's max_attempts counts retries (so
        # support.client's 1 would retry throttling once); total_max_attempts
        # counts the first attempt too.
        cls.ecr = boto3.client("ecr", endpoint_url=cls.server.url, region_name="us-east-1",
                               aws_access_key_id=support.ACCESS,
                               aws_secret_access_key=support.SECRET,
                               config=Config(retries={"mode": "standard",
                                                      "total_max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        assert status == 0, status

    def push_image(self, repo):
        """A one-layer image's manifest, its blobs uploaded, not yet put."""
        self.ecr.create_repository(repositoryName=repo)
        layer = os.urandom(1000)
        support.push_blob(self.ecr, repo, support.CONFIG)
        support.push_blob(self.ecr, repo, layer)
        return support.docker_manifest(support.CONFIG, [layer])

    def put_images(self, repo, manifest, count, connections=8):
        """`count` PutImage requests (tags t0, t1, ...) in one burst over
        `connections` connections at once, so it takes a fraction of a
        second even where each PutImage waits for an fsync: their answers
        (in tag order) and the seconds the burst took."""
        def send(first):
            burst = Burst(self.server.port)
            try:
                return [burst.send("PutImage", {"repositoryName": repo,
                                                "imageManifest": manifest,
                                                "imageTag": f"t{i}"})
                        for i in range(first, count, connections)]
            finally:
                burst.close()
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(connections) as pool:
            parts = list(pool.map(send, range(connections)))
        elapsed = time.monotonic() - start
        answers = [None] * count
        for first, part in enumerate(parts):
            answers[first::connections] = part
        return answers, elapsed


class ThrottleIsOffByDefault(ServerCase):
    def test_a_burst_over_ecrs_put_image_rate_is_served(self):
        manifest = self.push_image("off")
        answers, elapsed = self.put_images("off", manifest, 40)
        # With ECR's 10 per second, this burst would have been throttled.
        self.assertLess(elapsed, 2.5, "the burst took too long to tell")
        self.assertEqual([status for status, _, _ in answers], [200] * 40)


class EcrDefaultRates(ServerCase):
    FLAGS = ["--throttle"]

    def test_a_burst_over_put_images_ten_per_second_is_throttled(self):
        manifest = self.push_image("burst")
        answers, elapsed = self.put_images("burst", manifest, 40)
        self.assertLess(elapsed, 2.5, "the burst took too long to tell")
        ok = [a for a in answers if a[0] == 200]
        refused = [a for a in answers if a[0] != 200]
        # A full bucket lets ECR's 10 through at once, then 10 a second.
        self.assertGreaterEqual(len(ok), 10)
        self.assertLessEqual(len(ok), 10 + int(elapsed * 10) + 1)
        self.assertGreater(len(refused), 0)
        for status, headers, doc in refused:
            self.assertEqual((status, doc), (400, THROTTLED))
            self.assertEqual(headers["x-amzn-errortype"], "ThrottlingException")
            self.assertEqual(headers["content-type"], "application/x-amz-json-1.1")
            self.assertTrue(headers["x-amzn-requestid"])
        # The tags of the throttled requests were not put.
        tags = {i["imageTag"] for i in self.ecr.list_images(repositoryName="burst")["imageIds"]}
        self.assertEqual(tags, {f"t{i}" for i, a in enumerate(answers) if a[0] == 200})

    def test_operations_without_a_published_rate_are_not_limited(self):
        burst = Burst(self.server.port)
        answers = [burst.send("DescribeRepositories", {}) for _ in range(60)]
        burst.close()
        self.assertEqual([status for status, _, _ in answers], [200] * 60)


class RatesFromAFile(ServerCase):
    FILE = ("# slow everything down\n"
            "PutImage 1\n"
            "DescribeRepositories 2   # two at once, then one every half second\n"
            "BatchCheckLayerAvailability unlimited\n")

    def test_requests_within_the_rate_succeed_and_the_bucket_refills(self):
        self.assertIn("repositories", self.ecr.describe_repositories())
        self.assertIn("repositories", self.ecr.describe_repositories())
        self.assertEqual(throttled(self.ecr.describe_repositories),
                         (400, "ThrottlingException", "Rate exceeded"))
        time.sleep(0.6)  # one token back
        self.assertIn("repositories", self.ecr.describe_repositories())
        self.assertEqual(throttled(self.ecr.describe_repositories)[1], "ThrottlingException")
        time.sleep(1.1)  # full again: two tokens, never more
        self.assertIn("repositories", self.ecr.describe_repositories())
        self.assertIn("repositories", self.ecr.describe_repositories())
        self.assertEqual(throttled(self.ecr.describe_repositories)[1], "ThrottlingException")

    def test_boto3_reads_throttling_exception_and_the_image_is_not_put(self):
        manifest = self.push_image("file")
        self.ecr.put_image(repositoryName="file", imageManifest=manifest, imageTag="first")
        self.assertEqual(throttled(self.ecr.put_image, repositoryName="file",
                                   imageManifest=manifest, imageTag="second"),
                         (400, "ThrottlingException", "Rate exceeded"))
        tags = [i["imageTag"] for i in self.ecr.list_images(repositoryName="file")["imageIds"]]
        self.assertEqual(tags, ["first"])

    def test_a_rate_marked_unlimited_drops_ecrs_default(self):
        self.ecr.create_repository(repositoryName="unlimited")
        burst = Burst(self.server.port)
        body = {"repositoryName": "unlimited", "layerDigests": [sha(b"x")]}
        answers = [burst.send("BatchCheckLayerAvailability", body) for _ in range(50)]
        burst.close()
        self.assertEqual([status for status, _, _ in answers], [200] * 50)


class AuthenticationComesFirst(ServerCase):
    FILE = "DescribeRepositories 1\nListImages 1\n"

    def test_unsigned_requests_are_refused_as_before_and_take_no_token(self):
        for _ in range(5):
            status, _, body = support.raw_post(self.server.port, "DescribeRepositories", b"{}",
                                               sign=False)
            self.assertEqual((status, json.loads(body)["__type"]),
                             (403, "MissingAuthenticationTokenException"))
            status, _, body = support.raw_post(self.server.port, "DescribeRepositories", b"{}",
                                               secret="wrong")
            self.assertEqual((status, json.loads(body)["__type"]),
                             (403, "InvalidSignatureException"))
        self.assertIn("repositories", self.ecr.describe_repositories())
        self.assertEqual(throttled(self.ecr.describe_repositories)[1], "ThrottlingException")

    def test_registry_api_requests_without_credentials_get_401_and_take_no_token(self):
        self.ecr.create_repository(repositoryName="auth")
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        for _ in range(5):
            conn.request("GET", "/v2/auth/tags/list")
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 401)
        conn.close()
        self.assertEqual(self.ecr.list_images(repositoryName="auth")["imageIds"], [])
        self.assertEqual(throttled(self.ecr.list_images, repositoryName="auth")[1],
                         "ThrottlingException")


class RegistryApiCountsAgainstOperations(ServerCase):
    FILE = "InitiateLayerUpload 1\nBatchGetImage 1\nListImages 1\nPutImage 1\n"

    def v2(self, method, path, body=None):
        data = self.ecr.get_authorization_token()["authorizationData"][0]
        auth = "Basic " + data["authorizationToken"]
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        conn.request(method, path, body=body, headers={"Authorization": auth})
        resp = conn.getresponse()
        answer = resp.read()
        conn.close()
        return resp.status, answer

    def assert_too_many_requests(self, answer):
        status, body = answer
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body)["errors"],
                         [{"code": "TOOMANYREQUESTS", "message": "Rate exceeded", "detail": {}}])

    def test_each_route_takes_its_operations_token(self):
        self.ecr.create_repository(repositoryName="doors")
        # A blob upload's POST is InitiateLayerUpload: the other door is out of tokens too.
        self.assertEqual(self.v2("POST", "/v2/doors/blobs/uploads/")[0], 202)
        self.assert_too_many_requests(self.v2("POST", "/v2/doors/blobs/uploads/"))
        self.assertEqual(throttled(self.ecr.initiate_layer_upload, repositoryName="doors")[1],
                         "ThrottlingException")
        # A manifest GET or HEAD is BatchGetImage, found or not.
        self.assertEqual(self.v2("GET", "/v2/doors/manifests/latest")[0], 404)
        self.assert_too_many_requests(self.v2("GET", "/v2/doors/manifests/x"))
        self.assertEqual(self.v2("HEAD", "/v2/doors/manifests/latest")[0], 429)
        self.assertEqual(throttled(self.ecr.batch_get_image, repositoryName="doors",
                                   imageIds=[{"imageTag": "latest"}])[1], "ThrottlingException")
        # tags/list is ListImages.
        self.assertEqual(self.v2("GET", "/v2/doors/tags/list")[0], 200)
        self.assertEqual(throttled(self.ecr.list_images, repositoryName="doors")[1],
                         "ThrottlingException")
        # The ECR door's PutImage empties the bucket of a manifest PUT.
        manifest = json.dumps({"schemaVersion": 2, "mediaType":
                               "application/vnd.oci.image.manifest.v1+json"})
        self.assertNotEqual(throttled(self.ecr.put_image, repositoryName="doors",
                                      imageManifest=manifest, imageTag="v1")[1],
                            "ThrottlingException")
        self.assert_too_many_requests(self.v2("PUT", "/v2/doors/manifests/v1", manifest))
        # Routes that stand for no limited operation are not counted.
        for _ in range(5):
            self.assertEqual(self.v2("GET", "/v2/")[0], 200)


class ABadThrottleFileStopsEcrLocal(unittest.TestCase):
    def start(self, *flags):
        root = tempfile.mkdtemp(prefix="ecr-local-throttle-")
        try:
            return subprocess.run([support.ECR_LOCAL, "--root", os.path.join(root, "r"),
                                   "--listen", "127.0.0.1:0", *flags],
                                  capture_output=True, text=True, timeout=30)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def refusal(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".rates", delete=False) as f:
            f.write(text)
        try:
            r = self.start("--throttle-file", f.name)
            self.assertEqual(r.stdout, "")
            self.assertEqual(r.returncode, 2, r.stderr)
            prefix = f"ecr-local: {f.name}:"
            self.assertTrue(r.stderr.startswith(prefix), r.stderr)
            return r.stderr[len(prefix):]
        finally:
            os.unlink(f.name)

    def test_each_mistake_is_named_with_its_line(self):
        self.assertEqual(self.refusal("PutImage 2\nPushImage 3\n"),
                         '2: unknown operation "PushImage" (not an operation of the ECR API)\n')
        self.assertEqual(self.refusal("PutImage 0\n"),
                         '1: the rate of PutImage must be positive, found "0"\n')
        self.assertEqual(self.refusal("# rates\nPutImage -5\n"),
                         '2: the rate of PutImage must be positive, found "-5"\n')
        self.assertEqual(self.refusal("PutImage ten\n"),
                         '1: the rate of PutImage must be a number of requests per second or '
                         '"unlimited", found "ten"\n')
        self.assertEqual(self.refusal("PutImage: 10\n"),
                         '1: unknown operation "PutImage:" (not an operation of the ECR API)\n')
        self.assertEqual(self.refusal("PutImage 10 20\n"),
                         '1: expected "OPERATION RATE" (e.g. "PutImage 10"), '
                         'found "PutImage 10 20"\n')
        self.assertEqual(self.refusal("PutImage\n"),
                         '1: expected "OPERATION RATE" (e.g. "PutImage 10"), found "PutImage"\n')
        self.assertEqual(self.refusal('{"PutImage": 2}\n'),
                         '1: unknown operation "{"PutImage":" (not an operation of the ECR API)\n')
        self.assertEqual(self.refusal("PutImage 1\nPutImage 2\n"),
                         '2: PutImage is already given on line 1\n')

    def test_a_missing_file_is_named(self):
        r = self.start("--throttle-file", "/nonexistent/rates")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, "ecr-local: cannot read throttle file /nonexistent/rates: "
                                   "No such file or directory\n")


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

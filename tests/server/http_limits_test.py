#!/usr/bin/env python3
"""ecr-local's listener against slow and hostile clients, through both doors
(the ECR API at / and the registry API at /v2/): bodies that stop half way
(closed after --body-timeout, nothing of them kept), headers trickled a byte
at a time (closed --header-timeout after their first byte), bodies that keep
trickling (read whole: there is no minimum rate), over-long request-targets
(414), too many or too large header fields (431), JSON nested 10,000 deep
(refused at once), a TLS handshake or a byte no request starts with
(answered 400 at once), and the limits on connections: idle ones, responses the
client does not take (--write-timeout) and --max-connections. Raw sockets,
so the bytes on the wire are exactly these.
Usage:
    http_limits_test.py /path/to/ecr-local
"""
import base64
import json
import os
import select
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402
from registry_api_test import V2, oci_manifest, sha, token_of  # noqa: E402

MIB = 1024 * 1024
# The server's timeouts in this file (flags below), and how long a test
# waits for the server to act on one before it counts as failed: a failure
# bound, not a speed claim.
TIMEOUT_S = 1
FAILURE_BOUND_S = 8
# The listener's defaults (ListenerOptions, docs/ecr-local.md).
MAX_TARGET = 8 * 1024
MAX_FIELDS = 100
MAX_FIELD = 16 * 1024
MAX_DEPTH = 1024
TOO_DEEP = "invalid JSON in request body: The JSON document was too deep " \
           "(too many nested objects and arrays)"


class Raw:
    """One connection speaking HTTP/1.1 by hand."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.pending = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.pending += data

    def response(self):
        """(status, lowercased headers, body) of the next response."""
        while b"\r\n\r\n" not in self.pending:
            self._fill()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.pending) < length:
            self._fill()
        body, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, body

    def closed_now(self):
        """True when the server has closed the connection (reads end or the
        connection was reset) without sending anything more."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        try:
            data = self.sock.recv(65536, socket.MSG_PEEK)
        except ConnectionResetError:
            return True
        if data:
            raise AssertionError(f"unexpected bytes from the server: {data[:200]!r}")
        return True

    def seconds_until_closed(self, bound=FAILURE_BOUND_S):
        """Seconds until the server closes the connection; None when it is
        still open after `bound`."""
        start = time.monotonic()
        while time.monotonic() - start < bound:
            if self.closed_now():
                return time.monotonic() - start
            time.sleep(0.02)
        return None


def request_head(method, target, headers=(), body_length=None):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body_length is not None:
        lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def api_head(port, operation, body):
    """The head of a signed ECR API call with `body` (signed whole)."""
    headers = support.api_headers(port, operation, body)
    lines = ["POST / HTTP/1.1", f"Host: 127.0.0.1:{port}"]  # the host signed
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class ListenerLimits(support.ServerCase):
    root_prefix = "ecr-limits-"
    server_args = ("--header-timeout", str(TIMEOUT_S), "--body-timeout", str(TIMEOUT_S))

    @classmethod
    def started(cls):
        cls.password = token_of(cls.ecr)
        cls.basic = "Basic " + base64.b64encode(f"AWS:{cls.password}".encode()).decode()

    def setUp(self):
        self.raw = []

    def connect(self):
        c = Raw(self.server.port)
        self.raw.append(c)
        return c

    def tearDown(self):
        for c in self.raw:
            c.close()
        # After each test the server still answers both doors.
        status, _, body = support.get(self.server.port, "/")
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))
        self.assertIsInstance(self.ecr.describe_repositories()["repositories"], list)
        status, _, _ = support.get(self.server.port, "/v2/", {"Authorization": self.basic})
        self.assertEqual(status, 200)

    def assert_closed_after_the_timeout(self, c):
        elapsed = c.seconds_until_closed()
        self.assertIsNotNone(elapsed, "the connection is still open")
        self.assertGreaterEqual(elapsed, TIMEOUT_S * 0.8)

    def assert_api_error(self, answer, status, name, message):
        got_status, headers, body = answer
        self.assertEqual(got_status, status, body)
        self.assertEqual(headers["x-amzn-errortype"], name)
        self.assertEqual(json.loads(body), {"__type": name, "message": message})

    def assert_v2_error(self, answer, status, code, message):
        got_status, headers, body = answer
        self.assertEqual(got_status, status, body)
        self.assertEqual(headers["docker-distribution-api-version"], "registry/2.0")
        self.assertEqual(json.loads(body),
                         {"errors": [{"code": code, "message": message, "detail": {}}]})

    # --- body timeout ---------------------------------------------------

    def test_buffered_body_that_stops_is_closed_after_the_body_timeout_and_changes_nothing(self):
        repo = self.repo("slow/json")
        upload = self.ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        part = os.urandom(300_000)
        body = json.dumps({"repositoryName": repo, "uploadId": upload, "partFirstByte": 0,
                           "partLastByte": len(part) - 1,
                           "layerPartBlob": base64.b64encode(part).decode()}).encode()
        c = self.connect()
        c.send(api_head(self.server.port, "UploadLayerPart", body) + body[:len(body) // 2])
        self.assert_closed_after_the_timeout(c)  # without an answer: closed_now saw no bytes

        # Nothing of the half part was taken: the part goes in from byte 0.
        answer = self.ecr.upload_layer_part(repositoryName=repo, uploadId=upload,
                                            partFirstByte=0, partLastByte=len(part) - 1,
                                            layerPartBlob=part)
        self.assertEqual(answer["lastByteReceived"], len(part) - 1)
        done = self.ecr.complete_layer_upload(repositoryName=repo, uploadId=upload,
                                              layerDigests=[sha(part)])
        self.assertEqual(done["layerDigest"], sha(part))

    def test_streamed_body_that_stops_is_closed_after_the_body_timeout_and_the_upload_is_as_before(
            self):
        repo = self.repo("slow/stream")
        v2 = V2(self.server.port, self.password)
        blob = os.urandom(4 * MIB + 5)
        first = MIB + 7
        status, headers, _ = v2.request("POST", f"/v2/{repo}/blobs/uploads/")
        self.assertEqual(status, 202)
        location = headers["location"]
        status, headers, _ = v2.request("PATCH", location, blob[:first],
                                        {"Content-Range": f"0-{first - 1}"})
        self.assertEqual((status, headers["range"]), (202, f"0-{first - 1}"))

        # A chunk that promises the rest, sends 2.5 MiB of it (so whole MiB
        # pieces reach the upload file) and goes quiet.
        rest = blob[first:]
        c = self.connect()
        c.send(request_head("PATCH", location,
                            [("Authorization", self.basic),
                             ("Content-Range", f"{first}-{len(blob) - 1}")],
                            len(rest)) + rest[:5 * MIB // 2])
        self.assert_closed_after_the_timeout(c)

        status, headers, _ = v2.request("GET", location)
        self.assertEqual((status, headers["range"]), (204, f"0-{first - 1}"))
        status, headers, _ = v2.request("PATCH", location, rest,
                                        {"Content-Range": f"{first}-{len(blob) - 1}"})
        self.assertEqual((status, headers["range"]), (202, f"0-{len(blob) - 1}"))
        status, _, body = v2.request("PUT", f"{location}?digest={sha(blob)}")
        self.assertEqual(status, 201, body)
        status, _, pulled = v2.request("GET", f"/v2/{repo}/blobs/{sha(blob)}")
        self.assertEqual((status, pulled == blob), (200, True))

    def test_body_that_keeps_trickling_is_read_whole_there_is_no_minimum_rate(self):
        body = b'{"maxResults": 1000}'
        c = self.connect()
        c.send(api_head(self.server.port, "DescribeRepositories", body))
        started = time.monotonic()
        for byte in body:  # 20 bytes over 4 s, each well within the body timeout
            c.send(bytes([byte]))
            time.sleep(0.2)
        self.assertGreater(time.monotonic() - started, 3 * TIMEOUT_S)
        status, _, answer = c.response()
        self.assertEqual(status, 200, answer)
        self.assertIn("repositories", json.loads(answer))

    # --- header timeout -------------------------------------------------

    def test_header_trickled_a_byte_at_a_time_is_closed_a_header_timeout_after_its_first_byte(
            self):
        c = self.connect()
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 200
        started = time.monotonic()
        closed_after = None
        for byte in head:  # a byte every 0.1 s would take 20 s
            if c.closed_now():
                closed_after = time.monotonic() - started
                break
            try:
                c.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.1)
        self.assertIsNotNone(closed_after, "the trickled header was never cut off")
        self.assertGreaterEqual(closed_after, TIMEOUT_S * 0.8)
        self.assertLess(closed_after, TIMEOUT_S + 2)

    # --- what cannot start a request -----------------------------------

    def test_a_tls_handshake_on_the_plain_listener_is_answered_at_once_in_plain_http(self):
        # Go's registry clients (skopeo, podman, docker) try https first when
        # told a registry is insecure, and fall back to http only once the
        # handshake fails: the answer must come before the header timeout,
        # which here would close the connection without one.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        hello = outgoing.read()
        self.assertEqual(hello[0], 0x16)  # a TLS handshake record
        c = self.connect()
        c.send(hello)
        self.assert_api_error(
            c.response(), 400, "BadRequestException",
            "This ecr-local listener speaks plain HTTP and the client began a TLS handshake: "
            "use an http:// endpoint, or start ecr-local with --tls-cert and --tls-key")
        # What a TLS client makes of that answer: a failed handshake, at once.
        incoming.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        with self.assertRaises(ssl.SSLError):
            tls.do_handshake()

    def test_a_first_byte_no_method_starts_with_is_400_at_once(self):
        for first in (b"\x00", b"\x80", b" ", b"{"):
            with self.subTest(first=first):
                c = self.connect()
                c.send(first + b"GET / HTTP/1.1")  # no end of header: not waited for
                self.assert_api_error(c.response(), 400, "BadRequestException",
                                      "Malformed HTTP request")

    def test_empty_lines_before_a_request_line_are_allowed(self):
        c = self.connect()
        c.send(b"\r\n" + request_head("GET", "/"))
        status, _, body = c.response()
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))

    # --- request-target length ------------------------------------------

    def test_request_target_of_the_limit_is_served(self):
        c = self.connect()
        target = "/?pad=" + "a" * (MAX_TARGET - len("/?pad="))
        c.send(request_head("GET", target))
        status, _, body = c.response()
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))

    def test_request_target_over_the_limit_is_414_through_the_ecr_api_door(self):
        message = f"Request target exceeds the limit of {MAX_TARGET} bytes"
        for target in ("/?pad=" + "a" * (MAX_TARGET + 1 - len("/?pad=")),
                       "/" + "a" * 40_000, "/?q=" + "b" * 40_000):
            with self.subTest(length=len(target)):
                c = self.connect()
                c.send(request_head("GET", target))
                answer = c.response()
                self.assert_api_error(answer, 414, "BadRequestException", message)
                self.assertEqual(answer[1]["connection"], "close")
                self.assertTrue(c.seconds_until_closed() is not None)

    def test_request_target_over_the_limit_is_414_through_the_registry_api_door(self):
        message = f"Request target exceeds the limit of {MAX_TARGET} bytes"
        for target in ("/v2/" + "a" * MAX_TARGET + "/manifests/latest",
                       "/v2/" + "a/" * 20_000 + "manifests/latest"):
            with self.subTest(length=len(target)):
                c = self.connect()
                c.send(request_head("GET", target, [("Authorization", self.basic)]))
                answer = c.response()
                self.assert_v2_error(answer, 414, "UNSUPPORTED", message)
                self.assertEqual(answer[1]["connection"], "close")
                self.assertTrue(c.seconds_until_closed() is not None)

    # --- header fields ----------------------------------------------------

    def test_header_fields_up_to_the_limits_are_served(self):
        c = self.connect()
        # Host is the first field; the last one is MAX_FIELD bytes as "Name: value".
        fields = [(f"X-F{i}", "v") for i in range(MAX_FIELDS - 2)]
        fields.append(("X-Big", "b" * (MAX_FIELD - len("X-Big: "))))
        c.send(request_head("GET", "/", fields))
        status, _, body = c.response()
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))

    def test_one_field_too_many_is_431(self):
        c = self.connect()
        c.send(request_head("GET", "/", [(f"X-F{i}", "v") for i in range(MAX_FIELDS)]))
        self.assert_api_error(c.response(), 431, "BadRequestException",
                              f"Request header has more than {MAX_FIELDS} fields")

    def test_thousands_of_tiny_fields_are_431(self):
        c = self.connect()
        c.send(request_head("GET", "/", [("a", "b")] * 5000))  # 30 KB, under the header limit
        self.assert_api_error(c.response(), 431, "BadRequestException",
                              f"Request header has more than {MAX_FIELDS} fields")
        self.assertTrue(c.seconds_until_closed() is not None)

    def test_a_field_over_its_limit_is_431_on_both_doors(self):
        big = ("X-Big", "b" * (MAX_FIELD + 1 - len("X-Big: ")))
        message = f"A request header field exceeds the limit of {MAX_FIELD} bytes"
        c = self.connect()
        c.send(request_head("GET", "/", [big]))
        self.assert_api_error(c.response(), 431, "BadRequestException", message)
        c = self.connect()
        c.send(request_head("GET", "/v2/", [("Authorization", self.basic), big]))
        self.assert_v2_error(c.response(), 431, "UNSUPPORTED", message)

    def test_a_header_over_its_limit_is_431_on_both_doors(self):
        padding = [(f"X-P{i}", "p" * 8000) for i in range(5)]  # 40 KB in fields under 16 KiB
        message = "Request header exceeds the limit of 32768 bytes"
        c = self.connect()
        c.send(request_head("GET", "/", padding))
        self.assert_api_error(c.response(), 431, "BadRequestException", message)
        c = self.connect()
        c.send(request_head("GET", "/v2/", [("Authorization", self.basic)] + padding))
        self.assert_v2_error(c.response(), 431, "UNSUPPORTED", message)

    # --- bodies the registry API ignores -----------------------------------

    def test_a_body_on_a_registry_api_read_is_ignored_up_to_64_kib(self):
        c = self.connect()
        c.send(request_head("GET", "/v2/", [("Authorization", self.basic)], 64 * 1024) +
               b"x" * (64 * 1024))
        self.assertEqual(c.response()[0], 200)
        c.send(request_head("GET", "/v2/", [("Authorization", self.basic)], 64 * 1024 + 1))
        self.assert_v2_error(c.response(), 413, "SIZE_INVALID",
                             "the request body is larger than this route takes")

    # --- JSON nesting -----------------------------------------------------

    def test_json_nested_ten_thousand_deep_is_a_serialization_exception_at_once(self):
        for body in ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000,
                     '{"repositoryNames":' + "[" * 10_000 + "]" * 10_000 + "}"):
            with self.subTest(body=body[:24]):
                started = time.monotonic()
                status, headers, answer = support.raw_post(self.server.port,
                                                           "DescribeRepositories", body.encode())
                self.assertLess(time.monotonic() - started, 5)
                self.assertEqual(status, 400, answer)
                self.assertEqual(json.loads(answer),
                                 {"__type": "SerializationException", "message": TOO_DEEP})

    def test_json_nesting_is_refused_one_level_past_the_limit(self):
        def nested(depth):  # an object holding arrays: `depth` levels in all
            return ('{"unknownMember":' + "[" * (depth - 1) + "]" * (depth - 1) + "}").encode()

        status, _, answer = support.raw_post(self.server.port, "DescribeRepositories",
                                             nested(MAX_DEPTH))
        self.assertEqual(status, 200, answer)
        status, _, answer = support.raw_post(self.server.port, "DescribeRepositories",
                                             nested(MAX_DEPTH + 1))
        self.assertEqual((status, json.loads(answer)["__type"]), (400, "SerializationException"))

    def test_policy_texts_nested_too_deep_are_invalid_parameters(self):
        repo = self.repo("deep/policy")
        # policyText may hold 10,240 characters, lifecyclePolicyText 30,720.
        policy = '{"Statement":' + "[" * 2000 + "]" * 2000 + "}"
        self.assertEqual(support.error_name(self.ecr.set_repository_policy, repositoryName=repo,
                                            policyText=policy), "InvalidParameterException")
        lifecycle = '{"rules":' + "[" * 10_000 + "]" * 10_000 + "}"
        self.assertEqual(support.error_name(self.ecr.put_lifecycle_policy, repositoryName=repo,
                                            lifecyclePolicyText=lifecycle),
                         "InvalidParameterException")

    def test_a_manifest_nested_ten_thousand_deep_is_manifest_invalid(self):
        repo = self.repo("deep/manifest")
        v2 = V2(self.server.port, self.password)
        config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}'
        v2.push_blob(repo, config)
        doc = json.loads(oci_manifest(config, []))
        text = json.dumps(doc)[:-1] + ', "annotations": ' + "[" * 10_000 + "]" * 10_000 + "}"
        started = time.monotonic()
        answer = v2.put_manifest(repo, "deep", text.encode())
        self.assertLess(time.monotonic() - started, 5)
        self.assert_v2_error(answer, 400, "MANIFEST_INVALID",
                             "invalid JSON in manifest: The JSON document was too deep "
                             "(too many nested objects and arrays)")
        # Through the ECR API the same manifest is refused as well, and
        # neither door stored anything.
        self.assertEqual(support.error_name(self.ecr.put_image, repositoryName=repo,
                                            imageTag="deep", imageManifest=text),
                         "InvalidParameterException")
        self.assertEqual(self.ecr.list_images(repositoryName=repo)["imageIds"], [])


class ConnectionLimits(support.ServerCase):
    """The limits on connections themselves: idle ones, responses the client
    does not take, and how many may be open."""

    root_prefix = "ecr-limits-connections-"
    MAX_CONNECTIONS = 6
    server_args = ("--idle-timeout", str(TIMEOUT_S), "--write-timeout", str(TIMEOUT_S),
                   "--max-connections", str(MAX_CONNECTIONS))

    def connect(self, receive_buffer=None):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:  # set before connecting, so the window stays small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(20)
        sock.connect(("127.0.0.1", self.server.port))
        c = Raw.__new__(Raw)
        c.sock, c.pending = sock, b""
        self.addCleanup(c.close)
        return c

    def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(self):
        c = self.connect()
        elapsed = c.seconds_until_closed()
        self.assertIsNotNone(elapsed, "the idle connection is still open")
        self.assertGreaterEqual(elapsed, TIMEOUT_S * 0.8)

    def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(self):
        c = self.connect()
        c.send(request_head("GET", "/"))
        status, headers, _ = c.response()
        self.assertEqual(status, 200)
        self.assertNotIn("connection", headers)  # kept alive
        elapsed = c.seconds_until_closed()
        self.assertIsNotNone(elapsed, "the kept-alive connection is still open")
        self.assertGreaterEqual(elapsed, TIMEOUT_S * 0.8)

    def test_a_response_the_client_does_not_take_is_cut_off_after_the_write_timeout(self):
        repo = self.repo("unread/blob")
        v2 = V2(self.server.port, token_of(self.ecr))
        blob = os.urandom(32 * MIB)
        v2.push_blob(repo, blob, chunk=8 * MIB)
        v2.conn.close()
        basic = "Basic " + base64.b64encode(f"AWS:{token_of(self.ecr)}".encode()).decode()
        c = self.connect(receive_buffer=64 * 1024)
        c.send(request_head("GET", f"/v2/{repo}/blobs/{sha(blob)}", [("Authorization", basic)]))
        time.sleep(TIMEOUT_S + 2)  # taking nothing: the socket buffers fill, then the timer runs
        received = 0
        try:
            while True:
                data = c.sock.recv(1 << 20)
                if not data:
                    break
                received += len(data)
        except ConnectionResetError:
            pass
        self.assertGreater(received, 0)
        self.assertLess(received, len(blob))

    def test_a_slow_reader_that_keeps_taking_gets_the_whole_blob_and_keeps_its_connection(self):
        # A small window fills at once; the server waits for room again and
        # again (each wait well inside the write timeout, as the reader
        # keeps taking, at most 64 MB/s) and sends every byte, after which
        # the connection answers its next request (taken within the idle
        # timeout of the server's last write).
        repo = self.repo("slow/blob")
        v2 = V2(self.server.port, token_of(self.ecr))
        blob = os.urandom(24 * MIB + 12345)
        v2.push_blob(repo, blob, chunk=4 * MIB)
        v2.conn.close()
        basic = "Basic " + base64.b64encode(f"AWS:{token_of(self.ecr)}".encode()).decode()
        c = self.connect(receive_buffer=64 * 1024)
        head = request_head("GET", f"/v2/{repo}/blobs/{sha(blob)}", [("Authorization", basic)])
        c.send(head)
        while b"\r\n\r\n" not in c.pending:
            c._fill()
        header, c.pending = c.pending.split(b"\r\n\r\n", 1)
        self.assertTrue(header.startswith(b"HTTP/1.1 200"), header[:100])
        got = bytearray(c.pending)
        while len(got) < len(blob):
            time.sleep(0.001)
            data = c.sock.recv(64 * 1024)
            self.assertTrue(data, f"closed after {len(got)} of {len(blob)} bytes")
            got += data
        self.assertEqual(bytes(got), blob)
        c.pending = b""
        c.send(request_head("GET", "/"))
        status, _, _ = c.response()
        self.assertEqual(status, 200)

    def test_connections_past_the_cap_are_answered_503_and_closed(self):
        # Each held open by a header in progress (the header timeout is 30 s);
        # the server accepts connections in order, so these count first.
        held = [self.connect() for _ in range(self.MAX_CONNECTIONS)]
        for c in held:
            c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        extra = self.connect()
        status, headers, body = extra.response()
        self.assertEqual(status, 503)
        self.assertEqual(headers["x-amzn-errortype"], "ServiceUnavailableException")
        self.assertEqual(json.loads(body), {"__type": "ServiceUnavailableException",
                                            "message": "Too many open connections; try again later"})
        self.assertIsNotNone(extra.seconds_until_closed())
        for c in held:
            c.close()
        time.sleep(0.2)
        status, _, _ = support.get(self.server.port, "/")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main()

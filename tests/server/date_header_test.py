#!/usr/bin/env python3
"""Every answer of ecr-local carries one Date header (RFC 9110 section 6.6.1)
in IMF-fixdate form, GMT, with the server's time: through the awsJson door
(successes, service errors, authentication refusals, the signature-expired
answer a client corrects its clock from), the health check, the blob
download URLs, the registry API (/v2/) and the listener's own refusals.
Usage:

    date_header_test.py /path/to/ecr-local
"""
import base64
import datetime
import email.utils
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (Server, client, raw_post)

IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT$")


class DateHeader(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp()
        cls.server = support.Server(cls.root)
        cls.port = cls.server.port
        cls.ecr = support.client(cls.server.url)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        shutil.rmtree(cls.root)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp.status, resp.getheaders()

    def assert_dated(self, headers, what):
        """One Date, IMF-fixdate, within 3 s of this machine's clock (the
        server runs on it)."""
        dates = [value for name, value in headers if name.lower() == "date"]
        self.assertEqual(len(dates), 1, f"{what}: {headers}")
        self.assertRegex(dates[0], IMF_FIXDATE, what)
        when = email.utils.parsedate_to_datetime(dates[0])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((when - now).total_seconds()), 3, f"{what}: {dates[0]}")
        # The day name is the date's own.
        self.assertEqual(dates[0][:3], when.strftime("%a"), what)

    def test_api_answers_are_dated(self):
        status, headers, _ = support.raw_post(self.port, "DescribeRepositories", b"{}")
        self.assertEqual(status, 200)
        self.assert_dated(headers.items(), "success")

        status, headers, body = support.raw_post(self.port, "DescribeRepositories", b"{}",
                                                 sign=False)
        self.assertEqual((status, json.loads(body)["__type"]),
                         (403, "MissingAuthenticationTokenException"))
        self.assert_dated(headers.items(), "unsigned")

        status, headers, body = support.raw_post(
            self.port, "DescribeRepositories",
            b'{"repositoryNames":["absent"]}')
        self.assertEqual((status, json.loads(body)["__type"]),
                         (400, "RepositoryNotFoundException"))
        self.assert_dated(headers.items(), "service error")

    def test_a_skewed_signature_is_refused_with_the_servers_date(self):
        for shift, message in ((-3600, "Signature expired: "),
                               (1200, "Signature not yet current: ")):
            when = (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                    + datetime.timedelta(seconds=shift))
            status, headers, body = support.raw_post(self.port, "DescribeRepositories", b"{}",
                                                     when=when)
            error = json.loads(body)
            self.assertEqual((status, error["__type"]), (403, "InvalidSignatureException"))
            self.assertTrue(error["message"].startswith(message), error["message"])
            self.assert_dated(headers.items(), message)

    def test_health_check_not_found_and_download_urls_are_dated(self):
        status, headers = self.request("GET", "/")
        self.assertEqual(status, 200)
        self.assert_dated(headers, "health check")
        status, headers = self.request("GET", "/nothing-here")
        self.assertEqual(status, 404)
        self.assert_dated(headers, "not found")
        status, headers = self.request("GET", "/blobs/sha256/" + "0" * 64 + "?signature=x")
        self.assertEqual(status, 403)
        self.assert_dated(headers, "bad download URL")

    def test_registry_api_answers_are_dated(self):
        status, headers = self.request("GET", "/v2/")
        self.assertEqual(status, 401)
        self.assert_dated(headers, "/v2/ without a token")
        data = self.ecr.get_authorization_token()["authorizationData"][0]
        auth = {"Authorization": "Basic " + data["authorizationToken"]}
        status, headers = self.request("GET", "/v2/", headers=auth)
        self.assertEqual(status, 200)
        self.assert_dated(headers, "/v2/ with a token")
        status, headers = self.request("HEAD", "/v2/absent/blobs/sha256:" + "0" * 64,
                                       headers=auth)
        self.assertEqual(status, 404)
        self.assert_dated(headers, "absent blob")

    def test_the_listeners_own_refusals_are_dated(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                piece = s.recv(4096)
                if not piece:
                    break
                answer += piece
        head = answer.split(b"\r\n\r\n", 1)[0].decode()
        lines = head.split("\r\n")
        self.assertTrue(lines[0].startswith("HTTP/1.1 400 "), lines[0])
        headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
        self.assert_dated(headers, "malformed request")


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""UploadLayerPart bodies of 64 KiB and more are written while they arrive
(src/server/layer_part_stream.hpp). What a client relies on is unchanged:
parts in any member order store the same layer; a part refused for its
signature, cut off midway or sent for bytes the session already has leaves
the session and its file exactly as they were; and a session being written
to cannot be completed. Usage:

    streamed_part_test.py /path/to/ecr-local
"""
import base64
import http.client
import json
import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (ServerCase, raw_post, sha)

MIB = 1 << 20


def blob(n, seed):
    """n random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(n)


class StreamedPart(support.ServerCase):
    root_prefix = "ecr-local-streamed-"

    def setUp(self):
        self.name = self.repo(f"streamed-{self._testMethodName[5:].replace('_', '-')}")

    def upload_file(self, upload_id):
        return os.path.join(self.root, "uploads", upload_id)

    def body(self, upload_id, first, data, blob_first=False):
        members = [("repositoryName", self.name), ("uploadId", upload_id),
                   ("partFirstByte", first), ("partLastByte", first + len(data) - 1)]
        encoded = ("layerPartBlob", base64.b64encode(data).decode())
        members = [encoded] + members if blob_first else members + [encoded]
        return json.dumps(dict(members)).encode()

    def part(self, upload_id, first, data, blob_first=False):
        status, _, body = support.raw_post(self.server.port, "UploadLayerPart",
                                           self.body(upload_id, first, data, blob_first))
        return status, json.loads(body)

    def test_parts_in_either_member_order_store_the_same_layer(self):
        data = blob(12 * MIB + 5, "order")
        uploads = []
        for blob_first in (False, True):
            up = self.ecr.initiate_layer_upload(repositoryName=self.name)["uploadId"]
            for first in range(0, len(data), 5 * MIB):
                status, answer = self.part(up, first, data[first:first + 5 * MIB],
                                           blob_first=blob_first)
                self.assertEqual(status, 200, answer)
                self.assertEqual(answer["lastByteReceived"],
                                 min(first + 5 * MIB, len(data)) - 1)
            with open(self.upload_file(up), "rb") as f:
                self.assertEqual(f.read(), data)
            uploads.append(up)
        self.assertEqual(self.ecr.complete_layer_upload(
            repositoryName=self.name, uploadId=uploads[0],
            layerDigests=[support.sha(data)])["layerDigest"], support.sha(data))
        self.assertEqual(support.error_name(
            self.ecr.complete_layer_upload, repositoryName=self.name, uploadId=uploads[1],
            layerDigests=[support.sha(data)]), "LayerAlreadyExistsException")
        # boto3's own order (the shape's) goes the same way.
        self.assertEqual(support.push_blob(self.ecr, self.name, data[:7 * MIB], part=5 * MIB),
                         support.sha(data[:7 * MIB]))

    def test_a_part_with_a_bad_signature_leaves_the_session_as_it_was(self):
        data = blob(11 * MIB, "signature")
        up = self.ecr.initiate_layer_upload(repositoryName=self.name)["uploadId"]
        self.assertEqual(self.part(up, 0, data[:5 * MIB])[0], 200)
        status, headers, body = support.raw_post(
            self.server.port, "UploadLayerPart", self.body(up, 5 * MIB, data[5 * MIB:]),
            secret="wrong")
        self.assertEqual((status, json.loads(body)["__type"]), (403, "InvalidSignatureException"))
        self.assertEqual(os.path.getsize(self.upload_file(up)), 5 * MIB)
        # The same part, signed, is taken: nothing else holds the session.
        status, answer = self.part(up, 5 * MIB, data[5 * MIB:])
        self.assertEqual((status, answer["lastByteReceived"]), (200, len(data) - 1))
        self.assertEqual(self.ecr.complete_layer_upload(
            repositoryName=self.name, uploadId=up, layerDigests=[support.sha(data)])["layerDigest"],
            support.sha(data))

    def test_a_part_cut_off_midway_leaves_the_session_as_it_was(self):
        data = blob(11 * MIB, "cut")
        up = self.ecr.initiate_layer_upload(repositoryName=self.name)["uploadId"]
        self.assertEqual(self.part(up, 0, data[:5 * MIB])[0], 200)
        body = self.body(up, 5 * MIB, data[5 * MIB:])
        headers = support.api_headers(self.server.port, "UploadLayerPart", body)
        with socket.create_connection(("127.0.0.1", self.server.port)) as conn:
            head = "POST / HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\n\r\n"
            conn.sendall(head.encode() + body[:len(body) // 2])
            time.sleep(0.5)
        # The server drops the half-written part once it sees the close.
        deadline = time.monotonic() + 10
        while os.path.getsize(self.upload_file(up)) != 5 * MIB and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(os.path.getsize(self.upload_file(up)), 5 * MIB)
        status, answer = self.part(up, 5 * MIB, data[5 * MIB:])
        self.assertEqual((status, answer["lastByteReceived"]), (200, len(data) - 1))
        self.assertEqual(self.ecr.complete_layer_upload(
            repositoryName=self.name, uploadId=up, layerDigests=[support.sha(data)])["layerDigest"],
            support.sha(data))

    def test_a_part_resent_for_bytes_received_changes_nothing(self):
        data = blob(5 * MIB, "resent")
        up = self.ecr.initiate_layer_upload(repositoryName=self.name)["uploadId"]
        self.assertEqual(self.part(up, 0, data)[0], 200)
        status, answer = self.part(up, 0, blob(5 * MIB, "other"))
        self.assertEqual((status, answer["__type"], answer["lastValidByteReceived"]),
                         (400, "InvalidLayerPartException", 5 * MIB - 1))
        with open(self.upload_file(up), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_a_session_being_written_cannot_be_completed(self):
        data = blob(6 * MIB, "complete")
        up = self.ecr.initiate_layer_upload(repositoryName=self.name)["uploadId"]
        body = self.body(up, 0, data)
        headers = support.api_headers(self.server.port, "UploadLayerPart", body)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        conn.putrequest("POST", "/", skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body[:len(body) - 1000])
        # The stream claims the session once the members before the blob are in.
        deadline = time.monotonic() + 10
        name = "no error"
        while time.monotonic() < deadline:
            name = support.error_name(self.ecr.complete_layer_upload, repositoryName=self.name,
                                      uploadId=up, layerDigests=[support.sha(data)])
            if name == "InvalidLayerException":
                break
            time.sleep(0.05)
        self.assertEqual(name, "InvalidLayerException")
        conn.send(body[len(body) - 1000:])
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        self.assertEqual((resp.status, answer.get("lastByteReceived")), (200, len(data) - 1),
                         answer)
        conn.close()
        self.assertEqual(self.ecr.complete_layer_upload(
            repositoryName=self.name, uploadId=up, layerDigests=[support.sha(data)])["layerDigest"],
            support.sha(data))


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

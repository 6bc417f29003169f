#!/usr/bin/env python3
"""Signs one request with botocore's SigV4Auth and prints the Authorization header.

Reads a JSON description on stdin:
  {"method": "POST", "url": "https://...", "headers": [["Name", "value"], ...],
   "body": "<base64>", "region": "us-east-1", "service": "ecr",
   "access_key": "...", "secret_key": "...", "token": "" ,
   "timestamp": "20150830T123600Z"}
The clock is pinned the way botocore's own tests pin it: by patching
botocore.auth.get_current_datetime, or, in a botocore without it (Debian
12's 1.29), the datetime.datetime.utcnow() that SigV4Auth calls there.
Exit status 3 means botocore is missing.
"""
import base64
import datetime
import json
import sys
from unittest import mock

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    sys.exit(3)


def pinned_clock(when):
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch("botocore.auth.get_current_datetime", return_value=when)

    class PinnedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    return mock.patch("botocore.auth.datetime.datetime", PinnedDatetime)


def main():
    spec = json.load(sys.stdin)
    request = AWSRequest(
        method=spec["method"],
        url=spec["url"],
        data=base64.b64decode(spec.get("body", "")),
    )
    for name, value in spec.get("headers", []):
        request.headers[name] = value
    credentials = Credentials(spec["access_key"], spec["secret_key"], spec.get("token") or None)
    signer = botocore.auth.SigV4Auth(credentials, spec["service"], spec["region"])
    when = datetime.datetime.strptime(spec["timestamp"], "%Y%m%dT%H%M%SZ")
    with pinned_clock(when):
        signer.add_auth(request)
    sys.stdout.write(request.headers["Authorization"])


if __name__ == "__main__":
    main()

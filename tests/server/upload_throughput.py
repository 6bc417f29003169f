#!/usr/bin/env python3
"""Measures ecr-local's part-upload throughput (MB/s of layer data, one boto3
client, loopback) and the server's peak RSS. Not a test: numbers for the
issue note. Usage: upload_throughput.py /path/to/ecr-local [MiB]
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config

PART = 10 * 1024 * 1024


def main():
    binary, mib = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200
    root = tempfile.mkdtemp(prefix="ecr-local-bench-")
    proc = subprocess.Popen([binary, "--root", root, "--listen", "127.0.0.1:0", "--log-level", "warn",
                             "--access-key", "k", "--secret-key", "s"], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    ecr = boto3.client("ecr", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                       aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
    ecr.create_repository(repositoryName="bench")
    part = os.urandom(PART)
    digest = hashlib.sha256()
    up = ecr.initiate_layer_upload(repositoryName="bench")["uploadId"]
    start = time.perf_counter()
    for i in range(mib // 10):
        ecr.upload_layer_part(repositoryName="bench", uploadId=up, partFirstByte=i * PART,
                              partLastByte=(i + 1) * PART - 1, layerPartBlob=part)
        digest.update(part)
    parts_s = time.perf_counter() - start
    ecr.complete_layer_upload(repositoryName="bench", uploadId=up, layerDigests=["sha256:" + digest.hexdigest()])
    total_s = time.perf_counter() - start
    with open(f"/proc/{proc.pid}/status") as f:
        hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
    proc.terminate()
    proc.wait()
    print(f"{mib} MiB in {PART // 2**20} MiB parts: parts {mib / parts_s:.1f} MiB/s, "
          f"with complete {mib / total_s:.1f} MiB/s; server peak RSS {int(hwm) // 1024} MiB")
    subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()

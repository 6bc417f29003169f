#!/usr/bin/env python3
"""Writes the seed corpora of aws_json_fuzz, response_fuzz and
docker_manifest_fuzz into fuzz/corpus/<target>/ (run from anywhere; the
files are checked in, this documents how they were made).

aws_json: one valid request per operation ecr-local serves (the model's
required members and values inside its constraints), in aws_json_fuzz's
input form: X-Amz-Target, Content-Type, Host, one per line, then the body.
response: the fully populated response of every operation from the
generated round-trip test (tests/api/generated_roundtrip_test.cpp), behind
the byte that picks its shape in response_shapes.hpp.
docker_manifest: manifest.json of the legacy and Docker 25+ layouts with
configs and layers whose digests agree, in docker_manifest_fuzz's form.
"""
import base64
import hashlib
import json
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
PREFIX = "AmazonEC2ContainerRegistry_V20150921."
CONTENT_TYPE = "application/x-amz-json-1.1"
HOST = "127.0.0.1:5000"
ARN = "arn:aws:ecr:us-east-1:000000000000:repository/fuzz/app"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fresh(target):
    path = os.path.join(CORPUS, target)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def compact(value):
    return json.dumps(value, separators=(",", ":"))


CONFIG = compact({"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [sha(b"layer")]}}).encode()
MANIFEST = compact({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
               "size": len(CONFIG), "digest": sha(CONFIG)},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 5, "digest": sha(b"layer")}]})
INDEX = compact({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": []})
LIFECYCLE = compact({"rules": [{
    "rulePriority": 1, "description": "old untagged",
    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                  "countUnit": "days", "countNumber": 14},
    "action": {"type": "expire"}}]})
POLICY = compact({"Version": "2012-10-17", "Statement": [{
    "Sid": "pull", "Effect": "Allow", "Principal": "*",
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
REPO = {"repositoryName": "fuzz/app"}
IMAGE = {"imageTag": "v1"}

REQUESTS = {
    "CreateRepository": {"repositoryName": "fuzz/app", "imageTagMutability": "MUTABLE",
                         "imageScanningConfiguration": {"scanOnPush": True},
                         "tags": [{"Key": "team", "Value": "fuzz"}]},
    "CreateRepository.exclusions": {
        "repositoryName": "fuzz/pinned", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "dev-*"}],
        "encryptionConfiguration": {"encryptionType": "AES256"}},
    "DescribeRepositories": {"repositoryNames": ["fuzz/app"], "maxResults": 10},
    "DescribeRepositories.all": {},
    "DeleteRepository": {"repositoryName": "fuzz/pinned", "force": True},
    "PutImageTagMutability": {"repositoryName": "fuzz/app", "imageTagMutability": "IMMUTABLE"},
    "PutImageScanningConfiguration": {"repositoryName": "fuzz/app",
                                      "imageScanningConfiguration": {"scanOnPush": False}},
    "TagResource": {"resourceArn": ARN, "tags": [{"Key": "env", "Value": "test"}]},
    "UntagResource": {"resourceArn": ARN, "tagKeys": ["env"]},
    "ListTagsForResource": {"resourceArn": ARN},
    "DescribeRegistry": {},
    "GetAuthorizationToken": {"registryIds": ["000000000000"]},
    "PutAccountSetting": {"name": "BASIC_SCAN_TYPE_VERSION", "value": "AWS_NATIVE"},
    "GetAccountSetting": {"name": "BASIC_SCAN_TYPE_VERSION"},
    "InitiateLayerUpload": REPO,
    "UploadLayerPart": {"repositoryName": "fuzz/app",
                        "uploadId": "0f9e4c1a-5b2d-4e8f-9a7c-3d6b1e2f4a5c",
                        "partFirstByte": 0, "partLastByte": 4,
                        "layerPartBlob": base64.b64encode(b"layer").decode()},
    "CompleteLayerUpload": {"repositoryName": "fuzz/app",
                            "uploadId": "0f9e4c1a-5b2d-4e8f-9a7c-3d6b1e2f4a5c",
                            "layerDigests": [sha(b"layer")]},
    "BatchCheckLayerAvailability": {"repositoryName": "fuzz/app",
                                    "layerDigests": [sha(b"layer"), sha(CONFIG)]},
    "GetDownloadUrlForLayer": {"repositoryName": "fuzz/app", "layerDigest": sha(b"layer")},
    "PutImage": {"repositoryName": "fuzz/app", "imageManifest": MANIFEST, "imageTag": "v1",
                 "imageManifestMediaType":
                     "application/vnd.docker.distribution.manifest.v2+json"},
    "PutImage.index": {"repositoryName": "fuzz/app", "imageManifest": INDEX,
                       "imageTag": "multi", "imageDigest": sha(INDEX.encode())},
    "BatchGetImage": {"repositoryName": "fuzz/app", "imageIds": [IMAGE, {"imageTag": "multi"}],
                      "acceptedMediaTypes": ["application/vnd.oci.image.index.v1+json"]},
    "BatchDeleteImage": {"repositoryName": "fuzz/app",
                         "imageIds": [{"imageDigest": sha(INDEX.encode())}]},
    "DescribeImages": {"repositoryName": "fuzz/app", "filter": {"tagStatus": "TAGGED"},
                       "maxResults": 5},
    "DescribeImages.ids": {"repositoryName": "fuzz/app", "imageIds": [{"imageTag": "multi"}]},
    "ListImages": {"repositoryName": "fuzz/app", "filter": {"tagStatus": "ANY"}},
    "ListImageReferrers": {"repositoryName": "fuzz/app",
                           "subjectId": {"imageDigest": sha(INDEX.encode())}},
    "DescribeImageScanFindings": {"repositoryName": "fuzz/app", "imageId": IMAGE},
    "DescribeImageSigningStatus": {"repositoryName": "fuzz/app", "imageId": IMAGE},
    "StartImageScan": {"repositoryName": "fuzz/app", "imageId": IMAGE},
    "UpdateImageStorageClass": {"repositoryName": "fuzz/app", "imageId": IMAGE,
                                "targetStorageClass": "ARCHIVE"},
    "PutLifecyclePolicy": {"repositoryName": "fuzz/app", "lifecyclePolicyText": LIFECYCLE},
    "GetLifecyclePolicy": REPO,
    "DeleteLifecyclePolicy": REPO,
    "StartLifecyclePolicyPreview": {"repositoryName": "fuzz/app",
                                    "lifecyclePolicyText": LIFECYCLE},
    "GetLifecyclePolicyPreview": {"repositoryName": "fuzz/app",
                                  "filter": {"tagStatus": "UNTAGGED"}},
    "SetRepositoryPolicy": {"repositoryName": "fuzz/app", "policyText": POLICY},
    "GetRepositoryPolicy": REPO,
    "DeleteRepositoryPolicy": REPO,
    "PutRegistryPolicy": {"policyText": POLICY},
    "GetRegistryPolicy": {},
    "DeleteRegistryPolicy": {},
    "PutRegistryScanningConfiguration": {
        "scanType": "BASIC",
        "rules": [{"scanFrequency": "SCAN_ON_PUSH",
                   "repositoryFilters": [{"filter": "fuzz/*", "filterType": "WILDCARD"}]}]},
    "GetRegistryScanningConfiguration": {},
    "BatchGetRepositoryScanningConfiguration": {"repositoryNames": ["fuzz/app"]},
    "PutSigningConfiguration": {"signingConfiguration": {"rules": [{
        "signingProfileArn":
            "arn:aws:signer:us-east-1:000000000000:/signing-profiles/fuzzprofile",
        "repositoryFilters": [{"filter": "fuzz", "filterType": "WILDCARD_MATCH"}]}]}},
    "GetSigningConfiguration": {},
    "DeleteSigningConfiguration": {},
    "RegisterPullTimeUpdateExclusion": {"principalArn": "arn:aws:iam::000000000000:role/ci"},
    "ListPullTimeUpdateExclusions": {"maxResults": 10},
    "DeregisterPullTimeUpdateExclusion": {"principalArn": "arn:aws:iam::000000000000:role/ci"},
    "CreateRepositoryCreationTemplate": {
        "prefix": "fuzz", "description": "fuzzed repositories",
        "appliedFor": ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"],
        "imageTagMutability": "IMMUTABLE", "lifecyclePolicy": LIFECYCLE,
        "repositoryPolicy": POLICY, "resourceTags": [{"Key": "team", "Value": "fuzz"}],
        "encryptionConfiguration": {"encryptionType": "AES256"}},
    "CreateRepositoryCreationTemplate.root": {"prefix": "ROOT", "appliedFor": ["REPLICATION"]},
    "DescribeRepositoryCreationTemplates": {"prefixes": ["fuzz"], "maxResults": 5},
    "UpdateRepositoryCreationTemplate": {"prefix": "fuzz", "imageTagMutability": "MUTABLE"},
    "DeleteRepositoryCreationTemplate": {"prefix": "fuzz"},
}


def aws_json():
    out = fresh("aws_json")
    for name, body in REQUESTS.items():
        operation = name.split(".")[0]
        with open(os.path.join(out, name), "w") as f:
            f.write(f"{PREFIX}{operation}\n{CONTENT_TYPE}\n{HOST}\n{compact(body)}")
    # What a client may send around a valid call: no body, another content
    # type, an unknown operation.
    with open(os.path.join(out, "empty_body"), "w") as f:
        f.write(f"{PREFIX}DescribeRegistry\n{CONTENT_TYPE}\n{HOST}\n")
    with open(os.path.join(out, "json_1_0"), "w") as f:
        f.write(f"{PREFIX}ListImages\napplication/x-amz-json-1.0\n\n{compact(REPO)}")
    with open(os.path.join(out, "unknown_operation"), "w") as f:
        f.write(f"{PREFIX}CreatePullThroughCacheRule\n{CONTENT_TYPE}\n{HOST}\n{{}}")
    # Found by aws_json_fuzz (minimized): a Host byte outside ASCII made
    # GetAuthorizationToken's proxyEndpoint, and so its answer, invalid UTF-8.
    with open(os.path.join(out, "crash-host-not-ascii"), "wb") as f:
        f.write(f"{PREFIX}GetAuthorizationToken\n{CONTENT_TYPE}\n".encode() +
                b"127.0.0.1\xd0:5000\n{}")


def response():
    out = fresh("response")
    shapes = open(os.path.join(ROOT, "fuzz", "response_shapes.hpp")).read()
    operations = re.findall(r'\{"(\w+)",\s*&reserialize', shapes)
    test = open(os.path.join(ROOT, "tests", "api", "generated_roundtrip_test.cpp")).read()
    golden = {op: text for text, op in re.findall(
        r'R"json\(([^\n]*?)\)json"\);\s*EXPECT_EQ\(\s*api::from_json<api::(\w+)Response>', test,
        re.S)}
    for index, operation in enumerate(operations):
        body = golden.get(operation, "{}")
        with open(os.path.join(out, operation), "wb") as f:
            f.write(bytes([index]) + body.encode())


def docker_manifest():
    out = fresh("docker_manifest")

    def write(name, manifest, files):
        text = compact(manifest)
        for path, content in files:
            text += "\n" + path + "\n" + content
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    layer = "hello layer"
    config = compact({"architecture": "amd64", "os": "linux",
                      "config": {"Cmd": ["/hello"]},
                      "rootfs": {"type": "layers", "diff_ids": [sha(layer.encode())]}})
    config_hex = hashlib.sha256(config.encode()).hexdigest()
    layer_hex = hashlib.sha256(layer.encode()).hexdigest()
    # docker save before 25: <config hex>.json and <layer id>/layer.tar.
    write("legacy", [{"Config": config_hex + ".json", "RepoTags": ["hello:latest"],
                      "Layers": ["0a1b2c/layer.tar"]}],
          [(config_hex + ".json", config), ("0a1b2c/layer.tar", layer)])
    # Docker 25+: an OCI layout's blobs.
    write("blobs", [{"Config": "blobs/sha256/" + config_hex,
                     "RepoTags": ["docker.io/library/hello:latest", "hello:v1"],
                     "Layers": ["blobs/sha256/" + layer_hex]}],
          [("blobs/sha256/" + config_hex, config), ("blobs/sha256/" + layer_hex, layer)])
    # skopeo's form: <diff_id hex>.tar, no RepoTags.
    write("untagged", [{"Config": config_hex + ".json", "Layers": [layer_hex + ".tar"]}],
          [(config_hex + ".json", config), (layer_hex + ".tar", layer)])
    # Two images sharing a config; a layer that starts like gzip or zstd.
    write("two_images", [{"Config": "c.json", "RepoTags": ["a:1"], "Layers": ["./l.tar"]},
                         {"Config": "c.json", "RepoTags": ["b:2"], "Layers": ["l.tar"]}],
          [("c.json", config), ("l.tar", layer)])
    write("gzip_layer", [{"Config": "c.json", "RepoTags": ["z:1"], "Layers": ["l.tar.gz"]}],
          [("c.json", config), ("l.tar.gz", "\x1f\x8b\x08\x00gzip")])
    write("zstd_layer", [{"Config": "c.json", "RepoTags": ["z:1"], "Layers": ["l.zst"]}],
          [("c.json", config), ("l.zst", "\x28\xb5\x2f\xfdzstd")])
    empty = compact({"architecture": "arm64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": []}})
    write("no_layers", [{"Config": "e.json", "RepoTags": ["scratch:latest"], "Layers": []}],
          [("e.json", empty)])
    write("empty_archive", [], [])
    # The real `docker save` output of the fixture (config and manifest.json).
    fixture = os.path.join(ROOT, "fixtures", "hello.docker.tar")
    import tarfile
    with tarfile.open(fixture) as tar:
        real_manifest = json.loads(tar.extractfile("manifest.json").read())
        real_config = tar.extractfile(real_manifest[0]["Config"]).read().decode()
    write("fixture", real_manifest,
          [(real_manifest[0]["Config"], real_config.replace("\n", "")),
           (real_manifest[0]["Layers"][0], layer)])


if __name__ == "__main__":
    aws_json()
    response()
    docker_manifest()

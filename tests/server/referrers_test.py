#!/usr/bin/env python3
"""ListImageReferrers, ecr-local's ECR API door onto OCI 1.1 referrers,
driven with boto3 (filtering, paging, errors) and checked against the
registry API's GET /v2/<name>/referrers/<digest>. Usage:

    referrers_test.py /path/to/ecr-local
"""
import base64
import http.client
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (Server, client, push_blob)

from botocore.exceptions import ClientError, ParamValidationError  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
SPDX = "application/spdx+json"
SIG_CONFIG = "application/vnd.example.signature.config.v1+json"
sha = support.sha


def manifest(config_type, config, layers=(), subject=None, artifact_type=None,
             annotations=None):
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": config_type, "digest": sha(config), "size": len(config)},
           "layers": [{"mediaType": "application/octet-stream", "digest": sha(layer),
                       "size": len(layer)} for layer in layers]}
    if artifact_type:
        doc["artifactType"] = artifact_type
    if subject:
        doc["subject"] = {"mediaType": OCI_MANIFEST, "digest": sha(subject),
                          "size": len(subject)}
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc, separators=(",", ":")).encode()


class ListImageReferrers(support.ServerCase):
    root_prefix = "ecr-referrers-"

    @classmethod
    def started(cls):
        data = cls.ecr.get_authorization_token()["authorizationData"][0]
        cls.basic = "Basic " + data["authorizationToken"]

    def put(self, repo, body, tag=None):
        kw = {"imageTag": tag} if tag else {"imageDigest": sha(body)}
        self.ecr.put_image(repositoryName=repo, imageManifest=body.decode(),
                           imageManifestMediaType=OCI_MANIFEST, **kw)
        return body

    def image(self, repo, seed):
        """An image tagged v1 whose layer is `seed`; its manifest bytes."""
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        support.push_blob(self.ecr, repo, config)
        support.push_blob(self.ecr, repo, seed)
        return self.put(repo, manifest("application/vnd.oci.image.config.v1+json", config,
                                       [seed]), tag="v1")

    def artifacts(self, repo):
        """An image, an SBOM of it (artifactType, annotations), a signature of
        it (no artifactType: its config's media type stands for it) and a
        signature of the SBOM."""
        image = self.image(repo, b"layer of " + repo.encode())
        support.push_blob(self.ecr, repo, b"{}")
        sbom_doc = b'{"spdxVersion":"SPDX-2.3"}'
        support.push_blob(self.ecr, repo, sbom_doc)
        sbom = self.put(repo, manifest(EMPTY_CONFIG, b"{}", [sbom_doc], subject=image,
                                       artifact_type=SPDX,
                                       annotations={"org.example.kind": "sbom"}))
        sig_config = b'{"signed":true}'
        support.push_blob(self.ecr, repo, sig_config)
        sig = self.put(repo, manifest(SIG_CONFIG, sig_config, subject=image))
        sbom_sig = self.put(repo, manifest(SIG_CONFIG, sig_config, subject=sbom))
        return image, sbom, sig, sbom_sig

    def list(self, repo, subject, **kw):
        return self.ecr.list_image_referrers(repositoryName=repo,
                                             subjectId={"imageDigest": sha(subject)}, **kw)

    def error(self, call, **kw):
        try:
            call(**kw)
        except ClientError as e:
            return e.response["Error"]["Code"], e.response["Error"]["Message"]
        return "no error", ""

    def v2_referrers(self, repo, digest, query=""):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        conn.request("GET", f"/v2/{repo}/referrers/{digest}{query}",
                     headers={"Authorization": self.basic})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200, body)
        return json.loads(body)

    # --- listing ----------------------------------------------------------

    def test_lists_the_referrers_of_a_subject_by_digest(self):
        repo = self.repo("list")
        image, sbom, sig, sbom_sig = self.artifacts(repo)

        answer = self.list(repo, image)

        expected = sorted([
            {"digest": sha(sbom), "mediaType": OCI_MANIFEST, "size": len(sbom),
             "artifactType": SPDX, "annotations": {"org.example.kind": "sbom"},
             "artifactStatus": "ACTIVE"},
            {"digest": sha(sig), "mediaType": OCI_MANIFEST, "size": len(sig),
             "artifactType": SIG_CONFIG, "artifactStatus": "ACTIVE"},
        ], key=lambda r: r["digest"])
        self.assertEqual(answer["referrers"], expected)
        self.assertNotIn("nextToken", answer)
        # A referrer of a referrer is the SBOM's, not the image's.
        self.assertEqual([r["digest"] for r in self.list(repo, sbom)["referrers"]],
                         [sha(sbom_sig)])
        self.assertEqual(self.list(repo, sbom_sig)["referrers"], [])

    def test_a_subject_the_repository_does_not_hold_has_no_referrers(self):
        repo = self.repo("unknown-subject")
        self.artifacts(repo)
        answer = self.list(repo, b"never pushed")
        self.assertEqual(answer["referrers"], [])
        self.assertNotIn("nextToken", answer)

    def test_a_deleted_referrer_is_no_longer_listed(self):
        repo = self.repo("deleted")
        image, sbom, sig, _ = self.artifacts(repo)
        self.ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": sha(sig)}])
        self.assertEqual([r["digest"] for r in self.list(repo, image)["referrers"]], [sha(sbom)])

    def test_referrers_are_per_repository(self):
        first, second = self.repo("first"), self.repo("second")
        image, _, _, _ = self.artifacts(first)
        self.image(second, b"layer of first")  # the same image, without referrers
        self.assertEqual(self.list(second, image)["referrers"], [])
        self.assertEqual(len(self.list(first, image)["referrers"]), 2)

    # --- filters ----------------------------------------------------------

    def test_artifact_types_filter_keeps_the_named_types(self):
        repo = self.repo("filter")
        image, sbom, sig, _ = self.artifacts(repo)

        def digests(**flt):
            return [r["digest"] for r in self.list(repo, image, filter=flt)["referrers"]]

        both = sorted([sha(sbom), sha(sig)])
        self.assertEqual(digests(artifactTypes=[SPDX]), [sha(sbom)])
        self.assertEqual(digests(artifactTypes=[SIG_CONFIG]), [sha(sig)])
        self.assertEqual(digests(artifactTypes=[SPDX, SIG_CONFIG]), both)
        self.assertEqual(digests(artifactTypes=["application/vnd.none"]), [])
        self.assertEqual(digests(artifactTypes=[]), both)
        self.assertEqual(digests(), both)

    def test_artifact_status_filter_every_referrer_is_active(self):
        repo = self.repo("status")
        image, sbom, sig, _ = self.artifacts(repo)

        def digests(status):
            return [r["digest"] for r in
                    self.list(repo, image, filter={"artifactStatus": status})["referrers"]]

        both = sorted([sha(sbom), sha(sig)])
        self.assertEqual(digests("ACTIVE"), both)
        self.assertEqual(digests("ANY"), both)
        self.assertEqual(digests("ARCHIVED"), [])
        self.assertEqual(digests("ACTIVATING"), [])

    # --- paging -----------------------------------------------------------

    def test_pages_follow_max_results_and_next_token(self):
        repo = self.repo("paging")
        image = self.image(repo, b"paged")
        support.push_blob(self.ecr, repo, b"{}")
        made = sorted(sha(self.put(repo, manifest(EMPTY_CONFIG, b"{}", subject=image,
                                                   artifact_type=f"application/vnd.n{i}")))
                      for i in range(7))
        pages, token = [], None
        while True:
            kw = {"maxResults": 3}
            if token:
                kw["nextToken"] = token
            answer = self.list(repo, image, **kw)
            pages.append([r["digest"] for r in answer["referrers"]])
            token = answer.get("nextToken")
            if not token:
                break
        self.assertEqual([len(p) for p in pages], [3, 3, 1])
        self.assertEqual(sum(pages, []), made)
        # A filter pages over what it keeps.
        answer = self.list(repo, image, maxResults=1,
                           filter={"artifactTypes": ["application/vnd.n2", "application/vnd.n5"]})
        self.assertEqual(len(answer["referrers"]), 1)
        rest = self.list(repo, image, maxResults=1, nextToken=answer["nextToken"],
                         filter={"artifactTypes": ["application/vnd.n2", "application/vnd.n5"]})
        self.assertEqual(len(rest["referrers"]), 1)
        self.assertNotIn("nextToken", rest)
        self.assertEqual({answer["referrers"][0]["artifactType"], rest["referrers"][0]["artifactType"]},
                         {"application/vnd.n2", "application/vnd.n5"})

    def test_default_page_is_fifty(self):
        repo = self.repo("default-page")
        image = self.image(repo, b"many")
        support.push_blob(self.ecr, repo, b"{}")
        for i in range(53):
            self.put(repo, manifest(EMPTY_CONFIG, b"{}", subject=image,
                                    annotations={"n": str(i)}))
        first = self.list(repo, image)
        self.assertEqual(len(first["referrers"]), 50)
        rest = self.list(repo, image, nextToken=first["nextToken"])
        self.assertEqual(len(rest["referrers"]), 3)
        self.assertNotIn("nextToken", rest)

    # --- errors -----------------------------------------------------------

    def test_errors(self):
        repo = self.repo("errors")
        image = self.image(repo, b"errors")
        call = self.ecr.list_image_referrers
        subject = {"imageDigest": sha(image)}
        self.assertEqual(
            self.error(call, repositoryName="missing", subjectId=subject)[0],
            "RepositoryNotFoundException")
        self.assertEqual(
            self.error(call, repositoryName=repo, subjectId={"imageDigest": "sha256:abc"}),
            ("InvalidParameterException",
             "Invalid parameter at 'subjectId.imageDigest' failed to satisfy constraint: 'image "
             "digest should satisfy the regex sha256:[a-f0-9]{64}'"))
        self.assertEqual(
            self.error(call, repositoryName=repo, subjectId=subject, nextToken="not-a-token"),
            ("InvalidParameterException",
             "Invalid parameter at 'nextToken' failed to satisfy constraint: "
             "'Invalid pagination token'"))
        self.assertEqual(
            self.error(call, repositoryName=repo, subjectId=subject,
                       registryId="123456789012")[0], "InvalidParameterException")
        self.assertEqual(
            self.error(call, repositoryName="Bad_Name", subjectId=subject)[0],
            "InvalidParameterException")

    def test_model_constraints_are_refused_by_the_server(self):
        """botocore checks only minimums; the rest reach ecr-local raw."""
        repo = self.repo("constraints")
        image = self.image(repo, b"constraints")
        base = {"repositoryName": repo, "subjectId": {"imageDigest": sha(image)}}

        def raw(**changes):
            body = dict(base, **changes)
            status, _, data = support.raw_post(self.server.port, "ListImageReferrers",
                                               json.dumps(body).encode())
            return status, json.loads(data)["__type"]

        bad = (400, "InvalidParameterException")
        self.assertEqual(raw(maxResults=51), bad)
        self.assertEqual(raw(maxResults=0), bad)
        self.assertEqual(raw(filter={"artifactTypes": ["a/b"] * 6}), bad)
        self.assertEqual(raw(filter={"artifactTypes": [""]}), bad)
        self.assertEqual(raw(filter={"artifactTypes": ["a" * 256]}), bad)
        self.assertEqual(raw(filter={"artifactStatus": "DELETED"}), bad)
        self.assertEqual(raw(subjectId={}), bad)
        self.assertEqual(raw(maxResults="ten"), (400, "SerializationException"))
        status, _, data = support.raw_post(self.server.port, "ListImageReferrers",
                                           json.dumps({"repositoryName": repo}).encode())
        self.assertEqual((status, json.loads(data)["__type"]), bad)
        with self.assertRaises(ParamValidationError):
            self.ecr.list_image_referrers(repositoryName=repo, subjectId=base["subjectId"],
                                          maxResults=0)

    # --- both doors -------------------------------------------------------

    def test_the_registry_api_lists_the_same_referrers(self):
        repo = self.repo("doors")
        image, sbom, _, _ = self.artifacts(repo)

        # "+" in a query is a space: the type is percent-encoded, as clients send it.
        spdx_query = "?artifactType=" + urllib.parse.quote(SPDX, safe="")
        for query, flt in (("", {}), (spdx_query, {"artifactTypes": [SPDX]})):
            with self.subTest(query=query):
                ecr_api = self.list(repo, image, filter=flt)["referrers"]
                index = self.v2_referrers(repo, sha(image), query)
                self.assertEqual(index["mediaType"], OCI_INDEX)
                self.assertEqual(
                    index["manifests"],
                    [{k: v for k, v in r.items() if k != "artifactStatus"} for r in ecr_api])
        self.assertEqual(self.v2_referrers(repo, sha(sbom))["manifests"],
                         [{k: v for k, v in r.items() if k != "artifactStatus"}
                          for r in self.list(repo, sbom)["referrers"]])


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

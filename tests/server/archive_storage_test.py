#!/usr/bin/env python3
"""The archive storage class end to end with boto3 and the registry API:
archive, describe, every kind of pull refused, restore (at once and with
--archive-restore-delay), lastRecordedPullTime set by each kind of pull,
lifecycle policies that transition and expire by the new count types, and
the model's errors for bad input. Usage:

    archive_storage_test.py /path/to/ecr-local
"""
import base64
import datetime
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DAY_MS = 24 * 3600 * 1000


def error_of(call, **kwargs):
    """(code, message) of a ClientError."""
    try:
        call(**kwargs)
    except support.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    return "no error", ""


class V2:
    """Just enough of the registry API: GET/HEAD with the token."""

    def __init__(self, port, ecr):
        data = ecr.get_authorization_token()["authorizationData"][0]
        self.port = port
        self.auth = "Basic " + data["authorizationToken"]

    def request(self, method, path, accept=DOCKER_MANIFEST, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": self.auth, "Accept": accept}
        if body is not None:
            headers["Content-Type"] = DOCKER_MANIFEST
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body


class ArchiveBase(support.ServerCase):
    root_prefix = "ecr-local-archive-"

    @classmethod
    def started(cls):
        cls.v2 = V2(cls.server.port, cls.ecr)

    def push(self, repo, tag, seed):
        """Pushes an image with a config and one layer of its own; returns
        (digest, layer digest, manifest)."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        layer = f"layer of {repo}:{tag} {seed}".encode()
        support.push_blob(self.ecr, repo, config)
        support.push_blob(self.ecr, repo, layer)
        manifest = support.docker_manifest(config, [layer])
        image = self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)
        return image["image"]["imageId"]["imageDigest"], support.sha(layer), manifest

    def detail(self, repo, digest):
        return self.ecr.describe_images(repositoryName=repo,
                                        imageIds=[{"imageDigest": digest}])["imageDetails"][0]

    def statuses(self, repo, status):
        details = self.ecr.describe_images(repositoryName=repo,
                                           filter={"imageStatus": status})["imageDetails"]
        return sorted(d["imageDigest"] for d in details)


class ArchiveStorage(ArchiveBase):
    def test_archived_image_refuses_every_pull_until_restored(self):
        repo = self.repo("archive/pulls")
        digest, layer, _ = self.push(repo, "v1", "pulls")
        other, _, _ = self.push(repo, "v2", "other")
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        out = self.ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "v1"},
                                                  targetStorageClass="ARCHIVE")
        self.assertEqual(out["imageStatus"], "ARCHIVED")
        self.assertEqual(out["imageId"], {"imageDigest": digest, "imageTag": "v1"})
        self.assertEqual(out["registryId"], "000000000000")
        self.assertEqual(out["repositoryName"], repo)

        d = self.detail(repo, digest)
        self.assertEqual(d["imageStatus"], "ARCHIVED")
        self.assertGreaterEqual(d["lastArchivedAt"], before)
        self.assertNotIn("lastActivatedAt", d)
        self.assertEqual(self.detail(repo, other)["imageStatus"], "ACTIVE")
        self.assertEqual(self.statuses(repo, "ARCHIVED"), [digest])
        self.assertEqual(self.statuses(repo, "ACTIVE"), [other])
        self.assertEqual(self.statuses(repo, "ACTIVATING"), [])
        self.assertEqual(self.statuses(repo, "ANY"), sorted([digest, other]))
        # Still listed.
        listed = self.ecr.list_images(repositoryName=repo)["imageIds"]
        self.assertIn({"imageDigest": digest, "imageTag": "v1"}, listed)
        for status, expected in (("ARCHIVED", [digest]), ("ACTIVE", [other]),
                                 ("ANY", sorted([digest, other]))):
            listed = self.ecr.list_images(repositoryName=repo,
                                          filter={"imageStatus": status})["imageIds"]
            self.assertEqual(sorted(i["imageDigest"] for i in listed), expected, status)

        # BatchGetImage: a failure, by tag and by digest.
        got = self.ecr.batch_get_image(repositoryName=repo,
                                       imageIds=[{"imageTag": "v1"}, {"imageDigest": digest}])
        self.assertEqual(got["images"], [])
        self.assertEqual([f["failureCode"] for f in got["failures"]],
                         ["ImageInaccessible", "ImageInaccessible"])
        self.assertIn("archived", got["failures"][0]["failureReason"])
        # Layers: ARCHIVED, and no download URL.
        layers = self.ecr.batch_check_layer_availability(repositoryName=repo,
                                                         layerDigests=[layer])["layers"]
        self.assertEqual(layers[0]["layerAvailability"], "ARCHIVED")
        code, message = error_of(self.ecr.get_download_url_for_layer, repositoryName=repo,
                                 layerDigest=layer)
        self.assertEqual(code, "LayerInaccessibleException")
        self.assertIn("archived", message)
        # The registry API: 404 saying why.
        status, body = self.v2.request("GET", f"/v2/{repo}/manifests/v1")
        self.assertEqual(status, 404)
        error = json.loads(body)["errors"][0]
        self.assertEqual(error["code"], "MANIFEST_UNKNOWN")
        self.assertIn("archived", error["message"])
        status, body = self.v2.request("GET", f"/v2/{repo}/blobs/{layer}")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["errors"][0]["code"], "BLOB_UNKNOWN")
        self.assertEqual(error_of(self.ecr.start_image_scan, repositoryName=repo,
                                  imageId={"imageTag": "v1"})[0], "ImageArchivedException")

        # Restore: pullable again through every door.
        out = self.ecr.update_image_storage_class(repositoryName=repo,
                                                  imageId={"imageDigest": digest},
                                                  targetStorageClass="STANDARD")
        self.assertEqual(out["imageStatus"], "ACTIVE")
        self.assertEqual(out["imageId"], {"imageDigest": digest})
        d = self.detail(repo, digest)
        self.assertEqual(d["imageStatus"], "ACTIVE")
        self.assertGreaterEqual(d["lastActivatedAt"], d["lastArchivedAt"])
        got = self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
        self.assertEqual(len(got["images"]), 1)
        self.assertEqual(got["failures"], [])
        layers = self.ecr.batch_check_layer_availability(repositoryName=repo,
                                                         layerDigests=[layer])["layers"]
        self.assertEqual(layers[0]["layerAvailability"], "AVAILABLE")
        self.assertIn("downloadUrl", self.ecr.get_download_url_for_layer(repositoryName=repo,
                                                                         layerDigest=layer))
        self.assertEqual(self.v2.request("GET", f"/v2/{repo}/manifests/v1")[0], 200)
        self.assertEqual(self.v2.request("GET", f"/v2/{repo}/blobs/{layer}")[0], 200)

    def test_pushing_an_archived_image_again_restores_it(self):
        repo = self.repo("archive/repush")
        digest, _, manifest = self.push(repo, "v1", "repush")
        self.ecr.update_image_storage_class(repositoryName=repo, imageId={"imageDigest": digest},
                                           targetStorageClass="ARCHIVE")
        out = self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1")
        self.assertEqual(out["image"]["imageId"]["imageDigest"], digest)
        d = self.detail(repo, digest)
        self.assertEqual(d["imageStatus"], "ACTIVE")
        self.assertIn("lastActivatedAt", d)
        self.assertEqual(error_of(self.ecr.put_image, repositoryName=repo, imageManifest=manifest,
                                  imageTag="v1")[0], "ImageAlreadyExistsException")
        # Through the registry API too.
        self.ecr.update_image_storage_class(repositoryName=repo, imageId={"imageDigest": digest},
                                           targetStorageClass="ARCHIVE")
        self.assertEqual(self.v2.request("PUT", f"/v2/{repo}/manifests/v1",
                                         body=manifest.encode())[0], 201)
        self.assertEqual(self.detail(repo, digest)["imageStatus"], "ACTIVE")
        self.assertEqual(self.v2.request("GET", f"/v2/{repo}/manifests/v1")[0], 200)

    def test_each_kind_of_pull_records_the_pull_time(self):
        repo = self.repo("archive/pulltime")
        by_get, _, _ = self.push(repo, "get", "get")
        by_layer, layer, _ = self.push(repo, "layer", "layer")
        by_v2, _, _ = self.push(repo, "v2", "v2")
        by_head, _, _ = self.push(repo, "head", "head")
        for digest in (by_get, by_layer, by_v2, by_head):
            self.assertNotIn("lastRecordedPullTime", self.detail(repo, digest))
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "get"}])
        self.ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=layer)
        self.assertEqual(self.v2.request("GET", f"/v2/{repo}/manifests/v2")[0], 200)
        self.assertEqual(self.v2.request("HEAD", f"/v2/{repo}/manifests/head")[0], 200)
        after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        for digest in (by_get, by_layer, by_v2):
            pulled = self.detail(repo, digest)["lastRecordedPullTime"]
            self.assertTrue(before <= pulled <= after, (digest, pulled))
        # A HEAD asks whether it is there; it is not a pull.
        self.assertNotIn("lastRecordedPullTime", self.detail(repo, by_head))

    def test_an_archived_referrer_is_listed_by_its_status(self):
        repo = self.repo("archive/referrers")
        subject, _, manifest = self.push(repo, "v1", "subject")
        support.push_blob(self.ecr, repo, b"{}")
        empty = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": support.sha(b"{}"),
                 "size": 2}
        signature = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.example.signature", "config": empty,
            "layers": [empty],
            "subject": {"mediaType": DOCKER_MANIFEST, "digest": subject, "size": len(manifest)}})
        referrer = self.ecr.put_image(
            repositoryName=repo, imageManifest=signature,
            imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
        )["image"]["imageId"]["imageDigest"]
        self.ecr.update_image_storage_class(repositoryName=repo,
                                           imageId={"imageDigest": referrer},
                                           targetStorageClass="ARCHIVE")

        def listed(**kwargs):
            out = self.ecr.list_image_referrers(repositoryName=repo,
                                                subjectId={"imageDigest": subject}, **kwargs)
            return [(r["digest"], r["artifactStatus"]) for r in out["referrers"]]

        self.assertEqual(listed(), [])
        self.assertEqual(listed(filter={"artifactStatus": "ARCHIVED"}), [(referrer, "ARCHIVED")])
        self.assertEqual(listed(filter={"artifactStatus": "ANY"}), [(referrer, "ARCHIVED")])
        self.assertEqual(listed(filter={"artifactStatus": "ACTIVE"}), [])

    def test_bad_input_gets_the_model_errors(self):
        repo = self.repo("archive/errors")
        digest, _, _ = self.push(repo, "v1", "errors")
        update = self.ecr.update_image_storage_class
        self.assertEqual(error_of(update, repositoryName=repo, imageId={"imageTag": "nope"},
                                  targetStorageClass="ARCHIVE")[0], "ImageNotFoundException")
        self.assertEqual(error_of(update, repositoryName="archive/none", imageId={"imageTag": "v1"},
                                  targetStorageClass="ARCHIVE")[0], "RepositoryNotFoundException")
        self.assertEqual(error_of(update, repositoryName=repo, imageId={"imageTag": "v1"},
                                  targetStorageClass="STANDARD")[0],
                         "ImageStorageClassUpdateNotSupportedException")
        self.assertEqual(error_of(update, repositoryName=repo, imageId={"imageDigest": "sha256:xyz"},
                                  targetStorageClass="ARCHIVE")[0], "InvalidParameterException")
        self.assertEqual(error_of(update, repositoryName=repo, imageId={},
                                  targetStorageClass="ARCHIVE")[0], "InvalidParameterException")
        self.assertEqual(error_of(update, repositoryName=repo, imageId={"imageTag": "v1"},
                                  targetStorageClass="GLACIER")[0], "InvalidParameterException")
        self.assertEqual(error_of(update, registryId="123456789012", repositoryName=repo,
                                  imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")[0],
                         "InvalidParameterException")
        self.assertEqual(error_of(update, repositoryName="Bad_Name", imageId={"imageTag": "v1"},
                                  targetStorageClass="ARCHIVE")[0], "InvalidParameterException")
        # Required members and wrong JSON types, as sent.
        status, _, body = support.raw_post(self.server.port, "UpdateImageStorageClass",
                                           json.dumps({"repositoryName": repo,
                                                       "imageId": {"imageTag": "v1"}}).encode())
        self.assertEqual((status, json.loads(body)["__type"]), (400, "InvalidParameterException"))
        status, _, body = support.raw_post(self.server.port, "UpdateImageStorageClass",
                                           json.dumps({"repositoryName": repo, "imageId": "v1",
                                                       "targetStorageClass": "ARCHIVE"}).encode())
        self.assertEqual((status, json.loads(body)["__type"]), (400, "SerializationException"))
        self.assertEqual(error_of(self.ecr.describe_images, repositoryName=repo,
                                  filter={"imageStatus": "FROZEN"})[0], "InvalidParameterException")
        # Nothing changed.
        self.assertEqual(self.detail(repo, digest)["imageStatus"], "ACTIVE")

        bad_policies = {
            "transition without target":
                ('{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan",'
                 '"countNumber":1},"action":{"type":"transition"}}',
                 "rule 1: action type 'transition' requires targetStorageClass 'archive'"),
            "pulled with expire":
                ('{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePulled",'
                 '"countUnit":"days","countNumber":1},"action":{"type":"expire"}}',
                 "rule 1: countType 'sinceImagePulled' is only allowed with action type "
                 "'transition'"),
            "transitioned without archive":
                ('{"rulePriority":1,"selection":{"tagStatus":"any","countType":'
                 '"sinceImageTransitioned","countUnit":"days","countNumber":90},'
                 '"action":{"type":"expire"}}',
                 "rule 1: countType 'sinceImageTransitioned' requires storageClass 'archive'"),
            "transitioned under 90 days":
                ('{"rulePriority":1,"selection":{"tagStatus":"any","storageClass":"archive",'
                 '"countType":"sinceImageTransitioned","countUnit":"days","countNumber":30},'
                 '"action":{"type":"expire"}}',
                 "rule 1: countType 'sinceImageTransitioned' requires a countNumber of at least "
                 "90 days"),
        }
        for name, (rule, why) in bad_policies.items():
            code, message = error_of(self.ecr.put_lifecycle_policy, repositoryName=repo,
                                     lifecyclePolicyText='{"rules":[' + rule + "]}")
            self.assertEqual(code, "InvalidParameterException", name)
            self.assertIn(why, message, name)


class ArchiveRestoreDelay(ArchiveBase):
    server_args = ("--archive-restore-delay", "2")

    def test_a_restore_is_activating_until_the_delay_passes(self):
        repo = self.repo("archive/delay")
        digest, layer, _ = self.push(repo, "v1", "delay")
        self.ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "v1"},
                                           targetStorageClass="ARCHIVE")
        out = self.ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "v1"},
                                                  targetStorageClass="STANDARD")
        self.assertEqual(out["imageStatus"], "ACTIVATING")
        self.assertEqual(self.statuses(repo, "ACTIVATING"), [digest])
        got = self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
        self.assertEqual(got["failures"][0]["failureCode"], "ImageInaccessible")
        self.assertIn("being restored", got["failures"][0]["failureReason"])
        self.assertEqual(error_of(self.ecr.update_image_storage_class, repositoryName=repo,
                                  imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")[0],
                         "ImageStorageClassUpdateNotSupportedException")
        deadline = time.monotonic() + 15
        while self.detail(repo, digest)["imageStatus"] == "ACTIVATING":
            self.assertLess(time.monotonic(), deadline, "the restore never ended")
            time.sleep(0.2)
        self.assertEqual(self.detail(repo, digest)["imageStatus"], "ACTIVE")
        got = self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
        self.assertEqual(len(got["images"]), 1)


class ArchiveLifecycle(ArchiveBase):
    def backdate(self, repo, changes):
        """Stops the server, moves image times into the past (days ago per
        column, by tag) in metadata.db, and starts it again on the same root."""
        self.__class__.server.stop()
        now = int(time.time() * 1000)
        db = sqlite3.connect(os.path.join(self.root, "metadata.db"))
        for tag, columns in changes.items():
            for column, days_ago in columns.items():
                db.execute(
                    f"UPDATE images SET {column} = ? WHERE digest = (SELECT digest FROM image_tags "
                    "WHERE tag = ? AND repo_id = (SELECT id FROM repositories WHERE name = ?))",
                    (now - days_ago * DAY_MS, tag, repo))
        db.commit()
        db.close()
        self.__class__.start()
        self.ecr, self.v2 = self.__class__.ecr, self.__class__.v2

    def preview(self, repo, policy):
        self.ecr.start_lifecycle_policy_preview(repositoryName=repo,
                                                lifecyclePolicyText=json.dumps(policy))
        out = self.ecr.get_lifecycle_policy_preview(repositoryName=repo)
        self.assertEqual(out["status"], "COMPLETE")
        return out

    def test_transition_by_count_with_a_tag_pattern(self):
        repo = self.repo("archive/bycount")
        old, _, _ = self.push(repo, "rc-1", "1")
        self.push(repo, "rc-2", "2")
        self.push(repo, "stable", "3")
        self.backdate(repo, {"rc-1": {"pushed_at": 2}, "rc-2": {"pushed_at": 1}})
        out = self.preview(repo, {"rules": [{
            "rulePriority": 1,
            "selection": {"tagStatus": "tagged", "tagPatternList": ["rc-*"],
                          "countType": "imageCountMoreThan", "countNumber": 1},
            "action": {"type": "transition", "targetStorageClass": "archive"}}]})
        self.assertEqual([(r["imageDigest"], r["action"], r["storageClass"], r["appliedRulePriority"])
                          for r in out["previewResults"]],
                         [(old, {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}, "STANDARD", 1)])
        self.assertEqual(out["summary"], {"expiringImageTotalCount": 0,
                                          "transitioningImageTotalCounts": [
                                              {"targetStorageClass": "ARCHIVE", "imageTotalCount": 1}]})

    def test_archive_by_pull_time_then_expire_by_archive_time(self):
        repo = self.repo("archive/bytime")
        idle, _, _ = self.push(repo, "idle", "idle")
        recent, _, _ = self.push(repo, "recent", "recent")
        stale, _, _ = self.push(repo, "stale", "stale")
        long_archived, _, _ = self.push(repo, "long", "long")
        self.ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "long"},
                                           targetStorageClass="ARCHIVE")
        self.backdate(repo, {
            "idle": {"pushed_at": 30},                      # never pulled: the push counts
            "recent": {"pushed_at": 30, "pulled_at": 2},
            "stale": {"pushed_at": 30, "pulled_at": 10},
            "long": {"pushed_at": 200, "archived_at": 120},
        })
        policy = {"rules": [
            {"rulePriority": 1, "description": "archive what nobody pulled for a week",
             "selection": {"tagStatus": "any", "countType": "sinceImagePulled",
                           "countUnit": "days", "countNumber": 7},
             "action": {"type": "transition", "targetStorageClass": "archive"}},
            {"rulePriority": 2, "description": "expire what stayed archived 90 days",
             "selection": {"tagStatus": "any", "storageClass": "archive",
                           "countType": "sinceImageTransitioned", "countUnit": "days",
                           "countNumber": 90},
             "action": {"type": "expire"}},
        ]}
        out = self.preview(repo, policy)
        got = {r["imageDigest"]: (r["action"]["type"], r["storageClass"], r["appliedRulePriority"])
               for r in out["previewResults"]}
        self.assertEqual(got, {idle: ("TRANSITION", "STANDARD", 1),
                               stale: ("TRANSITION", "STANDARD", 1),
                               long_archived: ("EXPIRE", "ARCHIVE", 2)})
        self.assertEqual(out["summary"]["expiringImageTotalCount"], 1)
        self.assertEqual(out["summary"]["transitioningImageTotalCounts"],
                         [{"targetStorageClass": "ARCHIVE", "imageTotalCount": 2}])

        # The periodic apply follows the same grammar.
        self.ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=json.dumps(policy))
        applied = subprocess.run([support.ECR_LOCAL, "apply-lifecycle", "--root", self.root],
                                 capture_output=True, text=True, check=True)
        self.assertEqual(applied.stdout, "expired or archived 3 images\n")
        self.assertEqual(self.statuses(repo, "ARCHIVED"), sorted([idle, stale]))
        self.assertEqual(self.statuses(repo, "ACTIVE"), [recent])
        self.assertEqual(error_of(self.ecr.describe_images, repositoryName=repo,
                                  imageIds=[{"imageDigest": long_archived}])[0],
                         "ImageNotFoundException")


if __name__ == "__main__":
    support.ECR_LOCAL = sys.argv.pop(1)
    unittest.main(verbosity=2)

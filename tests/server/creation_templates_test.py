#!/usr/bin/env python3
"""Repository creation templates and create-on-push, through both doors of
ecr-local: the four template operations with boto3 (every setting, paging,
every error), then pushes to repositories that do not exist through the ECR
API, the registry API by hand, skopeo and ecr-push. Usage:

    creation_templates_test.py /path/to/ecr-local /path/to/ecr-push FIXTURES_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402
from registry_api_test import V2, oci_manifest, sha, token_of  # noqa: E402

ECR_PUSH = None
FIXTURES = None
ACCOUNT = "000000000000"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

LIFECYCLE = json.dumps({"rules": [{
    "rulePriority": 1, "description": "keep 5",
    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
    "action": {"type": "expire"}}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]})
KMS_KEY = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::000000000000:role/ecr-templates"


def push_image(ecr, repo, tag="v1", layer=b"layer-bytes", config=b'{"os":"linux"}'):
    """A whole push through the ECR API: check, upload, PutImage."""
    digests = [sha(config), sha(layer)]
    check = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=digests)
    for blob, found in zip((config, layer), check["layers"]):
        if found["layerAvailability"] != "AVAILABLE":
            support.push_blob(ecr, repo, blob)
    return ecr.put_image(repositoryName=repo, imageTag=tag,
                         imageManifest=support.docker_manifest(config, [layer]))


def empty_index():
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()


class TemplateCase(support.ServerCase):
    """One ecr-local for the class; every test starts without templates."""

    root_prefix = "ecr-templates-"

    def setUp(self):
        for page in self.ecr.get_paginator("describe_repository_creation_templates").paginate():
            for t in page["repositoryCreationTemplates"]:
                self.ecr.delete_repository_creation_template(prefix=t["prefix"])

    def template(self, prefix, applied_for=("CREATE_ON_PUSH",), **settings):
        return self.ecr.create_repository_creation_template(
            prefix=prefix, appliedFor=list(applied_for), **settings)["repositoryCreationTemplate"]

    def exists(self, repo):
        return support.error_name(self.ecr.describe_repositories,
                                  repositoryNames=[repo]) == "no error"

    def raw_error(self, operation, body):
        status, _, data = support.raw_post(self.server.port, operation, json.dumps(body))
        return status, json.loads(data)["__type"]


class TemplateOperations(TemplateCase):
    def test_create_echoes_every_setting_and_describe_returns_the_same(self):
        out = self.ecr.create_repository_creation_template(
            prefix="prod/team", appliedFor=["CREATE_ON_PUSH", "REPLICATION", "CREATE_ON_PUSH"],
            description="team repos", imageTagMutability="IMMUTABLE",
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KMS_KEY},
            lifecyclePolicy=LIFECYCLE, repositoryPolicy=POLICY,
            resourceTags=[{"Key": "team", "Value": "infra"}, {"Key": "cost", "Value": "42"}],
            customRoleArn=ROLE)
        self.assertEqual(out["registryId"], ACCOUNT)
        t = out["repositoryCreationTemplate"]
        self.assertEqual(t["prefix"], "prod/team")
        self.assertEqual(t["appliedFor"], ["CREATE_ON_PUSH", "REPLICATION"])
        self.assertEqual(t["description"], "team repos")
        self.assertEqual(t["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(t["encryptionConfiguration"], {"encryptionType": "KMS", "kmsKey": KMS_KEY})
        self.assertEqual(t["lifecyclePolicy"], LIFECYCLE)
        self.assertEqual(t["repositoryPolicy"], POLICY)
        self.assertEqual(t["resourceTags"], [{"Key": "team", "Value": "infra"},
                                             {"Key": "cost", "Value": "42"}])
        self.assertEqual(t["customRoleArn"], ROLE)
        self.assertEqual(t["createdAt"], t["updatedAt"])
        described = self.ecr.describe_repository_creation_templates(prefixes=["prod/team"])
        self.assertEqual(described["registryId"], ACCOUNT)
        self.assertEqual(described["repositoryCreationTemplates"], [t])
        self.assertNotIn("nextToken", described)

    def test_defaults_of_a_minimal_template(self):
        t = self.template("ROOT", applied_for=["PULL_THROUGH_CACHE"])
        self.assertEqual(t["prefix"], "ROOT")
        self.assertEqual(t["imageTagMutability"], "MUTABLE")
        self.assertEqual(t["encryptionConfiguration"], {"encryptionType": "AES256"})
        self.assertEqual(t["resourceTags"], [])
        for absent in ("description", "lifecyclePolicy", "repositoryPolicy", "customRoleArn"):
            self.assertNotIn(absent, t)

    def test_a_trailing_slash_names_the_same_template(self):
        self.assertEqual(self.template("prod/")["prefix"], "prod")
        self.assertEqual(support.error_name(self.template, "prod"),
                         "TemplateAlreadyExistsException")
        self.assertEqual(
            [t["prefix"] for t in self.ecr.describe_repository_creation_templates(
                prefixes=["prod/"])["repositoryCreationTemplates"]], ["prod"])

    def test_create_refuses_what_the_model_and_ecr_refuse(self):
        self.template("dup")
        cases = [
            (dict(prefix="dup", appliedFor=["REPLICATION"]), "TemplateAlreadyExistsException"),
            (dict(prefix="Prod", appliedFor=["CREATE_ON_PUSH"]), "InvalidParameterException"),
            (dict(prefix="/x", appliedFor=["CREATE_ON_PUSH"]), "InvalidParameterException"),
            (dict(prefix="a//b", appliedFor=["CREATE_ON_PUSH"]), "InvalidParameterException"),
            (dict(prefix="root", appliedFor=["CREATE_ON_PUSH"]), "no error"),
            (dict(prefix="a" * 257, appliedFor=["CREATE_ON_PUSH"]), "InvalidParameterException"),
            (dict(prefix="x1", appliedFor=[]), "InvalidParameterException"),
            (dict(prefix="x2", appliedFor=["PUSH"]), "InvalidParameterException"),
            (dict(prefix="x3", appliedFor=["CREATE_ON_PUSH"], description="d" * 257),
             "InvalidParameterException"),
            (dict(prefix="x4", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="SOMETIMES"),
             "InvalidParameterException"),
            (dict(prefix="x5", appliedFor=["CREATE_ON_PUSH"],
                  imageTagMutability="IMMUTABLE_WITH_EXCLUSION"),
             "InvalidParameterException"),
            (dict(prefix="x5b", appliedFor=["CREATE_ON_PUSH"],
                  imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD",
                                                       "filter": "latest"}]),
             "InvalidParameterException"),
            (dict(prefix="x6", appliedFor=["CREATE_ON_PUSH"],
                  encryptionConfiguration={"encryptionType": "AES256", "kmsKey": KMS_KEY}),
             "InvalidParameterException"),
            (dict(prefix="x7", appliedFor=["CREATE_ON_PUSH"],
                  encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "not-a-key"}),
             "InvalidParameterException"),
            (dict(prefix="x8", appliedFor=["CREATE_ON_PUSH"], lifecyclePolicy='{"rules": []}'),
             "InvalidParameterException"),
            (dict(prefix="x9", appliedFor=["CREATE_ON_PUSH"], lifecyclePolicy="{"),
             "InvalidParameterException"),
            (dict(prefix="x10", appliedFor=["CREATE_ON_PUSH"], repositoryPolicy="[1]"),
             "InvalidParameterException"),
            (dict(prefix="x11", appliedFor=["CREATE_ON_PUSH"], repositoryPolicy="x" * 10241),
             "InvalidParameterException"),
            (dict(prefix="x12", appliedFor=["CREATE_ON_PUSH"],
                  resourceTags=[{"Key": "aws:owner", "Value": "x"}]), "InvalidParameterException"),
            (dict(prefix="x13", appliedFor=["CREATE_ON_PUSH"],
                  resourceTags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]),
             "InvalidParameterException"),
            (dict(prefix="x14", appliedFor=["CREATE_ON_PUSH"],
                  resourceTags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]),
             "InvalidParameterException"),
            (dict(prefix="x15", appliedFor=["CREATE_ON_PUSH"],
                  resourceTags=[{"Key": "k" * 129, "Value": "v"}]), "InvalidParameterException"),
            (dict(prefix="x16", appliedFor=["CREATE_ON_PUSH"],
                  customRoleArn="arn:aws:iam::111111111111:role/other"),
             "InvalidParameterException"),
            (dict(prefix="x17", appliedFor=["CREATE_ON_PUSH"], customRoleArn="role"),
             "InvalidParameterException"),
        ]
        for request, expected in cases:
            with self.subTest(request=str(request)[:80]):
                self.assertEqual(
                    support.error_name(self.ecr.create_repository_creation_template, **request),
                    expected)
        # Nothing refused was stored.
        self.assertEqual(
            sorted(t["prefix"] for t in self.ecr.describe_repository_creation_templates()[
                "repositoryCreationTemplates"]), ["dup", "root"])

    def test_lifecycle_policy_errors_read_as_put_lifecycle_policy_s(self):
        try:
            self.template("x", lifecyclePolicy='{"rules": [{"rulePriority": 1}]}')
        except support.ClientError as e:
            self.assertTrue(e.response["Error"]["Message"].startswith(
                "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                "'Lifecycle policy validation failure: "), e.response["Error"]["Message"])
        else:
            self.fail("an invalid lifecycle policy was accepted")

    def test_required_members_and_wrong_types(self):
        self.assertEqual(self.raw_error("CreateRepositoryCreationTemplate", {"prefix": "p"}),
                         (400, "InvalidParameterException"))
        self.assertEqual(self.raw_error("CreateRepositoryCreationTemplate",
                                        {"appliedFor": ["CREATE_ON_PUSH"]}),
                         (400, "InvalidParameterException"))
        self.assertEqual(self.raw_error("CreateRepositoryCreationTemplate",
                                        {"prefix": "p", "appliedFor": "CREATE_ON_PUSH"}),
                         (400, "SerializationException"))
        self.assertEqual(self.raw_error("DeleteRepositoryCreationTemplate", {}),
                         (400, "InvalidParameterException"))
        self.assertEqual(self.raw_error("UpdateRepositoryCreationTemplate", {"description": "d"}),
                         (400, "InvalidParameterException"))

    def test_a_registry_holds_at_most_50_templates(self):
        for i in range(50):
            self.template(f"t{i:02d}")
        self.assertEqual(support.error_name(self.template, "ROOT"), "LimitExceededException")
        self.ecr.delete_repository_creation_template(prefix="t00")
        self.template("ROOT")

    def test_describe_pages_in_prefix_order(self):
        prefixes = ["b", "a/c", "ROOT", "a", "c/d/e"]
        for p in prefixes:
            self.template(p)
        page = self.ecr.describe_repository_creation_templates(maxResults=2)
        self.assertEqual([t["prefix"] for t in page["repositoryCreationTemplates"]],
                         ["ROOT", "a"])
        page2 = self.ecr.describe_repository_creation_templates(maxResults=2,
                                                                nextToken=page["nextToken"])
        self.assertEqual([t["prefix"] for t in page2["repositoryCreationTemplates"]], ["a/c", "b"])
        page3 = self.ecr.describe_repository_creation_templates(maxResults=2,
                                                                nextToken=page2["nextToken"])
        self.assertEqual([t["prefix"] for t in page3["repositoryCreationTemplates"]], ["c/d/e"])
        self.assertNotIn("nextToken", page3)
        everything = [t["prefix"] for p in self.ecr.get_paginator(
            "describe_repository_creation_templates").paginate(PaginationConfig={"PageSize": 1})
            for t in p["repositoryCreationTemplates"]]
        self.assertEqual(everything, sorted(prefixes))
        # prefixes: only the ones that exist, once each, in prefix order.
        named = self.ecr.describe_repository_creation_templates(prefixes=["b", "nope", "a", "b"])
        self.assertEqual([t["prefix"] for t in named["repositoryCreationTemplates"]], ["a", "b"])
        self.assertEqual(self.raw_error("DescribeRepositoryCreationTemplates", {"maxResults": 0}),
                         (400, "InvalidParameterException"))
        self.assertEqual(self.raw_error("DescribeRepositoryCreationTemplates",
                                        {"maxResults": 1001}), (400, "InvalidParameterException"))
        self.assertEqual(support.error_name(self.ecr.describe_repository_creation_templates,
                                            nextToken="forged"), "InvalidParameterException")
        self.assertEqual(support.error_name(self.ecr.describe_repository_creation_templates,
                                            prefixes=["Bad"]), "InvalidParameterException")

    def test_describe_without_templates_is_empty(self):
        out = self.ecr.describe_repository_creation_templates()
        self.assertEqual(out["repositoryCreationTemplates"], [])
        self.assertEqual(out["registryId"], ACCOUNT)

    def test_update_changes_what_it_names_and_keeps_the_rest(self):
        created = self.template("svc", description="first", lifecyclePolicy=LIFECYCLE,
                                resourceTags=[{"Key": "a", "Value": "1"}])
        out = self.ecr.update_repository_creation_template(
            prefix="svc/", description="second", appliedFor=["REPLICATION"],
            imageTagMutability="IMMUTABLE")
        self.assertEqual(out["registryId"], ACCOUNT)
        t = out["repositoryCreationTemplate"]
        self.assertEqual(t["prefix"], "svc")
        self.assertEqual(t["description"], "second")
        self.assertEqual(t["appliedFor"], ["REPLICATION"])
        self.assertEqual(t["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(t["lifecyclePolicy"], LIFECYCLE)
        self.assertEqual(t["resourceTags"], [{"Key": "a", "Value": "1"}])
        self.assertEqual(t["createdAt"], created["createdAt"])
        self.assertGreaterEqual(t["updatedAt"], created["updatedAt"])
        # Empty text clears a setting, an empty tag list clears the tags.
        t = self.ecr.update_repository_creation_template(
            prefix="svc", lifecyclePolicy="", description="", resourceTags=[])[
                "repositoryCreationTemplate"]
        self.assertNotIn("lifecyclePolicy", t)
        self.assertNotIn("description", t)
        self.assertEqual(t["resourceTags"], [])
        self.assertEqual(
            self.ecr.describe_repository_creation_templates(prefixes=["svc"])[
                "repositoryCreationTemplates"], [t])

    def test_exclusion_filters_are_kept_updated_and_applied_on_push(self):
        keep = [{"filterType": "WILDCARD", "filter": "latest"}]
        t = self.template("excl", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=keep)
        self.assertEqual((t["imageTagMutability"], t["imageTagMutabilityExclusionFilters"]),
                         ("IMMUTABLE_WITH_EXCLUSION", keep))
        # Another *_WITH_EXCLUSION mutability alone keeps the filters.
        t = self.ecr.update_repository_creation_template(
            prefix="excl", imageTagMutability="MUTABLE_WITH_EXCLUSION")["repositoryCreationTemplate"]
        self.assertEqual(t["imageTagMutabilityExclusionFilters"], keep)
        t = self.ecr.update_repository_creation_template(
            prefix="excl", imageTagMutability="IMMUTABLE_WITH_EXCLUSION")["repositoryCreationTemplate"]
        push_image(self.ecr, "excl/app", "v1")
        push_image(self.ecr, "excl/app", "latest")
        repo = self.ecr.describe_repositories(repositoryNames=["excl/app"])["repositories"][0]
        self.assertEqual((repo["imageTagMutability"], repo["imageTagMutabilityExclusionFilters"]),
                         ("IMMUTABLE_WITH_EXCLUSION", keep))
        self.assertEqual(support.error_name(push_image, self.ecr, "excl/app", "v1", b"other"),
                         "ImageTagAlreadyExistsException")
        self.assertEqual(support.error_name(push_image, self.ecr, "excl/app", "latest", b"other"),
                         "no error")
        # A plain mutability drops them.
        t = self.ecr.update_repository_creation_template(
            prefix="excl", imageTagMutability="MUTABLE")["repositoryCreationTemplate"]
        self.assertNotIn("imageTagMutabilityExclusionFilters", t)

    def test_update_errors_change_nothing(self):
        before = self.template("svc", lifecyclePolicy=LIFECYCLE)
        self.assertEqual(support.error_name(self.ecr.update_repository_creation_template,
                                            prefix="other", description="x"),
                         "TemplateNotFoundException")
        for bad in (dict(lifecyclePolicy="{}"), dict(repositoryPolicy="nope"),
                    dict(appliedFor=[]), dict(imageTagMutability="MUTABLE_WITH_EXCLUSION"),
                    dict(customRoleArn="arn:aws:iam::111111111111:role/x")):
            with self.subTest(bad=bad):
                self.assertEqual(support.error_name(self.ecr.update_repository_creation_template,
                                                    prefix="svc", **bad),
                                 "InvalidParameterException")
        self.assertEqual(self.ecr.describe_repository_creation_templates(prefixes=["svc"])[
            "repositoryCreationTemplates"], [before])

    def test_delete_returns_the_template_once(self):
        created = self.template("gone", description="bye")
        out = self.ecr.delete_repository_creation_template(prefix="gone")
        self.assertEqual(out["registryId"], ACCOUNT)
        self.assertEqual(out["repositoryCreationTemplate"], created)
        self.assertEqual(support.error_name(self.ecr.delete_repository_creation_template,
                                            prefix="gone"), "TemplateNotFoundException")
        self.assertEqual(support.error_name(self.ecr.delete_repository_creation_template,
                                            prefix="Gone"), "InvalidParameterException")
        self.assertEqual(self.ecr.describe_repository_creation_templates()[
            "repositoryCreationTemplates"], [])


class CreateOnPushThroughTheEcrApi(TemplateCase):
    def test_a_push_creates_the_repository_with_every_setting_of_the_template(self):
        self.template("team", description="d", imageTagMutability="IMMUTABLE",
                      encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KMS_KEY},
                      lifecyclePolicy=LIFECYCLE, repositoryPolicy=POLICY,
                      resourceTags=[{"Key": "team", "Value": "infra"}])
        # The availability check reads only: it creates nothing.
        check = self.ecr.batch_check_layer_availability(
            repositoryName="team/app", layerDigests=[sha(b"x"), "sha256:bad", ""])
        self.assertEqual([(l["layerDigest"], l["layerAvailability"]) for l in check["layers"]],
                         [(sha(b"x"), "UNAVAILABLE")])
        self.assertEqual([f["failureCode"] for f in check["failures"]],
                         ["InvalidLayerDigest", "MissingLayerDigest"])
        self.assertFalse(self.exists("team/app"))
        pushed = push_image(self.ecr, "team/app")
        self.assertEqual(pushed["image"]["imageId"]["imageTag"], "v1")
        repo = self.ecr.describe_repositories(repositoryNames=["team/app"])["repositories"][0]
        self.assertEqual(repo["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(repo["encryptionConfiguration"],
                         {"encryptionType": "KMS", "kmsKey": KMS_KEY})
        self.assertEqual(repo["imageScanningConfiguration"], {"scanOnPush": False})
        self.assertEqual(self.ecr.get_lifecycle_policy(repositoryName="team/app")[
            "lifecyclePolicyText"], LIFECYCLE)
        self.assertEqual(self.ecr.get_repository_policy(repositoryName="team/app")["policyText"],
                         POLICY)
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"],
                         [{"Key": "team", "Value": "infra"}])
        # IMMUTABLE came from the template: the tag cannot move.
        self.assertEqual(support.error_name(push_image, self.ecr, "team/app", "v1", b"other"),
                         "ImageTagAlreadyExistsException")

    def test_initiate_layer_upload_alone_creates_the_repository(self):
        self.template("ROOT")
        self.ecr.initiate_layer_upload(repositoryName="solo")
        self.assertTrue(self.exists("solo"))

    def test_put_image_alone_creates_the_repository_then_applies_its_rules(self):
        self.template("ROOT")
        manifest = support.docker_manifest(b"{}", [b"missing"])
        self.assertEqual(support.error_name(self.ecr.put_image, repositoryName="first-put",
                                            imageTag="v1", imageManifest=manifest),
                         "LayersNotFoundException")
        self.assertTrue(self.exists("first-put"))

    def test_the_longest_matching_prefix_wins_and_root_takes_the_rest(self):
        for prefix in ("ROOT", "lp", "lp/mid"):
            self.template(prefix, resourceTags=[{"Key": "from", "Value": prefix}])
        expected = {"lp/mid/c": "lp/mid", "lp/mid/c/d": "lp/mid", "lp/midst/d": "lp",
                    "lp/mid": "lp", "lp": "ROOT", "lpx/c": "ROOT", "x/y": "ROOT"}
        for repo, template in expected.items():
            with self.subTest(repo=repo):
                self.ecr.initiate_layer_upload(repositoryName=repo)
                arn = self.ecr.describe_repositories(
                    repositoryNames=[repo])["repositories"][0]["repositoryArn"]
                self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=arn)["tags"],
                                 [{"Key": "from", "Value": template}])

    def test_templates_for_other_scenarios_create_nothing(self):
        self.template("ROOT", applied_for=["REPLICATION", "PULL_THROUGH_CACHE"])
        self.template("a", resourceTags=[{"Key": "from", "Value": "a"}])
        self.template("a/b", applied_for=["PULL_THROUGH_CACHE"])
        for call, kwargs in (
                (self.ecr.initiate_layer_upload, {}),
                (self.ecr.batch_check_layer_availability, {"layerDigests": [sha(b"x")]}),
                (self.ecr.put_image, {"imageManifest": support.docker_manifest(b"{}", [])})):
            with self.subTest(call=call.__name__):
                self.assertEqual(support.error_name(call, repositoryName="other/app", **kwargs),
                                 "RepositoryNotFoundException")
        self.assertFalse(self.exists("other/app"))
        # "a/b" is not for pushes: "a" is the longest prefix that is.
        self.ecr.initiate_layer_upload(repositoryName="a/b/c")
        arn = self.ecr.describe_repositories(
            repositoryNames=["a/b/c"])["repositories"][0]["repositoryArn"]
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=arn)["tags"],
                         [{"Key": "from", "Value": "a"}])

    def test_without_templates_a_push_fails_as_before(self):
        for call, kwargs in (
                (self.ecr.initiate_layer_upload, {}),
                (self.ecr.batch_check_layer_availability, {"layerDigests": [sha(b"x")]}),
                (self.ecr.put_image, {"imageManifest": support.docker_manifest(b"{}", [])})):
            with self.subTest(call=call.__name__):
                self.assertEqual(support.error_name(call, repositoryName="nowhere", **kwargs),
                                 "RepositoryNotFoundException")
        self.assertFalse(self.exists("nowhere"))

    def test_a_template_never_changes_a_repository_that_exists(self):
        self.ecr.create_repository(repositoryName="old/app")
        self.template("old", imageTagMutability="IMMUTABLE",
                      resourceTags=[{"Key": "t", "Value": "v"}])
        push_image(self.ecr, "old/app")
        repo = self.ecr.describe_repositories(repositoryNames=["old/app"])["repositories"][0]
        self.assertEqual(repo["imageTagMutability"], "MUTABLE")
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"],
                         [])
        # CreateRepository does not use templates either.
        self.ecr.create_repository(repositoryName="old/explicit")
        self.assertEqual(self.ecr.describe_repositories(repositoryNames=["old/explicit"])[
            "repositories"][0]["imageTagMutability"], "MUTABLE")

    def test_concurrent_first_pushes_make_one_repository(self):
        self.template("race")
        errors = []
        barrier = threading.Barrier(8)

        def push(i):
            try:
                ecr = support.client(self.server.url)
                barrier.wait()
                push_image(ecr, "race/app", tag=f"t{i}", layer=f"layer {i}".encode(),
                           config=f'{{"os":"linux","n":{i}}}'.encode())
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(repr(e))

        threads = [threading.Thread(target=push, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        names = [r["repositoryName"] for r in self.ecr.describe_repositories()["repositories"]]
        self.assertEqual(names.count("race/app"), 1)
        tags = sorted(i["imageTag"] for i in self.ecr.list_images(
            repositoryName="race/app")["imageIds"])
        self.assertEqual(tags, [f"t{i}" for i in range(8)])

    def test_templates_survive_a_restart(self):
        self.template("keep", description="kept")
        type(self).restart()
        kept = self.ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
        self.assertEqual([t["description"] for t in kept], ["kept"])
        self.ecr.initiate_layer_upload(repositoryName="keep/app")
        self.assertTrue(self.exists("keep/app"))


class CreateOnPushThroughTheRegistryApi(TemplateCase):
    def setUp(self):
        super().setUp()
        self.v2 = V2(self.server.port, token_of(self.ecr))

    def tearDown(self):
        self.v2.conn.close()

    def test_a_monolithic_blob_post_creates_the_repository(self):
        self.template("mono", resourceTags=[{"Key": "door", "Value": "v2"}])
        data = b"whole blob"
        status, headers, body = self.v2.request(
            "POST", f"/v2/mono/app/blobs/uploads/?digest={sha(data)}", data,
            {"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["docker-content-digest"], sha(data))
        arn = self.ecr.describe_repositories(
            repositoryNames=["mono/app"])["repositories"][0]["repositoryArn"]
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=arn)["tags"],
                         [{"Key": "door", "Value": "v2"}])

    def test_a_chunked_push_and_its_manifest_go_into_the_new_repository(self):
        self.template("chunks", imageTagMutability="IMMUTABLE")
        config, layer = b'{"os":"linux"}', os.urandom(3000)
        # A HEAD is a read: 404, and nothing is created.
        status, _, _ = self.v2.request("HEAD", f"/v2/chunks/app/blobs/{sha(layer)}")
        self.assertEqual(status, 404)
        self.assertFalse(self.exists("chunks/app"))
        self.v2.push_blob("chunks/app", config)
        self.v2.push_blob("chunks/app", layer, chunk=1000)
        status, _, body = self.v2.put_manifest("chunks/app", "v1", oci_manifest(config, [layer]))
        self.assertEqual(status, 201, body)
        repo = self.ecr.describe_repositories(repositoryNames=["chunks/app"])["repositories"][0]
        self.assertEqual(repo["imageTagMutability"], "IMMUTABLE")
        images = self.ecr.list_images(repositoryName="chunks/app")["imageIds"]
        self.assertEqual([i["imageTag"] for i in images], ["v1"])

    def test_a_manifest_put_creates_the_repository(self):
        self.template("ROOT")
        status, headers, body = self.v2.put_manifest("index-first", "v1", empty_index(), OCI_INDEX)
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["docker-content-digest"], sha(empty_index()))
        self.assertTrue(self.exists("index-first"))

    def test_a_mount_creates_the_repository(self):
        self.ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
        try:
            self.ecr.create_repository(repositoryName="source")
            push_image(self.ecr, "source", layer=b"mounted layer")
            self.template("mounted")
            status, headers, body = self.v2.request(
                "POST", f"/v2/mounted/app/blobs/uploads/?mount={sha(b'mounted layer')}&from=source")
            self.assertEqual(status, 201, body)
            status, _, _ = self.v2.request("HEAD", f"/v2/mounted/app/blobs/{sha(b'mounted layer')}")
            self.assertEqual(status, 200)
        finally:
            self.ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")

    def test_without_a_push_template_the_registry_api_answers_name_unknown(self):
        self.template("ROOT", applied_for=["REPLICATION"])
        for method, path, body, headers in (
                ("POST", "/v2/none/app/blobs/uploads/", None, {}),
                ("POST", f"/v2/none/app/blobs/uploads/?digest={sha(b'x')}", b"x", {}),
                ("PUT", "/v2/none/app/manifests/v1", empty_index(), {"Content-Type": OCI_INDEX})):
            with self.subTest(method=method, path=path):
                status, _, data = self.v2.request(method, path, body, headers)
                self.assertEqual((status, self.v2.error_code(data)), (404, "NAME_UNKNOWN"))
        self.assertFalse(self.exists("none/app"))

    def test_concurrent_first_uploads_make_one_repository(self):
        self.template("race2")
        password = token_of(self.ecr)
        errors = []
        barrier = threading.Barrier(8)

        def upload(i):
            v2 = V2(self.server.port, password)
            try:
                data = f"blob {i}".encode()
                barrier.wait()
                status, _, body = v2.request(
                    "POST", f"/v2/race2/app/blobs/uploads/?digest={sha(data)}", data)
                if status != 201:
                    errors.append((status, body))
            finally:
                v2.conn.close()

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        names = [r["repositoryName"] for r in self.ecr.describe_repositories()["repositories"]]
        self.assertEqual(names.count("race2/app"), 1)


class CreateOnPushWithTools(TemplateCase):
    def env(self):
        return dict(os.environ, AWS_ACCESS_KEY_ID=support.ACCESS,
                    AWS_SECRET_ACCESS_KEY=support.SECRET, AWS_REGION="us-east-1",
                    AWS_ENDPOINT_URL_ECR=self.server.url, HOME=self.root,
                    XDG_CACHE_HOME=os.path.join(self.root, "cache"))

    def ecr_push(self, *args):
        return subprocess.run([ECR_PUSH, "--quiet", *args], env=self.env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)

    def test_ecr_push_without_create_repository_uses_the_template(self):
        self.template("tools", resourceTags=[{"Key": "via", "Value": "template"}])
        r = self.ecr_push(f"oci-archive:{FIXTURES}/hello.oci.tar", "tools/push:v1")
        self.assertEqual(r.returncode, 0, r.stderr)
        arn = self.ecr.describe_repositories(
            repositoryNames=["tools/push"])["repositories"][0]["repositoryArn"]
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=arn)["tags"],
                         [{"Key": "via", "Value": "template"}])

    def test_ecr_push_without_create_repository_or_template_fails(self):
        r = self.ecr_push(f"oci-archive:{FIXTURES}/hello.oci.tar", "untemplated:v1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("RepositoryNotFoundException", r.stderr)

    def test_ecr_push_create_repository_with_and_without_templates(self):
        r = self.ecr_push("--create-repository", f"oci-archive:{FIXTURES}/hello.oci.tar",
                          "plain/app:v1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.template("ROOT", imageTagMutability="IMMUTABLE")
        # CreateRepository makes the repository with its own (default)
        # settings; the template is for repositories ECR creates by itself.
        r = self.ecr_push("--create-repository", f"oci-archive:{FIXTURES}/hello.oci.tar",
                          "explicit/app:v1")
        self.assertEqual(r.returncode, 0, r.stderr)
        repos = {r["repositoryName"]: r["imageTagMutability"]
                 for r in self.ecr.describe_repositories()["repositories"]}
        self.assertEqual(repos["plain/app"], "MUTABLE")
        self.assertEqual(repos["explicit/app"], "MUTABLE")

    @unittest.skipUnless(shutil.which("skopeo"), "skopeo is not installed")
    def test_skopeo_copies_an_oci_archive_into_a_new_repository(self):
        self.template("skopeo", resourceTags=[{"Key": "via", "Value": "skopeo"}])
        r = subprocess.run(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             "--dest-creds", f"AWS:{token_of(self.ecr)}", f"oci-archive:{FIXTURES}/hello.oci.tar",
             f"docker://127.0.0.1:{self.server.port}/skopeo/hello:v1"],
            env=self.env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        repo = self.ecr.describe_repositories(repositoryNames=["skopeo/hello"])["repositories"][0]
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"],
                         [{"Key": "via", "Value": "skopeo"}])
        self.assertEqual(self.ecr.list_images(repositoryName="skopeo/hello")["imageIds"][0][
            "imageTag"], "v1")


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    ECR_PUSH = os.path.abspath(sys.argv.pop(1))
    FIXTURES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Registry-wide configuration that ecr-local stores and echoes, driven with
boto3: signing configuration and image signing status, pull-time update
exclusions, the registry policy, registry and repository scanning
configuration, manual image scans and account settings. Every success path
with its exact answer and ECR's defaults, every model error for bad input,
the not-found errors, and persistence across a restart. Usage:

    echoed_settings_test.py /path/to/ecr-local
"""
import datetime
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecr_local_boto3 as support  # noqa: E402  (Server, client, push_blob)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

ACCOUNT = "000000000000"
PROFILE_A = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/team_a"
PROFILE_B = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/team_b"
ROLE = "arn:aws:iam::123456789012:role/scanner"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "replicate", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
    "Resource": "arn:aws:ecr:us-east-1:000000000000:repository/*"}]})
SCAN_DESCRIPTION = "ecr-local does not scan images: no vulnerability findings are produced"
SIGNING_REASON = ("ecr-local does not sign images: the signing configuration is stored, "
                  "not applied")


def unchecked_client(url):
    """A client that sends what it is given: botocore's own parameter checks
    would stop the bad requests before ecr-local sees them."""
    return boto3.client("ecr", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=support.ACCESS, aws_secret_access_key=support.SECRET,
                        config=Config(retries={"max_attempts": 1}, parameter_validation=False))


def error_of(call, **kwargs):
    """(code, message) of the error `call` answers, or ("no error", "")."""
    try:
        call(**kwargs)
    except support.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return "no error", ""


def push_image(ecr, repo, tag, salt=b""):
    layer = b"layer of " + repo.encode() + salt
    for blob in (layer, support.CONFIG):
        known = ecr.batch_check_layer_availability(repositoryName=repo,
                                                   layerDigests=[support.sha(blob)])
        if known["layers"][0]["layerAvailability"] != "AVAILABLE":
            support.push_blob(ecr, repo, blob)
    manifest = support.docker_manifest(support.CONFIG, [layer])
    ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)
    return support.sha(manifest.encode())


def raw_error(port, operation, body):
    """The error type ecr-local answers `body` (bytes, sent as they are) with."""
    status, _, data = support.raw_post(port, operation, body)
    return status, json.loads(data).get("__type")


def strip(answer):
    answer = dict(answer)
    answer.pop("ResponseMetadata", None)
    return answer


class EchoedSettings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="ecr-local-echoed-")
        cls.server = support.Server(cls.root)
        cls.ecr = support.client(cls.server.url)
        cls.raw = unchecked_client(cls.server.url)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def assertError(self, code, call, message=None, **kwargs):
        got_code, got_message = error_of(call, **kwargs)
        self.assertEqual(got_code, code, (kwargs, got_message))
        if message is not None:
            self.assertEqual(got_message, message)

    # --- signing ---------------------------------------------------------
    def test_signing_configuration_put_get_delete(self):
        not_found = f"No signing configuration exists in the registry with id '{ACCOUNT}'"
        self.assertError("SigningConfigurationNotFoundException",
                         self.ecr.get_signing_configuration, not_found)
        self.assertError("SigningConfigurationNotFoundException",
                         self.ecr.delete_signing_configuration, not_found)
        config = {"rules": [
            {"signingProfileArn": PROFILE_A,
             "repositoryFilters": [{"filter": "team-a/*", "filterType": "WILDCARD_MATCH"}]},
            {"signingProfileArn": PROFILE_B}]}
        self.assertEqual(strip(self.ecr.put_signing_configuration(signingConfiguration=config)),
                         {"signingConfiguration": config})
        self.assertEqual(strip(self.ecr.get_signing_configuration()),
                         {"registryId": ACCOUNT, "signingConfiguration": config})
        # A put replaces the whole configuration; no rules is a configuration too.
        self.assertEqual(strip(self.ecr.put_signing_configuration(
            signingConfiguration={"rules": []})), {"signingConfiguration": {"rules": []}})
        self.assertEqual(strip(self.ecr.get_signing_configuration()),
                         {"registryId": ACCOUNT, "signingConfiguration": {"rules": []}})
        self.assertEqual(strip(self.ecr.delete_signing_configuration()),
                         {"registryId": ACCOUNT, "signingConfiguration": {"rules": []}})
        self.assertError("SigningConfigurationNotFoundException",
                         self.ecr.get_signing_configuration, not_found)

    def test_signing_configuration_model_errors(self):
        put = self.raw.put_signing_configuration
        rule = {"signingProfileArn": PROFILE_A}
        cases = [
            {},
            {"signingConfiguration": {}},
            {"signingConfiguration": {"rules": [rule] * 11}},
            {"signingConfiguration": {"rules": [{}]}},
            {"signingConfiguration": {"rules": [{"signingProfileArn": "arn:aws:iam::1:role/x"}]}},
            {"signingConfiguration": {"rules": [{"signingProfileArn": PROFILE_A + "x" * 200}]}},
            {"signingConfiguration": {"rules": [dict(rule, repositoryFilters=[])]}},
            {"signingConfiguration": {"rules": [dict(rule, repositoryFilters=[
                {"filter": "a", "filterType": "WILDCARD"}])]}},
            {"signingConfiguration": {"rules": [dict(rule, repositoryFilters=[
                {"filter": "Upper/Case", "filterType": "WILDCARD_MATCH"}])]}},
            {"signingConfiguration": {"rules": [dict(rule, repositoryFilters=[
                {"filter": "a" * 257, "filterType": "WILDCARD_MATCH"}])]}},
            {"signingConfiguration": {"rules": [dict(rule, repositoryFilters=[
                {"filterType": "WILDCARD_MATCH"}])]}},
            {"signingConfiguration": {"rules": [dict(rule, repositoryFilters=[
                {"filter": "a", "filterType": "WILDCARD_MATCH"}] * 101)]}},
        ]
        for kwargs in cases:
            self.assertError("InvalidParameterException", put, **kwargs)
        self.assertEqual(raw_error(self.server.port, "PutSigningConfiguration",
                                   b'{"signingConfiguration": {"rules": "all"}}'),
                         (400, "SerializationException"))
        self.assertError("SigningConfigurationNotFoundException",
                         self.ecr.get_signing_configuration)

    def test_image_signing_status_reports_each_applicable_profile_as_not_signed(self):
        self.ecr.create_repository(repositoryName="team-a/app")
        self.ecr.create_repository(repositoryName="other")
        digest = push_image(self.ecr, "team-a/app", "v1")
        push_image(self.ecr, "other", "v1")
        status = self.ecr.describe_image_signing_status
        # No signing configuration: no profile applies.
        self.assertEqual(strip(status(repositoryName="team-a/app", imageId={"imageTag": "v1"})),
                         {"repositoryName": "team-a/app", "registryId": ACCOUNT,
                          "imageId": {"imageDigest": digest, "imageTag": "v1"},
                          "signingStatuses": []})
        self.ecr.put_signing_configuration(signingConfiguration={"rules": [
            {"signingProfileArn": PROFILE_A,
             "repositoryFilters": [{"filter": "team-a/*", "filterType": "WILDCARD_MATCH"}]},
            {"signingProfileArn": PROFILE_A},
            {"signingProfileArn": PROFILE_B,
             "repositoryFilters": [{"filter": "nothing*", "filterType": "WILDCARD_MATCH"}]}]})
        try:
            failed_a = {"signingProfileArn": PROFILE_A, "failureCode": "SIGNING_NOT_SUPPORTED",
                        "failureReason": SIGNING_REASON, "status": "FAILED"}
            answer = status(repositoryName="team-a/app", imageId={"imageDigest": digest})
            self.assertEqual(answer["imageId"], {"imageDigest": digest})
            self.assertEqual(answer["signingStatuses"], [failed_a])
            # The unfiltered rule applies to every repository.
            self.assertEqual(status(repositoryName="other", imageId={"imageTag": "v1"})
                             ["signingStatuses"], [failed_a])
        finally:
            self.ecr.delete_signing_configuration()
        self.assertError(
            "ImageNotFoundException", status,
            "The image with imageId {imageTag:'v9'} does not exist within the repository with "
            f"name 'team-a/app' in the registry with id '{ACCOUNT}'",
            repositoryName="team-a/app", imageId={"imageTag": "v9"})
        self.assertError("RepositoryNotFoundException", status, repositoryName="missing",
                         imageId={"imageTag": "v1"})
        self.assertError("InvalidParameterException", self.raw.describe_image_signing_status,
                         repositoryName="team-a/app", imageId={})
        self.assertError("InvalidParameterException", self.raw.describe_image_signing_status,
                         repositoryName="team-a/app")
        self.assertError("InvalidParameterException", self.raw.describe_image_signing_status,
                         repositoryName="Team-A", imageId={"imageTag": "v1"})
        self.assertError("InvalidParameterException", status, repositoryName="team-a/app",
                         imageId={"imageTag": "v1"}, registryId="123456789012")

    # --- pull-time update exclusions -------------------------------------
    def test_pull_time_update_exclusions(self):
        self.assertEqual(strip(self.ecr.list_pull_time_update_exclusions()),
                         {"pullTimeUpdateExclusions": []})
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        added = strip(self.ecr.register_pull_time_update_exclusion(principalArn=ROLE))
        self.assertEqual(added["principalArn"], ROLE)
        self.assertLessEqual(before, added["createdAt"])
        self.assertLess(added["createdAt"] - before, datetime.timedelta(seconds=60))
        self.assertError(
            "ExclusionAlreadyExistsException", self.ecr.register_pull_time_update_exclusion,
            f"The principal '{ROLE}' is already excluded from pull time updates in the "
            f"registry with id '{ACCOUNT}'", principalArn=ROLE)
        user = "arn:aws:iam::123456789012:user/ci/bot"
        self.ecr.register_pull_time_update_exclusion(principalArn=user)
        self.assertEqual(self.ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"],
                         [ROLE, user])
        first = self.ecr.list_pull_time_update_exclusions(maxResults=1)
        self.assertEqual(first["pullTimeUpdateExclusions"], [ROLE])
        second = self.ecr.list_pull_time_update_exclusions(maxResults=1,
                                                           nextToken=first["nextToken"])
        self.assertEqual(strip(second), {"pullTimeUpdateExclusions": [user]})
        self.assertEqual(strip(self.ecr.deregister_pull_time_update_exclusion(principalArn=user)),
                         {"principalArn": user})
        self.assertError(
            "ExclusionNotFoundException", self.ecr.deregister_pull_time_update_exclusion,
            f"The principal '{user}' is not excluded from pull time updates in the registry "
            f"with id '{ACCOUNT}'", principalArn=user)
        self.ecr.deregister_pull_time_update_exclusion(principalArn=ROLE)
        self.assertEqual(self.ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"],
                         [])

    def test_pull_time_update_exclusion_limit_is_100(self):
        arns = [f"arn:aws:iam::123456789012:role/limit-{i:03}" for i in range(100)]
        try:
            for arn in arns:
                self.ecr.register_pull_time_update_exclusion(principalArn=arn)
            self.assertError(
                "LimitExceededException", self.ecr.register_pull_time_update_exclusion,
                f"The registry with id '{ACCOUNT}' already has the maximum of 100 pull time "
                "update exclusions", principalArn="arn:aws:iam::123456789012:role/one-more")
            page = self.ecr.list_pull_time_update_exclusions()
            self.assertEqual((page["pullTimeUpdateExclusions"], "nextToken" in page), (arns, False))
        finally:
            for arn in arns:
                self.ecr.deregister_pull_time_update_exclusion(principalArn=arn)

    def test_pull_time_update_exclusion_model_errors(self):
        for arn in ["", "arn:aws:iam::123456789012:group/devs", "arn:aws:iam::12345:role/x",
                    "arn:aws:sts::123456789012:assumed-role/x/y", "role/x",
                    "arn:aws:iam::123456789012:role/" + "x" * 200]:
            self.assertError("InvalidParameterException",
                             self.raw.register_pull_time_update_exclusion, principalArn=arn)
            self.assertError("InvalidParameterException",
                             self.raw.deregister_pull_time_update_exclusion, principalArn=arn)
        self.assertError("InvalidParameterException", self.raw.register_pull_time_update_exclusion)
        self.assertEqual(raw_error(self.server.port, "RegisterPullTimeUpdateExclusion",
                                   b'{"principalArn": ["x"]}'), (400, "SerializationException"))
        for max_results in (0, 1001):
            self.assertError("InvalidParameterException",
                             self.raw.list_pull_time_update_exclusions, maxResults=max_results)
        self.assertError(
            "InvalidParameterException", self.ecr.list_pull_time_update_exclusions,
            "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination "
            "token'", nextToken="forged")

    # --- registry policy --------------------------------------------------
    def test_registry_policy_put_get_delete(self):
        not_found = f"Registry policy does not exist in the registry with id '{ACCOUNT}'"
        self.assertError("RegistryPolicyNotFoundException", self.ecr.get_registry_policy,
                         not_found)
        self.assertError("RegistryPolicyNotFoundException", self.ecr.delete_registry_policy,
                         not_found)
        self.assertEqual(strip(self.ecr.put_registry_policy(policyText=POLICY)),
                         {"registryId": ACCOUNT, "policyText": POLICY})
        self.assertEqual(strip(self.ecr.get_registry_policy()),
                         {"registryId": ACCOUNT, "policyText": POLICY})
        invalid = ("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid "
                   "registry policy provided'")
        for text in ["", "{not json", "[1, 2]", '"text"']:
            self.assertError("InvalidParameterException", self.raw.put_registry_policy, invalid,
                             policyText=text)
        too_long = json.dumps({"Version": "2012-10-17", "Sid": "x" * 10240})
        self.assertError("InvalidParameterException", self.raw.put_registry_policy,
                         policyText=too_long)
        self.assertError("InvalidParameterException", self.raw.put_registry_policy)
        self.assertEqual(raw_error(self.server.port, "PutRegistryPolicy", b'{"policyText": 5}'),
                         (400, "SerializationException"))
        # Refused puts left the policy as it was.
        self.assertEqual(self.ecr.get_registry_policy()["policyText"], POLICY)
        self.assertEqual(strip(self.ecr.delete_registry_policy()),
                         {"registryId": ACCOUNT, "policyText": POLICY})
        self.assertError("RegistryPolicyNotFoundException", self.ecr.get_registry_policy,
                         not_found)

    # --- scanning ---------------------------------------------------------
    def test_registry_scanning_configuration_defaults_put_and_validation(self):
        basic = {"scanType": "BASIC", "rules": []}
        self.assertEqual(strip(self.ecr.get_registry_scanning_configuration()),
                         {"registryId": ACCOUNT, "scanningConfiguration": basic})
        enhanced = {"scanType": "ENHANCED", "rules": [
            {"scanFrequency": "CONTINUOUS_SCAN",
             "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]},
            {"scanFrequency": "SCAN_ON_PUSH",
             "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]}
        try:
            self.assertEqual(strip(self.ecr.put_registry_scanning_configuration(**enhanced)),
                             {"registryScanningConfiguration": enhanced})
            self.assertEqual(strip(self.ecr.get_registry_scanning_configuration()),
                             {"registryId": ACCOUNT, "scanningConfiguration": enhanced})
            put = self.raw.put_registry_scanning_configuration
            rule = {"scanFrequency": "SCAN_ON_PUSH",
                    "repositoryFilters": [{"filter": "a", "filterType": "WILDCARD"}]}
            self.assertError(
                "InvalidParameterException", put,
                "Invalid parameter at 'rules[0].scanFrequency' failed to satisfy constraint: "
                "'scanFrequency CONTINUOUS_SCAN is not supported with scanType BASIC'",
                scanType="BASIC", rules=[dict(rule, scanFrequency="CONTINUOUS_SCAN")])
            self.assertError("InvalidParameterException", put, scanType="ENHANCED",
                             rules=[dict(rule, scanFrequency="MANUAL")])
            for kwargs in [{"scanType": "DEEP"}, {"rules": [rule] * 3},
                           {"rules": [dict(rule, scanFrequency="HOURLY")]},
                           {"rules": [{"scanFrequency": "SCAN_ON_PUSH"}]},
                           {"rules": [dict(rule, repositoryFilters=[
                               {"filter": "a", "filterType": "WILDCARD_MATCH"}])]},
                           {"rules": [dict(rule, repositoryFilters=[
                               {"filter": "A", "filterType": "WILDCARD"}])]},
                           {"rules": [dict(rule, repositoryFilters=[
                               {"filter": "a" * 256, "filterType": "WILDCARD"}])]},
                           {"rules": [dict(rule, repositoryFilters=[
                               {"filter": "a", "filterType": "WILDCARD"}] * 101)]}]:
                self.assertError("InvalidParameterException", put, **kwargs)
            # Refused puts left the configuration as it was.
            self.assertEqual(self.ecr.get_registry_scanning_configuration()
                             ["scanningConfiguration"], enhanced)
            # A put without members is ECR's default again.
            self.assertEqual(strip(self.ecr.put_registry_scanning_configuration()),
                             {"registryScanningConfiguration": basic})
        finally:
            self.ecr.put_registry_scanning_configuration()

    def test_repository_scanning_configuration_follows_registry_rules(self):
        self.ecr.create_repository(repositoryName="prod-api",
                                   imageScanningConfiguration={"scanOnPush": True})
        self.ecr.create_repository(repositoryName="dev-api")
        batch = self.ecr.batch_get_repository_scanning_configuration

        def config(name, frequency, scan_on_push, filters):
            return {"repositoryArn": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}",
                    "repositoryName": name, "scanOnPush": scan_on_push,
                    "scanFrequency": frequency, "appliedScanFilters": filters}
        # No registry rules: the repository's scanOnPush decides.
        self.assertEqual(strip(batch(repositoryNames=["prod-api", "dev-api", "gone"])), {
            "scanningConfigurations": [config("prod-api", "SCAN_ON_PUSH", True, []),
                                       config("dev-api", "MANUAL", False, [])],
            "failures": [{"repositoryName": "gone", "failureCode": "REPOSITORY_NOT_FOUND",
                          "failureReason": "REPOSITORY_NOT_FOUND"}]})
        prod = {"filter": "prod-*", "filterType": "WILDCARD"}
        every = {"filter": "*", "filterType": "WILDCARD"}
        self.ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [every]},
            {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [prod]}])
        try:
            # Continuous scanning wins where both rules match.
            self.assertEqual(batch(repositoryNames=["prod-api", "dev-api"])
                             ["scanningConfigurations"],
                             [config("prod-api", "CONTINUOUS_SCAN", True, [prod]),
                              config("dev-api", "SCAN_ON_PUSH", False, [every])])
        finally:
            self.ecr.put_registry_scanning_configuration()
        raw = self.raw.batch_get_repository_scanning_configuration
        self.assertError("InvalidParameterException", raw, repositoryNames=[])
        self.assertError("InvalidParameterException", raw, repositoryNames=["a"] * 26)
        self.assertError("InvalidParameterException", raw, repositoryNames=["Bad Name"])
        self.assertError("InvalidParameterException", raw)

    def test_manual_image_scan_is_recorded_as_unsupported(self):
        self.ecr.create_repository(repositoryName="scans")
        digest = push_image(self.ecr, "scans", "v1")
        findings = self.ecr.describe_image_scan_findings
        self.assertError(
            "ScanNotFoundException", findings,
            f"Image scan does not exist for the image with '{{imageDigest:'{digest}', "
            f"imageTag:'v1'}}' in the repository with name 'scans' in the registry with id "
            f"'{ACCOUNT}'", repositoryName="scans", imageId={"imageTag": "v1"})
        status = {"status": "UNSUPPORTED_IMAGE", "description": SCAN_DESCRIPTION}
        self.assertEqual(strip(self.ecr.start_image_scan(repositoryName="scans",
                                                         imageId={"imageTag": "v1"})),
                         {"registryId": ACCOUNT, "repositoryName": "scans",
                          "imageId": {"imageDigest": digest, "imageTag": "v1"},
                          "imageScanStatus": status})
        self.assertEqual(strip(findings(repositoryName="scans", imageId={"imageDigest": digest})),
                         {"registryId": ACCOUNT, "repositoryName": "scans",
                          "imageId": {"imageDigest": digest}, "imageScanStatus": status,
                          "imageScanFindings": {"findings": [], "findingSeverityCounts": {}}})
        detail = self.ecr.describe_images(repositoryName="scans")["imageDetails"][0]
        self.assertEqual(detail["imageScanStatus"], status)
        self.assertNotIn("imageScanFindingsSummary", detail)
        # A scan may be started again (ecr-local has no daily scan quota).
        self.ecr.start_image_scan(repositoryName="scans", imageId={"imageDigest": digest})
        # The scan goes with its image.
        self.ecr.batch_delete_image(repositoryName="scans", imageIds=[{"imageDigest": digest}])
        push_image(self.ecr, "scans", "v1")
        self.assertError("ScanNotFoundException", findings, repositoryName="scans",
                         imageId={"imageTag": "v1"})
        self.assertNotIn("imageScanStatus",
                         self.ecr.describe_images(repositoryName="scans")["imageDetails"][0])
        for call in (self.ecr.start_image_scan, findings):
            self.assertError(
                "ImageNotFoundException", call,
                "The image with imageId {imageTag:'v2'} does not exist within the repository "
                f"with name 'scans' in the registry with id '{ACCOUNT}'",
                repositoryName="scans", imageId={"imageTag": "v2"})
            self.assertError(
                "RepositoryNotFoundException", call,
                f"The repository with name 'nope' does not exist in the registry with id "
                f"'{ACCOUNT}'", repositoryName="nope", imageId={"imageTag": "v1"})
        for raw in (self.raw.start_image_scan, self.raw.describe_image_scan_findings):
            self.assertError("InvalidParameterException", raw, repositoryName="scans", imageId={})
            self.assertError("InvalidParameterException", raw, repositoryName="scans")
            self.assertError("InvalidParameterException", raw, repositoryName="scans",
                             imageId={"imageTag": ""})
            self.assertError("InvalidParameterException", raw, repositoryName="scans",
                             imageId={"imageTag": "v1"}, registryId="123")
        for max_results in (0, 1001):
            self.assertError("InvalidParameterException", self.raw.describe_image_scan_findings,
                             repositoryName="scans", imageId={"imageTag": "v1"},
                             maxResults=max_results)
        self.assertError("InvalidParameterException", findings, repositoryName="scans",
                         imageId={"imageTag": "v1"}, nextToken="forged")

    # --- account settings -------------------------------------------------
    def test_account_settings_defaults_values_and_errors(self):
        defaults = {"BASIC_SCAN_TYPE_VERSION": "AWS_NATIVE", "REGISTRY_POLICY_SCOPE": "V2",
                    "BLOB_MOUNTING": "DISABLED"}
        for name, value in defaults.items():
            self.assertEqual(strip(self.ecr.get_account_setting(name=name)),
                             {"name": name, "value": value})
        allowed = {"BASIC_SCAN_TYPE_VERSION": ["AWS_NATIVE"], "REGISTRY_POLICY_SCOPE": ["V1", "V2"],
                   "BLOB_MOUNTING": ["ENABLED", "DISABLED"]}
        for name, values in allowed.items():
            for value in values:
                self.assertEqual(strip(self.ecr.put_account_setting(name=name, value=value)),
                                 {"name": name, "value": value})
                self.assertEqual(self.ecr.get_account_setting(name=name)["value"], value)
        self.assertError(
            "InvalidParameterException", self.ecr.put_account_setting,
            "Invalid parameter at 'value' failed to satisfy constraint: 'Value of "
            "BASIC_SCAN_TYPE_VERSION must be one of AWS_NATIVE'",
            name="BASIC_SCAN_TYPE_VERSION", value="CLAIR")
        self.assertError(
            "InvalidParameterException", self.ecr.put_account_setting,
            "Invalid parameter at 'value' failed to satisfy constraint: 'Value of "
            "REGISTRY_POLICY_SCOPE must be one of V2, V1'", name="REGISTRY_POLICY_SCOPE",
            value="V3")
        self.assertError("InvalidParameterException", self.ecr.put_account_setting,
                         name="BLOB_MOUNTING", value="enabled")
        unknown = ("Invalid parameter at 'name' failed to satisfy constraint: 'Account setting "
                   "name PULL_TIME is not supported'")
        self.assertError("InvalidParameterException", self.ecr.get_account_setting, unknown,
                         name="PULL_TIME")
        self.assertError("InvalidParameterException", self.ecr.put_account_setting, unknown,
                         name="PULL_TIME", value="ON")
        for kwargs in [{"name": ""}, {"name": "X" * 65}, {}]:
            self.assertError("InvalidParameterException", self.raw.get_account_setting, **kwargs)
        self.assertError("InvalidParameterException", self.raw.put_account_setting,
                         name="BLOB_MOUNTING")
        self.assertEqual(raw_error(self.server.port, "PutAccountSetting",
                                   b'{"name": "BLOB_MOUNTING", "value": true}'),
                         (400, "SerializationException"))
        self.assertEqual(self.ecr.get_account_setting(name="BLOB_MOUNTING")["value"], "DISABLED")


class Persistence(unittest.TestCase):
    """Everything put survives a restart of ecr-local on the same root."""

    def test_settings_survive_a_restart(self):
        root = tempfile.mkdtemp(prefix="ecr-local-echoed-restart-")
        server = support.Server(root)
        try:
            ecr = support.client(server.url)
            signing = {"rules": [{"signingProfileArn": PROFILE_A}]}
            scanning = {"scanType": "ENHANCED", "rules": [
                {"scanFrequency": "CONTINUOUS_SCAN",
                 "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]}
            ecr.put_signing_configuration(signingConfiguration=signing)
            ecr.put_registry_policy(policyText=POLICY)
            ecr.put_registry_scanning_configuration(**scanning)
            ecr.register_pull_time_update_exclusion(principalArn=ROLE)
            ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
            ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
            ecr.create_repository(repositoryName="kept")
            digest = push_image(ecr, "kept", "v1")
            ecr.start_image_scan(repositoryName="kept", imageId={"imageTag": "v1"})
            self.assertEqual(server.stop(), 0)

            server = support.Server(root)
            ecr = support.client(server.url)
            self.assertEqual(ecr.get_signing_configuration()["signingConfiguration"], signing)
            self.assertEqual(ecr.get_registry_policy()["policyText"], POLICY)
            self.assertEqual(ecr.get_registry_scanning_configuration()["scanningConfiguration"],
                             scanning)
            self.assertEqual(ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"],
                             [ROLE])
            self.assertEqual(error_of(ecr.register_pull_time_update_exclusion,
                                      principalArn=ROLE)[0], "ExclusionAlreadyExistsException")
            self.assertEqual(ecr.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"], "V1")
            self.assertEqual(ecr.get_account_setting(name="BLOB_MOUNTING")["value"], "ENABLED")
            self.assertEqual(ecr.get_account_setting(name="BASIC_SCAN_TYPE_VERSION")["value"],
                             "AWS_NATIVE")
            scan = ecr.describe_image_scan_findings(repositoryName="kept",
                                                    imageId={"imageDigest": digest})
            self.assertEqual(scan["imageScanStatus"],
                             {"status": "UNSUPPORTED_IMAGE", "description": SCAN_DESCRIPTION})
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    support.ECR_LOCAL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

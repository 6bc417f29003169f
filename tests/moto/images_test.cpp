// Images through ecr::Client against moto_server: put, list, describe,
// batch get, batch delete and scans, with failures reported as data where
// ECR reports them so and typed errors where it throws.
#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "moto/moto_fixture.hpp"

namespace ecr::moto_test {
namespace {

using ImagesTest = MotoTest;

constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";

std::string oci_manifest(std::string_view seed) {
  std::string seed_text(seed);
  return std::string(R"({"schemaVersion":2,"mediaType":")") + std::string(kOciManifest) +
         R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":")" +
         Digest::of("oci config " + seed_text).str() +
         R"("},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":32,"digest":")" +
         Digest::of("oci layer " + seed_text).str() + R"("}]})";
}

// (digest, tag) pairs, sorted, with "" for an absent member.
std::vector<std::pair<std::string, std::string>> pairs_of(
    const std::vector<api::ImageIdentifier>& ids) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& id : ids)
    out.emplace_back(id.imageDigest.value_or(""), id.imageTag.value_or(""));
  std::sort(out.begin(), out.end());
  return out;
}

api::ImageIdentifier by_tag(const std::string& tag) {
  api::ImageIdentifier id;
  id.imageTag = tag;
  return id;
}

TEST_F(ImagesTest, PutImageReturnsTheImageNamedByTheSha256OfTheManifestBytes) {
  create_repository("app");
  std::string manifest = docker_manifest("a");
  api::PutImageRequest request;
  request.repositoryName = "app";
  request.imageManifest = manifest;
  request.imageTag = "v1";
  request.imageDigest = Digest::of(manifest).str();

  api::PutImageResponse response = client().put_image(request);

  ASSERT_TRUE(response.image.has_value());
  const api::Image& image = *response.image;
  EXPECT_EQ(image.repositoryName, "app");
  EXPECT_EQ(image.registryId, std::string(kAccount));
  EXPECT_EQ(image.imageManifest, manifest);
  EXPECT_EQ(image.imageManifestMediaType, std::string(kDockerManifestV2));
  ASSERT_TRUE(image.imageId.has_value());
  EXPECT_EQ(image.imageId->imageDigest, Digest::of(manifest).str());
  EXPECT_EQ(image.imageId->imageTag, "v1");
}

TEST_F(ImagesTest, PutImageTakesTheMediaTypeOfAnOciManifestFromTheManifest) {
  create_repository("app");

  api::Image image = put_image("app", oci_manifest("a"), "v1");

  EXPECT_EQ(image.imageManifestMediaType, std::string(kOciManifest));
}

TEST_F(ImagesTest, PuttingTheSameManifestAndTagAgainThrowsImageAlreadyExists) {
  create_repository("app");
  std::string manifest = docker_manifest("a");
  put_image("app", manifest, "v1");

  try {
    put_image("app", manifest, "v1");
    FAIL() << "no exception";
  } catch (const api::ImageAlreadyExistsException& e) {
    EXPECT_EQ(e.name(), "ImageAlreadyExistsException");
    EXPECT_EQ(e.message(), "Image with digest '" + Digest::of(manifest).str() +
                               "' and tag 'v1' already exists in the repository with name 'app' "
                               "in registry with id '123456789012'");
  }
}

TEST_F(ImagesTest, ListImagesReturnsOneIdentifierPerTag) {
  create_repository("app");
  std::string a = docker_manifest("a");
  std::string b = docker_manifest("b");
  put_image("app", a, "v1");
  put_image("app", a, "latest");
  put_image("app", b, "v2");
  api::ListImagesRequest request;
  request.repositoryName = "app";

  api::ListImagesResponse response = client().list_images(request);

  std::vector<std::pair<std::string, std::string>> expected = {
      {Digest::of(a).str(), "latest"}, {Digest::of(a).str(), "v1"}, {Digest::of(b).str(), "v2"}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(pairs_of(response.imageIds.value()), expected);
}

TEST_F(ImagesTest, ListImagesAllCollectsEveryIdentifier) {
  create_repository("app");
  std::vector<std::pair<std::string, std::string>> expected;
  for (const char* tag : {"t1", "t2", "t3", "t4"}) {
    std::string manifest = docker_manifest(tag);
    put_image("app", manifest, tag);
    expected.emplace_back(Digest::of(manifest).str(), tag);
  }
  std::sort(expected.begin(), expected.end());
  api::ListImagesRequest request;
  request.repositoryName = "app";
  request.maxResults = 2;

  std::vector<api::ImageIdentifier> all = client().list_images_all(request);

  EXPECT_EQ(pairs_of(all), expected);
}

TEST_F(ImagesTest, ListImagesOfAMissingRepositoryThrowsRepositoryNotFound) {
  api::ListImagesRequest request;
  request.repositoryName = "ghost";

  EXPECT_THROW(client().list_images(request), api::RepositoryNotFoundException);
}

TEST_F(ImagesTest, DescribeImagesReturnsDigestTagsAndPushTime) {
  create_repository("app");
  std::string manifest = docker_manifest("a");
  put_image("app", manifest, "v1");
  put_image("app", manifest, "stable");
  api::DescribeImagesRequest request;
  request.repositoryName = "app";

  api::DescribeImagesResponse response = client().describe_images(request);

  ASSERT_EQ(response.imageDetails.value().size(), 1u);
  const api::ImageDetail& detail = response.imageDetails->at(0);
  EXPECT_EQ(detail.repositoryName, "app");
  EXPECT_EQ(detail.registryId, std::string(kAccount));
  EXPECT_EQ(detail.imageDigest, Digest::of(manifest).str());
  std::vector<std::string> tags = detail.imageTags.value();
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<std::string>{"stable", "v1"}));
  EXPECT_TRUE(detail.imagePushedAt.has_value());
}

TEST_F(ImagesTest, DescribeImagesOfAMissingTagThrowsImageNotFound) {
  create_repository("app");
  put_image("app", docker_manifest("a"), "v1");
  api::DescribeImagesRequest request;
  request.repositoryName = "app";
  request.imageIds = std::vector<api::ImageIdentifier>{by_tag("nope")};

  try {
    client().describe_images(request);
    FAIL() << "no exception";
  } catch (const api::ImageNotFoundException& e) {
    EXPECT_EQ(e.name(), "ImageNotFoundException");
  }
}

TEST_F(ImagesTest, DescribeImagesAllCollectsEveryImage) {
  create_repository("app");
  std::set<std::string> expected;
  for (const char* tag : {"t1", "t2", "t3"}) {
    std::string manifest = docker_manifest(tag);
    put_image("app", manifest, tag);
    expected.insert(Digest::of(manifest).str());
  }
  api::DescribeImagesRequest request;
  request.repositoryName = "app";
  request.maxResults = 1;

  std::vector<api::ImageDetail> all = client().describe_images_all(request);

  std::set<std::string> digests;
  for (const auto& detail : all) digests.insert(detail.imageDigest.value_or(""));
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(digests, expected);
}

TEST_F(ImagesTest, BatchGetImageReturnsTheManifestBytesAsPushed) {
  create_repository("app");
  std::string manifest = docker_manifest("a");
  put_image("app", manifest, "v1");
  api::BatchGetImageRequest request;
  request.repositoryName = "app";
  request.imageIds = {by_tag("v1")};

  api::BatchGetImageResponse response = client().batch_get_image(request);

  ASSERT_EQ(response.images.value().size(), 1u);
  const api::Image& image = response.images->at(0);
  EXPECT_EQ(image.imageManifest, manifest);
  EXPECT_EQ(image.imageId.value().imageDigest, Digest::of(manifest).str());
  EXPECT_EQ(image.imageId.value().imageTag, "v1");
  EXPECT_EQ(image.repositoryName, "app");
  EXPECT_EQ(image.registryId, std::string(kAccount));
  EXPECT_TRUE(response.failures.value_or(std::vector<api::ImageFailure>{}).empty());
}

TEST_F(ImagesTest, BatchGetImageReportsAMissingTagAsAnImageNotFoundFailure) {
  create_repository("app");
  put_image("app", docker_manifest("a"), "v1");
  api::BatchGetImageRequest request;
  request.repositoryName = "app";
  request.imageIds = {by_tag("v1"), by_tag("missing")};

  api::BatchGetImageResponse response = client().batch_get_image(request);

  EXPECT_EQ(response.images.value().size(), 1u);
  ASSERT_EQ(response.failures.value().size(), 1u);
  const api::ImageFailure& failure = response.failures->at(0);
  EXPECT_EQ(failure.failureCode, "ImageNotFound");
  EXPECT_EQ(failure.failureReason, "Requested image not found");
  EXPECT_EQ(failure.imageId.value().imageTag, "missing");
}

TEST_F(ImagesTest, BatchGetImageOfAMissingRepositoryThrowsRepositoryNotFound) {
  api::BatchGetImageRequest request;
  request.repositoryName = "ghost";
  request.imageIds = {by_tag("v1")};

  EXPECT_THROW(client().batch_get_image(request), api::RepositoryNotFoundException);
}

TEST_F(ImagesTest, BatchDeleteImageByDigestRemovesEveryTagOfTheImage) {
  create_repository("app");
  std::string manifest = docker_manifest("a");
  put_image("app", manifest, "v1");
  put_image("app", manifest, "latest");
  api::ImageIdentifier id;
  id.imageDigest = Digest::of(manifest).str();
  api::BatchDeleteImageRequest request;
  request.repositoryName = "app";
  request.imageIds = {id};

  api::BatchDeleteImageResponse response = client().batch_delete_image(request);

  std::vector<std::pair<std::string, std::string>> expected = {
      {Digest::of(manifest).str(), "latest"}, {Digest::of(manifest).str(), "v1"}};
  EXPECT_EQ(pairs_of(response.imageIds.value()), expected);
  EXPECT_TRUE(response.failures.value_or(std::vector<api::ImageFailure>{}).empty());
  api::ListImagesRequest list;
  list.repositoryName = "app";
  EXPECT_TRUE(client().list_images(list).imageIds.value().empty());
}

TEST_F(ImagesTest, BatchDeleteImageReportsAMissingTagAsAnImageNotFoundFailure) {
  create_repository("app");
  api::BatchDeleteImageRequest request;
  request.repositoryName = "app";
  request.imageIds = {by_tag("missing")};

  api::BatchDeleteImageResponse response = client().batch_delete_image(request);

  EXPECT_TRUE(response.imageIds.value().empty());
  ASSERT_EQ(response.failures.value().size(), 1u);
  const api::ImageFailure& failure = response.failures->at(0);
  EXPECT_EQ(failure.failureCode, "ImageNotFound");
  EXPECT_EQ(failure.failureReason, "Requested image not found");
  EXPECT_EQ(failure.imageId.value().imageTag, "missing");
  EXPECT_EQ(failure.imageId.value().imageDigest, std::nullopt);
}

TEST_F(ImagesTest, StartImageScanReportsTheScanInProgress) {
  create_repository("app");
  std::string manifest = docker_manifest("a");
  put_image("app", manifest, "v1");
  api::StartImageScanRequest request;
  request.repositoryName = "app";
  request.imageId = by_tag("v1");

  api::StartImageScanResponse response = client().start_image_scan(request);

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.imageId.value().imageDigest, Digest::of(manifest).str());
  EXPECT_EQ(response.imageId.value().imageTag, "v1");
  EXPECT_EQ(response.imageScanStatus.value().status, "IN_PROGRESS");
}

// ECR allows one scan per image per 24 hours.
TEST_F(ImagesTest, ScanningTheSameImageTwiceThrowsLimitExceeded) {
  create_repository("app");
  put_image("app", docker_manifest("a"), "v1");
  api::StartImageScanRequest request;
  request.repositoryName = "app";
  request.imageId = by_tag("v1");
  client().start_image_scan(request);

  try {
    client().start_image_scan(request);
    FAIL() << "no exception";
  } catch (const api::LimitExceededException& e) {
    EXPECT_EQ(e.name(), "LimitExceededException");
  }
}

TEST_F(ImagesTest, DescribeImageScanFindingsOfAnUnscannedImageThrowsScanNotFound) {
  create_repository("app");
  put_image("app", docker_manifest("a"), "v1");
  api::DescribeImageScanFindingsRequest request;
  request.repositoryName = "app";
  request.imageId = by_tag("v1");

  try {
    client().describe_image_scan_findings(request);
    FAIL() << "no exception";
  } catch (const api::ScanNotFoundException& e) {
    EXPECT_EQ(e.name(), "ScanNotFoundException");
  }
}

// moto completes every scan at once with one canned finding (CVE-9999-9999,
// HIGH); what is checked here is that the nested findings, their attributes
// and the severity-count map decode.
TEST_F(ImagesTest, DescribeImageScanFindingsDecodesFindingsAttributesAndCounts) {
  create_repository("app");
  put_image("app", docker_manifest("a"), "v1");
  api::StartImageScanRequest scan;
  scan.repositoryName = "app";
  scan.imageId = by_tag("v1");
  client().start_image_scan(scan);
  api::DescribeImageScanFindingsRequest request;
  request.repositoryName = "app";
  request.imageId = by_tag("v1");

  api::DescribeImageScanFindingsResponse response = client().describe_image_scan_findings(request);

  EXPECT_EQ(response.imageScanStatus.value().status, "COMPLETE");
  const api::ImageScanFindings& findings = response.imageScanFindings.value();
  EXPECT_EQ(findings.findingSeverityCounts, (std::map<std::string, std::int64_t>{{"HIGH", 1}}));
  ASSERT_EQ(findings.findings.value().size(), 1u);
  const api::ImageScanFinding& finding = findings.findings->at(0);
  EXPECT_EQ(finding.name, "CVE-9999-9999");
  EXPECT_EQ(finding.severity, "HIGH");
  ASSERT_EQ(finding.attributes.value().size(), 4u);
  EXPECT_EQ(finding.attributes->at(0), (api::Attribute{"package_version", "9.9.9"}));
  EXPECT_TRUE(findings.imageScanCompletedAt.has_value());
}

TEST_F(ImagesTest, DescribeImageScanFindingsAllCollectsTheFindings) {
  create_repository("app");
  put_image("app", docker_manifest("a"), "v1");
  api::StartImageScanRequest scan;
  scan.repositoryName = "app";
  scan.imageId = by_tag("v1");
  client().start_image_scan(scan);
  api::DescribeImageScanFindingsRequest request;
  request.repositoryName = "app";
  request.imageId = by_tag("v1");

  std::vector<api::ImageScanFinding> all = client().describe_image_scan_findings_all(request);

  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "CVE-9999-9999");
}

}  // namespace
}  // namespace ecr::moto_test

// The exact awsJson1_1 bodies of a few operations, written by hand from the
// model and botocore's serialiser, and how responses read back.
#include <gtest/gtest.h>

#include <chrono>

#include "api/serde.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

using std::chrono::milliseconds;

TEST(SerdeGolden, CreateRepositoryWithTagsWritesMembersInModelOrder) {
  api::CreateRepositoryRequest request;
  request.repositoryName = "team/app";
  request.imageTagMutability = "IMMUTABLE";
  request.tags = std::vector<api::Tag>{{"team", "build"}, {"cost-center", "42"}};
  request.imageScanningConfiguration = api::ImageScanningConfiguration{true};
  EXPECT_EQ(api::to_json(request),
            R"({"imageScanningConfiguration":{"scanOnPush":true},"imageTagMutability":"IMMUTABLE",)"
            R"("repositoryName":"team/app","tags":[{"Key":"team","Value":"build"},)"
            R"({"Key":"cost-center","Value":"42"}]})");
}

TEST(SerdeGolden, PutImageEscapesTheManifestText) {
  api::PutImageRequest request;
  request.repositoryName = "app";
  request.imageManifest = "{\"schemaVersion\":2}\n";
  request.imageTag = "v1";
  request.imageManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
  EXPECT_EQ(api::to_json(request),
            R"({"imageManifest":"{\"schemaVersion\":2}\n",)"
            R"("imageManifestMediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("imageTag":"v1","repositoryName":"app"})");
}

TEST(SerdeGolden, UploadLayerPartSendsTheBlobAsBase64) {
  api::UploadLayerPartRequest request;
  request.repositoryName = "app";
  request.uploadId = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  request.partFirstByte = 0;
  request.partLastByte = 4;
  request.layerPartBlob = std::string("\x00\xff" "abc", 5);
  EXPECT_EQ(api::to_json(request),
            R"({"layerPartBlob":"AP9hYmM=","partFirstByte":0,"partLastByte":4,)"
            R"("repositoryName":"app","uploadId":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"})");
  const auto back = api::from_json<api::UploadLayerPartRequest>(api::to_json(request));
  EXPECT_EQ(back.layerPartBlob, request.layerPartBlob);
}

TEST(SerdeGolden, EmptyGetAuthorizationTokenRequestIsAnEmptyObject) {
  EXPECT_EQ(api::to_json(api::GetAuthorizationTokenRequest{}), "{}");
}

TEST(SerdeGolden, TimestampsAreEpochSecondsWholeOrFractional) {
  api::AuthorizationData whole;
  whole.expiresAt = api::Timestamp(milliseconds(1700000000000));
  EXPECT_EQ(api::to_json(whole), R"({"expiresAt":1700000000})");
  api::AuthorizationData fractional;
  fractional.expiresAt = api::Timestamp(milliseconds(1700000000123));
  EXPECT_EQ(api::to_json(fractional), R"({"expiresAt":1700000000.123})");
}

TEST(SerdeGolden, ResponseTimestampsReadToTheMillisecond) {
  const auto response = api::from_json<api::DescribeImagesResponse>(
      R"({"imageDetails":[{"imagePushedAt":1.700000000123E9,"imageSizeInBytes":1234,)"
      R"("imageTags":["v1"]},{"imagePushedAt":1700000001}]})");
  ASSERT_TRUE(response.imageDetails.has_value());
  ASSERT_EQ(response.imageDetails->size(), 2u);
  EXPECT_EQ((*response.imageDetails)[0].imagePushedAt, api::Timestamp(milliseconds(1700000000123)));
  EXPECT_EQ((*response.imageDetails)[0].imageSizeInBytes, 1234);
  EXPECT_EQ((*response.imageDetails)[0].imageTags, std::vector<std::string>{"v1"});
  EXPECT_EQ((*response.imageDetails)[1].imagePushedAt, api::Timestamp(milliseconds(1700000001000)));
  EXPECT_FALSE((*response.imageDetails)[1].imageTags.has_value());
}

TEST(SerdeGolden, AbsentAndEmptyStayDistinct) {
  const auto empty = api::from_json<api::ListImagesResponse>(R"({"imageIds":[]})");
  ASSERT_TRUE(empty.imageIds.has_value());
  EXPECT_TRUE(empty.imageIds->empty());
  EXPECT_EQ(api::to_json(empty), R"({"imageIds":[]})");
  const auto absent = api::from_json<api::ListImagesResponse>(R"({"imageIds":null})");
  EXPECT_FALSE(absent.imageIds.has_value());
  EXPECT_EQ(api::to_json(absent), "{}");
}

TEST(SerdeGolden, UnknownMembersAreIgnored) {
  const auto response = api::from_json<api::InitiateLayerUploadResponse>(
      R"({"futureMember":{"nested":[1,2]},"partSize":10485760,"uploadId":"u"})");
  EXPECT_EQ(response.partSize, 10485760);
  EXPECT_EQ(response.uploadId, "u");
}

TEST(SerdeGolden, EmptyBodyReadsAsEmptyObject) {
  EXPECT_EQ(api::from_json<api::DeleteRegistryPolicyResponse>(std::string_view("")),
            api::DeleteRegistryPolicyResponse{});
}

TEST(SerdeGolden, WrongTypeNamesTheMemberPath) {
  try {
    api::from_json<api::BatchGetImageRequest>(
        R"({"repositoryName":"app","imageIds":[{"imageTag":"v1"},{"imageTag":7}]})");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "expected string at 'imageIds[1].imageTag'");
  }
}

TEST(SerdeGolden, WrongTypeInMapValueNamesTheKey) {
  try {
    api::from_json<api::ImageScanFindings>(R"({"findingSeverityCounts":{"HIGH":"three"}})");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "expected integer at 'findingSeverityCounts.HIGH'");
  }
}

TEST(SerdeGolden, DocumentThatIsNotAnObjectIsRefused) {
  try {
    api::from_json<api::ListImagesResponse>(R"([1])");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "expected object at document root");
  }
}

TEST(SerdeGolden, InvalidBase64BlobIsRefusedWithItsPath) {
  EXPECT_THROW(api::from_json<api::UploadLayerPartRequest>(R"({"layerPartBlob":"A"})"),
               InputError);
}

}  // namespace
}  // namespace ecr

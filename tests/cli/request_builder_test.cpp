// Options -> request JSON, as `aws ecr` builds it.
#include "request_builder.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "usage_error.hpp"

namespace ecr::cli {
namespace {

const api::model::OperationInfo& operation_info(std::string_view name) {
  const api::model::OperationInfo* info = api::model::find_operation(name);
  if (info == nullptr) throw std::runtime_error("no operation " + std::string(name));
  return *info;
}

const api::model::MemberInfo* member(std::string_view operation, std::string_view name) {
  return api::model::find_shape(operation_info(operation).input)->find_member(name);
}

// The request for `operation` given (member, flag, values) triples.
std::string request(std::string_view operation, std::vector<MemberArgument> members,
                    std::optional<std::string> cli_input_json = std::nullopt) {
  RequestArguments arguments{std::move(members), std::move(cli_input_json)};
  return to_compact_json(build_request(operation_info(operation), arguments));
}

MemberArgument arg(std::string_view operation, std::string_view name, std::string flag,
                   std::vector<std::string> values) {
  return {member(operation, name), std::move(flag), std::move(values)};
}

TEST(BuildRequest, StringOptionBecomesItsMember) {
  EXPECT_EQ(request("CreateRepository",
                    {arg("CreateRepository", "repositoryName", "--repository-name", {"app"})}),
            R"({"repositoryName":"app"})");
}

TEST(BuildRequest, ListOptionTakesSeveralValues) {
  EXPECT_EQ(request("DescribeRepositories", {arg("DescribeRepositories", "repositoryNames",
                                                 "--repository-names", {"a", "b"})}),
            R"({"repositoryNames":["a","b"]})");
}

TEST(BuildRequest, ListOptionTakesAJsonList) {
  EXPECT_EQ(request("DescribeRepositories", {arg("DescribeRepositories", "repositoryNames",
                                                 "--repository-names", {R"( ["a","b"])"})}),
            R"({"repositoryNames":["a","b"]})");
}

TEST(BuildRequest, BooleanFlagAndNoFlag) {
  auto name = arg("DeleteRepository", "repositoryName", "--repository-name", {"app"});
  EXPECT_EQ(request("DeleteRepository",
                    {name, arg("DeleteRepository", "force", "--force", {"true"})}),
            R"({"repositoryName":"app","force":true})");
  EXPECT_EQ(request("DeleteRepository",
                    {name, arg("DeleteRepository", "force", "--force", {"false"})}),
            R"({"repositoryName":"app","force":false})");
}

TEST(BuildRequest, IntegerOptionIsANumber) {
  EXPECT_EQ(request("ListImages",
                    {arg("ListImages", "repositoryName", "--repository-name", {"app"}),
                     arg("ListImages", "maxResults", "--max-results", {"5"})}),
            R"({"repositoryName":"app","maxResults":5})");
}

TEST(BuildRequest, IntegerOptionThatDoesNotParseIsAUsageError) {
  try {
    request("ListImages", {arg("ListImages", "repositoryName", "--repository-name", {"app"}),
                           arg("ListImages", "maxResults", "--max-results", {"5x"})});
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "Error parsing parameter '--max-results': invalid integer value: '5x'");
  }
}

TEST(BuildRequest, StructureFromJson) {
  EXPECT_EQ(request("CreateRepository",
                    {arg("CreateRepository", "repositoryName", "--repository-name", {"app"}),
                     arg("CreateRepository", "imageScanningConfiguration",
                         "--image-scanning-configuration", {R"({"scanOnPush": true})"})}),
            R"({"repositoryName":"app","imageScanningConfiguration":{"scanOnPush":true}})");
}

TEST(BuildRequest, StructureFromShorthandTakesTheModelTypes) {
  EXPECT_EQ(request("CreateRepository",
                    {arg("CreateRepository", "repositoryName", "--repository-name", {"app"}),
                     arg("CreateRepository", "imageScanningConfiguration",
                         "--image-scanning-configuration", {"scanOnPush=true"})}),
            R"({"repositoryName":"app","imageScanningConfiguration":{"scanOnPush":true}})");
}

TEST(BuildRequest, ListOfStructuresTakesOneShorthandPerValue) {
  EXPECT_EQ(request("BatchGetImage",
                    {arg("BatchGetImage", "repositoryName", "--repository-name", {"app"}),
                     arg("BatchGetImage", "imageIds", "--image-ids",
                         {"imageTag=a", "imageTag=b,imageDigest=sha256:00"})}),
            R"({"repositoryName":"app","imageIds":[{"imageTag":"a"},)"
            R"({"imageTag":"b","imageDigest":"sha256:00"}]})");
}

TEST(BuildRequest, ListOfStructuresTakesJson) {
  EXPECT_EQ(request("BatchGetImage",
                    {arg("BatchGetImage", "repositoryName", "--repository-name", {"app"}),
                     arg("BatchGetImage", "imageIds", "--image-ids", {R"([{"imageTag":"latest"}])"})}),
            R"({"repositoryName":"app","imageIds":[{"imageTag":"latest"}]})");
}

TEST(BuildRequest, TagsShorthand) {
  EXPECT_EQ(request("TagResource", {arg("TagResource", "resourceArn", "--resource-arn", {"arn:x"}),
                                    arg("TagResource", "tags", "--tags",
                                        {"Key=team,Value=infra", "Key=env,Value=dev"})}),
            R"({"resourceArn":"arn:x","tags":[{"Key":"team","Value":"infra"},)"
            R"({"Key":"env","Value":"dev"}]})");
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents)
      : path_(std::filesystem::temp_directory_path() /
              ("ecr_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++))) {
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string url() const { return "file://" + path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(BuildRequest, FileUrlReadsTheValueFromAFile) {
  TempFile policy(R"({"Version":"2012-10-17"})");
  EXPECT_EQ(request("SetRepositoryPolicy",
                    {arg("SetRepositoryPolicy", "repositoryName", "--repository-name", {"app"}),
                     arg("SetRepositoryPolicy", "policyText", "--policy-text", {policy.url()})}),
            R"({"repositoryName":"app","policyText":"{\"Version\":\"2012-10-17\"}"})");
}

TEST(BuildRequest, UnreadableFileUrlIsAUsageError) {
  EXPECT_THROW(request("SetRepositoryPolicy",
                       {arg("SetRepositoryPolicy", "repositoryName", "--repository-name", {"app"}),
                        arg("SetRepositoryPolicy", "policyText", "--policy-text",
                            {"file:///nonexistent/policy.json"})}),
               UsageError);
}

TEST(BuildRequest, CliInputJsonIsMergedUnderExplicitOptions) {
  EXPECT_EQ(request("CreateRepository",
                    {arg("CreateRepository", "repositoryName", "--repository-name", {"explicit"})},
                    R"({"repositoryName":"from-json","imageTagMutability":"IMMUTABLE"})"),
            R"({"repositoryName":"explicit","imageTagMutability":"IMMUTABLE"})");
}

TEST(BuildRequest, CliInputJsonFromAFileSatisfiesRequiredMembers) {
  TempFile input(R"({"repositoryName":"from-file"})");
  EXPECT_EQ(request("CreateRepository", {}, input.url()), R"({"repositoryName":"from-file"})");
}

TEST(BuildRequest, MissingRequiredMembersAreAUsageError) {
  try {
    request("BatchGetImage", {});
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "the following arguments are required: --image-ids, --repository-name");
  }
}

TEST(BuildRequest, CliInputJsonThatIsNotAnObjectIsAUsageError) {
  EXPECT_THROW(request("DescribeRepositories", {}, "[1]"), UsageError);
  EXPECT_THROW(request("DescribeRepositories", {}, "{nope"), UsageError);
}

TEST(BuildRequest, BlobIsSentBase64Encoded) {
  EXPECT_EQ(request("UploadLayerPart",
                    {arg("UploadLayerPart", "repositoryName", "--repository-name", {"app"}),
                     arg("UploadLayerPart", "uploadId", "--upload-id", {"u"}),
                     arg("UploadLayerPart", "partFirstByte", "--part-first-byte", {"0"}),
                     arg("UploadLayerPart", "partLastByte", "--part-last-byte", {"4"}),
                     arg("UploadLayerPart", "layerPartBlob", "--layer-part-blob", {"hello"})}),
            R"({"repositoryName":"app","uploadId":"u","partFirstByte":0,"partLastByte":4,)"
            R"("layerPartBlob":"aGVsbG8="})");
}

TEST(BuildRequest, ScalarOptionGivenTwiceIsAUsageError) {
  EXPECT_THROW(request("CreateRepository", {arg("CreateRepository", "repositoryName",
                                                "--repository-name", {"a", "b"})}),
               UsageError);
}

}  // namespace
}  // namespace ecr::cli

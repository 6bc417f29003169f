// The `ecr` binary's exit statuses and messages, one per error class.
#include <gtest/gtest.h>

#include "support/moto_server.hpp"
#include "support/subprocess.hpp"

namespace ecr::cli {
namespace {

using ecr::testing::ProcessOptions;
using ecr::testing::ProcessResult;

const std::string kEcrBinary = std::string(ECR_BINARY_DIR) + "/tools/ecr/ecr";

ProcessResult run_ecr(std::vector<std::string> args,
                      std::map<std::string, std::optional<std::string>> env = {}) {
  ProcessOptions options;
  options.argv = {kEcrBinary};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = {{"AWS_ACCESS_KEY_ID", "testing"},       {"AWS_SECRET_ACCESS_KEY", "testing"},
                 {"AWS_SESSION_TOKEN", std::nullopt},    {"AWS_PROFILE", std::nullopt},
                 {"AWS_REGION", "us-east-1"},            {"AWS_DEFAULT_REGION", std::nullopt},
                 {"AWS_ENDPOINT_URL", std::nullopt},     {"AWS_ENDPOINT_URL_ECR", std::nullopt},
                 {"AWS_CONFIG_FILE", "/dev/null"},       {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}};
  for (auto& [name, value] : env) options.env[name] = value;
  return ecr::testing::run_process(options, std::chrono::seconds(30));
}

TEST(EcrBinary, HelpListsOperationsAndExitStatuses) {
  const ProcessResult r = run_ecr({"--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.stdout_text.find("create-repository"), std::string::npos);
  EXPECT_NE(r.stdout_text.find("get-login-password"), std::string::npos);
  EXPECT_NE(r.stdout_text.find("252 usage error"), std::string::npos);
  EXPECT_NE(r.stdout_text.find("254 the service returned an error"), std::string::npos);
}

TEST(EcrBinary, OperationHelpListsOptionsWithTypesAndRequiredMarks) {
  const ProcessResult r = run_ecr({"batch-get-image", "--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.stdout_text.find("--repository-name string"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("[required] a JSON list, or one shorthand item per value: "
                               "imageDigest=string,imageTag=string"),
            std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("--cli-input-json"), std::string::npos);
}

TEST(EcrBinary, PaginatedOperationHidesTheServiceTokenAndOffersMaxItems) {
  const ProcessResult r = run_ecr({"list-images", "--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.stdout_text.find("--max-items"), std::string::npos);
  EXPECT_EQ(r.stdout_text.find("--next-token"), std::string::npos);
}

TEST(EcrBinary, UnknownOperationIsAUsageError) {
  const ProcessResult r = run_ecr({"describe-everything"});
  EXPECT_EQ(r.exit_status, 252);
  EXPECT_NE(r.stderr_text.find("ecr: error:"), std::string::npos) << r.stderr_text;
}

TEST(EcrBinary, NoOperationIsAUsageError) { EXPECT_EQ(run_ecr({}).exit_status, 252); }

TEST(EcrBinary, UnknownOptionIsAUsageError) {
  const ProcessResult r = run_ecr({"describe-repositories", "--bogus", "x"});
  EXPECT_EQ(r.exit_status, 252);
  EXPECT_NE(r.stderr_text.find("--bogus"), std::string::npos) << r.stderr_text;
}

TEST(EcrBinary, MissingRequiredOptionIsAUsageError) {
  const ProcessResult r = run_ecr({"create-repository"});
  EXPECT_EQ(r.exit_status, 252);
  EXPECT_EQ(r.stderr_text,
            "ecr: error: the following arguments are required: --repository-name\n"
            "To see help text, you can run: ecr --help, ecr OPERATION --help\n");
}

TEST(EcrBinary, ForceAndNoForceTogetherIsAUsageError) {
  EXPECT_EQ(run_ecr({"delete-repository", "--repository-name", "a", "--force", "--no-force"})
                .exit_status,
            252);
}

TEST(EcrBinary, RequestTheModelRejectsIsAUsageErrorAndNothingIsSent) {
  // Port 9 (discard) on loopback: were anything sent, this would be a 255.
  const ProcessResult r = run_ecr(
      {"create-repository", "--repository-name", "A", "--endpoint-url", "http://127.0.0.1:9"});
  EXPECT_EQ(r.exit_status, 252) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("Parameter validation failed"), std::string::npos);
}

TEST(EcrBinary, JsonListOptionIsOneValueEvenWithCommas) {
  // Three rules where the model allows two: the list reached validation
  // whole, and nothing was sent (port 9, discard).
  const std::string rule =
      R"({"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"a","filterType":"WILDCARD"}]})";
  const std::string rules = "[" + rule + "," + rule + "," + rule + "]";
  const ProcessResult r = run_ecr({"put-registry-scanning-configuration", "--rules", rules,
                                   "--endpoint-url", "http://127.0.0.1:9"});
  EXPECT_EQ(r.exit_status, 252) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("Parameter validation failed"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("rules"), std::string::npos) << r.stderr_text;
}

TEST(EcrBinary, ListOptionTakesSeveralWords) {
  const ProcessResult r =
      run_ecr({"batch-get-repository-scanning-configuration", "--repository-names", "a", "b",
               "Bad", "--endpoint-url", "http://127.0.0.1:9"});
  EXPECT_EQ(r.exit_status, 252) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("repositoryNames[2]"), std::string::npos) << r.stderr_text;
}

TEST(EcrBinary, UnsupportedOutputFormatIsAUsageError) {
  EXPECT_EQ(run_ecr({"describe-repositories", "--output", "table"}).exit_status, 252);
}

TEST(EcrBinary, NoAnswerFromTheEndpointIs255) {
  const int port = ecr::testing::free_loopback_port();
  const ProcessResult r = run_ecr({"describe-repositories", "--endpoint-url",
                                   "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.exit_status, 255) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "");
}

TEST(EcrBinary, NoRegionIs255) {
  const ProcessResult r = run_ecr({"describe-repositories"}, {{"AWS_REGION", std::nullopt}});
  EXPECT_EQ(r.exit_status, 255);
  EXPECT_NE(r.stderr_text.find("region"), std::string::npos) << r.stderr_text;
}

// One moto_server for the tests below (it takes seconds to start).
class EcrAgainstMoto : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (ecr::testing::MotoServer::available()) moto_ = new ecr::testing::MotoServer();
  }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }
  void SetUp() override {
    if (moto_ == nullptr) GTEST_SKIP() << ecr::testing::MotoServer::kMissingMessage;
    moto_->reset();
  }
  static inline ecr::testing::MotoServer* moto_ = nullptr;
};

TEST_F(EcrAgainstMoto, ServiceErrorIs254WithTheAwsCliMessage) {
  const ProcessResult r = run_ecr({"describe-repositories", "--repository-names", "nope",
                                   "--endpoint-url", moto_->endpoint_url()});
  EXPECT_EQ(r.exit_status, 254);
  EXPECT_EQ(r.stderr_text,
            "\nAn error occurred (RepositoryNotFoundException) when calling the "
            "DescribeRepositories operation: The repository with name 'nope' does not exist in "
            "the registry with id '123456789012'\n");
}

TEST_F(EcrAgainstMoto, DebugPrintsTheExchangeOnStderrWithoutSecrets) {
  const ProcessResult r = run_ecr(
      {"describe-repositories", "--debug", "--endpoint-url", moto_->endpoint_url()},
      {{"AWS_SECRET_ACCESS_KEY", "very-secret-key-value"}});
  EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("DescribeRepositories"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.find("very-secret-key-value"), std::string::npos);
  EXPECT_EQ(r.stdout_text, "{\n    \"repositories\": []\n}\n");
}

TEST_F(EcrAgainstMoto, CliInputJsonIsARequestAndAnEmptyResponsePrintsNothing) {
  const std::string arn = "arn:aws:ecr:us-east-1:123456789012:repository/app";
  ASSERT_EQ(run_ecr({"create-repository", "--cli-input-json", R"({"repositoryName":"app"})",
                     "--endpoint-url", moto_->endpoint_url()})
                .exit_status,
            0);
  const ProcessResult tagged = run_ecr({"tag-resource", "--resource-arn", arn, "--tags",
                                        "Key=a,Value=b", "--endpoint-url", moto_->endpoint_url()});
  EXPECT_EQ(tagged.exit_status, 0) << tagged.stderr_text;
  EXPECT_EQ(tagged.stdout_text, "");  // as the AWS CLI: nothing for {}
  const ProcessResult listed = run_ecr(
      {"list-tags-for-resource", "--resource-arn", arn, "--endpoint-url", moto_->endpoint_url()});
  EXPECT_EQ(listed.stdout_text,
            "{\n    \"tags\": [\n        {\n            \"Key\": \"a\",\n"
            "            \"Value\": \"b\"\n        }\n    ]\n}\n");
}

}  // namespace
}  // namespace ecr::cli

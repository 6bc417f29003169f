// `ecr` and `aws ecr` (AWS CLI v1) run the same commands against the same
// moto_server state and must print the same JSON and fail the same way.
// Values that differ between two runs by nature (timestamps, tokens) are
// compared by presence and type.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "ecr/digest.hpp"
#include "json_value.hpp"
#include "support/ecr_local_server.hpp"
#include "support/moto_server.hpp"
#include "support/subprocess.hpp"

namespace ecr::cli {
namespace {

using ecr::testing::EcrLocalServer;
using ecr::testing::MotoServer;
using ecr::testing::ProcessOptions;
using ecr::testing::ProcessResult;

const std::string kParityEcrBinary = std::string(ECR_BINARY_DIR) + "/tools/ecr/ecr";

// A scratch directory with the files the commands read, removed at the end.
class Scratch {
 public:
  Scratch()
      : dir_(std::filesystem::temp_directory_path() /
             ("ecr_cli_parity_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
    write("empty", "");
    // The AWS CLI prints timestamps as they arrive (epoch seconds), as
    // `ecr` does: AWS CLI v1's default, which v2 (Debian 12's awscli, ISO
    // 8601 by default) is set to here. Both versions take "wire".
    write("aws-config", "[default]\ncli_timestamp_format = wire\n");
    write("manifest.json",
          R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
          R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,)"
          R"("digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},)"
          R"("layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip",)"
          R"("size":32654,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]})");
    write("policy.json",
          R"({"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow",)"
          R"("Principal":"*","Action":["ecr:BatchGetImage"]}]})");
    write("lifecycle.json",
          R"({"rules":[{"rulePriority":1,"description":"expire old","selection":)"
          R"({"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":5},)"
          R"("action":{"type":"expire"}}]})");
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // An AWS_DATA_PATH holding the vendored ECR model (third_party/aws) where
  // botocore looks for it first, so an `aws` older than the model knows
  // every operation ecr-local serves.
  std::string aws_data_path() const {
    const std::filesystem::path data = dir_ / "aws-data";
    const std::filesystem::path model = data / "ecr" / "2015-09-21";
    if (!std::filesystem::exists(model)) {
      const std::filesystem::path vendored =
          std::filesystem::path(ECR_SOURCE_DIR) / "third_party" / "aws";
      std::filesystem::create_directories(model);
      std::filesystem::copy_file(vendored / "ecr-service-model.json", model / "service-2.json");
      std::filesystem::copy_file(vendored / "ecr-paginators.json", model / "paginators-1.json");
    }
    return data.string();
  }

 private:
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

// The same environment for both tools: static test keys, no profile files.
// `overrides` replace or add variables (another server's credentials).
using EnvChanges = std::map<std::string, std::optional<std::string>>;
ProcessOptions tool_options(const Scratch& scratch, std::vector<std::string> argv,
                            const EnvChanges& overrides = {}) {
  ProcessOptions options;
  options.argv = std::move(argv);
  options.env = {{"AWS_ACCESS_KEY_ID", "testing"},     {"AWS_SECRET_ACCESS_KEY", "testing"},
                 {"AWS_SESSION_TOKEN", std::nullopt},  {"AWS_PROFILE", std::nullopt},
                 {"AWS_DEFAULT_PROFILE", std::nullopt}, {"AWS_REGION", std::nullopt},
                 {"AWS_DEFAULT_REGION", std::nullopt}, {"AWS_ENDPOINT_URL", std::nullopt},
                 {"AWS_ENDPOINT_URL_ECR", std::nullopt},
                 {"AWS_CONFIG_FILE", scratch.path("empty")},
                 {"AWS_SHARED_CREDENTIALS_FILE", scratch.path("empty")},
                 {"AWS_PAGER", ""}};
  for (const auto& [name, value] : overrides) options.env[name] = value;
  return options;
}

enum class Outcome { kSuccess, kUsage, kService, kOther };

struct ToolRun {
  Outcome outcome;
  std::string error_name;  // service errors
  std::string stdout_text;
  std::string stderr_text;
};

std::string error_name_in(const std::string& stderr_text) {
  const std::string marker = "An error occurred (";
  const std::size_t at = stderr_text.find(marker);
  if (at == std::string::npos) return {};
  const std::size_t start = at + marker.size();
  return stderr_text.substr(start, stderr_text.find(')', start) - start);
}

ToolRun run_ecr(const Scratch& scratch, const std::vector<std::string>& args,
                const std::string& endpoint, const EnvChanges& overrides = {}) {
  std::vector<std::string> argv{kParityEcrBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--endpoint-url", endpoint, "--region", "us-east-1"});
  const ProcessResult r =
      ecr::testing::run_process(tool_options(scratch, argv, overrides), std::chrono::seconds(60));
  Outcome outcome = Outcome::kOther;
  if (r.exit_status == 0) outcome = Outcome::kSuccess;
  if (r.exit_status == 252) outcome = Outcome::kUsage;
  if (r.exit_status == 254) outcome = Outcome::kService;
  return {outcome, error_name_in(r.stderr_text), r.stdout_text, r.stderr_text};
}

// AWS CLI v1 exits 255 for service errors and most usage errors and 2 for
// argparse errors; its stderr tells them apart.
ToolRun classify_aws(int rc, std::string stdout_text, std::string stderr_text) {
  Outcome outcome = Outcome::kOther;
  const std::string name = error_name_in(stderr_text);
  if (rc == 0) {
    outcome = Outcome::kSuccess;
  } else if (!name.empty()) {
    outcome = Outcome::kService;
  } else if (rc == 2 || stderr_text.find("usage:") != std::string::npos ||
             stderr_text.find("Error parsing parameter") != std::string::npos) {
    outcome = Outcome::kUsage;
  }
  return {outcome, name, std::move(stdout_text), std::move(stderr_text)};
}

std::vector<std::string> aws_argv(const std::vector<std::string>& args,
                                  const std::string& endpoint) {
  std::vector<std::string> argv{"ecr"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--endpoint-url", endpoint, "--region", "us-east-1"});
  return argv;
}

// One `aws ecr ...` through the `aws` program itself.
ToolRun run_aws(const Scratch& scratch, const std::vector<std::string>& args,
                const std::string& endpoint) {
  std::vector<std::string> argv{"aws"};
  for (std::string& word : aws_argv(args, endpoint)) argv.push_back(std::move(word));
  const ProcessResult r = ecr::testing::run_process(
      tool_options(scratch, argv, {{"AWS_CONFIG_FILE", scratch.path("aws-config")}}),
      std::chrono::seconds(60));
  return classify_aws(r.exit_status, r.stdout_text, r.stderr_text);
}

// Many `aws ecr ...` in one Python process (aws_cli_batch.py runs awscli's
// own driver per command): the AWS CLI takes seconds to import itself here.
std::vector<ToolRun> run_aws_batch(const Scratch& scratch,
                                   const std::vector<std::vector<std::string>>& commands,
                                   const std::string& endpoint, EnvChanges overrides = {}) {
  // Over a caller's AWS_CONFIG_FILE too (EcrLocalServer::tool_env's
  // /dev/null): the file holds only the timestamp format.
  overrides["AWS_CONFIG_FILE"] = scratch.path("aws-config");
  JsonValue::Array argvs;
  for (const auto& command : commands) {
    JsonValue::Array words;
    for (const std::string& word : aws_argv(command, endpoint)) {
      words.push_back(JsonValue::string(word));
    }
    argvs.push_back(JsonValue::array(std::move(words)));
  }
  const ProcessResult r = ecr::testing::run_process(
      tool_options(scratch,
                   {"python3", std::string(ECR_SOURCE_DIR) + "/tests/cli/aws_cli_batch.py"},
                   overrides),
      std::chrono::seconds(120), to_compact_json(JsonValue::array(std::move(argvs))));
  if (r.exit_status != 0) throw std::runtime_error("aws_cli_batch.py failed: " + r.stderr_text);
  std::vector<ToolRun> runs;
  const JsonValue results = parse_json(r.stdout_text, "aws_cli_batch.py output");
  for (const JsonValue& result : results.as_array()) {
    runs.push_back(classify_aws(static_cast<int>(result.find("rc")->as_integer()),
                                result.find("stdout")->as_string(),
                                result.find("stderr")->as_string()));
  }
  return runs;
}

// Replaces the values of members that differ between runs by nature with
// their type, everything else stays as printed (order included).
JsonValue normalized(JsonValue value) {
  static const std::set<std::string> kVolatile{
      "createdAt",      "updatedAt",          "imagePushedAt",
      "expiresAt",      "authorizationToken", "lastEvaluatedAt",
      "lastArchivedAt", "lastActivatedAt",    "lastRecordedPullTime"};
  if (value.is_array()) {
    for (JsonValue& item : value.as_array()) item = normalized(std::move(item));
  } else if (value.is_object()) {
    for (auto& [name, member] : value.as_object()) {
      if (kVolatile.count(name) > 0) {
        member = JsonValue::string(member.is_string() ? "<string>"
                                   : (member.is_integer() || member.is_number()) ? "<number>"
                                                                                 : "<other>");
      } else {
        member = normalized(std::move(member));
      }
    }
  }
  return value;
}

// One command's runs: the same outcome and error, and the same JSON output
// once normalized.
void expect_same_run(const std::vector<std::string>& command, const ToolRun& ecr_run,
                     const ToolRun& aws_run) {
  std::string shown;
  for (const std::string& word : command) shown += word + " ";
  SCOPED_TRACE("command: " + shown + "\naws stderr: " + aws_run.stderr_text +
               "\necr stderr: " + ecr_run.stderr_text);
  EXPECT_EQ(static_cast<int>(ecr_run.outcome), static_cast<int>(aws_run.outcome));
  EXPECT_EQ(ecr_run.error_name, aws_run.error_name);
  if (aws_run.stdout_text.empty() || ecr_run.stdout_text.empty()) {
    EXPECT_EQ(ecr_run.stdout_text, aws_run.stdout_text);
    return;
  }
  EXPECT_EQ(to_pretty_json(normalized(parse_json(ecr_run.stdout_text, "ecr output"))),
            to_pretty_json(normalized(parse_json(aws_run.stdout_text, "aws output"))));
}

class AwsCliParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!MotoServer::available()) return;
    moto_ = new MotoServer();
  }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }
  void SetUp() override {
    if (moto_ == nullptr) GTEST_SKIP() << MotoServer::kMissingMessage;
    ProcessOptions which;
    which.argv = {"sh", "-c", "command -v aws"};
    if (ecr::testing::run_process(which, std::chrono::seconds(10)).exit_status != 0) {
      GTEST_SKIP() << "the AWS CLI (aws) is not on PATH";
    }
  }

  // Runs `commands` with aws on a fresh moto, then with ecr on a fresh moto,
  // and compares each step.
  void expect_same_results(const std::vector<std::vector<std::string>>& commands) {
    moto_->reset();
    const std::vector<ToolRun> aws_runs = run_aws_batch(scratch_, commands, moto_->endpoint_url());
    ASSERT_EQ(aws_runs.size(), commands.size());
    moto_->reset();
    for (std::size_t i = 0; i < commands.size(); ++i) {
      expect_same_run(commands[i], run_ecr(scratch_, commands[i], moto_->endpoint_url()),
                      aws_runs[i]);
    }
  }

  static inline MotoServer* moto_ = nullptr;
  Scratch scratch_;
};

TEST_F(AwsCliParity, RepositoryImagePolicyAndTagCommandsPrintTheSameJson) {
  const std::string arn = "arn:aws:ecr:us-east-1:123456789012:repository/app";
  expect_same_results({
      {"create-repository", "--repository-name", "app", "--tags", "Key=team,Value=infra",
       "--image-scanning-configuration", "scanOnPush=true"},
      {"create-repository", "--repository-name", "app"},
      {"describe-repositories", "--repository-names", "app"},
      {"describe-repositories"},
      {"put-image", "--repository-name", "app", "--image-tag", "v1", "--image-manifest",
       "file://" + scratch_.path("manifest.json")},
      {"put-image", "--repository-name", "app", "--image-tag", "v2", "--image-manifest",
       "file://" + scratch_.path("manifest.json")},
      {"list-images", "--repository-name", "app"},
      {"list-images", "--repository-name", "app", "--max-items", "1"},
      {"list-images", "--repository-name", "app", "--no-paginate"},
      {"describe-images", "--repository-name", "app", "--image-ids", "imageTag=v1"},
      {"batch-get-image", "--repository-name", "app", "--image-ids", "imageTag=v1",
       "imageTag=missing"},
      {"set-repository-policy", "--repository-name", "app", "--policy-text",
       "file://" + scratch_.path("policy.json")},
      {"get-repository-policy", "--repository-name", "app"},
      {"put-lifecycle-policy", "--repository-name", "app", "--lifecycle-policy-text",
       "file://" + scratch_.path("lifecycle.json")},
      {"get-lifecycle-policy", "--repository-name", "app"},
      {"tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=dev"},
      {"list-tags-for-resource", "--resource-arn", arn},
      {"get-authorization-token"},
      {"batch-delete-image", "--repository-name", "app", "--image-ids", R"([{"imageTag":"v2"}])"},
      {"delete-repository", "--repository-name", "app"},
      {"delete-repository", "--repository-name", "app", "--force"},
  });
}

TEST_F(AwsCliParity, ErrorsFailTheSameWay) {
  expect_same_results({
      {"describe-repositories", "--repository-names", "nope"},
      {"delete-repository", "--repository-name", "nope"},
      {"create-repository", "--repository-name", "app"},
      {"get-repository-policy", "--repository-name", "app"},
      {"get-lifecycle-policy", "--repository-name", "app"},
      {"create-repository"},
      {"describe-repositories", "--no-such-option", "x"},
      {"list-images", "--repository-name", "app", "--no-paginate", "--max-items", "1"},
  });
}

TEST_F(AwsCliParity, GetLoginPasswordPrintsTheSamePassword) {
  moto_->reset();
  const ToolRun aws_run = run_aws(scratch_, {"get-login-password"}, moto_->endpoint_url());
  const ToolRun ecr_run = run_ecr(scratch_, {"get-login-password"}, moto_->endpoint_url());
  ASSERT_EQ(aws_run.outcome, Outcome::kSuccess) << aws_run.stderr_text;
  EXPECT_EQ(ecr_run.outcome, Outcome::kSuccess) << ecr_run.stderr_text;
  EXPECT_EQ(ecr_run.stdout_text, aws_run.stdout_text);
}

// The same comparison against ecr-local, for the registry-wide settings it
// stores and echoes (moto_server does not serve them): each tool gets a
// fresh ecr-local.
class AwsCliParityOnEcrLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessOptions which;
    which.argv = {"sh", "-c", "command -v aws"};
    if (ecr::testing::run_process(which, std::chrono::seconds(10)).exit_status != 0) {
      GTEST_SKIP() << "the AWS CLI (aws) is not on PATH";
    }
  }

  void expect_same_results(const std::vector<std::vector<std::string>>& commands) {
    EnvChanges env = EcrLocalServer::tool_env();
    std::vector<ToolRun> aws_runs;
    {
      EcrLocalServer server;
      EnvChanges aws_env = env;
      aws_env["AWS_DATA_PATH"] = scratch_.aws_data_path();
      aws_runs = run_aws_batch(scratch_, commands, server.endpoint_url(), aws_env);
    }
    ASSERT_EQ(aws_runs.size(), commands.size());
    EcrLocalServer server;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      expect_same_run(commands[i], run_ecr(scratch_, commands[i], server.endpoint_url(), env),
                      aws_runs[i]);
    }
  }

  Scratch scratch_;
};

TEST_F(AwsCliParityOnEcrLocal, RegistrySettingsCommandsPrintTheSameJsonAndErrors) {
  const std::string signing =
      R"({"rules":[{"signingProfileArn":"arn:aws:signer:us-east-1:123456789012:/signing-profiles/ci",)"
      R"("repositoryFilters":[{"filter":"app*","filterType":"WILDCARD_MATCH"}]}]})";
  const std::string rules =
      R"([{"scanFrequency":"CONTINUOUS_SCAN","repositoryFilters":[{"filter":"app","filterType":"WILDCARD"}]}])";
  const std::string role = "arn:aws:iam::123456789012:role/scanner";
  expect_same_results({
      {"put-signing-configuration", "--signing-configuration", signing},
      {"get-signing-configuration"},
      {"delete-signing-configuration"},
      {"get-signing-configuration"},
      {"put-registry-policy", "--policy-text", "file://" + scratch_.path("policy.json")},
      {"get-registry-policy"},
      {"delete-registry-policy"},
      {"delete-registry-policy"},
      {"get-registry-scanning-configuration"},
      {"put-registry-scanning-configuration", "--scan-type", "ENHANCED", "--rules", rules},
      {"get-registry-scanning-configuration"},
      {"put-registry-scanning-configuration", "--scan-type", "BASIC", "--rules", rules},
      {"create-repository", "--repository-name", "app"},
      {"batch-get-repository-scanning-configuration", "--repository-names", "app", "gone"},
      {"register-pull-time-update-exclusion", "--principal-arn", role},
      {"register-pull-time-update-exclusion", "--principal-arn", role},
      {"list-pull-time-update-exclusions"},
      {"deregister-pull-time-update-exclusion", "--principal-arn", role},
      {"deregister-pull-time-update-exclusion", "--principal-arn", role},
      {"get-account-setting", "--name", "BLOB_MOUNTING"},
      {"put-account-setting", "--name", "BLOB_MOUNTING", "--value", "ENABLED"},
      {"get-account-setting", "--name", "BLOB_MOUNTING"},
      {"get-account-setting", "--name", "REGISTRY_POLICY_SCOPE"},
      {"put-account-setting", "--name", "BASIC_SCAN_TYPE_VERSION", "--value", "CLAIR"},
  });
}

TEST_F(AwsCliParityOnEcrLocal, TemplatesTagMutabilityStorageClassAndReferrersPrintTheSame) {
  // Empty indexes: images PutImage takes without layers.
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
  const std::string other = index + "\n";
  const std::string digest = Digest::of(index).str();
  const std::string filters = R"([{"filterType":"WILDCARD","filter":"dev-*"}])";
  expect_same_results({
      {"create-repository-creation-template", "--prefix", "team", "--applied-for", "CREATE_ON_PUSH",
       "--image-tag-mutability", "IMMUTABLE_WITH_EXCLUSION",
       "--image-tag-mutability-exclusion-filters", filters},
      {"create-repository-creation-template", "--prefix", "team", "--applied-for", "REPLICATION"},
      {"update-repository-creation-template", "--prefix", "team", "--description", "team"},
      {"describe-repository-creation-templates", "--prefixes", "team", "other"},
      {"put-image", "--repository-name", "team/app", "--image-manifest", index, "--image-tag",
       "v1"},
      {"describe-repositories", "--repository-names", "team/app"},
      {"put-image", "--repository-name", "team/app", "--image-manifest", other, "--image-tag",
       "v1"},
      {"put-image", "--repository-name", "team/app", "--image-manifest", other, "--image-tag",
       "dev-1"},
      {"put-image", "--repository-name", "solo/app", "--image-manifest", index},
      {"put-image-tag-mutability", "--repository-name", "team/app", "--image-tag-mutability",
       "MUTABLE_WITH_EXCLUSION"},
      {"update-image-storage-class", "--repository-name", "team/app", "--image-id", "imageTag=v1",
       "--target-storage-class", "ARCHIVE"},
      {"batch-get-image", "--repository-name", "team/app", "--image-ids", "imageTag=v1"},
      {"update-image-storage-class", "--repository-name", "team/app", "--image-id", "imageTag=v1",
       "--target-storage-class", "ARCHIVE"},
      {"update-image-storage-class", "--repository-name", "team/app", "--image-id",
       "imageDigest=" + digest, "--target-storage-class", "STANDARD"},
      {"list-image-referrers", "--repository-name", "team/app", "--subject-id",
       "imageDigest=" + digest},
      {"delete-repository-creation-template", "--prefix", "team"},
      {"delete-repository-creation-template", "--prefix", "team"},
  });
}

}  // namespace
}  // namespace ecr::cli

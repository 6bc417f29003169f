// ecr-push against an ecr-local that throttles as ECR does (--throttle-file):
// many pushes at once all land, retrying ThrottlingException with backoff;
// a push whose attempts run out says which operation was throttled.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "ecr/client.hpp"
#include "ecr/manifest.hpp"
#include "support/ecr_local_server.hpp"
#include "support/scratch_dir.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;
using namespace std::chrono_literals;

// Pushes at once in the concurrency test, and PutImage's rate there: 32
// images need 15 s of PutImage tokens after the first burst of 2.
constexpr int kPushes = 32;
// Attempts each push's requests may make. The AWS standard mode's 3 give up
// within about 3 s, long before 32 pushes share 2 PutImages a second; 12
// outlast the wait (a simulation of 32 clients with full-jitter backoff
// capped at 20 s never ran out in 2,000 runs; the last finished after 44 s
// at worst, 25 s median).
constexpr const char* kPatientAttempts = "12";

ClientConfig client_config(const testing::EcrLocalServer& server) {
  ClientConfig c;
  c.credentials =
      Credentials{testing::EcrLocalServer::kAccessKey, testing::EcrLocalServer::kSecretKey, ""};
  c.region = testing::EcrLocalServer::kRegion;
  c.endpoint_url = server.endpoint_url();
  c.max_attempts = 1;  // the checks below run after the pushes: nothing to wait for
  return c;
}

// An ecr-local with `rates` as its throttle file.
std::unique_ptr<testing::EcrLocalServer> throttled_server(const testing::ScratchDir& dir,
                                                          const std::string& rates) {
  const fs::path file = dir.path() / "rates";
  testing::write_file(file, rates);
  return std::make_unique<testing::EcrLocalServer>(
      std::vector<std::string>{"--throttle-file", file.string()});
}

TEST(Throttle, ThirtyTwoConcurrentPushesUnderTwoPutImagesASecondAllLandIntact) {
  const testing::ScratchDir dir("ecr-throttle-e2e");
  const auto server = throttled_server(dir, "PutImage 2\n");
  std::vector<std::unique_ptr<testing::Subprocess>> pushes;
  for (int i = 0; i < kPushes; ++i) {
    const std::string archive = i % 2 == 0 ? kOciArchive : kDockerArchive;
    testing::ProcessOptions opts =
        tool_options(kEcrPush, server->endpoint_url(),
                     {"--json", "--quiet", "--no-cache", "--create-repository", archive,
                      "throttled-" + std::to_string(i) + ":v1"},
                     dir.path());
    opts.env["AWS_MAX_ATTEMPTS"] = kPatientAttempts;
    opts.stderr_path = (dir.path() / ("push-" + std::to_string(i) + ".err")).string();
    pushes.push_back(std::make_unique<testing::Subprocess>(opts));
  }
  std::vector<std::string> digests(kPushes);
  for (int i = 0; i < kPushes; ++i) {
    const std::optional<std::string> line = pushes[i]->read_line(120s);
    const std::optional<int> status = pushes[i]->wait(10s);
    const std::string err = read_file(dir.path() / ("push-" + std::to_string(i) + ".err"));
    ASSERT_EQ(status, std::optional<int>(0)) << "push " << i << ": " << err;
    ASSERT_TRUE(line.has_value()) << "push " << i << ": " << err;
    digests[i] = parse_summary(*line, "bytesUploaded").digest;
  }
  // Throttling happened, and was waited out: more PutImages than images.
  EXPECT_GT(server->requests("PutImage"), kPushes);

  // Each image as pushed: the manifest under its tag has the digest ecr-push
  // reported (the fixture's own for the OCI archive, one digest for every
  // push of the docker archive), and each blob it names is in the repository
  // at its size.
  Client client(client_config(*server));
  for (int i = 0; i < kPushes; ++i) {
    const std::string repo = "throttled-" + std::to_string(i);
    api::BatchGetImageRequest get;
    get.repositoryName = repo;
    get.imageIds = {api::ImageIdentifier{std::nullopt, "v1"}};
    const api::BatchGetImageResponse got = client.batch_get_image(get);
    ASSERT_TRUE(got.images && got.images->size() == 1) << repo;
    const std::string& bytes = *got.images->front().imageManifest;
    const ParsedManifest manifest = parse_manifest(bytes, "");
    EXPECT_EQ(manifest.digest.str(), digests[i]) << repo;
    EXPECT_EQ(digests[i], i % 2 == 0 ? kHelloDigest : digests[1]) << repo;

    api::BatchCheckLayerAvailabilityRequest check;
    check.repositoryName = repo;
    std::vector<Descriptor> blobs = manifest.layers;
    blobs.push_back(*manifest.config);
    for (const Descriptor& blob : blobs) check.layerDigests.push_back(blob.digest.str());
    const api::BatchCheckLayerAvailabilityResponse layers =
        client.batch_check_layer_availability(check);
    ASSERT_TRUE(layers.layers && layers.layers->size() == blobs.size()) << repo;
    for (std::size_t b = 0; b < blobs.size(); ++b) {
      EXPECT_EQ((*layers.layers)[b].layerAvailability, "AVAILABLE") << repo;
      EXPECT_EQ((*layers.layers)[b].layerSize, blobs[b].size) << repo;
    }
  }
  // And the bytes come back: one image of each kind pulled, digests verified.
  for (int i : {0, 1}) {
    const fs::path out = dir.path() / ("pulled-" + std::to_string(i) + ".tar");
    const testing::ProcessResult pulled = testing::run_process(
        tool_options(kEcrPull, server->endpoint_url(),
                     {"--json", "--quiet", "--no-cache", "throttled-" + std::to_string(i) + ":v1",
                      "oci-archive:" + out.string()},
                     dir.path()),
        kToolTimeout);
    ASSERT_EQ(pulled.exit_status, 0) << pulled.stderr_text;
    EXPECT_EQ(parse_summary(pulled.stdout_text, "bytesDownloaded").digest, digests[i]);
  }
  EXPECT_EQ(server->stop(), 0) << server->log();
}

class ThrottleRunsOut : public ::testing::Test {
 protected:
  // One token of PutImage and DescribeRepositories, then one per 100 s.
  ThrottleRunsOut()
      : server_(throttled_server(dir_, "PutImage 0.01\nDescribeRepositories 0.01\n")) {}

  testing::ProcessResult run(const std::string& binary, const std::vector<std::string>& args,
                             const char* attempts) {
    testing::ProcessOptions opts = tool_options(binary, server_->endpoint_url(), args, dir_.path());
    // nullptr: unset, whatever the machine's environment says.
    opts.env["AWS_MAX_ATTEMPTS"] =
        attempts != nullptr ? std::optional<std::string>(attempts) : std::nullopt;
    return testing::run_process(opts, kToolTimeout);
  }

  testing::ScratchDir dir_{"ecr-throttle-e2e"};
  std::unique_ptr<testing::EcrLocalServer> server_;
};

TEST_F(ThrottleRunsOut, EcrPushExits1NamingTheThrottledOperationAndTheAttempts) {
  const testing::ProcessResult first =
      run(kEcrPush, {"--quiet", "--no-cache", "--create-repository", kOciArchive, "first:v1"}, "2");
  ASSERT_EQ(first.exit_status, 0) << first.stderr_text;

  const testing::ProcessResult second = run(
      kEcrPush, {"--quiet", "--no-cache", "--create-repository", kOciArchive, "second:v1"}, "2");
  EXPECT_EQ(second.exit_status, 1);
  EXPECT_EQ(second.stderr_text,
            "ecr-push: push failed: PutImage was throttled by the registry (ThrottlingException: "
            "Rate exceeded) after 2 attempts; try again later, or allow more attempts with "
            "AWS_MAX_ATTEMPTS\n");
  EXPECT_EQ(second.stdout_text, "");
  // The first push's PutImage, then the second's two attempts.
  EXPECT_EQ(server_->requests("PutImage"), 3);
}

TEST_F(ThrottleRunsOut, TheStandardThreeAttemptsAreTheDefault) {
  ASSERT_EQ(
      run(kEcrPush, {"--quiet", "--no-cache", "--create-repository", kOciArchive, "default-a:v1"},
          nullptr)
          .exit_status,
      0);
  const testing::ProcessResult second =
      run(kEcrPush, {"--quiet", "--no-cache", "--create-repository", kOciArchive, "default-b:v1"},
          nullptr);
  EXPECT_EQ(second.exit_status, 1);
  EXPECT_NE(second.stderr_text.find("PutImage was throttled by the registry "
                                    "(ThrottlingException: Rate exceeded) after 3 attempts"),
            std::string::npos)
      << second.stderr_text;
}

TEST_F(ThrottleRunsOut, EcrSaysWhatTheAwsCliSaysOnceRetriesAreSpent) {
  ASSERT_EQ(run(kEcrCli, {"describe-repositories"}, "2").exit_status, 0);
  const testing::ProcessResult r = run(kEcrCli, {"describe-repositories"}, "2");
  EXPECT_EQ(r.exit_status, 254);
  EXPECT_EQ(r.stderr_text,
            "\nAn error occurred (ThrottlingException) when calling the DescribeRepositories "
            "operation (reached max retries: 1): Rate exceeded\n");
}

TEST_F(ThrottleRunsOut, AnUnusableAttemptCountIsRefusedNamingItsSource) {
  const testing::ProcessResult r =
      run(kEcrPush, {"--quiet", "--no-cache", kOciArchive, "zero:v1"}, "0");
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.stderr_text,
            "ecr-push: push failed: max_attempts '0' from AWS_MAX_ATTEMPTS must be a whole "
            "number from 1 to 100\n");
  EXPECT_EQ(server_->requests("PutImage"), 0);
}

}  // namespace
}  // namespace ecr

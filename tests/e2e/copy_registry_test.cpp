// `ecr image copy` and `ecr image inspect` with registry references: ECR to
// ECR copies through ecr-local keep the manifest digest, and a registry image
// is inspected like a local one.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

class CopyRegistry : public EcrLocalSuite {
 protected:
  static void SetUpTestSuite() {
    EcrLocalSuite::SetUpTestSuite();
    const testing::ProcessResult pushed =
        run(kEcrPush, {"--quiet", "--create-repository", kOciArchive, "source-repo:v1"});
    ASSERT_EQ(pushed.exit_status, 0) << pushed.stderr_text;
  }

  static testing::ProcessResult ecr(const std::vector<std::string>& args) {
    return run(kEcrCli, args);
  }

  static std::string digest_of_inspect(const std::string& json) {
    simdjson::dom::parser parser;
    return std::string(std::string_view(parser.parse(json)["digest"]));
  }
};

TEST_F(CopyRegistry, EcrToEcrCopyKeepsTheManifestDigestAndMovesTheBlobs) {
  const int parts_before = server_->requests("UploadLayerPart");
  const int gets_before = server_->requests("GET");
  const testing::ProcessResult r =
      ecr({"image", "copy", "--create-repository", "ecr:source-repo:v1", "ecr:copy-repo:v2"});
  ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, kHelloDigest + "\n");
  // Config and layer: read from the source repository, uploaded to the copy.
  EXPECT_EQ(server_->requests("UploadLayerPart") - parts_before, 2);
  EXPECT_EQ(server_->requests("GET") - gets_before, 2);

  const testing::ProcessResult inspected = ecr({"image", "inspect", "docker://copy-repo:v2"});
  ASSERT_EQ(inspected.exit_status, 0) << inspected.stderr_text;
  EXPECT_EQ(digest_of_inspect(inspected.stdout_text), kHelloDigest);
}

TEST_F(CopyRegistry, FullEcrUriIsARegistryReferenceAsIs) {
  const std::string host = std::string(testing::EcrLocalServer::kAccountId) + ".dkr.ecr." +
                           testing::EcrLocalServer::kRegion + ".amazonaws.com";
  const testing::ProcessResult r =
      ecr({"image", "copy", "--create-repository", host + "/source-repo@" + kHelloDigest,
           host + "/uri-copy:latest"});
  ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, kHelloDigest + "\n");
  const testing::ProcessResult inspected = ecr({"image", "inspect", host + "/uri-copy"});
  ASSERT_EQ(inspected.exit_status, 0) << inspected.stderr_text;
  EXPECT_EQ(digest_of_inspect(inspected.stdout_text), kHelloDigest);
}

TEST_F(CopyRegistry, InspectOfARegistryImageMatchesInspectOfTheArchive) {
  const testing::ProcessResult local = ecr({"image", "inspect", "oci-archive:" + kOciArchive});
  ASSERT_EQ(local.exit_status, 0) << local.stderr_text;
  const testing::ProcessResult remote = ecr({"image", "inspect", "ecr:source-repo:v1"});
  ASSERT_EQ(remote.exit_status, 0) << remote.stderr_text;
  simdjson::dom::parser a;
  simdjson::dom::parser b;
  const simdjson::dom::element l = a.parse(local.stdout_text);
  const simdjson::dom::element r = b.parse(remote.stdout_text);
  EXPECT_EQ(simdjson::to_string(l["config"]), simdjson::to_string(r["config"]));
  EXPECT_EQ(simdjson::to_string(l["layers"]), simdjson::to_string(r["layers"]));
  EXPECT_EQ(simdjson::to_string(r["names"]), R"(["v1"])");
}

TEST_F(CopyRegistry, RegistryToLocalAndBackArePullAndPush) {
  const fs::path archive = work_ / "copied.tar";
  const testing::ProcessResult out =
      ecr({"image", "copy", "ecr:source-repo:v1", "oci-archive:" + archive.string()});
  ASSERT_EQ(out.exit_status, 0) << out.stderr_text;
  EXPECT_EQ(out.stdout_text, kHelloDigest + "\n");
  const testing::ProcessResult back = ecr({"image", "copy", "--create-repository",
                                           "oci-archive:" + archive.string(), "ecr:round-trip:v3"});
  ASSERT_EQ(back.exit_status, 0) << back.stderr_text;
  EXPECT_EQ(back.stdout_text, kHelloDigest + "\n");
}

// A copy out of a registry is a pull, with ecr-pull's cache: copying the
// same image again downloads nothing (one BatchGetImage), and the stderr of
// a copy not run on a terminal stays empty.
TEST_F(CopyRegistry, RegistryToLocalCopiesUseTheBlobCache) {
  const fs::path cache = work_ / "copy-cache";
  const std::vector<std::string> before = server_->request_log();
  const testing::ProcessResult first =
      ecr({"image", "copy", "--cache-dir", cache.string(), "ecr:source-repo:v1",
           "oci:" + (work_ / "copy-cold").string()});
  ASSERT_EQ(first.exit_status, 0) << first.stderr_text;
  const std::size_t seen = server_->request_log().size();

  const testing::ProcessResult second =
      ecr({"image", "copy", "--cache-dir", cache.string(), "ecr:source-repo:v1",
           "oci:" + (work_ / "copy-warm").string()});

  ASSERT_EQ(second.exit_status, 0) << second.stderr_text;
  EXPECT_EQ(second.stdout_text, kHelloDigest + "\n");
  EXPECT_EQ(second.stderr_text, "");
  const std::vector<std::string> log = server_->request_log();
  EXPECT_EQ(std::vector<std::string>(log.begin() + static_cast<std::ptrdiff_t>(seen), log.end()),
            std::vector<std::string>{"BatchGetImage"});
  EXPECT_GT(seen - before.size(), 1u);  // the first copy downloaded its blobs
  EXPECT_TRUE(fs::is_directory(cache / "blobs" / "sha256"));
}

TEST_F(CopyRegistry, CacheDirAndNoCacheTogetherAreAUsageError) {
  const testing::ProcessResult r =
      ecr({"image", "copy", "--no-cache", "--cache-dir", (work_ / "c").string(),
           "ecr:source-repo:v1", "oci:" + (work_ / "never").string()});
  EXPECT_EQ(r.exit_status, 252) << r.stderr_text;  // ecr's usage error, as the AWS CLI's
  EXPECT_NE(r.stderr_text.find("--cache-dir and --no-cache exclude each other"), std::string::npos)
      << r.stderr_text;
  EXPECT_FALSE(fs::exists(work_ / "never"));
}

TEST_F(CopyRegistry, CopyOfAMissingImageNamesTheAwsError) {
  const testing::ProcessResult r = ecr({"image", "copy", "ecr:source-repo:nope", "ecr:other:v1"});
  EXPECT_NE(r.exit_status, 0);
  EXPECT_NE(r.stderr_text.find("ImageNotFound"), std::string::npos) << r.stderr_text;
}

}  // namespace
}  // namespace ecr

// Re-pushing an image the registry already holds, through the shipped
// ecr-push against a real ecr-local: the second push costs one
// BatchCheckLayerAvailability and the PutImage, nothing else, for an
// oci-archive (digests are in its manifests) and for a docker-archive (its
// compressed digests come from the digest index in --cache-dir).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

class Repush : public ::testing::Test {
 protected:
  ~Repush() override {
    const int status = server_.stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_.log();
  }

  // Pushes with --json and the test's own cache; returns the pushed digest
  // and the operations the push made, in order.
  struct Pushed {
    std::string digest;
    std::int64_t bytes_uploaded = -1;
    std::vector<std::string> requests;
  };
  Pushed push(const std::string& source, const std::string& dest,
              std::vector<std::string> extra = {}) {
    const std::size_t before = server_.request_log().size();
    testing::ProcessOptions opts;
    opts.argv = {kEcrPush, "--endpoint-url", server_.endpoint_url(), "--json", "--quiet"};
    if (std::find(extra.begin(), extra.end(), "--no-cache") == extra.end()) {
      opts.argv.insert(opts.argv.end(), {"--cache-dir", cache_dir().string()});
    }
    opts.argv.insert(opts.argv.end(), extra.begin(), extra.end());
    opts.argv.push_back(source);
    opts.argv.push_back(dest);
    opts.env = testing::EcrLocalServer::tool_env();
    // Never the user's cache, whatever the options.
    opts.env["XDG_CACHE_HOME"] = (server_.directory() / "xdg-cache").string();
    const testing::ProcessResult r = testing::run_process(opts, kToolTimeout);
    EXPECT_EQ(r.exit_status, 0) << "stdout: " << r.stdout_text << "\nstderr: " << r.stderr_text;
    Pushed p;
    // ecr-local logs a request after answering it: wait (boundedly) for the
    // line of the PutImage that ends every push.
    std::vector<std::string> log = server_.request_log();
    for (int i = 0; i < 100 && r.exit_status == 0 && (log.empty() || log.back() != "PutImage");
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      log = server_.request_log();
    }
    p.requests.assign(log.begin() + static_cast<std::ptrdiff_t>(before), log.end());
    if (r.exit_status != 0) return p;
    const Summary summary = parse_summary(r.stdout_text, "bytesUploaded");
    p.digest = summary.digest;
    p.bytes_uploaded = summary.bytes;
    return p;
  }

  fs::path cache_dir() const { return server_.directory() / "cache"; }

  testing::EcrLocalServer server_;
};

const std::vector<std::string> kCheckAndPut = {"BatchCheckLayerAvailability", "PutImage"};

TEST_F(Repush, OciArchiveRepushMakesOneCheckAndThePut) {
  const Pushed first =
      push("oci-archive:" + kOciArchive, "hello/oci:latest", {"--create-repository"});
  ASSERT_EQ(first.digest, kHelloDigest);

  const Pushed second = push("oci-archive:" + kOciArchive, "hello/oci:latest");

  EXPECT_EQ(second.digest, kHelloDigest);
  EXPECT_EQ(second.requests, kCheckAndPut);
  EXPECT_EQ(second.bytes_uploaded, 0);
}

TEST_F(Repush, DockerArchiveRepushWithAWarmDigestIndexMakesOneCheckAndThePut) {
  const Pushed first =
      push("docker-archive:" + kDockerArchive, "hello/docker:latest", {"--create-repository"});
  ASSERT_EQ(first.digest, kHelloDockerGzipDigest);
  EXPECT_EQ(server_.requests("UploadLayerPart"), 2);  // config and the compressed layer

  const Pushed second = push("docker-archive:" + kDockerArchive, "hello/docker:latest");

  EXPECT_EQ(second.digest, kHelloDockerGzipDigest);
  EXPECT_EQ(second.requests, kCheckAndPut);
  EXPECT_EQ(second.bytes_uploaded, 0);
}

TEST_F(Repush, DockerArchivePushWithoutCacheGivesTheSameDigest) {
  const Pushed first = push("docker-archive:" + kDockerArchive, "hello/nocache:latest",
                            {"--create-repository", "--no-cache"});
  const Pushed second =
      push("docker-archive:" + kDockerArchive, "hello/nocache:latest", {"--no-cache"});

  EXPECT_EQ(first.digest, kHelloDockerGzipDigest);
  EXPECT_EQ(second.digest, kHelloDockerGzipDigest);
  // Without the index the layer is compressed and sent again; the registry
  // already has it, so CompleteLayerUpload answers LayerAlreadyExists.
  EXPECT_FALSE(fs::exists(cache_dir()));
  EXPECT_FALSE(fs::exists(server_.directory() / "xdg-cache"));
}

}  // namespace
}  // namespace ecr

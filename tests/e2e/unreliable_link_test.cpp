// ecr-push and ecr-pull over links that break: a FaultProxy between the tools
// and ecr-local resets connections at random (a few times per 100 MiB, in
// both directions) or goes silent mid-body without closing (a dead NAT entry,
// a half-open connection). Every transfer must finish and arrive byte-exact:
// retries follow progress (a resumed download or an upload part that got
// through starts the count of failed attempts again), and a silent connection
// is abandoned after the stall timeout and resumed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/fault_proxy.hpp"
#include "support/scratch_dir.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

constexpr std::size_t kLinkMiB = 1024 * 1024;

// Printed, never asserted: how long a stall cost shows in the test's output.
double seconds_since(std::chrono::steady_clock::time_point began) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
}

// A 277 MB image of three uneven random (incompressible) layers, written once
// for the suite: the size of a typical application image, large enough that
// several resets hit every run.
struct BigImage {
  fs::path dir;
  std::vector<std::string> layers;
};

// ecr-local behind a FaultProxy (EcrLocalBehindProxy) that breaks the link.
class UnreliableLink : public EcrLocalBehindProxy {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new testing::ScratchDir("unreliable-link");
    image_ = new BigImage{scratch_->path() / "image", {}};
    LayoutWriter w(image_->dir);
    image_->layers = {random_bytes(150 * kLinkMiB, 1), random_bytes(90 * kLinkMiB, 2),
                      random_bytes(37 * kLinkMiB, 3)};
    const std::string manifest = w.add_image("amd64", image_->layers);
    w.name(kOciManifest, manifest, "latest");
  }
  static void TearDownTestSuite() {
    delete image_;
    delete scratch_;
  }

  testing::ProcessResult tool(const std::string& binary, std::vector<std::string> args,
                              const std::vector<std::pair<std::string, std::string>>& env = {}) {
    args.insert(args.begin(), {"--quiet", "--no-cache"});
    testing::ProcessOptions opts = tool_options(binary, proxy_.url(), args, work_);
    for (const auto& [name, value] : env) opts.env[name] = value;
    return testing::run_process(opts, kToolTimeout);
  }

  void push(const std::string& dest, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), "--create-repository");
    extra.push_back("oci:" + image_->dir.string());
    extra.push_back(dest);
    const auto r = tool(kEcrPush, extra);
    ASSERT_EQ(r.exit_status, 0) << "ecr-push failed\nstderr: " << r.stderr_text
                                << "\necr-local log:\n"
                                << server_->log();
  }

  // Pulls `source` into a fresh OCI layout and checks every layer arrived
  // byte-exact.
  void pull_and_compare(const std::string& source, std::vector<std::string> extra = {}) {
    const fs::path dest = work_ / ("pulled-" + std::to_string(++pulls_));
    extra.push_back(source);
    extra.push_back("oci:" + dest.string());
    const auto r = tool(kEcrPull, extra);
    ASSERT_EQ(r.exit_status, 0) << "ecr-pull failed\nstderr: " << r.stderr_text
                                << "\necr-local log:\n"
                                << server_->log();
    for (const std::string& layer : image_->layers) {
      const fs::path blob = dest / "blobs" / "sha256" / sha256(layer).substr(7);
      ASSERT_TRUE(fs::is_regular_file(blob)) << blob;
      EXPECT_EQ(fs::file_size(blob), layer.size()) << blob;
      EXPECT_EQ(sha256(read_file(blob)), sha256(layer)) << blob;
    }
  }

  static testing::ScratchDir* scratch_;
  static BigImage* image_;
  int pulls_ = 0;
};

testing::ScratchDir* UnreliableLink::scratch_ = nullptr;
BigImage* UnreliableLink::image_ = nullptr;

struct ResetCase {
  double per_100_mib;
  std::uint64_t seed;
};

class ResettingLink : public UnreliableLink, public ::testing::WithParamInterface<ResetCase> {};

// Push and pull with the proxy resetting connections at random all along:
// both finish, and what arrives is exact. The first gaps of each seed are
// shorter than the push's bytes, so resets do happen (asserted).
TEST_P(ResettingLink, PushAndPullFinishByteExact) {
  proxy_.reset_randomly(GetParam().per_100_mib, GetParam().seed);
  push("link/resets:latest");
  const int push_resets = proxy_.fired();
  pull_and_compare("link/resets:latest");
  const int pull_resets = proxy_.fired() - push_resets;
  EXPECT_GE(push_resets + pull_resets, 2);
  std::cout << "resets: " << push_resets << " during the push, " << pull_resets
            << " during the pull\n";
}

INSTANTIATE_TEST_SUITE_P(Rates, ResettingLink,
                         ::testing::Values(ResetCase{3, 1}, ResetCase{3, 2}, ResetCase{5, 1},
                                           ResetCase{5, 3}),
                         [](const ::testing::TestParamInfo<ResetCase>& p) {
                           return std::to_string(static_cast<int>(p.param.per_100_mib)) +
                                  "per100MiB_seed" + std::to_string(p.param.seed);
                         });

// The connection carrying an upload part goes silent after 1 MiB of its body
// and stays open: ecr-push abandons it after --stall-timeout and sends the
// part again on a new connection.
TEST_F(UnreliableLink, PushFinishesWhenAPartStalls) {
  proxy_.stall_during_request("UploadLayerPart", 1 * kLinkMiB, /*skip=*/2);
  const auto began = std::chrono::steady_clock::now();
  push("link/stall:latest", {"--stall-timeout", "2"});
  std::cout << "push with one stalled part: " << seconds_since(began) << " s\n";
  EXPECT_EQ(proxy_.fired(), 1);
  pull_and_compare("link/stall:latest");
}

// A download goes silent after 5 MiB: ecr-pull abandons it after the stall
// timeout (here from ECR_STALL_TIMEOUT) and asks for the rest with a Range.
TEST_F(UnreliableLink, PullResumesWhenADownloadStalls) {
  const auto pushed = std::chrono::steady_clock::now();
  push("link/stall-pull:latest");
  std::cout << "push, nothing stalled: " << seconds_since(pushed) << " s\n";
  pull_and_compare("link/stall-pull:latest");
  std::cout << "pull, nothing stalled: " << seconds_since(pushed) << " s since the push began\n";
  proxy_.stall_during_response("GET /blobs/sha256/" + sha256(image_->layers[1]).substr(7),
                               5 * kLinkMiB);
  const fs::path dest = work_ / "stalled-pull";
  const auto began = std::chrono::steady_clock::now();
  const auto r = tool(kEcrPull, {"link/stall-pull:latest", "oci:" + dest.string()},
                      {{"ECR_STALL_TIMEOUT", "2"}});
  std::cout << "pull with one stalled download: " << seconds_since(began) << " s\n";
  ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_EQ(proxy_.fired(), 1);
  const fs::path blob = dest / "blobs" / "sha256" / sha256(image_->layers[1]).substr(7);
  EXPECT_EQ(sha256(read_file(blob)), sha256(image_->layers[1]));
}

// A stall timeout out of range is a usage error naming where it came from.
TEST_F(UnreliableLink, BadStallTimeoutIsRefusedNamingItsSource) {
  const auto from_env = tool(kEcrPull, {"link/none:latest", "oci:" + (work_ / "x").string()},
                             {{"ECR_STALL_TIMEOUT", "0"}});
  EXPECT_NE(from_env.exit_status, 0);
  EXPECT_NE(from_env.stderr_text.find("stall timeout '0' from ECR_STALL_TIMEOUT must be a whole "
                                      "number of seconds from 1 to 3600"),
            std::string::npos)
      << from_env.stderr_text;
  const auto from_flag =
      tool(kEcrPull, {"--stall-timeout", "0", "link/none:latest", "oci:" + (work_ / "y").string()});
  EXPECT_EQ(from_flag.exit_status, 2) << from_flag.stderr_text;
  EXPECT_NE(from_flag.stderr_text.find("--stall-timeout"), std::string::npos)
      << from_flag.stderr_text;
}

}  // namespace
}  // namespace ecr

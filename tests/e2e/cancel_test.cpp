// Cancellation of requests in flight, through the shipped binaries: a peer
// that hangs mid-upload or mid-download (a FaultProxy stall between the tool
// and ecr-local) must not hold a tool past SIGINT. Without aborting the
// request in flight, the tool would sit out libcurl's 60 s low-speed limit;
// with it, it exits 130 within about a second, having committed nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/fault_proxy.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;
using namespace std::chrono_literals;

constexpr std::int64_t kMiB = 1024 * 1024;
// Two upload parts (ecr-local answers partSize 10 MiB, as ECR does) and, below
// the 16 MiB range threshold of pulls, one GET.
constexpr std::int64_t kLayerSize = 12 * kMiB;
// How long a tool may take to exit after SIGINT before the test gives up on
// it: far above the ~1 s an abort takes, far below the 60 s low-speed limit a
// stalled request would otherwise wait out. A hang guard, not a timing claim.
constexpr auto kExitGuard = 20s;

// ecr-local behind a FaultProxy, which also carries the download URLs
// (--public-url), so a stall can hit blob GETs too.
class Cancel : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy_ = std::make_unique<testing::FaultProxy>();
    server_ = std::make_unique<testing::EcrLocalServer>(
        std::vector<std::string>{"--public-url", proxy_->url()});
    proxy_->set_upstream_port(server_->port());
    work_ = server_->directory() / "work";
    fs::create_directories(work_);
    image_ = write_image(work_ / "image", random_bytes(kLayerSize, 20261124), "latest");
  }

  void TearDown() override {
    // Closes the stalled connection first: ecr-local would otherwise wait on
    // the request it is still reading (or the answer it is still writing).
    proxy_.reset();
    const int status = server_->stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
  }

  testing::ProcessOptions tool(const std::string& binary, const std::vector<std::string>& args) {
    return tool_options(binary, proxy_->url(), args, work_);
  }

  // Pushes the test image to `dest` through the proxy, with no fault armed.
  void push_image(const std::string& dest) {
    const testing::ProcessResult r = testing::run_process(
        tool(kEcrPush,
             {"--quiet", "--no-cache", "--create-repository", "oci:" + image_.dir.string(), dest}),
        kToolTimeout);
    ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  }

  // Starts the tool, waits until the armed stall has fired (the tool is then
  // blocked in a request that will never end by itself), sends SIGINT and
  // returns the exit status (nullopt: still running after kExitGuard).
  // `stderr_text` receives what the tool wrote on stderr.
  std::optional<int> interrupt_at_stall(const testing::ProcessOptions& opts,
                                        std::string& stderr_text) {
    const fs::path stderr_path = work_ / ("stderr-" + std::to_string(++runs_));
    testing::ProcessOptions with_log = opts;
    with_log.stderr_path = stderr_path.string();
    testing::Subprocess child(with_log);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (proxy_->fired() == 0) {
      if (!child.running() || std::chrono::steady_clock::now() > deadline) {
        child.terminate();
        stderr_text = read_file(stderr_path);
        ADD_FAILURE() << "the stall never fired; stderr:\n" << stderr_text;
        return std::nullopt;
      }
      std::this_thread::sleep_for(5ms);
    }
    ::kill(child.pid(), SIGINT);
    const std::optional<int> status = child.wait(kExitGuard);
    if (!status) child.terminate();
    stderr_text = read_file(stderr_path);
    return status;
  }

  // interrupt_at_stall(), then what every cancel promises: the stall fired
  // once, the tool exited 130 within kExitGuard and said `expected_stderr`.
  void expect_interrupted(const testing::ProcessOptions& opts, const std::string& expected_stderr) {
    std::string stderr_text;
    const std::optional<int> status = interrupt_at_stall(opts, stderr_text);
    EXPECT_EQ(proxy_->fired(), 1);
    ASSERT_TRUE(status.has_value())
        << "still running " << kExitGuard.count() << " s after SIGINT; stderr:\n"
        << stderr_text;
    EXPECT_EQ(*status, 130) << stderr_text;
    EXPECT_EQ(stderr_text, expected_stderr);
  }

  static std::string blob_get(const std::string& digest) {
    return "GET /blobs/sha256/" + digest.substr(7);
  }

  std::unique_ptr<testing::FaultProxy> proxy_;
  std::unique_ptr<testing::EcrLocalServer> server_;
  fs::path work_;
  OciImage image_;
  int runs_ = 0;
};

TEST_F(Cancel, SigintAbortsAPushStalledMidPartWithExit130AndNoManifest) {
  // 1 MiB into a part of the layer (the config's one small part is let by).
  proxy_->stall_during_request("UploadLayerPart", 1 * kMiB);

  expect_interrupted(tool(kEcrPush, {"--quiet", "--no-cache", "--create-repository",
                                     "oci:" + image_.dir.string(), "cancel/push:latest"}),
                     "ecr-push: interrupted; push stopped\n");
  EXPECT_EQ(server_->requests("PutImage"), 0);
}

TEST_F(Cancel, SigintAbortsAPullStalledMidBlobWithExit130AndNoDestination) {
  push_image("cancel/pull:latest");
  proxy_->stall_during_response(blob_get(image_.layer_digest), 1 * kMiB);
  const fs::path out = work_ / "out";
  fs::create_directories(out);

  expect_interrupted(
      tool(kEcrPull, {"--quiet", "--cache-dir", (work_ / "cache").string(), "cancel/pull:latest",
                      "oci-archive:" + (out / "pulled.tar").string()}),
      "ecr-pull: interrupted; pull stopped\n");
  // Neither the archive nor a temporary of it.
  EXPECT_TRUE(fs::is_empty(out));
  EXPECT_FALSE(fs::exists(work_ / "cache" / "blobs" / "sha256" / image_.layer_digest.substr(7)));
}

TEST_F(Cancel, SigintAbortsARegistryCopyStalledReadingTheSource) {
  push_image("cancel/source:latest");
  const int puts_before = server_->requests("PutImage");
  proxy_->stall_during_response(blob_get(image_.layer_digest), 1 * kMiB);

  expect_interrupted(tool(kEcrCli, {"image", "copy", "--create-repository",
                                    "ecr:cancel/source:latest", "ecr:cancel/copy:latest"}),
                     "\ninterrupted\n");
  EXPECT_EQ(server_->requests("PutImage"), puts_before);
}

}  // namespace
}  // namespace ecr

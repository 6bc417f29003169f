// ecr-push and ecr-pull as users meet them: progress lines, failures named
// after the AWS error, and SIGINT stopping a transfer with exit 130 and
// nothing partial left behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;
using namespace std::chrono_literals;

// A layer big enough to be several upload parts (10 MiB each) and several
// download ranges, so a transfer is certainly in progress when interrupted.
constexpr std::int64_t kBigLayerBytes = 64 * 1024 * 1024;

// An OCI layout holding one image "big" with one layer of random bytes.
void write_random_layout(const fs::path& layout, std::int64_t layer_bytes) {
  write_image(layout, random_bytes(static_cast<std::size_t>(layer_bytes), 0), "big");
}

class CliTransfer : public EcrLocalSuite {
 protected:
  // Starts `binary` with stderr to a file, waits for a stderr line containing
  // `marker`, stops the server (so the transfer is certainly mid-flight),
  // sends SIGINT, resumes the server and returns the tool's exit status.
  static int interrupt_when(const std::string& binary, const std::vector<std::string>& args,
                            const std::string& marker, const fs::path& stderr_path) {
    testing::ProcessOptions opts = tool(binary, args);
    opts.stderr_path = stderr_path.string();
    testing::Subprocess child(opts);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (read_file(stderr_path).find(marker) == std::string::npos) {
      if (!child.running() || std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no \"" << marker << "\" line; stderr:\n" << read_file(stderr_path);
        return child.terminate();
      }
      std::this_thread::sleep_for(5ms);
    }
    // With the server stopped the tool is blocked in a request: the signal
    // lands mid-transfer, and is noticed when the request returns.
    ::kill(server_->pid(), SIGSTOP);
    ::kill(child.pid(), SIGINT);
    ::kill(server_->pid(), SIGCONT);
    const std::optional<int> status = child.wait(20s);
    if (!status) {
      ADD_FAILURE() << "still running 20 s after SIGINT; stderr:\n" << read_file(stderr_path);
      return child.terminate();
    }
    return *status;
  }
};

TEST_F(CliTransfer, PushToAMissingRepositoryExits1NamingRepositoryNotFoundException) {
  const testing::ProcessResult r = run(kEcrPush, {kOciArchive, "never-created:v1"});
  EXPECT_EQ(r.exit_status, 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("push failed"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("RepositoryNotFoundException"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "");
}

TEST_F(CliTransfer, PullOfAMissingTagExits1NamingImageNotFound) {
  ASSERT_EQ(
      run(kEcrPush, {"--quiet", "--create-repository", kOciArchive, "tagless:v1"}).exit_status, 0);
  const testing::ProcessResult r =
      run(kEcrPull, {"tagless:no-such-tag", (work_ / "never.tar").string()});
  EXPECT_EQ(r.exit_status, 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("pull failed"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("ImageNotFound"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(work_ / "never.tar"));
}

// The library's PlatformError speaks of TransferOptions::platform; the tools
// say which --platform values there are.
TEST_F(CliTransfer, PullOfAPlatformTheIndexLacksExits1ListingTheChoices) {
  const fs::path layout = work_ / "two-platforms";
  write_two_platform_layout(layout, "multi");
  ASSERT_EQ(run(kEcrPush, {"--quiet", "--create-repository", "oci:" + layout.string() + ":multi",
                           "platforms:v1"})
                .exit_status,
            0);
  const testing::ProcessResult r =
      run(kEcrPull, {"--platform", "linux/s390x", "platforms:v1", (work_ / "never.tar").string()});
  EXPECT_EQ(r.exit_status, 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("has no manifest for linux/s390x; it offers linux/amd64, "
                               "linux/arm64; choose with --platform: linux/amd64 linux/arm64"),
            std::string::npos)
      << r.stderr_text;
  EXPECT_EQ(r.stderr_text.find("TransferOptions"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(work_ / "never.tar"));
}

TEST_F(CliTransfer, CopyOfAnIndexIntoADockerArchiveAsksForAPlatform) {
  const fs::path layout = work_ / "two-platforms-local";
  write_two_platform_layout(layout, "multi");
  const fs::path out = work_ / "never-docker.tar";
  const testing::ProcessResult r =
      run(kEcrCli,
          {"image", "copy", "oci:" + layout.string() + ":multi", "docker-archive:" + out.string()});
  EXPECT_EQ(r.exit_status, 255) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("the destination holds single-platform images"), std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("; choose with --platform: linux/amd64 linux/arm64\n"),
            std::string::npos)
      << r.stderr_text;
  EXPECT_FALSE(fs::exists(out));

  const testing::ProcessResult arm =
      run(kEcrCli, {"image", "copy", "--platform", "linux/arm64",
                    "oci:" + layout.string() + ":multi", "docker-archive:" + out.string()});
  EXPECT_EQ(arm.exit_status, 0) << arm.stderr_text;
  EXPECT_TRUE(fs::exists(out));
}

TEST_F(CliTransfer, ProgressOnAPipeIsOneLinePerBlobStateChange) {
  const testing::ProcessResult first =
      run(kEcrPush, {"--create-repository", kOciArchive, "progress:v1"});
  ASSERT_EQ(first.exit_status, 0) << first.stderr_text;
  // hello.oci.tar: one config and one layer, each checked, uploaded, done.
  std::vector<std::string> states;
  for (const std::string& line : lines_of(first.stderr_text)) {
    ASSERT_GE(line.size(), 14u) << line;
    states.push_back(line.substr(13, line.find(' ', 13) - 13));
  }
  std::sort(states.begin(), states.end());
  EXPECT_EQ(states, (std::vector<std::string>{"checking", "checking", "done", "done", "uploading",
                                              "uploading"}))
      << first.stderr_text;

  const testing::ProcessResult again =
      run(kEcrPush, {"--create-repository", kOciArchive, "progress:v1"});
  ASSERT_EQ(again.exit_status, 0) << again.stderr_text;
  const std::vector<std::string> lines = lines_of(again.stderr_text);
  ASSERT_EQ(lines.size(), 4u) << again.stderr_text;
  EXPECT_NE(lines[2].find(" exists "), std::string::npos) << again.stderr_text;
  EXPECT_NE(lines[3].find(" exists "), std::string::npos) << again.stderr_text;
}

TEST_F(CliTransfer, QuietPrintsNothingOnStderr) {
  const testing::ProcessResult r =
      run(kEcrPush, {"--quiet", "--create-repository", kOciArchive, "quiet:v1"});
  ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_EQ(r.stderr_text, "");
  EXPECT_EQ(r.stdout_text, "");
}

TEST_F(CliTransfer, SigintStopsAPushWithExit130AndPutsNoManifest) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "64 MiB through an instrumented push and registry is too slow under ASan";
#endif
  const fs::path layout = work_ / "big-push";
  write_random_layout(layout, kBigLayerBytes);
  const int puts_before = server_->requests("PutImage");
  const fs::path log = work_ / "push-interrupted.log";
  const int status = interrupt_when(
      kEcrPush, {"--no-cache", "--create-repository", "oci:" + layout.string(), "interrupted:v1"},
      "uploading 64.0 MiB", log);
  EXPECT_EQ(status, 130) << read_file(log);
  EXPECT_NE(read_file(log).find("interrupted"), std::string::npos) << read_file(log);
  EXPECT_EQ(server_->requests("PutImage"), puts_before);
  const testing::ProcessResult pull =
      run(kEcrPull, {"--quiet", "interrupted:v1", (work_ / "absent.tar").string()});
  EXPECT_EQ(pull.exit_status, 1) << pull.stderr_text;
}

TEST_F(CliTransfer, SigintStopsAPullWithExit130AndLeavesNoFile) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "64 MiB through an instrumented push and registry is too slow under ASan";
#endif
  const fs::path layout = work_ / "big-pull";
  write_random_layout(layout, kBigLayerBytes);
  const testing::ProcessResult pushed =
      run(kEcrPush,
          {"--quiet", "--no-cache", "--create-repository", "oci:" + layout.string(), "big:v1"});
  ASSERT_EQ(pushed.exit_status, 0) << pushed.stderr_text;

  const fs::path dest_dir = work_ / "pull-into";
  fs::create_directories(dest_dir);
  const fs::path log = work_ / "pull-interrupted.log";
  const int status = interrupt_when(
      kEcrPull, {"--no-cache", "big:v1", "oci-archive:" + (dest_dir / "big.tar").string()},
      "downloading", log);
  EXPECT_EQ(status, 130) << read_file(log);
  EXPECT_FALSE(fs::exists(dest_dir / "big.tar"));
  // Nor any temporary file beside it.
  EXPECT_TRUE(fs::is_empty(dest_dir)) << fs::directory_iterator(dest_dir)->path();
}

}  // namespace
}  // namespace ecr

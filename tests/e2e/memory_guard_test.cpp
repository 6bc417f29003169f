// A coarse guard on the push engine's memory: DESIGN.md bounds it by jobs x
// part size x a small constant, never by image size. ecr-push of a 2 GiB
// layer to ecr-local must stay far below the layer's size in peak RSS.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

constexpr std::int64_t kGiB = 1024 * 1024 * 1024;
constexpr std::int64_t kGuardLayerSize = 2 * kGiB;
// The layer is 2 GiB of zeros, a sparse file that costs no disk to make.
// Its digest was computed once, with
//   head -c 2147483648 /dev/zero | sha256sum
// so the test does not spend seconds hashing it before the push does.
constexpr const char* kLayerDigest =
    "sha256:a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51";
// A push that streams the layer holds a few parts (at most 20 MiB each, as
// base64 JSON) per job; one that buffers the layer needs more than 2 GiB.
constexpr std::int64_t kMaxPeakRss = 1 * kGiB;
constexpr auto kPushTimeout = std::chrono::minutes(10);

TEST(MemoryGuard, PushOfA2GiBLayerStaysUnder1GiBPeakRss) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "2 GiB through an instrumented ecr-push and ecr-local takes minutes, and "
                  "ASan's shadow memory inflates RSS";
#endif
  testing::EcrLocalServer server;
  const fs::path layout = server.directory() / "image";
  LayoutWriter w(layout);
  {
    const fs::path path = layout / "blobs" / "sha256" / std::string(kLayerDigest).substr(7);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    const int rc = ::ftruncate(fd, static_cast<off_t>(kGuardLayerSize));
    ::close(fd);
    ASSERT_EQ(rc, 0) << path;
  }
  // Written by hand around the sparse layer, which LayoutWriter would have to
  // read and hash.
  const std::string config =
      w.add(std::string(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)") +
            R"("diff_ids":[")" + kLayerDigest + R"("]}})");
  const std::string manifest =
      w.add(std::string(R"({"schemaVersion":2,"mediaType":")") + kOciManifest + R"(","config":)" +
            descriptor_json(kOciConfig, config) + R"(,"layers":[{"mediaType":")" + kOciLayer +
            R"(","digest":")" + kLayerDigest + R"(","size":)" + std::to_string(kGuardLayerSize) + "}]}");
  const std::string manifest_digest = sha256(manifest);
  write_file(layout / "index.json", R"({"schemaVersion":2,"manifests":[)" +
                                        descriptor_json(kOciManifest, manifest) + "]}");

  testing::ProcessOptions opts;
  opts.argv = {kEcrPush,
               "--endpoint-url",
               server.endpoint_url(),
               "--json",
               "--quiet",
               "--no-cache",
               "--create-repository",
               "oci:" + layout.string(),
               "memory/guard:latest"};
  opts.env = testing::EcrLocalServer::tool_env();
  const testing::ProcessResult r = testing::run_process(opts, kPushTimeout);

  ASSERT_EQ(r.exit_status, 0) << "stdout: " << r.stdout_text << "\nstderr: " << r.stderr_text;
  const Summary summary = parse_summary(r.stdout_text, "bytesUploaded");
  EXPECT_EQ(summary.digest, manifest_digest);
  EXPECT_EQ(summary.bytes, kGuardLayerSize + std::int64_t(config.size()));
  EXPECT_GT(r.peak_rss_bytes, 0);
  EXPECT_LT(r.peak_rss_bytes, kMaxPeakRss)
      << "ecr-push peaked at " << r.peak_rss_bytes << " bytes resident";
  RecordProperty("ecr_push_peak_rss_bytes", std::to_string(r.peak_rss_bytes));
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace ecr

// A coarse guard on the push engine's memory: DESIGN.md bounds it by jobs x
// part size x a small constant, never by image size. ecr-push of a 2 GiB
// layer to ecr-local must stay far below the layer's size in peak RSS.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ecr/digest.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

const std::string kEcrPush = ECR_PUSH_BINARY;
constexpr std::int64_t kGiB = 1024 * 1024 * 1024;
constexpr std::int64_t kLayerSize = 2 * kGiB;
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

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string sha256(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.finish().str();
}

std::string last_line(const std::string& text) {
  std::string last;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

TEST(MemoryGuard, PushOfA2GiBLayerStaysUnder1GiBPeakRss) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "2 GiB through an instrumented ecr-push and ecr-local takes minutes, and "
                  "ASan's shadow memory inflates RSS";
#endif
  testing::EcrLocalServer server;
  const fs::path layout = server.directory() / "image";
  const fs::path blobs = layout / "blobs" / "sha256";
  fs::create_directories(blobs);
  {
    const std::string path = (blobs / (std::string(kLayerDigest).substr(7))).string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    const int rc = ::ftruncate(fd, static_cast<off_t>(kLayerSize));
    ::close(fd);
    ASSERT_EQ(rc, 0) << path;
  }
  const std::string config =
      std::string(
          R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")") +
      kLayerDigest + R"("]}})";
  const std::string config_digest = sha256(config);
  write_file(blobs / config_digest.substr(7), config);
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
      kLayerDigest + R"(","size":)" + std::to_string(kLayerSize) + "}]}";
  const std::string manifest_digest = sha256(manifest);
  write_file(blobs / manifest_digest.substr(7), manifest);
  write_file(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_file(layout / "index.json", R"({"schemaVersion":2,"manifests":[{"mediaType":)"
                                    R"("application/vnd.oci.image.manifest.v1+json","digest":")" +
                                        manifest_digest + R"(","size":)" +
                                        std::to_string(manifest.size()) + "}]}");

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
  simdjson::dom::parser parser;
  const simdjson::dom::element summary = parser.parse(last_line(r.stdout_text));
  EXPECT_EQ(std::string_view(summary["digest"]), manifest_digest);
  EXPECT_EQ(std::int64_t(summary["bytesUploaded"]), kLayerSize + std::int64_t(config.size()));
  EXPECT_GT(r.peak_rss_bytes, 0);
  EXPECT_LT(r.peak_rss_bytes, kMaxPeakRss)
      << "ecr-push peaked at " << r.peak_rss_bytes << " bytes resident";
  RecordProperty("ecr_push_peak_rss_bytes", std::to_string(r.peak_rss_bytes));
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace ecr

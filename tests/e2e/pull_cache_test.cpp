// ecr-pull with the blob cache, through the shipped binaries against a real
// ecr-local: a warm pull downloads nothing, a multi-arch index round-trips
// digest for digest, a large layer arrives as parallel ranges, and a pull
// killed mid-download leaves the cache and the destination consistent.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "ecr/digest.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

// Every file under blobs/sha256 of `cache` hashes to its name; returns how many.
std::size_t check_cache_blobs(const fs::path& cache) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(cache / "blobs" / "sha256")) {
    EXPECT_EQ(Digest::of(read_file(e.path())).hex(), e.path().filename().string())
        << "corrupt cache entry " << e.path();
    ++n;
  }
  return n;
}

class PullCache : public EcrLocalSuite {
 protected:
  static Summary push(const std::string& source, const std::string& dest) {
    return run_json(kEcrPush, {"--no-cache", "--create-repository", source, dest}, "bytesUploaded");
  }
  static Summary pull(const fs::path& cache, std::vector<std::string> args) {
    args.insert(args.begin(), {"--cache-dir", cache.string()});
    return run_json(kEcrPull, args, "bytesDownloaded");
  }
  // The requests ecr-local logged since the last call.
  static std::map<std::string, int> new_requests() {
    const std::vector<std::string> log = server_->request_log();
    std::map<std::string, int> counts;
    for (std::size_t i = seen_; i < log.size(); ++i) ++counts[log[i]];
    seen_ = log.size();
    return counts;
  }

  static inline std::size_t seen_ = 0;
};

TEST_F(PullCache, WarmPullDownloadsNothingAndWritesTheSameArchive) {
  const fs::path cache = work_ / "warm-cache";
  push("oci-archive:" + kOciArchive, "cache/hello:latest");
  const Summary cold =
      pull(cache, {"cache/hello:latest", "oci-archive:" + (work_ / "cold.tar").string()});
  new_requests();

  const Summary warm =
      pull(cache, {"cache/hello:latest", "oci-archive:" + (work_ / "warm.tar").string()});

  EXPECT_EQ(new_requests(), (std::map<std::string, int>{{"BatchGetImage", 1}}));
  EXPECT_EQ(warm.digest, cold.digest);
  ASSERT_EQ(warm.actions().size(), 2u);  // config and layer
  for (const auto& [digest, action] : warm.actions()) EXPECT_EQ(action, "cached") << digest;
  for (const auto& [digest, action] : cold.actions()) EXPECT_EQ(action, "downloaded") << digest;
  EXPECT_EQ(warm.bytes, 0);
  EXPECT_EQ(read_file(work_ / "warm.tar"), read_file(work_ / "cold.tar"));
}

TEST_F(PullCache, MultiArchIndexRoundTripsDigestForDigestAndPullsWarmInOneRequest) {
  const fs::path layout = work_ / "multi-layout";
  LayoutWriter w(layout);
  const std::string amd = w.add_image("amd64", random_bytes(3000, 1));
  const std::string arm = w.add_image("arm64", random_bytes(5000, 2));
  const std::string index = w.add(
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciIndex) + "\",\"manifests\":[" +
      descriptor_json(kOciManifest, amd,
                      ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}") +
      "," +
      descriptor_json(kOciManifest, arm,
                      ",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}") +
      "]}");
  w.name(kOciIndex, index, "multi");
  const fs::path cache = work_ / "multi-cache";

  const Summary pushed = push("oci:" + layout.string() + ":multi", "cache/multi:v1");
  const fs::path all = work_ / "multi-all";
  const Summary pulled = pull(cache, {"--all-platforms", "cache/multi:v1", "oci:" + all.string()});
  const Summary arm_only = pull(cache, {"--platform", "linux/arm64", "cache/multi:v1",
                                        "oci:" + (work_ / "multi-arm").string()});
  new_requests();
  const Summary warm =
      pull(cache, {"--all-platforms", "cache/multi:v1", "oci:" + (work_ / "multi-warm").string()});
  const auto warm_requests = new_requests();

  EXPECT_EQ(pushed.digest, Digest::of(index).str());
  EXPECT_EQ(pulled.digest, Digest::of(index).str());
  for (const std::string* doc : {&index, &amd, &arm}) {
    EXPECT_EQ(read_file(all / "blobs" / "sha256" / std::string(Digest::of(*doc).hex())), *doc);
  }
  EXPECT_NE(read_file(all / "index.json").find(Digest::of(index).str()), std::string::npos);
  EXPECT_EQ(pulled.actions().size(), 4u);  // two configs, two layers
  EXPECT_EQ(arm_only.digest, Digest::of(arm).str());
  EXPECT_EQ(warm_requests, (std::map<std::string, int>{{"BatchGetImage", 1}}));
  EXPECT_EQ(warm.digest, Digest::of(index).str());
  for (const auto& [digest, action] : warm.actions()) EXPECT_EQ(action, "cached") << digest;
}

// 20 MiB is past DownloadTuning::range_threshold (16 MiB): the layer comes
// as several ranged GETs written in place into the cache's temp file.
TEST_F(PullCache, LargeLayerArrivesAsParallelRangesAndIsByteEqual) {
  const fs::path layout = work_ / "large-layout";
  LayoutWriter w(layout);
  const std::string layer = random_bytes(20 << 20, 3);
  w.name(kOciManifest, w.add_image("amd64", layer), "large");
  push("oci:" + layout.string() + ":large", "cache/large:v1");
  const fs::path cache = work_ / "large-cache";
  const fs::path dest = work_ / "large-pulled";
  new_requests();

  pull(cache, {"cache/large:v1", "oci:" + dest.string()});

  const std::string hex(Digest::of(layer).hex());
  EXPECT_TRUE(read_file(dest / "blobs" / "sha256" / hex) == layer);
  EXPECT_TRUE(read_file(cache / "blobs" / "sha256" / hex) == layer);
  EXPECT_GT(new_requests()["GET"], 2);  // the config, and more than one for the layer
}

TEST_F(PullCache, PullKilledMidDownloadLeavesOnlyVerifiedBlobsAndNothingAtTheDestination) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "64 MiB push and pull: too slow under ASan";
#endif
  const fs::path layout = work_ / "kill-layout";
  LayoutWriter w(layout);
  const std::string layer = random_bytes(64 << 20, 4);
  const std::string manifest = w.add_image("amd64", layer);
  w.name(kOciManifest, manifest, "big");
  push("oci:" + layout.string() + ":big", "cache/big:v1");
  const fs::path cache = work_ / "kill-cache";
  const fs::path dest = work_ / "killed.tar";

  testing::Subprocess puller(tool(kEcrPull, {"--json", "--quiet", "--cache-dir", cache.string(),
                                             "cache/big:v1", "oci-archive:" + dest.string()}));
  // Kill it once a download is under way: a temp file in the cache.
  bool downloading = false;
  while (!downloading && puller.running()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cache / "tmp", ec)) {
      downloading = downloading || e.path().extension() == ".tmp";
    }
    if (!downloading) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(downloading) << "ecr-pull exited before it started downloading";
  ASSERT_EQ(::kill(puller.pid(), SIGKILL), 0);
  EXPECT_EQ(puller.wait(std::chrono::seconds(10)), 128 + SIGKILL);

  check_cache_blobs(cache);
  EXPECT_FALSE(fs::exists(dest));

  const Summary again = pull(cache, {"cache/big:v1", "oci-archive:" + dest.string()});

  EXPECT_EQ(again.digest, Digest::of(manifest).str());
  EXPECT_TRUE(read_file(cache / "blobs" / "sha256" / std::string(Digest::of(layer).hex())) ==
              layer);
  EXPECT_GE(check_cache_blobs(cache), 3u);   // manifest, config, layer
  EXPECT_TRUE(fs::is_empty(cache / "tmp"));  // the killed pull's temp swept
  EXPECT_TRUE(fs::is_regular_file(dest));
}

}  // namespace
}  // namespace ecr

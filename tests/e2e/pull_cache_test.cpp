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

// A pull into an oci-archive writes what it downloads straight into the
// archive, not into the cache (docs/cache.md); what the cache holds, it
// copies from there.
TEST_F(PullCache, ColdPullIntoAnArchiveLeavesTheLayersOutOfTheCache) {
  const fs::path cache = work_ / "archive-cache";
  push("oci-archive:" + kOciArchive, "cache/hello:latest");

  const Summary cold =
      pull(cache, {"cache/hello:latest", "oci-archive:" + (work_ / "cold-only.tar").string()});

  for (const auto& [digest, action] : cold.actions()) {
    EXPECT_EQ(action, "downloaded") << digest;
    EXPECT_FALSE(fs::exists(cache / "blobs" / "sha256" / digest.substr(7))) << digest;
  }
  EXPECT_EQ(check_cache_blobs(cache), 1u);  // the manifest
}

TEST_F(PullCache, WarmPullDownloadsNothingAndWritesTheSameArchive) {
  const fs::path cache = work_ / "warm-cache";
  push("oci-archive:" + kOciArchive, "cache/hello:latest");
  const Summary cold = pull(work_ / "other-cache",
                            {"cache/hello:latest", "oci-archive:" + (work_ / "cold.tar").string()});
  // A pull into a layout fills the cache.
  pull(cache, {"cache/hello:latest", "oci:" + (work_ / "warming").string()});
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
  const auto [amd, arm, index] = write_two_platform_layout(layout, "multi");
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
// as several ranged GETs written in place into the cache's temp file (one
// after the other on loopback, where each keeps its worker busy).
TEST_F(PullCache, LargeLayerArrivesAsSeveralRangesAndIsByteEqual) {
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

TEST_F(PullCache, PullKilledMidDownloadLeavesOnlyVerifiedBlobsAndNothingNextToTheDestination) {
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
  // Kill it once the archive is being written: the puller holds its file,
  // laid out at its full size next to the destination, unnamed (O_TMPFILE:
  // "<dir>/#<inode> (deleted)") or, where unnamed files are not supported,
  // as killed.tar.tmp-<random>.
  bool downloading = false;
  const fs::path fds = "/proc/" + std::to_string(puller.pid()) + "/fd";
  while (!downloading && puller.running()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fds, ec)) {
      const std::string target = fs::read_symlink(e.path(), ec).string();
      downloading = downloading || target.starts_with((work_ / "#").string()) ||
                    target.starts_with(dest.string() + ".tmp-");
    }
    if (!downloading) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(downloading) << "ecr-pull exited before it started downloading";
  ASSERT_EQ(::kill(puller.pid(), SIGKILL), 0);
  EXPECT_EQ(puller.wait(std::chrono::seconds(10)), 128 + SIGKILL);

  check_cache_blobs(cache);
  EXPECT_FALSE(fs::exists(dest));
  for (const auto& e : fs::directory_iterator(work_)) {
    EXPECT_FALSE(e.path().filename().string().starts_with("killed.tar")) << e.path();
  }

  const Summary again = pull(cache, {"cache/big:v1", "oci-archive:" + dest.string()});

  EXPECT_EQ(again.digest, Digest::of(manifest).str());
  EXPECT_GE(check_cache_blobs(cache), 1u);  // the manifest
  EXPECT_TRUE(fs::is_empty(cache / "tmp"));
  EXPECT_TRUE(fs::is_regular_file(dest));
}

// An OCI layout destination on the cache's filesystem gets each blob as a
// hard link to the cache entry: the bytes are written to disk once.
TEST_F(PullCache, PullIntoALayoutLinksTheCachedBlobsInsteadOfCopyingThem) {
  const OciImage image = write_image(work_ / "link-src", random_bytes(40000, 7), "v1");
  push("oci:" + image.dir.string() + ":v1", "cache/link:v1");
  const fs::path cache = work_ / "link-cache";
  const fs::path cold = work_ / "link-cold";
  const fs::path warm = work_ / "link-warm";

  const Summary first = pull(cache, {"cache/link:v1", "oci:" + cold.string()});
  const Summary second = pull(cache, {"cache/link:v1", "oci:" + warm.string()});

  EXPECT_EQ(first.digest, image.manifest_digest);
  EXPECT_EQ(second.digest, image.manifest_digest);
  const std::string hex = image.layer_digest.substr(7);
  const fs::path entry = cache / "blobs" / "sha256" / hex;
  for (const fs::path& layout : {cold, warm}) {
    const fs::path blob = layout / "blobs" / "sha256" / hex;
    EXPECT_EQ(read_file(blob), image.layer) << blob;
    EXPECT_TRUE(fs::equivalent(blob, entry)) << blob << " is not a link to " << entry;
  }
  EXPECT_EQ(fs::hard_link_count(entry), 3u);
  EXPECT_EQ(second.actions().at(image.layer_digest), "cached");
}

// A linked blob is not read by the destination, so a cached entry is hashed
// before it is linked: a damaged one is downloaded again, never linked.
TEST_F(PullCache, ADamagedCacheEntryIsDownloadedAgainNotLinkedIntoALayout) {
  const OciImage image = write_image(work_ / "damaged-src", random_bytes(30000, 8), "v1");
  push("oci:" + image.dir.string() + ":v1", "cache/damaged:v1");
  const fs::path cache = work_ / "damaged-cache";
  pull(cache, {"cache/damaged:v1", "oci:" + (work_ / "damaged-cold").string()});
  const fs::path entry = cache / "blobs" / "sha256" / image.layer_digest.substr(7);
  // Damage the entry through a new inode, so the cold layout's link is spared.
  std::string bytes = read_file(entry);
  bytes[100] = static_cast<char>(bytes[100] ^ 0x01);
  fs::remove(entry);
  write_file(entry, bytes);

  const fs::path warm = work_ / "damaged-warm";
  const Summary pulled = pull(cache, {"cache/damaged:v1", "oci:" + warm.string()});

  EXPECT_EQ(pulled.actions().at(image.layer_digest), "downloaded");
  EXPECT_EQ(read_file(warm / "blobs" / "sha256" / image.layer_digest.substr(7)), image.layer);
  EXPECT_EQ(read_file(entry), image.layer);  // the entry was replaced by a good one
}

// Without a cache the blobs land in a private staging directory first; the
// layout still gets exact bytes, readable like any file the tools write.
TEST_F(PullCache, PullIntoALayoutWithoutACacheGivesExactReadableBlobs) {
  const OciImage image = write_image(work_ / "nocache-src", random_bytes(20000, 9), "v1");
  push("oci:" + image.dir.string() + ":v1", "cache/nocache:v1");
  const fs::path dest = work_ / "nocache-dest";

  const Summary pulled = run_json(
      kEcrPull, {"--no-cache", "cache/nocache:v1", "oci:" + dest.string()}, "bytesDownloaded");

  EXPECT_EQ(pulled.digest, image.manifest_digest);
  const fs::path blob = dest / "blobs" / "sha256" / image.layer_digest.substr(7);
  EXPECT_EQ(read_file(blob), image.layer);
  EXPECT_EQ(fs::status(blob).permissions() & fs::perms::others_read, fs::perms::others_read);
  EXPECT_EQ(fs::hard_link_count(blob), 1u);  // the staging copy is gone with the pull
}

}  // namespace
}  // namespace ecr

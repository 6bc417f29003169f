// ecr-pull with the blob cache, through the shipped binaries against a real
// ecr-local: a warm pull downloads nothing, a multi-arch index round-trips
// digest for digest, a large layer arrives as parallel ranges, and a pull
// killed mid-download leaves the cache and the destination consistent.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ecr/digest.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

const std::string kEcrPush = ECR_PUSH_BINARY;
const std::string kEcrPull = ECR_PULL_BINARY;
const std::string kOciArchive = std::string(ECR_SOURCE_DIR) + "/fixtures/hello.oci.tar";
constexpr auto kToolTimeout = std::chrono::seconds(120);
constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

// Pseudo-random bytes (xorshift64), so a torn or misplaced range shows.
std::string random_bytes(std::size_t size, std::uint64_t seed) {
  std::string s(size, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(s.data() + i, &x, std::min<std::size_t>(8, size - i));
  }
  return s;
}

std::string descriptor_json(const char* media_type, const std::string& bytes,
                            const std::string& extra = "") {
  return std::string("{\"mediaType\":\"") + media_type + "\",\"digest\":\"" +
         Digest::of(bytes).str() + "\",\"size\":" + std::to_string(bytes.size()) + extra + "}";
}

// An OCI image layout written by hand, blob by blob.
class LayoutWriter {
 public:
  explicit LayoutWriter(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_ / "blobs" / "sha256");
    write_file(dir_ / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  }
  const std::string& add(const std::string& bytes) {
    write_file(dir_ / "blobs" / "sha256" / std::string(Digest::of(bytes).hex()), bytes);
    return bytes;
  }
  // A one-layer image for os/arch; returns its manifest bytes.
  std::string add_image(const std::string& arch, const std::string& layer) {
    add(layer);
    const std::string config = add("{\"architecture\":\"" + arch +
                                   "\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                                   "\"diff_ids\":[\"" +
                                   Digest::of(layer).str() + "\"]}}");
    return add("{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) +
               "\",\"config\":" + descriptor_json(kOciConfig, config) + ",\"layers\":[" +
               descriptor_json(kOciLayer, layer) + "]}");
  }
  // index.json naming `root` (a manifest or an index) `name`.
  void name(const char* media_type, const std::string& root, const std::string& name) {
    write_file(dir_ / "index.json",
               "{\"schemaVersion\":2,\"manifests\":[" +
                   descriptor_json(media_type, root,
                                   ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" +
                                       name + "\"}") +
                   "]}");
  }

 private:
  fs::path dir_;
};

struct Summary {
  std::string digest;
  std::map<std::string, std::string> actions;  // blob digest -> action
  std::int64_t bytes = -1;
};

Summary parse_summary(const std::string& stdout_text, const char* bytes_key) {
  std::string last;
  std::istringstream lines(stdout_text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(last);
  Summary s;
  s.digest = std::string(std::string_view(doc["digest"]));
  for (const simdjson::dom::element b : doc["blobs"].get_array()) {
    s.actions[std::string(std::string_view(b["digest"]))] =
        std::string(std::string_view(b["action"]));
  }
  s.bytes = std::int64_t(doc[bytes_key]);
  return s;
}

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

class PullCache : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<testing::EcrLocalServer>();
    work_ = server_->directory() / "work";
    fs::create_directories(work_);
  }
  static void TearDownTestSuite() {
    const int status = server_->stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
    server_.reset();
  }

  static testing::ProcessOptions tool(const std::string& binary,
                                      const std::vector<std::string>& args) {
    testing::ProcessOptions opts;
    opts.argv = {binary, "--endpoint-url", server_->endpoint_url(), "--json", "--quiet"};
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    opts.env = testing::EcrLocalServer::tool_env();
    // Only for a tool given no --cache-dir: never the user's cache.
    opts.env["XDG_CACHE_HOME"] = (work_ / "xdg-cache").string();
    return opts;
  }
  static Summary run(const std::string& binary, const std::vector<std::string>& args,
                     const char* bytes_key) {
    const testing::ProcessOptions opts = tool(binary, args);
    const testing::ProcessResult r = testing::run_process(opts, kToolTimeout);
    EXPECT_EQ(r.exit_status, 0) << binary << " failed\nstdout: " << r.stdout_text
                                << "\nstderr: " << r.stderr_text;
    if (r.exit_status != 0) return {};
    return parse_summary(r.stdout_text, bytes_key);
  }
  static Summary push(const std::string& source, const std::string& dest) {
    return run(kEcrPush, {"--no-cache", "--create-repository", source, dest}, "bytesUploaded");
  }
  static Summary pull(const fs::path& cache, std::vector<std::string> args) {
    args.insert(args.begin(), {"--cache-dir", cache.string()});
    return run(kEcrPull, args, "bytesDownloaded");
  }
  // The requests ecr-local logged since the last call.
  static std::map<std::string, int> new_requests() {
    const std::vector<std::string> log = server_->request_log();
    std::map<std::string, int> counts;
    for (std::size_t i = seen_; i < log.size(); ++i) ++counts[log[i]];
    seen_ = log.size();
    return counts;
  }

  static inline std::unique_ptr<testing::EcrLocalServer> server_;
  static inline fs::path work_;
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
  ASSERT_EQ(warm.actions.size(), 2u);  // config and layer
  for (const auto& [digest, action] : warm.actions) EXPECT_EQ(action, "cached") << digest;
  for (const auto& [digest, action] : cold.actions) EXPECT_EQ(action, "downloaded") << digest;
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
  EXPECT_EQ(pulled.actions.size(), 4u);  // two configs, two layers
  EXPECT_EQ(arm_only.digest, Digest::of(arm).str());
  EXPECT_EQ(warm_requests, (std::map<std::string, int>{{"BatchGetImage", 1}}));
  EXPECT_EQ(warm.digest, Digest::of(index).str());
  for (const auto& [digest, action] : warm.actions) EXPECT_EQ(action, "cached") << digest;
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

  testing::Subprocess puller(tool(
      kEcrPull, {"--cache-dir", cache.string(), "cache/big:v1", "oci-archive:" + dest.string()}));
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

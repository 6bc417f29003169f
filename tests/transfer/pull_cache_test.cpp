// Pull with the content-addressed cache, against the in-memory fake registry:
// cached blobs are not downloaded, downloads land in the cache verified, a
// warm pull costs one BatchGetImage, a damaged cache entry is fetched again.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ecr/cache.hpp"
#include "ecr/service_errors.hpp"
#include "ecr/transfer.hpp"
#include "support/scratch_dir.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/memory_source.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::FakeRegistry;
using testing::MemorySource;
using testing::read_file;

class CacheTestSink : public ImageSink {
 public:
  bool has_blob(const Digest& d) override { return blobs.contains(d); }
  void write_blob(BlobReader& in) override {
    blobs[in.descriptor().digest] = in.read_all(1u << 30);
  }
  void write_manifest(const ParsedManifest& m, const std::vector<std::string>&, bool) override {
    manifests.push_back(m.digest);
  }
  void commit() override { committed = true; }

  std::map<Digest, std::string> blobs;
  std::vector<Digest> manifests;
  bool committed = false;
};

std::map<Digest, BlobAction> actions(const PullResult& r) {
  std::map<Digest, BlobAction> out;
  for (const auto& b : r.blobs) out[b.digest] = b.action;
  return out;
}

class PullCacheTest : public ::testing::Test {
 protected:
  PullCacheTest()
      : registry_(std::make_shared<FakeRegistry>()),
        session_(testing::open_fake_session(registry_)) {
    std::string pattern = (fs::temp_directory_path() / "ecr-pull-cache-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    options_.jobs = 2;
    options_.cache_dir = dir_ / "cache";
  }
  ~PullCacheTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void push(const std::string& tag) {
    transfer::push_image(*session_, source_, "", {tag}, options_);
  }
  PullResult pull(const std::string& tag, CacheTestSink& sink,
                  const transfer::DownloadTuning& tuning = {}) {
    return transfer::pull_image(*session_, ImageReference::parse("team/app:" + tag), sink, {tag},
                                options_, tuning);
  }
  fs::path cached_file(const Digest& d) const {
    return dir_ / "cache" / "blobs" / "sha256" / std::string(d.hex());
  }
  std::size_t temps() const {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir_ / "cache" / "tmp"), fs::directory_iterator()));
  }
  // Requests made since the last call.
  std::map<std::string, int> requests_since_last() {
    std::map<std::string, int> counts;
    const auto ops = registry_->operations();
    for (std::size_t i = seen_; i < ops.size(); ++i) ++counts[ops[i]];
    seen_ = ops.size();
    return counts;
  }

  fs::path dir_;
  std::shared_ptr<FakeRegistry> registry_;
  std::unique_ptr<transfer::RegistrySession> session_;
  MemorySource source_;
  TransferOptions options_;
  std::size_t seen_ = 0;
};

TEST_F(PullCacheTest, DownloadedBlobsAreKeptInTheCacheVerified) {
  const Descriptor manifest = source_.add_image({5000}, 'a');
  source_.set_root(manifest);
  push("v1");
  CacheTestSink sink;

  const PullResult r = pull("v1", sink);

  const ParsedManifest m = source_.resolve("");
  for (const Descriptor& d : {*m.config, m.layers[0]}) {
    EXPECT_EQ(actions(r).at(d.digest), BlobAction::kDownloaded);
    EXPECT_EQ(read_file(cached_file(d.digest)), source_.bytes(d.digest));
    EXPECT_EQ(sink.blobs.at(d.digest), source_.bytes(d.digest));
  }
  EXPECT_EQ(temps(), 0u);
  EXPECT_TRUE(sink.committed);
}

TEST_F(PullCacheTest, WarmPullDownloadsNothingAndCostsOneBatchGetImage) {
  source_.set_root(source_.add_image({5000}, 'b'));
  push("v1");
  CacheTestSink cold;
  pull("v1", cold);
  requests_since_last();
  std::vector<ProgressEvent> events;
  options_.progress = [&](const ProgressEvent& e) { events.push_back(e); };
  CacheTestSink warm;

  const PullResult r = pull("v1", warm);

  EXPECT_EQ(requests_since_last(), (std::map<std::string, int>{{"BatchGetImage", 1}}));
  const ParsedManifest m = source_.resolve("");
  for (const Descriptor& d : {*m.config, m.layers[0]}) {
    EXPECT_EQ(actions(r).at(d.digest), BlobAction::kCached);
    EXPECT_EQ(warm.blobs.at(d.digest), source_.bytes(d.digest));
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [&](const ProgressEvent& e) {
      return e.digest == d.digest && e.state == BlobState::kCached && e.bytes_done == d.size;
    }));
  }
  EXPECT_EQ(r.bytes_moved, 0);
  EXPECT_EQ(r.bytes_skipped, m.config->size + m.layers[0].size);
  EXPECT_EQ(warm.manifests, std::vector<Digest>{m.digest});
}

TEST_F(PullCacheTest, WarmPullOfAnIndexCostsOneBatchGetImageForAllOrOnePlatform) {
  Descriptor amd = source_.add_image({300}, 'c');
  amd.platform = Platform{.os = "linux", .architecture = "amd64"};
  Descriptor arm = source_.add_image({400}, 'd');
  arm.platform = Platform{.os = "linux", .architecture = "arm64"};
  const Descriptor index =
      source_.add_blob(serialize_oci_index({amd, arm}), std::string(media_type::kOciIndex));
  source_.set_root(index);
  push("multi");
  options_.all_platforms = true;
  CacheTestSink cold;
  pull("multi", cold);
  requests_since_last();

  CacheTestSink all;
  const PullResult whole = pull("multi", all);
  const auto all_requests = requests_since_last();
  options_.all_platforms = false;
  options_.platform = Platform{.os = "linux", .architecture = "arm64"};
  CacheTestSink one;
  const PullResult arm_only = pull("multi", one);
  const auto one_requests = requests_since_last();

  EXPECT_EQ(all_requests, (std::map<std::string, int>{{"BatchGetImage", 1}}));
  EXPECT_EQ(whole.digest, index.digest);
  EXPECT_EQ(all.manifests, (std::vector<Digest>{amd.digest, arm.digest, index.digest}));
  EXPECT_EQ(whole.blobs.size(), 4u);
  for (const auto& b : whole.blobs) EXPECT_EQ(b.action, BlobAction::kCached) << b.digest.str();
  EXPECT_EQ(one_requests, (std::map<std::string, int>{{"BatchGetImage", 1}}));
  EXPECT_EQ(arm_only.digest, arm.digest);
  EXPECT_EQ(one.manifests, std::vector<Digest>{arm.digest});
}

TEST_F(PullCacheTest, ATagIsResolvedWithTheRegistryEveryTime) {
  source_.set_root(source_.add_image({100}, 'e'));
  push("moving");
  CacheTestSink first;
  pull("moving", first);
  const Descriptor second_image = source_.add_image({200}, 'f');
  source_.set_root(second_image);
  push("moving");

  CacheTestSink second;
  const PullResult r = pull("moving", second);

  EXPECT_EQ(r.digest, second_image.digest);
  EXPECT_EQ(second.manifests, std::vector<Digest>{second_image.digest});
}

TEST_F(PullCacheTest, ACorruptCacheEntryIsDroppedAndDownloadedAgain) {
  source_.set_root(source_.add_image({3000}, 'g'));
  push("v1");
  CacheTestSink cold;
  pull("v1", cold);
  const ParsedManifest m = source_.resolve("");
  const Descriptor layer = m.layers[0];
  std::string damaged = source_.bytes(layer.digest);
  damaged[1234] = static_cast<char>(damaged[1234] ^ 0x20);
  fs::permissions(cached_file(layer.digest), fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(cached_file(layer.digest), std::ios::binary | std::ios::trunc) << damaged;
  requests_since_last();
  CacheTestSink warm;

  const PullResult r = pull("v1", warm);

  EXPECT_EQ(warm.blobs.at(layer.digest), source_.bytes(layer.digest));
  EXPECT_EQ(actions(r).at(layer.digest), BlobAction::kDownloaded);
  EXPECT_EQ(actions(r).at(m.config->digest), BlobAction::kCached);
  EXPECT_EQ(r.bytes_moved, layer.size);
  EXPECT_EQ(r.bytes_skipped, m.config->size);
  const auto requests = requests_since_last();
  EXPECT_EQ(requests.at("GetDownloadUrlForLayer"), 1);
  EXPECT_EQ(requests.at("GET"), 1);
  EXPECT_EQ(read_file(cached_file(layer.digest)), source_.bytes(layer.digest));
}

// Another process prunes the layer after this pull planned it as cached.
class PruningSink final : public CacheTestSink {
 public:
  PruningSink(BlobCache& cache, Digest victim) : cache_(cache), victim_(std::move(victim)) {}
  void write_blob(BlobReader& in) override {
    cache_.remove(victim_);
    CacheTestSink::write_blob(in);
  }

 private:
  BlobCache& cache_;
  Digest victim_;
};

TEST_F(PullCacheTest, ACachedBlobPrunedDuringThePullIsDownloadedAgain) {
  source_.set_root(source_.add_image({3000}, 'k'));
  push("v1");
  CacheTestSink cold;
  pull("v1", cold);
  const ParsedManifest m = source_.resolve("");
  const Descriptor layer = m.layers[0];
  BlobCache cache(*options_.cache_dir);
  PruningSink sink(cache, layer.digest);  // the config is written first
  requests_since_last();

  const PullResult r = pull("v1", sink);

  EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
  EXPECT_EQ(actions(r).at(layer.digest), BlobAction::kDownloaded);
  EXPECT_EQ(actions(r).at(m.config->digest), BlobAction::kCached);
  EXPECT_EQ(requests_since_last().at("GET"), 1);
  EXPECT_TRUE(sink.committed);
}

TEST_F(PullCacheTest, RangedDownloadIsAssembledExactlyInTheCache) {
  source_.set_root(source_.add_image({25000}, 'h'));
  push("v1");
  CacheTestSink sink;

  pull("v1", sink,
       transfer::DownloadTuning{
           .range_chunk = 10000, .range_threshold = 20000, .extra_range_busy_limit = 1});

  const Descriptor layer = source_.resolve("").layers[0];
  EXPECT_EQ(read_file(cached_file(layer.digest)), source_.bytes(layer.digest));
  EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
  EXPECT_EQ(registry_->range_headers().size(), 3u);
}

TEST_F(PullCacheTest, ACorruptDownloadIsFetchedAgainIntoTheCache) {
  source_.set_root(source_.add_image({3000}, 'i'));
  push("v1");
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->corrupt_first_get.insert(layer.digest.str());
  CacheTestSink sink;

  pull("v1", sink);

  EXPECT_EQ(read_file(cached_file(layer.digest)), source_.bytes(layer.digest));
  EXPECT_EQ(registry_->count("GET"), 3);  // config, layer, layer again
  EXPECT_EQ(temps(), 0u);
}

TEST_F(PullCacheTest, APersistentlyCorruptDownloadLeavesNothingInTheCacheOrTheSink) {
  source_.set_root(source_.add_image({3000}, 'j'));
  push("v1");
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->corrupt_always.insert(layer.digest.str());
  CacheTestSink sink;

  try {
    pull("v1", sink);
    FAIL() << "expected IntegrityError";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find(layer.digest.str()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(cached_file(layer.digest)));
  EXPECT_EQ(temps(), 0u);
  EXPECT_TRUE(sink.blobs.empty());
  EXPECT_FALSE(sink.committed);
}

}  // namespace
}  // namespace ecr

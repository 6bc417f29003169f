// EcrImageSource (an ECR repository read as an ImageSource, what `ecr image
// copy` and inspect read registries with) against the in-memory fake
// registry: manifests by tag and digest, blobs read as consecutive ranges,
// and the ranged GET's fault handling (resume with Range, expired URL).
#include <gtest/gtest.h>

#include <atomic>

#include "ecr/service_errors.hpp"
#include "transfer/ecr_source.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/memory_source.hpp"

namespace ecr {
namespace {

using testing::FakeRegistry;
using testing::MemorySource;

class EcrSourceTest : public ::testing::Test {
 protected:
  EcrSourceTest()
      : registry_(std::make_shared<FakeRegistry>()),
        source_(testing::open_fake_session(registry_), "v1",
                transfer::EcrSourceOptions{.cache_dir = std::nullopt, .cancel = &cancel_}) {}

  // Pushes an image with layers of `layer_sizes` as team/app:v1; returns its
  // manifest.
  Descriptor push(const std::vector<std::size_t>& layer_sizes, char seed) {
    const Descriptor manifest = pushed_.add_image(layer_sizes, seed);
    pushed_.set_root(manifest);
    TransferOptions options;
    options.jobs = 1;
    transfer::push_image(*testing::open_fake_session(registry_), pushed_, "", {"v1"}, options);
    return manifest;
  }
  std::string read_blob(const Descriptor& d) { return source_.open_blob(d).read_all(1u << 30); }

  std::shared_ptr<FakeRegistry> registry_;
  std::atomic<bool> cancel_{false};
  transfer::EcrImageSource source_;
  MemorySource pushed_;
};

TEST_F(EcrSourceTest, ResolvesByTagAndDigestAndReadsExactBytes) {
  const Descriptor manifest = push({3000}, 'a');
  const ParsedManifest by_tag = source_.resolve("");
  EXPECT_EQ(by_tag.digest, manifest.digest);
  EXPECT_EQ(source_.resolve(manifest.digest.str()).raw, pushed_.bytes(manifest.digest));
  ASSERT_EQ(source_.list().size(), 1u);
  EXPECT_EQ(source_.list()[0].names, std::vector<std::string>{"v1"});
  const Descriptor layer = by_tag.layers[0];
  EXPECT_EQ(read_blob(layer), pushed_.bytes(layer.digest));
  // A blob smaller than a range is one GET without a Range header.
  EXPECT_TRUE(registry_->range_headers().empty());
}

TEST_F(EcrSourceTest, ABlobIsReadInRangesOfKSourceRangeBytes) {
  registry_->part_size = 4 * 1024 * 1024;  // three parts to push it
  const std::size_t size = transfer::kSourceRangeBytes + 1000;
  push({size}, 'b');
  const Descriptor layer = source_.resolve("").layers[0];
  EXPECT_EQ(read_blob(layer), pushed_.bytes(layer.digest));
  EXPECT_EQ(registry_->range_headers(),
            (std::vector<std::string>{"bytes=0-" + std::to_string(transfer::kSourceRangeBytes - 1),
                                      "bytes=" + std::to_string(transfer::kSourceRangeBytes) + "-" +
                                          std::to_string(size - 1)}));
  EXPECT_EQ(registry_->count("GetDownloadUrlForLayer"), 1);
}

TEST_F(EcrSourceTest, AnInterruptedGetResumesAtTheFirstMissingByte) {
  push({5000}, 'c');
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->cut_get_after = 1500;
  EXPECT_EQ(read_blob(layer), pushed_.bytes(layer.digest));
  EXPECT_EQ(registry_->range_headers(), std::vector<std::string>{"bytes=1500-4999"});
}

TEST_F(EcrSourceTest, AnExpiredDownloadUrlIsReplaced) {
  push({700}, 'd');
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->expire_first_get.insert(layer.digest.str());
  EXPECT_EQ(read_blob(layer), pushed_.bytes(layer.digest));
  EXPECT_EQ(registry_->count("GetDownloadUrlForLayer"), 2);
  EXPECT_EQ(registry_->count("GET"), 2);
}

TEST_F(EcrSourceTest, ACancelledReadSendsNoGet) {
  push({700}, 'e');
  const Descriptor layer = source_.resolve("").layers[0];
  cancel_ = true;
  EXPECT_THROW(read_blob(layer), Cancelled);
  EXPECT_EQ(registry_->count("GET"), 0);
}

TEST_F(EcrSourceTest, AMissingTagIsImageNotFoundException) {
  push({10}, 'f');
  try {
    source_.resolve("nope");
    FAIL() << "expected api::ImageNotFoundException";
  } catch (const api::ImageNotFoundException& e) {
    EXPECT_EQ(e.name(), "ImageNotFoundException");
    EXPECT_NE(std::string(e.what()).find("team/app:nope"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ecr

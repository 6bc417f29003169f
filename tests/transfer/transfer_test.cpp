// The transfer engine against the in-memory fake registry: exact bytes,
// digests and request sequences, one scripted fault per case.
#include <gtest/gtest.h>

#include <map>

#include "core/base64.hpp"
#include "ecr/service_errors.hpp"
#include "ecr/transfer.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/layer_upload.hpp"
#include "transfer/memory_source.hpp"

namespace ecr {
namespace {

using testing::FakeRegistry;
using testing::MemorySource;

// A sink keeping what it is given, in order.
class MemorySink final : public ImageSink {
 public:
  bool has_blob(const Digest& d) override { return blobs.contains(d); }
  void write_blob(BlobReader& in) override {
    blobs[in.descriptor().digest] = in.read_all(1u << 30);
  }
  void write_manifest(const ParsedManifest& m, const std::vector<std::string>& n,
                      bool root) override {
    manifests.push_back(m.digest);
    if (root) names = n;
  }
  void commit() override { committed = true; }

  std::map<Digest, std::string> blobs;
  std::vector<Digest> manifests;
  std::vector<std::string> names;
  bool committed = false;
};

class TransferTest : public ::testing::Test {
 protected:
  TransferTest()
      : registry_(std::make_shared<FakeRegistry>()),
        session_(testing::open_fake_session(registry_,
                                            [this](std::chrono::milliseconds) { ++sleeps_; })) {
    options_.jobs = 2;
  }

  PushResult push_root(const std::vector<std::string>& tags = {"v1"}) {
    return transfer::push_image(*session_, source_, "", tags, options_);
  }
  PullResult pull_tag(const std::string& tag, MemorySink& sink,
                      const transfer::DownloadTuning& tuning = {}) {
    ImageReference ref = ImageReference::parse("team/app:" + tag);
    return transfer::pull_image(*session_, ref, sink, {tag}, options_, tuning);
  }

  std::shared_ptr<FakeRegistry> registry_;
  std::unique_ptr<transfer::RegistrySession> session_;
  MemorySource source_;
  TransferOptions options_;
  int sleeps_ = 0;
};

TEST_F(TransferTest, PushThenPullRoundTripsExactBytesAndDigest) {
  const Descriptor manifest = source_.add_image({10000, 4096, 1}, 'a');
  source_.set_root(manifest);
  const PushResult pushed = push_root();
  EXPECT_EQ(pushed.digest, manifest.digest);
  ASSERT_EQ(pushed.blobs.size(), 4u);
  for (const auto& b : pushed.blobs) EXPECT_EQ(b.action, BlobAction::kUploaded);
  // parts of 4096: 10000 -> 3 parts, 4096 -> 1, 1 -> 1, config -> 1
  EXPECT_EQ(registry_->count("UploadLayerPart"), 6);
  EXPECT_EQ(registry_->count("BatchCheckLayerAvailability"), 1);
  EXPECT_EQ(registry_->put_image_digests(), std::vector<std::string>{manifest.digest.str()});

  MemorySink sink;
  const PullResult pulled = pull_tag("v1", sink);
  EXPECT_EQ(pulled.digest, manifest.digest);
  EXPECT_TRUE(sink.committed);
  EXPECT_EQ(sink.manifests, std::vector<Digest>{manifest.digest});
  EXPECT_EQ(sink.names, std::vector<std::string>{"v1"});
  ASSERT_EQ(sink.blobs.size(), 4u);
  for (const auto& [digest, bytes] : sink.blobs) EXPECT_EQ(bytes, source_.bytes(digest));
  EXPECT_EQ(pulled.bytes_moved, pushed.bytes_moved);
}

TEST_F(TransferTest, RepushUploadsNothing) {
  source_.set_root(source_.add_image({9000, 300}, 'b'));
  push_root();
  const int parts = registry_->count("UploadLayerPart");
  const PushResult again = push_root();
  EXPECT_EQ(registry_->count("UploadLayerPart"), parts);
  EXPECT_EQ(registry_->count("InitiateLayerUpload"), 3);
  EXPECT_EQ(again.bytes_moved, 0);
  EXPECT_EQ(again.bytes_skipped, 9000 + 300 + source_.resolve("").config->size);
  for (const auto& b : again.blobs) EXPECT_EQ(b.action, BlobAction::kExists);
}

TEST_F(TransferTest, UploadResumesFromLastValidByteAfterResetMidPart) {
  source_.set_root(source_.add_image({20000}, 'c'));
  registry_->reset_part_at = 4096 + 1000;  // in the second part of the layer
  options_.jobs = 1;
  push_root();
  const auto blobs = registry_->blobs();
  const Descriptor layer = source_.resolve("").layers[0];
  ASSERT_TRUE(blobs.contains(layer.digest.str()));
  EXPECT_EQ(blobs.at(layer.digest.str()), source_.bytes(layer.digest));
  // Layer: part 1 (4096) + part 2 cut (4096) + part 2 retried and refused
  // (4096) + the rest from byte 5097 (20000 - 5097); config: its own size.
  const std::int64_t config_size = source_.resolve("").config->size;
  const std::int64_t layer_bytes = registry_->part_bytes_received() - config_size;
  EXPECT_EQ(layer_bytes, 3 * 4096 + (20000 - 5097));
  EXPECT_LT(layer_bytes - 20000, 20000);
  EXPECT_EQ(sleeps_, 1);  // the reset was retried once by the retry policy
}

TEST_F(TransferTest, ThrottledCallsAreRetried) {
  source_.set_root(source_.add_image({100}, 'd'));
  registry_->throttle_operation = "InitiateLayerUpload";
  registry_->throttles = 2;
  options_.jobs = 1;
  const PushResult r = push_root();
  EXPECT_EQ(registry_->count("InitiateLayerUpload"), 2 + 2);
  EXPECT_EQ(sleeps_, 2);
  EXPECT_EQ(r.digest, source_.resolve("").digest);
}

TEST_F(TransferTest, LargeBlobIsDownloadedAsRangesAndAssembledExactly) {
  source_.set_root(source_.add_image({25000}, 'e'));
  push_root();
  MemorySink sink;
  transfer::DownloadTuning tuning{.range_chunk = 10000, .range_threshold = 20000};
  pull_tag("v1", sink, tuning);
  const Descriptor layer = source_.resolve("").layers[0];
  EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
  auto ranges = registry_->range_headers();
  std::sort(ranges.begin(), ranges.end());
  EXPECT_EQ(ranges,
            (std::vector<std::string>{"bytes=0-9999", "bytes=10000-19999", "bytes=20000-24999"}));
}

TEST_F(TransferTest, InterruptedDownloadResumesWithRange) {
  source_.set_root(source_.add_image({5000}, 'f'));
  push_root();
  options_.jobs = 1;
  MemorySink sink;
  const Descriptor layer = source_.resolve("").layers[0];
  const Descriptor config = *source_.resolve("").config;
  registry_->cut_get_after = 50;  // the first GET (the config) is cut
  const PullResult r = pull_tag("v1", sink);
  EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
  EXPECT_EQ(sink.blobs.at(config.digest), source_.bytes(config.digest));
  EXPECT_EQ(registry_->range_headers(),
            std::vector<std::string>{"bytes=50-" + std::to_string(config.size - 1)});
  EXPECT_EQ(r.bytes_moved, 5000 + config.size);
}

TEST_F(TransferTest, ExpiredDownloadUrlIsRefreshed) {
  source_.set_root(source_.add_image({700}, 'g'));
  push_root();
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->expire_first_get.insert(layer.digest.str());
  MemorySink sink;
  pull_tag("v1", sink);
  EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
  EXPECT_EQ(registry_->count("GetDownloadUrlForLayer"), 2 + 1);  // config, layer, layer again
}

TEST_F(TransferTest, CorruptDownloadIsFetchedAgain) {
  source_.set_root(source_.add_image({3000}, 'h'));
  push_root();
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->corrupt_first_get.insert(layer.digest.str());
  MemorySink sink;
  pull_tag("v1", sink);
  EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
  EXPECT_EQ(registry_->count("GET"), 3);
}

TEST_F(TransferTest, PersistentlyCorruptDownloadFailsNamingTheDigest) {
  source_.set_root(source_.add_image({3000}, 'i'));
  push_root();
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->corrupt_always.insert(layer.digest.str());
  MemorySink sink;
  try {
    pull_tag("v1", sink);
    FAIL() << "expected IntegrityError";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find(layer.digest.str()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(sink.committed);
  EXPECT_TRUE(sink.blobs.empty());
}

TEST_F(TransferTest, IndexChildrenArePutBeforeTheIndex) {
  const Descriptor amd = source_.add_image({100}, 'j');
  const Descriptor arm = source_.add_image({200}, 'k');
  Descriptor amd_child = amd;
  amd_child.platform = Platform{.os = "linux", .architecture = "amd64"};
  Descriptor arm_child = arm;
  arm_child.platform = Platform{.os = "linux", .architecture = "arm64"};
  const Descriptor index = source_.add_blob(serialize_oci_index({amd_child, arm_child}),
                                            std::string(media_type::kOciIndex));
  source_.set_root(index);
  push_root({"multi"});
  EXPECT_EQ(registry_->put_image_digests(),
            (std::vector<std::string>{amd.digest.str(), arm.digest.str(), index.digest.str()}));

  MemorySink sink;
  options_.platform = Platform{.os = "linux", .architecture = "arm64"};
  const PullResult r = pull_tag("multi", sink);
  EXPECT_EQ(r.digest, arm.digest);
  EXPECT_EQ(sink.manifests, std::vector<Digest>{arm.digest});

  MemorySink all;
  options_.platform.reset();
  options_.all_platforms = true;
  const PullResult whole = pull_tag("multi", all);
  EXPECT_EQ(whole.digest, index.digest);
  EXPECT_EQ(all.manifests, (std::vector<Digest>{amd.digest, arm.digest, index.digest}));
}

TEST_F(TransferTest, PullOfMissingTagThrowsImageNotFoundException) {
  MemorySink sink;
  try {
    pull_tag("nope", sink);
    FAIL() << "expected api::ImageNotFoundException";
  } catch (const api::ImageNotFoundException& e) {
    EXPECT_EQ(e.name(), "ImageNotFoundException");
  }
}

TEST(TransferOptionsTest, ValidateRefusesBadJobsAndPartSizes) {
  TransferOptions o;
  EXPECT_NO_THROW(o.validate());
  o.jobs = 0;
  EXPECT_THROW(o.validate(), InputError);
  o.jobs = 1;
  o.part_size = kMinPartSize - 1;
  EXPECT_THROW(o.validate(), InputError);
  o.part_size = kMaxPartSize + 1;
  EXPECT_THROW(o.validate(), InputError);
  o.part_size = kMaxPartSize;
  EXPECT_NO_THROW(o.validate());
}

TEST(UploadPartBodyTest, EncodesThePartInPlace) {
  std::string body = "stale content";
  const transfer::PartBody made = transfer::build_upload_part_body(
      body, std::string("123456789012"), "team/app", "u-1", 10, "hello");
  EXPECT_EQ(body.substr(0, made.size),
            "{\"uploadId\":\"u-1\",\"partFirstByte\":10,\"layerPartBlob\":\"aGVsbG8=\","
            "\"partLastByte\":14,\"registryId\":\"123456789012\",\"repositoryName\":\"team/app\"}");
  EXPECT_EQ(made.sha256, Digest::of(body.substr(0, made.size)));
}

TEST(UploadPartBodyTest, ReusedLongerBodyKeepsItsSizeAndTheExtentFindsTheRequest) {
  std::string body(100000, 'x');
  const transfer::PartBody made =
      transfer::build_upload_part_body(body, std::nullopt, "team/app", "u-2", 0, "hi!");
  EXPECT_EQ(body.size(), 100000u);  // never shrunk, so never zero-filled again
  EXPECT_EQ(body.substr(0, made.size),
            "{\"uploadId\":\"u-2\",\"partFirstByte\":0,\"layerPartBlob\":\"aGkh\","
            "\"partLastByte\":2,\"repositoryName\":\"team/app\"}");
  EXPECT_EQ(body.substr(made.encoded_at, 4), "aGkh");
  EXPECT_EQ(made.sha256, Digest::of(body.substr(0, made.size)));
}

// A fresh body gets room for the largest part at once (it never moves), but
// holds, and so touches, only what its part needs: the body of a config or a
// small layer's only part costs that part's memory, not a 10 MiB part's.
TEST(UploadPartBodyTest, AFreshBodyHoldsOnlyWhatItsPartNeeds) {
  constexpr std::size_t kMaxPart = 10 << 20;
  const std::string part(1000, 'c');
  std::string body;
  transfer::PartBodyBuilder builder(body, kMaxPart, transfer::PartHead{"u", 0});
  const char* const start = body.data();
  builder.encode(part);
  const transfer::PartBody made = builder.finish(std::nullopt, "r", 1000);

  EXPECT_GE(body.capacity(), base64::encoded_size(kMaxPart));
  EXPECT_LT(body.size(), 4096u);
  EXPECT_EQ(body.data(), start);  // grown within the room, never moved
  EXPECT_EQ(body.substr(made.encoded_at, base64::encoded_size(1000)), base64::encode(part));
  EXPECT_EQ(made.sha256, Digest::of(body.substr(0, made.size)));
}

// The body is hashed slice by slice as it is encoded, from bytes given in
// pieces as the producer stages them: parts of every length around the slice
// and staging boundaries must still hash to the body's SHA-256 and hold the
// whole part's base64.
TEST(UploadPartBodyTest, HashTakenWhileEncodingIsTheBodysHash) {
  constexpr std::size_t kSlice = 3 * 16 * 1024;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, kSlice - 1, kSlice, kSlice + 1,
                        3 * kSlice + 2, transfer::kPartStagingBytes + 5, std::size_t{1} << 20}) {
    std::string part(n, '\0');
    for (std::size_t i = 0; i < n; ++i) part[i] = static_cast<char>((i * 131 + 7) % 251);
    std::string body;
    transfer::PartBodyBuilder builder(body, n, transfer::PartHead{"u", 5});
    for (std::size_t at = 0; at < n; at += transfer::kPartStagingBytes) {
      builder.encode(std::string_view(part).substr(at, transfer::kPartStagingBytes));
    }
    const transfer::PartBody made = builder.finish(std::nullopt, "r", static_cast<std::int64_t>(n));
    const std::string request = body.substr(0, made.size);
    EXPECT_EQ(request.substr(0, made.encoded_at),
              "{\"uploadId\":\"u\",\"partFirstByte\":5,\"layerPartBlob\":\"");
    EXPECT_EQ(made.sha256, Digest::of(request)) << n << " bytes";
    EXPECT_EQ(request.substr(made.encoded_at, base64::encoded_size(n)), base64::encode(part))
        << n << " bytes";
    EXPECT_EQ(request.substr(made.encoded_at + base64::encoded_size(n)),
              "\",\"partLastByte\":" + std::to_string(4 + n) + ",\"repositoryName\":\"r\"}")
        << n << " bytes";
  }
}

}  // namespace
}  // namespace ecr

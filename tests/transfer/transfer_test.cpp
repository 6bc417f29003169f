// The transfer engine against the in-memory fake registry: exact bytes,
// digests and request sequences, one scripted fault per case.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/base64.hpp"
#include "ecr/service_errors.hpp"
#include "ecr/transfer.hpp"
#include "oci/file_io.hpp"
#include "support/scratch_dir.hpp"
#include "support/string_stream.hpp"
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
  // Pushes an image of one layer of `size` bytes, pulls it with `tuning`,
  // and checks the layer arrived whole; returns the Range headers the
  // registry saw, sorted.
  std::vector<std::string> pull_one_layer(std::size_t size,
                                          const transfer::DownloadTuning& tuning) {
    source_.set_root(source_.add_image({size}, 'e'));
    push_root();
    MemorySink sink;
    pull_tag("v1", sink, tuning);
    const Descriptor layer = source_.resolve("").layers[0];
    EXPECT_EQ(sink.blobs.at(layer.digest), source_.bytes(layer.digest));
    auto ranges = registry_->range_headers();
    std::sort(ranges.begin(), ranges.end());
    return ranges;
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

// A blob in a file is read again for each part as it is sent, not held in
// memory: the same parts and bytes arrive.
TEST_F(TransferTest, BlobsReadAtAnyOffsetArePushedWithExactBytes) {
  source_.serve_random_access();
  const Descriptor manifest = source_.add_image({10000, 4096, 1}, 'a');
  source_.set_root(manifest);
  const PushResult pushed = push_root();
  EXPECT_EQ(pushed.digest, manifest.digest);
  EXPECT_EQ(registry_->count("UploadLayerPart"), 6);
  const auto blobs = registry_->blobs();
  for (const auto& b : pushed.blobs) {
    ASSERT_TRUE(blobs.contains(b.digest.str()));
    EXPECT_EQ(blobs.at(b.digest.str()), source_.bytes(b.digest));
  }
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

TEST_F(TransferTest, UploadFromAFileResumesFromLastValidByteAfterResetMidPart) {
  source_.serve_random_access();
  source_.set_root(source_.add_image({20000}, 'c'));
  registry_->reset_part_at = 4096 + 1000;
  options_.jobs = 1;
  push_root();
  const Descriptor layer = source_.resolve("").layers[0];
  EXPECT_EQ(registry_->blobs().at(layer.digest.str()), source_.bytes(layer.digest));
  const std::int64_t config_size = source_.resolve("").config->size;
  EXPECT_EQ(registry_->part_bytes_received() - config_size, 3 * 4096 + (20000 - 5097));
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

const std::vector<std::string> kFiveRanges = {"bytes=0-9999", "bytes=10000-19999",
                                              "bytes=20000-29999", "bytes=30000-39999",
                                              "bytes=40000-44999"};

TEST_F(TransferTest, LargeBlobIsDownloadedAsRangesAndAssembledExactly) {
  EXPECT_EQ(
      pull_one_layer(25000,
                     {.range_chunk = 10000, .range_threshold = 20000, .extra_range_busy_limit = 1}),
      (std::vector<std::string>{"bytes=0-9999", "bytes=10000-19999", "bytes=20000-24999"}));
}

// A lone blob whose range keeps its worker busy storing (here: never worth a
// second range) is fetched one range at a time, in order, while the other
// workers wait.
TEST_F(TransferTest, ALoneBlobThatKeepsItsWorkerBusyIsFetchedOneRangeAtATime) {
  options_.jobs = 4;
  pull_one_layer(45000,
                 {.range_chunk = 10000, .range_threshold = 20000, .extra_range_busy_limit = 0});
  EXPECT_EQ(registry_->range_headers(), kFiveRanges);  // in the order asked
  EXPECT_EQ(registry_->most_ranged_gets_at_once(), 1);
}

// Over a link slower than the work on its bytes, a lone blob's ranges mostly
// wait for the link, so further ranges are fetched beside the first.
TEST_F(TransferTest, ALoneBlobOverASlowLinkIsFetchedAsParallelRanges) {
  options_.jobs = 4;
  registry_->get_chunk_interval = std::chrono::milliseconds(5);
  EXPECT_EQ(pull_one_layer(45000, {.range_chunk = 10000, .range_threshold = 20000}), kFiveRanges);
  EXPECT_GE(registry_->most_ranged_gets_at_once(), 2);
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

// The whole body a transport sends for `body`.
std::string body_text(const transfer::PartBody& body, const transfer::PartBytes& bytes) {
  std::string scratch;
  const transfer::PartRequestBody request(body, bytes, scratch);
  std::string text(request.size(), '\0');
  request.read_at(0, text);
  return text;
}

TEST(UploadPartBodyTest, TheBodyIsTheRequestWithThePartEncoded) {
  transfer::PartBody body =
      transfer::part_body(std::string("123456789012"), "team/app", "u-1", 10, 5);
  const transfer::PartBytes bytes(std::string_view("hello"));
  transfer::PartHasher().hash(body, bytes);
  const std::string text = body_text(body, bytes);
  EXPECT_EQ(text,
            "{\"uploadId\":\"u-1\",\"partFirstByte\":10,\"layerPartBlob\":\"aGVsbG8=\","
            "\"partLastByte\":14,\"registryId\":\"123456789012\",\"repositoryName\":\"team/app\"}");
  EXPECT_EQ(body.size(), text.size());
  EXPECT_EQ(body.sha256, Digest::of(text));
}

TEST(UploadPartBodyTest, WithoutARegistryIdTheMemberIsLeftOut) {
  transfer::PartBody body = transfer::part_body(std::nullopt, "team/app", "u-2", 0, 3);
  const transfer::PartBytes bytes(std::string_view("hi!"));
  transfer::PartHasher().hash(body, bytes);
  EXPECT_EQ(body_text(body, bytes),
            "{\"uploadId\":\"u-2\",\"partFirstByte\":0,\"layerPartBlob\":\"aGkh\","
            "\"partLastByte\":2,\"repositoryName\":\"team/app\"}");
  EXPECT_EQ(body.sha256, Digest::of(body_text(body, bytes)));
}

// A part of `n` pseudo-random bytes.
std::string part_of(std::size_t n) {
  std::string part(n, '\0');
  for (std::size_t i = 0; i < n; ++i) part[i] = static_cast<char>((i * 131 + 7) % 251);
  return part;
}

// The body is never held whole: hashed slice by slice, and made again as it
// is sent, from bytes in memory or read from a file. Parts of every length
// around the slice and base64 group boundaries must hash to the SHA-256 of
// the body sent, and the body sent must be the part's whole base64 between
// the members.
TEST(UploadPartBodyTest, TheHashIsTheSHA256OfTheBodySentFromMemoryOrAFile) {
  constexpr std::size_t kSlice = transfer::kEncodeSlice;
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, kSlice - 1, kSlice,
                        kSlice + 1, 3 * kSlice + 2, std::size_t{1} << 20}) {
    const std::string part = part_of(n);
    const std::string expected =
        "{\"uploadId\":\"u\",\"partFirstByte\":5,\"layerPartBlob\":\"" + base64::encode(part) +
        "\",\"partLastByte\":" + std::to_string(4 + n) + ",\"repositoryName\":\"r\"}";
    transfer::PartBody body = transfer::part_body(std::nullopt, "r", "u", 5, n);
    const transfer::PartBytes in_memory{std::string_view(part)};
    transfer::PartHasher().hash(body, in_memory);
    EXPECT_EQ(body_text(body, in_memory), expected) << n << " bytes";
    EXPECT_EQ(body.sha256, Digest::of(expected)) << n << " bytes";

    // The same part at offset 7 of a file's bytes.
    const auto file = std::make_shared<testing::StringBytes>("0123456" + part + "tail");
    const transfer::PartBytes in_file(file, 7, n);
    transfer::PartBody from_file = transfer::part_body(std::nullopt, "r", "u", 5, n);
    transfer::PartHasher().hash(from_file, in_file);
    EXPECT_EQ(body_text(from_file, in_file), expected) << n << " bytes";
    EXPECT_EQ(from_file.sha256, Digest::of(expected)) << n << " bytes";
  }
}

// A part in a real file is mapped rather than read (core/mapped_range.hpp):
// from an offset inside a page, across page and slice boundaries, its body
// and hash are the same, and so is any range of the body libcurl asks for.
TEST(UploadPartBodyTest, APartInAFileIsSentThroughAMappingAsTheSameBody) {
  const testing::ScratchDir dir("mapped-part");
  const std::filesystem::path path = dir.path() / "blob";
  const std::string part = part_of(3 * transfer::kEncodeSlice + 5000);
  testing::write_file(path, "0123456" + part + "tail");
  const auto file =
      oci::FileRangeStream(oci::open_regular_file(path), 7, static_cast<std::int64_t>(part.size()))
          .random_access();
  ASSERT_TRUE(file->in_file().has_value());
  for (const std::size_t at : {std::size_t{0}, std::size_t{1}, std::size_t{4089}}) {
    const std::string bytes = part.substr(at);
    const std::string expected =
        "{\"uploadId\":\"u\",\"partFirstByte\":0,\"layerPartBlob\":\"" + base64::encode(bytes) +
        "\",\"partLastByte\":" + std::to_string(bytes.size() - 1) + ",\"repositoryName\":\"r\"}";
    const transfer::PartBytes in_file = transfer::PartBytes(file, 0, part.size()).from(at).mapped();
    transfer::PartBody body = transfer::part_body(std::nullopt, "r", "u", 0, bytes.size());
    transfer::PartHasher().hash(body, in_file);
    EXPECT_EQ(body.sha256, Digest::of(expected)) << at;
    std::string scratch;
    const transfer::PartRequestBody request(body, in_file, scratch);
    std::string sent(request.size(), '\0');
    for (std::size_t from = 0; from < sent.size(); from += 4099) {
      const std::size_t n = std::min<std::size_t>(4099, sent.size() - from);
      request.read_at(from, std::span<char>(sent.data() + from, n));
    }
    EXPECT_EQ(sent, expected) << at;
  }
}

// libcurl asks for the body in pieces of its own sizes, and may rewind: any
// range, cut anywhere (inside a base64 group, across the members), reads as
// those bytes of the whole body.
TEST(UploadPartBodyTest, AnyRangeOfTheBodyReadsAsThoseBytesOfTheWholeBody) {
  const std::string part = part_of(2 * transfer::kEncodeSlice + 4);
  const auto file = std::make_shared<testing::StringBytes>(part);
  const transfer::PartBytes bytes(file, 0, part.size());
  transfer::PartBody body = transfer::part_body(std::string("1"), "repo", "upload", 0, part.size());
  const std::string whole = body_text(body, bytes);
  std::string scratch;
  const transfer::PartRequestBody request(body, bytes, scratch);
  std::uint32_t x = 12345;
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5},
                           std::size_t{4096}, std::size_t{65537}, std::size_t{1} << 20}) {
    std::string read;
    for (std::size_t at = 0; at < whole.size();) {
      std::string piece(std::min(step, whole.size() - at), '\0');
      request.read_at(at, piece);
      read += piece;
      at += piece.size();
    }
    EXPECT_EQ(read, whole) << "steps of " << step;
  }
  for (int i = 0; i < 200; ++i) {
    x = x * 1103515245u + 12345u;
    const std::size_t at = (x >> 8) % whole.size();
    x = x * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>((x >> 8) % 70000, whole.size() - at);
    std::string piece(n, '\0');
    request.read_at(at, piece);
    EXPECT_EQ(piece, whole.substr(at, n)) << at << "+" << n;
  }
}

// Two bodies hashed side by side (as the producer pairs parts) get each the
// SHA-256 of its own bytes, whatever their lengths.
TEST(UploadPartBodyTest, APairOfBodiesHashedTogetherGetsEachItsOwnHash) {
  const std::string first = part_of(3 * 40000);
  const std::string second = part_of(3 * 25000 + 2);  // shorter, ends unpadded
  transfer::PartBody a = transfer::part_body(std::nullopt, "repo", "upload-1", 0, first.size());
  transfer::PartBody b = transfer::part_body(
      std::nullopt, "repo", "upload-1", static_cast<std::int64_t>(first.size()), second.size());
  const transfer::PartBytes a_bytes{std::string_view(first)};
  const transfer::PartBytes b_bytes{std::string_view(second)};
  transfer::PartHasher().hash(a, a_bytes, &b, &b_bytes);
  EXPECT_EQ(a.sha256, Digest::of(body_text(a, a_bytes)));
  EXPECT_EQ(b.sha256, Digest::of(body_text(b, b_bytes)));
}

// A file that shrank since the push opened it: the part cannot be made, and
// the error says why instead of sending what is not the blob; read from the
// file or through a mapping (which reads the cut page's end as zeros).
TEST(UploadPartBodyTest, AFileThatShrankIsAnErrorSayingSo) {
  const testing::ScratchDir dir("shrunk-part");
  const std::filesystem::path path = dir.path() / "blob";
  testing::write_file(path, part_of(1000));
  const auto bytes = oci::FileRangeStream(oci::open_regular_file(path), 0, 1000).random_access();
  std::filesystem::resize_file(path, 500);
  const transfer::PartBytes part(bytes, 0, 1000);
  for (const transfer::PartBytes& read : {part, part.mapped()}) {
    transfer::PartBody body = transfer::part_body(std::nullopt, "r", "u", 0, 1000);
    try {
      transfer::PartHasher().hash(body, read);
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("shrank while it was read"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace ecr

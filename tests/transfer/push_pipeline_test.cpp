// Push's part pipeline, single-pass compression of docker save layers and the
// digest index, against the in-memory fake registry: exact bytes and digests,
// how often the source is read, and which requests are made.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "core/base64.hpp"
#include "ecr/service_errors.hpp"
#include "ecr/transfer.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/layer_upload.hpp"
#include "transfer/memory_source.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::FakeRegistry;

// Deterministic bytes: pseudo-random when `compressible` is false, else text
// that gzip shrinks.
std::string make_bytes(std::size_t n, std::uint32_t seed, bool compressible = false) {
  std::string bytes(n, '\0');
  std::uint32_t x = seed * 7919u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    bytes[i] = compressible ? static_cast<char>('a' + (x >> 16) % 4) : static_cast<char>(x >> 16);
  }
  return bytes;
}

// An image source in memory that counts, per blob, how often it is opened and
// how many bytes are read from it.
class CountingSource final : public ImageSource {
 public:
  // The file standing for this source's bytes in the digest index.
  std::optional<fs::path> identity;
  std::optional<fs::path> identity_file(const Descriptor&) const override { return identity; }

  Descriptor add_blob(const std::string& bytes, std::string media_type) {
    const Digest d = Digest::of(bytes);
    blobs_.insert_or_assign(d, bytes);
    return Descriptor{.media_type = std::move(media_type),
                      .digest = d,
                      .size = static_cast<std::int64_t>(bytes.size())};
  }
  // An image whose layers have `layer_media_type`; the config names each
  // layer's digest as its diff_id (true of uncompressed layers). Becomes the
  // source's only image; returns the layers.
  std::vector<Descriptor> add_image(const std::vector<std::string>& layer_bytes,
                                    std::string_view layer_media_type) {
    std::vector<Descriptor> layers;
    std::string diff_ids;
    for (const auto& bytes : layer_bytes) {
      layers.push_back(add_blob(bytes, std::string(layer_media_type)));
      diff_ids += (diff_ids.empty() ? "\"" : ",\"") + layers.back().digest.str() + "\"";
    }
    const Descriptor config = add_blob(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":[" +
            diff_ids + "]}}",
        std::string(media_type::kOciConfig));
    const Descriptor manifest =
        add_blob(serialize_oci_manifest(config, layers), std::string(media_type::kOciManifest));
    entries_ = {ImageEntry{{"v1"}, manifest}};
    return layers;
  }
  const std::string& bytes(const Digest& d) const { return blobs_.at(d); }
  int opens(const Digest& d) const {
    const std::lock_guard lock(mutex_);
    return opens_.contains(d) ? opens_.at(d) : 0;
  }
  std::int64_t bytes_read(const Digest& d) const {
    const std::lock_guard lock(mutex_);
    return read_.contains(d) ? read_.at(d) : 0;
  }
  void reset_counts() {
    const std::lock_guard lock(mutex_);
    opens_.clear();
    read_.clear();
  }

  std::vector<ImageEntry> list() override { return entries_; }

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& d) override {
    const std::lock_guard lock(mutex_);
    ++opens_[d.digest];
    return std::make_unique<Stream>(*this, d.digest, blobs_.at(d.digest));
  }

 private:
  class Stream final : public ByteStream {
   public:
    Stream(CountingSource& owner, Digest digest, const std::string& data)
        : owner_(owner), digest_(std::move(digest)), data_(data) {}
    std::size_t read(std::span<std::byte> out) override {
      const std::size_t n = std::min(out.size(), data_.size() - pos_);
      std::memcpy(out.data(), data_.data() + pos_, n);
      pos_ += n;
      const std::lock_guard lock(owner_.mutex_);
      owner_.read_[digest_] += static_cast<std::int64_t>(n);
      return n;
    }

   private:
    CountingSource& owner_;
    Digest digest_;
    const std::string& data_;
    std::size_t pos_ = 0;
  };

  std::map<Digest, std::string> blobs_;
  std::vector<ImageEntry> entries_;
  mutable std::mutex mutex_;
  std::map<Digest, int> opens_;
  std::map<Digest, std::int64_t> read_;
};

// Keeps what ecr::copy writes: the reference for what a push must produce.
class KeepingSink final : public ImageSink {
 public:
  bool has_blob(const Digest& d) override { return blobs.contains(d); }
  void write_blob(BlobReader& in) override {
    blobs[in.descriptor().digest] = in.read_all(1u << 30);
  }
  void write_manifest(const ParsedManifest& m, const std::vector<std::string>&, bool) override {
    manifests.push_back(m);
  }
  void commit() override {}

  std::map<Digest, std::string> blobs;
  std::vector<ParsedManifest> manifests;
};

class PushPipelineTest : public ::testing::Test {
 protected:
  PushPipelineTest() {
    std::string dir = (fs::temp_directory_path() / "push-pipeline-XXXXXX").string();
    if (!::mkdtemp(dir.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    // Stands in for the docker-archive file the source was opened from: its
    // identity (inode, size, mtime, path) keys the digest index.
    archive_ = dir_ / "image.docker.tar";
    std::ofstream(archive_) << "stand-in";
    source_.identity = archive_;
    options_.jobs = 2;
    options_.cache_dir = dir_ / "cache";
    open_session();
  }
  ~PushPipelineTest() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void open_session() {
    registry_ = std::make_shared<FakeRegistry>();
    session_ = testing::open_fake_session(registry_);
  }

  PushResult push() { return transfer::push_image(*session_, source_, "", {"v1"}, options_); }

  // The manifest digest ecr::copy gives the source's image with its layers
  // gzipped: what pushing through a staging OCI layout produced.
  Digest copied_digest() {
    KeepingSink sink;
    TransferOptions copy;
    copy.compression.algorithm = Compression::kGzip;
    return ecr::copy(source_, "", sink, copy).digest;
  }

  fs::path dir_;
  fs::path archive_;
  std::shared_ptr<FakeRegistry> registry_;
  std::unique_ptr<transfer::RegistrySession> session_;
  CountingSource source_;
  TransferOptions options_;
};

constexpr std::string_view kTarLayer = media_type::kOciLayer;
constexpr std::string_view kGzipLayer = media_type::kOciLayerGzip;

TEST_F(PushPipelineTest, PipelinedPartsArriveInOrderWithExactBytes) {
  options_.jobs = 1;
  const auto layers = source_.add_image({make_bytes(13 * 4096 + 123, 1)}, kGzipLayer);
  push();
  EXPECT_EQ(registry_->blobs().at(layers[0].digest.str()), source_.bytes(layers[0].digest));
  // 14 parts for the layer, 1 for the config; the fake registry refuses a
  // part that does not start where the previous one ended, which would have
  // made it receive more bytes than the blobs hold.
  const std::int64_t config_size = source_.resolve("").config->size;
  EXPECT_EQ(registry_->count("UploadLayerPart"), 15);
  EXPECT_EQ(registry_->part_bytes_received(), layers[0].size + config_size);
  EXPECT_EQ(source_.opens(layers[0].digest), 1);
}

TEST_F(PushPipelineTest, AnUploadHoldsItsPartBuffersReusedFromPartToPart) {
  const auto layers = source_.add_image({make_bytes(64 * 4096 + 7, 2)}, kGzipLayer);
  transfer::PartBufferPool pool(transfer::kPartBuffersPerUpload);
  TransferContext reporter(1, {}, nullptr);
  const transfer::UploadStats stats = transfer::upload_blob(
      *session_, layers[0], transfer::copy_blob(source_, layers[0]), pool, kMinPartSize, reporter);
  EXPECT_EQ(stats.uploaded, layers[0]);
  EXPECT_EQ(stats.bytes_sent, layers[0].size);
  EXPECT_EQ(registry_->blobs().at(layers[0].digest.str()), source_.bytes(layers[0].digest));
  EXPECT_EQ(pool.peak_in_use(), transfer::kPartBuffersPerUpload);
  // 65 parts of 4096 bytes went through the same three buffers, each holding
  // one part's bytes, never an encoded body.
  for (auto& buffer : pool.acquire(transfer::kPartBuffersPerUpload)) {
    EXPECT_EQ(buffer->raw.size(), 4096u);
    EXPECT_LE(buffer->raw.capacity(), 2u * 4096);
  }
}

// A blob in a file is read from it for each part, to hash the part's body and
// again to send it: the upload holds none of its bytes.
TEST_F(PushPipelineTest, ABlobReadFromAFileLeavesThePartBuffersUntouched) {
  testing::MemorySource source;
  source.serve_random_access();
  const Descriptor layer = source.add_blob(make_bytes(64 * 4096 + 7, 2), std::string(kGzipLayer));
  transfer::PartBufferPool pool(transfer::kPartBuffersPerUpload);
  TransferContext reporter(1, {}, nullptr);
  const transfer::UploadStats stats = transfer::upload_blob(
      *session_, layer, transfer::copy_blob(source, layer), pool, kMinPartSize, reporter);
  EXPECT_EQ(stats.uploaded, layer);
  EXPECT_EQ(registry_->blobs().at(layer.digest.str()), source.bytes(layer.digest));
  EXPECT_EQ(registry_->count("UploadLayerPart"), 65);
  EXPECT_EQ(pool.peak_in_use(), transfer::kPartBuffersPerUpload);
  for (auto& buffer : pool.acquire(transfer::kPartBuffersPerUpload)) {
    EXPECT_EQ(buffer->raw.capacity(), std::string().capacity());
  }
}

TEST_F(PushPipelineTest, UncompressedLayersAreReadOnceAndGzippedDuringTheUpload) {
  const auto layers = source_.add_image(
      {make_bytes(30000, 3, true), make_bytes(5000, 4, true), make_bytes(9000, 5)}, kTarLayer);
  const PushResult pushed = push();

  for (const auto& layer : layers) {
    EXPECT_EQ(source_.opens(layer.digest), 1) << layer.digest.str();
    EXPECT_EQ(source_.bytes_read(layer.digest), layer.size) << layer.digest.str();
  }
  // The same manifest, byte for byte, as ecr::copy writes into a local sink; each compressed
  // layer is in the registry under the digest the manifest names.
  KeepingSink reference;
  TransferOptions copy;
  copy.compression.algorithm = Compression::kGzip;
  const TransferResult copied = ecr::copy(source_, "", reference, copy);
  EXPECT_EQ(pushed.digest, copied.digest);
  EXPECT_EQ(registry_->put_image_digests(), std::vector<std::string>{copied.digest.str()});
  const auto held = registry_->blobs();
  for (const auto& [digest, bytes] : reference.blobs) {
    ASSERT_TRUE(held.contains(digest.str())) << digest.str();
    EXPECT_EQ(held.at(digest.str()), bytes);
  }
  ASSERT_EQ(pushed.blobs.size(), 4u);  // config, 3 layers
  for (const auto& b : pushed.blobs) {
    EXPECT_EQ(b.action, BlobAction::kUploaded);
    EXPECT_TRUE(reference.blobs.contains(b.digest)) << b.digest.str();
  }
  // Nothing could be checked before the compressed digests were known but
  // the config.
  EXPECT_EQ(registry_->count("BatchCheckLayerAvailability"), 1);
}

// A layer compressed on the way reports the uncompressed bytes read against
// its uncompressed size (never compressed bytes against it), and its kDone
// names the compressed blob the registry now holds.
TEST_F(PushPipelineTest, CompressedLayerProgressCountsSourceBytesAndNamesThePushedBlob) {
  const std::int64_t size = 3 * (1 << 20) + 12345;
  const auto layers =
      source_.add_image({make_bytes(static_cast<std::size_t>(size), 6, true)}, kTarLayer);
  std::vector<ProgressEvent> events;
  options_.progress = [&](const ProgressEvent& e) {
    if (e.digest == layers[0].digest) events.push_back(e);
  };
  const PushResult pushed = push();

  std::vector<std::int64_t> uploading;
  for (const auto& e : events) {
    if (e.state != BlobState::kUploading) continue;
    EXPECT_EQ(e.bytes_total, size);
    uploading.push_back(e.bytes_done);
  }
  // The start, each MiB read, and the end; never going back.
  EXPECT_EQ(uploading, (std::vector<std::int64_t>{0, 1 << 20, 2 << 20, 3 << 20, size}));
  ASSERT_FALSE(events.empty());
  const ProgressEvent& done = events.back();
  EXPECT_EQ(done.state, BlobState::kDone);
  EXPECT_EQ(done.bytes_done, size);
  ASSERT_TRUE(done.stored_as.has_value());
  const BlobResult& layer_result = pushed.blobs.back();
  EXPECT_EQ(done.stored_as->digest, layer_result.digest);
  EXPECT_EQ(done.stored_as->size, layer_result.size);
  EXPECT_EQ(done.stored_as->media_type, kGzipLayer);
  EXPECT_LT(layer_result.size, size);  // the text compresses
}

TEST_F(PushPipelineTest, WarmDigestIndexSkipsCompressionAndUploads) {
  const auto layers =
      source_.add_image({make_bytes(20000, 6, true), make_bytes(3000, 7, true)}, kTarLayer);
  const PushResult first = push();
  const int parts = registry_->count("UploadLayerPart");
  const int initiated = registry_->count("InitiateLayerUpload");
  source_.reset_counts();

  const PushResult second = push();

  EXPECT_EQ(second.digest, first.digest);
  for (const auto& layer : layers) EXPECT_EQ(source_.opens(layer.digest), 0) << layer.digest.str();
  EXPECT_EQ(registry_->count("UploadLayerPart"), parts);
  EXPECT_EQ(registry_->count("InitiateLayerUpload"), initiated);
  EXPECT_EQ(registry_->count("BatchCheckLayerAvailability"), 2);
  EXPECT_EQ(registry_->put_image_digests(),
            (std::vector<std::string>{first.digest.str(), first.digest.str()}));
  EXPECT_EQ(second.bytes_moved, 0);
  for (const auto& b : second.blobs) EXPECT_EQ(b.action, BlobAction::kExists);
  EXPECT_EQ(second.blobs.size(), first.blobs.size());
  for (std::size_t i = 0; i < first.blobs.size(); ++i) {
    EXPECT_EQ(second.blobs[i].digest, first.blobs[i].digest);
    EXPECT_EQ(second.blobs[i].size, first.blobs[i].size);
  }
}

TEST_F(PushPipelineTest, RepushOfCompressedLayersReadsNoBlob) {
  // OCI layouts and archives name every blob in their manifests: when the
  // registry has them all, there is nothing to read, hash or compress.
  const auto layers = source_.add_image({make_bytes(9000, 14), make_bytes(100, 15)}, kGzipLayer);
  push();
  source_.reset_counts();

  const PushResult again = push();

  for (const auto& layer : layers) EXPECT_EQ(source_.opens(layer.digest), 0) << layer.digest.str();
  EXPECT_EQ(source_.opens(source_.resolve("").config->digest), 0);
  EXPECT_EQ(again.bytes_moved, 0);
}

TEST_F(PushPipelineTest, IndexedLayerMissingFromTheRegistryIsCompressedAndUploadedAgain) {
  const auto layers = source_.add_image({make_bytes(10000, 8, true)}, kTarLayer);
  const PushResult first = push();
  open_session();  // an empty registry
  source_.reset_counts();

  const PushResult second = push();

  EXPECT_EQ(second.digest, first.digest);
  EXPECT_EQ(source_.opens(layers[0].digest), 1);
  EXPECT_EQ(registry_->put_image_digests(), std::vector<std::string>{first.digest.str()});
  for (const auto& b : second.blobs) EXPECT_TRUE(registry_->blobs().contains(b.digest.str()));
}

TEST_F(PushPipelineTest, FailedUploadRecordsNoIndexEntry) {
  const auto layers = source_.add_image({make_bytes(10000, 9, true)}, kTarLayer);
  registry_->throttle_operation = "CompleteLayerUpload";
  registry_->throttles = 1000;  // beyond the retry policy's attempts
  EXPECT_THROW(push(), ServiceError);
  registry_->throttles = 0;
  source_.reset_counts();

  const PushResult pushed = push();

  EXPECT_EQ(source_.opens(layers[0].digest), 1);  // compressed again: no entry was kept
  EXPECT_EQ(pushed.digest, copied_digest());
}

TEST_F(PushPipelineTest, ChangedSourceFileMissesTheIndex) {
  const auto layers = source_.add_image({make_bytes(10000, 10, true)}, kTarLayer);
  push();
  source_.reset_counts();
  fs::last_write_time(archive_, fs::last_write_time(archive_) + std::chrono::seconds(5));

  push();

  EXPECT_EQ(source_.opens(layers[0].digest), 1);
}

TEST_F(PushPipelineTest, ResumeBeforeTheBufferedPartsProducesTheLayerAgain) {
  options_.jobs = 1;
  const auto layers = source_.add_image({make_bytes(40000, 11)}, kTarLayer);
  // When the fourth part arrives the registry holds only the first one.
  registry_->forget = {{3 * 4096, 4096}};

  const PushResult pushed = push();

  EXPECT_EQ(pushed.digest, copied_digest());
  // Compressed twice (deterministically), read twice; sent from byte 4096 on
  // the second time.
  EXPECT_EQ(source_.opens(layers[0].digest), 2 + 1);  // + copied_digest()
  for (const auto& b : pushed.blobs) EXPECT_TRUE(registry_->blobs().contains(b.digest.str()));
}

TEST_F(PushPipelineTest, VanishedUploadRestartsFromTheFirstByte) {
  options_.jobs = 1;
  const auto layers = source_.add_image({make_bytes(30000, 12)}, kGzipLayer);
  registry_->vanish_upload_at = 2 * 4096;

  push();

  EXPECT_EQ(registry_->blobs().at(layers[0].digest.str()), source_.bytes(layers[0].digest));
  EXPECT_EQ(registry_->count("InitiateLayerUpload"), 2 + 1);  // config, layer, layer again
  EXPECT_EQ(source_.opens(layers[0].digest), 2);
}

TEST_F(PushPipelineTest, ProducerFailureStopsTheUploadWithItsError) {
  // A layer whose bytes do not match its digest: the producer's reader
  // throws at the end, and the upload is never completed.
  const auto layers = source_.add_image({make_bytes(20000, 13)}, kGzipLayer);
  Descriptor wrong = layers[0];
  wrong.size += 1;
  transfer::PartBufferPool pool(transfer::kPartBuffersPerUpload);
  TransferContext reporter(1, {}, nullptr);
  EXPECT_THROW(transfer::upload_blob(*session_, wrong, transfer::copy_blob(source_, wrong), pool,
                                     kMinPartSize, reporter),
               IntegrityError);
  EXPECT_EQ(registry_->count("CompleteLayerUpload"), 0);
  EXPECT_EQ(pool.peak_in_use(), transfer::kPartBuffersPerUpload);
  pool.acquire(transfer::kPartBuffersPerUpload);  // both buffers came back
}

}  // namespace
}  // namespace ecr

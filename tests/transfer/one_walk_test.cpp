// Every transfer is one walk (image_walk.hpp): a sink is asked the same
// things in the same order whether the image comes from a local place or
// from an ECR repository. A recording sink receives the same image from a
// MemorySource and from an EcrImageSource over the fake registry holding it.
#include <gtest/gtest.h>

#include "ecr/compression.hpp"
#include "ecr/transfer.hpp"
#include "support/pattern.hpp"
#include "support/string_stream.hpp"
#include "transfer/ecr_source.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/memory_source.hpp"
#include "transfer/recording_sink.hpp"

namespace ecr {
namespace {

using testing::FakeRegistry;
using testing::MemorySource;
using testing::RecordingSink;

using testing::pattern;

std::string config_json(const char* arch, const std::vector<Digest>& diff_ids) {
  std::string ids;
  for (const auto& d : diff_ids) ids += (ids.empty() ? "\"" : ",\"") + d.str() + "\"";
  return std::string("{\"architecture\":\"") + arch +
         "\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + ids + "]}}";
}

class OneWalkTest : public ::testing::Test {
 protected:
  OneWalkTest() : registry_(std::make_shared<FakeRegistry>()) {}

  // `source_` as the fake registry holds it under team/app:v1.
  void push_source(const TransferOptions& options) {
    transfer::push_image(*testing::open_fake_session(registry_), source_, "", {"v1"}, options);
  }
  transfer::EcrImageSource registry_source() {
    return transfer::EcrImageSource(testing::open_fake_session(registry_), "v1");
  }

  std::shared_ptr<FakeRegistry> registry_;
  MemorySource source_;
};

// An index of two manifests sharing layer `shared`: the plan holds each
// blob once, in manifest order (config_amd, shared, only_amd, config_arm,
// only_arm). The sinks already hold `only_amd`.
TEST_F(OneWalkTest, ALocalAndARegistrySourceMakeTheSameSinkCallsAndSkipWhatTheSinkHas) {
  const std::string shared_bytes = pattern(5000, 's');
  const std::string amd_bytes = pattern(3000, 'a');
  const std::string arm_bytes = pattern(2000, 'r');
  const auto layer = [&](const std::string& bytes) {
    return source_.add_blob(bytes, std::string(media_type::kOciLayerGzip));
  };
  const Descriptor shared = layer(shared_bytes);
  const Descriptor only_amd = layer(amd_bytes);
  const Descriptor only_arm = layer(arm_bytes);
  const auto config = [&](const char* arch) {
    return source_.add_blob(config_json(arch, {}), std::string(media_type::kOciConfig));
  };
  const Descriptor config_amd = config("amd64");
  const Descriptor config_arm = config("arm64");
  const auto manifest = [&](const Descriptor& c, const std::vector<Descriptor>& layers,
                            const char* arch) {
    Descriptor d =
        source_.add_blob(serialize_oci_manifest(c, layers), std::string(media_type::kOciManifest));
    d.platform = Platform{.os = "linux", .architecture = arch};
    return d;
  };
  const Descriptor amd = manifest(config_amd, {shared, only_amd}, "amd64");
  const Descriptor arm = manifest(config_arm, {shared, only_arm}, "arm64");
  const Descriptor index =
      source_.add_blob(serialize_oci_index({amd, arm}), std::string(media_type::kOciIndex));
  source_.set_root(index);
  push_source({});
  const int gets_before = registry_->count("GET");

  RecordingSink from_local;
  from_local.held = {only_amd.digest};
  const TransferResult local = copy(source_, "", from_local);
  transfer::EcrImageSource ecr_source = registry_source();
  RecordingSink from_registry;
  from_registry.held = {only_amd.digest};
  const TransferResult remote = copy(ecr_source, "", from_registry);

  const std::vector<std::string> expected = {
      "has_blobs " + config_amd.digest.str() + " " + shared.digest.str() + " " +
          only_amd.digest.str() + " " + config_arm.digest.str() + " " + only_arm.digest.str(),
      "write_blob " + config_amd.digest.str(),
      "write_blob " + shared.digest.str(),
      "write_blob " + config_arm.digest.str(),
      "write_blob " + only_arm.digest.str(),
      "write_manifest " + amd.digest.str() + " child",
      "write_manifest " + arm.digest.str() + " child",
      "write_manifest " + index.digest.str() + " root v1"};
  EXPECT_EQ(from_local.walk(), expected);
  EXPECT_EQ(from_registry.walk(), expected);
  EXPECT_EQ(local.digest, index.digest);
  EXPECT_EQ(remote.digest, index.digest);
  // The blob the sink had was not even downloaded; the others once each.
  EXPECT_EQ(registry_->count("GET") - gets_before, 4);
  for (const auto& d : {config_amd, shared, config_arm, only_arm}) {
    EXPECT_EQ(from_local.blobs.at(d.digest), source_.bytes(d.digest)) << d.digest.str();
    EXPECT_EQ(from_registry.blobs.at(d.digest), source_.bytes(d.digest)) << d.digest.str();
  }
  EXPECT_FALSE(from_local.blobs.contains(only_amd.digest));
  EXPECT_FALSE(from_registry.blobs.contains(only_amd.digest));
}

// A layout holding an uncompressed (tar) layer, pushed as it is: copied
// into a sink that wants compressed layers, the layer is compressed on the
// way and streamed into the sink once, from either source, giving one blob.
TEST_F(OneWalkTest, AnUncompressedLayerIsStreamedOnceAndGivesOneBlobFromEitherSource) {
  const std::string tar_bytes = pattern(300 * 1024, 't');
  const Descriptor tar = source_.add_blob(tar_bytes, std::string(media_type::kOciLayer));
  const Descriptor config =
      source_.add_blob(config_json("amd64", {tar.digest}), std::string(media_type::kOciConfig));
  const Descriptor manifest = source_.add_blob(serialize_oci_manifest(config, {tar}),
                                               std::string(media_type::kOciManifest));
  source_.set_root(manifest);
  TransferOptions as_it_is;
  as_it_is.compression.algorithm = Compression::kNone;
  push_source(as_it_is);
  ASSERT_EQ(registry_->put_image_digests(), std::vector<std::string>{manifest.digest.str()});
  // The blob the layer becomes, compressed here directly.
  testing::StringStream tar_stream(tar_bytes);
  std::string gzipped;
  compress_layer(tar_stream, [&](std::span<const std::byte> b) {
    gzipped.append(reinterpret_cast<const char*>(b.data()), b.size());
  });
  const Digest gzip_digest = Digest::of(gzipped);

  RecordingSink from_local;
  const TransferResult local = copy(source_, "", from_local);
  transfer::EcrImageSource ecr_source = registry_source();
  RecordingSink from_registry;
  const TransferResult remote = copy(ecr_source, "", from_registry);

  const std::vector<std::string> expected = {
      "has_blobs " + config.digest.str(),
      "write_blob " + config.digest.str(),
      "write_streamed_blob " + tar.digest.str() + " -> " + gzip_digest.str(),
      "has_blob " + gzip_digest.str(),
      "write_blob " + gzip_digest.str(),
      "write_manifest " + local.digest.str() + " root v1"};
  EXPECT_EQ(from_local.walk(), expected);
  EXPECT_EQ(from_registry.walk(), expected);
  EXPECT_NE(local.digest, manifest.digest);
  EXPECT_EQ(remote.digest, local.digest);
  EXPECT_EQ(from_local.blobs.at(gzip_digest), gzipped);
  EXPECT_EQ(from_registry.blobs.at(gzip_digest), gzipped);
}

}  // namespace
}  // namespace ecr

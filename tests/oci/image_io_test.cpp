// Reading and writing OCI layouts, oci-archives and docker-archives, checked
// against what skopeo and umoci (real peers) make and read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "ecr/error.hpp"
#include "ecr/image_location.hpp"
#include "ecr/inspect.hpp"
#include "oci/peer_tools.hpp"
#include "support/string_stream.hpp"

namespace ecr {
namespace {

using test::fixture;
using test::kHelloDiffId;
using test::kHelloLayer;
using test::kHelloManifest;
using test::run;
using test::ScratchDir;
using test::skopeo_digest;
using ::testing::HasSubstr;

TEST(OciArchive, ReadsFixtureWithDigestsSkopeoReports) {
  auto source = open_image_source(ImageLocation::parse("oci-archive:" + fixture("hello.oci.tar")));
  ParsedManifest m = source->resolve("latest");
  EXPECT_EQ(m.digest.str(), kHelloManifest);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].digest.str(), kHelloLayer);
  BlobReader layer = source->open_blob(m.layers[0]);
  EXPECT_EQ(layer.read_all(1 << 20).size(), 159u);
}

Descriptor descriptor_of(std::string_view bytes) {
  return Descriptor{.media_type = "application/octet-stream",
                    .digest = Digest::of(bytes),
                    .size = static_cast<std::int64_t>(bytes.size())};
}

TEST(BlobReader, SizeOnlyCheckSkipsTheDigestButNotTheSize) {
  const Descriptor d = descriptor_of("layer bytes");
  BlobReader damaged(d, std::make_unique<testing::StringStream>("LAYER bytes"),
                     BlobReader::Check::kSizeOnly);
  EXPECT_EQ(damaged.read_all(100), "LAYER bytes");

  BlobReader longer(d, std::make_unique<testing::StringStream>("layer bytes!"),
                    BlobReader::Check::kSizeOnly);
  EXPECT_THAT([&] { longer.read_all(100); },
              ::testing::ThrowsMessage<IntegrityError>(HasSubstr("is longer than its size 11")));
  BlobReader shorter(d, std::make_unique<testing::StringStream>("layer"),
                     BlobReader::Check::kSizeOnly);
  EXPECT_THAT([&] { shorter.read_all(100); },
              ::testing::ThrowsMessage<IntegrityError>(HasSubstr("is truncated: 5 of 11 bytes")));
  // The default still checks the digest.
  BlobReader checked(d, std::make_unique<testing::StringStream>("LAYER bytes"));
  EXPECT_THROW(checked.read_all(100), IntegrityError);
}

TEST(DockerArchive, ReadsLegacyFixtureAsUncompressedLayers) {
  auto source = open_image_source(ImageLocation::parse(fixture("hello.docker.tar")));
  std::vector<ImageEntry> images = source->list();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0].names, std::vector<std::string>{"docker.io/library/hello:latest"});
  ParsedManifest m = source->resolve("docker.io/library/hello:latest");
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].media_type, media_type::kOciLayer);
  EXPECT_EQ(m.layers[0].digest.str(), kHelloDiffId);
  EXPECT_EQ(source->open_blob(m.layers[0]).read_all(1 << 20).size(), 2560u);
}

TEST(Inspect, PrintsManifestConfigAndLayers) {
  auto source = open_image_source(ImageLocation::parse(fixture("hello.oci.tar")));
  EXPECT_EQ(
      inspect_image(*source, "", std::nullopt, false),
      std::string(R"({"digest":")") + kHelloManifest +
          R"(","mediaType":"application/vnd.oci.image.manifest.v1+json","names":["latest"],)"
          R"("config":{"digest":"sha256:0fdf461982b910da467a36a9360f284ecf0ba15bb9d3a583a135e33d4ba737b3",)"
          R"("size":404,"mediaType":"application/vnd.oci.image.config.v1+json"},)"
          R"("layers":[{"digest":")" +
          kHelloLayer +
          R"(","size":159,"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]})");
}

TEST(OciLayout, ReaderFindsDigestsOfUmociImage) {
  REQUIRE_PEERS();
  ScratchDir dir;
  const std::string layout = dir / "layout";
  run("umoci init --layout " + layout + " && umoci new --image " + layout + ":v1");
  run("umoci unpack --rootless --image " + layout + ":v1 " + (dir / "b") + " >/dev/null");
  run("echo payload > " + (dir / "b") + "/rootfs/file && umoci repack --image " + layout + ":v1 " +
      (dir / "b"));
  auto source = open_image_source(ImageLocation::parse("oci:" + layout + ":v1"));
  EXPECT_EQ(source->resolve("v1").digest.str(), skopeo_digest("oci:" + layout + ":v1"));
}

TEST(ImageLocation, ParsesSkopeoTransports) {
  ImageLocation d = ImageLocation::parse("docker-archive:/tmp/a.tar:repo/name:tag");
  EXPECT_EQ(d.kind, LocationKind::kDockerArchive);
  EXPECT_EQ(d.path, "/tmp/a.tar");
  EXPECT_EQ(d.ref, "repo/name:tag");
  EXPECT_EQ(ImageLocation::parse("oci:dir").ref, "");
  EXPECT_EQ(ImageLocation::parse("some/path").kind, LocationKind::kDetect);
  EXPECT_THROW(ImageLocation::parse("oci:"), InputError);
}

TEST(ImageLocation, ParsesRegistryImagesByPrefixUriOrBareKind) {
  const ImageLocation e = ImageLocation::parse("ecr:team/app:v1");
  EXPECT_EQ(e.kind, LocationKind::kEcr);
  ASSERT_TRUE(e.image);
  EXPECT_EQ(e.image->repository, "team/app");
  EXPECT_EQ(e.image->tag, "v1");
  EXPECT_EQ(e.str(), "ecr:team/app:v1");

  const ImageLocation d = ImageLocation::parse(
      "docker://team/app@sha256:2c08ddd3f6dd05fb9768756e6ba3b1c203e4ad69cff1673318968b122e8458de");
  EXPECT_EQ(d.kind, LocationKind::kEcr);
  EXPECT_EQ(d.image->digest->str(), kHelloManifest);

  const ImageLocation uri =
      ImageLocation::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0");
  EXPECT_EQ(uri.kind, LocationKind::kEcr);
  EXPECT_EQ(uri.image->registry_id, "123456789012");
  EXPECT_EQ(uri.image->region, "eu-west-1");

  // Without a prefix, text is a registry image only when the caller says so.
  EXPECT_EQ(ImageLocation::parse("app:1.0").kind, LocationKind::kDetect);
  EXPECT_EQ(ImageLocation::parse("app:1.0", LocationKind::kEcr).image->tag, "1.0");
  EXPECT_EQ(ImageLocation::parse("out.tar", LocationKind::kOciArchive).kind,
            LocationKind::kOciArchive);
}

TEST(ImageLocation, RefusesBadRegistryReferencesNamingThePart) {
  EXPECT_THAT([] { ImageLocation::parse("ecr:"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("empty image reference")));
  EXPECT_THAT([] { ImageLocation::parse("ecr:team/app:bad tag"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("tag")));
  EXPECT_THAT([] { ImageLocation::parse("docker://docker.io/library/alpine"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("not an Amazon ECR registry")));
}

TEST(ImageLocation, ARegistryImageIsNotOpenedAsALocalPlace) {
  EXPECT_THAT([] { open_image_source(ImageLocation::parse("ecr:team/app:v1")); },
              ::testing::ThrowsMessage<InputError>(
                  HasSubstr("ecr:team/app:v1 is a registry image; open it with the client")));
  EXPECT_THAT([] { open_image_sink(ImageLocation::parse("ecr:team/app:v1")); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("is a registry image")));
}

}  // namespace
}  // namespace ecr

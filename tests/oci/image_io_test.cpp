// Reading and writing OCI layouts, oci-archives and docker-archives, checked
// against what skopeo and umoci (real peers) make and read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "ecr/error.hpp"
#include "ecr/image_copy.hpp"
#include "ecr/image_location.hpp"
#include "oci/peer_tools.hpp"
#include "support/string_stream.hpp"

namespace ecr {
namespace {

using test::fixture;
using test::run;
using test::ScratchDir;
using ::testing::HasSubstr;

constexpr const char* kHelloManifest =
    "sha256:2c08ddd3f6dd05fb9768756e6ba3b1c203e4ad69cff1673318968b122e8458de";
constexpr const char* kHelloDiffId =
    "sha256:fcbe0f98103baa30ca79f04a80992cd94eb33daeee547f66989dcb53c2e2f728";
constexpr const char* kHelloLayer =
    "sha256:3b9190f95437c9410ee4985a105c68bf3f622372b78ba9292b05919af2aff1a2";

std::string skopeo_digest(const std::string& location) {
  std::string d = run("skopeo inspect --raw " + location + " | sha256sum | cut -d' ' -f1");
  return "sha256:" + d.substr(0, 64);
}

#define REQUIRE_PEERS()                                        \
  if (!test::have_tool("skopeo") || !test::have_tool("umoci")) \
  GTEST_SKIP() << "skopeo and umoci are needed (Debian packages skopeo, umoci)"

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

TEST(OciArchive, WhatWeWriteSkopeoReadsWithSameDigest) {
  REQUIRE_PEERS();
  ScratchDir dir;
  CopyResult r = copy_image(ImageLocation::parse(fixture("hello.oci.tar")),
                            ImageLocation::parse("oci-archive:" + (dir / "out.tar") + ":v2"));
  EXPECT_EQ(r.digest.str(), kHelloManifest);
  EXPECT_EQ(skopeo_digest("oci-archive:" + (dir / "out.tar") + ":v2"), kHelloManifest);
  run("skopeo copy -q oci-archive:" + (dir / "out.tar") + ":v2 oci:" + (dir / "back") + ":v2");
}

TEST(OciLayout, UmociUnpacksOurLayoutToTheSameFiles) {
  REQUIRE_PEERS();
  ScratchDir dir;
  copy_image(ImageLocation::parse(fixture("hello.docker.tar")),
             ImageLocation::parse("oci:" + (dir / "layout") + ":hello"));
  run("umoci unpack --rootless --image " + (dir / "layout") + ":hello " + (dir / "b") +
      " >/dev/null");
  std::ifstream f(dir / "b/rootfs/hello.txt");
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "hello from ecr fixtures\n");
}

TEST(DockerArchive, WhatWeWriteSkopeoReadsWithSameDiffIds) {
  REQUIRE_PEERS();
  ScratchDir dir;
  copy_image(ImageLocation::parse(fixture("hello.oci.tar")),
             ImageLocation::parse("docker-archive:" + (dir / "d.tar") + ":demo/hello:1"));
  const std::string out = run("skopeo inspect --config docker-archive:" + (dir / "d.tar"));
  EXPECT_THAT(out, HasSubstr(kHelloDiffId));
  run("skopeo copy -q docker-archive:" + (dir / "d.tar") + " oci:" + (dir / "l") + ":x");
  EXPECT_EQ(
      run("tar xOf " + (dir / "d.tar") + " manifest.json"),
      std::string(
          R"([{"Config":"0fdf461982b910da467a36a9360f284ecf0ba15bb9d3a583a135e33d4ba737b3.json",)"
          R"("RepoTags":["demo/hello:1"],"Layers":["fcbe0f98103baa30ca79f04a80992cd94eb33daeee547f66989dcb53c2e2f728.tar"]}])"));
}

TEST(RoundTrip, LayoutToArchiveToLayoutKeepsEveryDigest) {
  ScratchDir dir;
  copy_image(ImageLocation::parse(fixture("hello.oci.tar")),
             ImageLocation::parse("oci:" + (dir / "a") + ":latest"));
  copy_image(ImageLocation::parse("oci:" + (dir / "a") + ":latest"),
             ImageLocation::parse("oci-archive:" + (dir / "b.tar")));
  CopyResult r = copy_image(ImageLocation::parse("oci-archive:" + (dir / "b.tar")),
                            ImageLocation::parse("oci:" + (dir / "c")));
  EXPECT_EQ(r.digest.str(), kHelloManifest);
}

TEST(RoundTrip, DockerToCompressedOciToDockerKeepsDiffIds) {
  ScratchDir dir;
  CopyOptions two_threads;
  two_threads.compression.threads = 2;
  CopyResult oci = copy_image(ImageLocation::parse(fixture("hello.docker.tar")),
                              ImageLocation::parse("oci:" + (dir / "o")), two_threads);
  auto source = open_image_source(ImageLocation::parse("oci:" + (dir / "o")));
  ParsedManifest m = source->resolve("");
  EXPECT_EQ(m.digest, oci.digest);
  EXPECT_EQ(m.layers[0].media_type, media_type::kOciLayerGzip);
  CopyOptions one_thread;
  one_thread.compression.threads = 1;
  CopyResult again = copy_image(ImageLocation::parse(fixture("hello.docker.tar")),
                                ImageLocation::parse("oci:" + (dir / "o1")), one_thread);
  EXPECT_EQ(again.digest, oci.digest) << "compression must not depend on the thread count";
  copy_image(ImageLocation::parse("oci:" + (dir / "o")),
             ImageLocation::parse("docker-archive:" + (dir / "d.tar") + ":x:y"));
  auto back = open_image_source(ImageLocation::parse("docker-archive:" + (dir / "d.tar")));
  EXPECT_EQ(back->resolve("x:y").layers[0].digest.str(), kHelloDiffId);
}

TEST(Sink, NothingVisibleWithoutCommit) {
  ScratchDir dir;
  {
    auto source = open_image_source(ImageLocation::parse(fixture("hello.oci.tar")));
    auto sink = open_image_sink(ImageLocation::parse("oci-archive:" + (dir / "x.tar")));
    copy_image(*source, "", *sink);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ImageLocation, ParsesSkopeoTransports) {
  ImageLocation d = ImageLocation::parse("docker-archive:/tmp/a.tar:repo/name:tag");
  EXPECT_EQ(d.transport, Transport::kDockerArchive);
  EXPECT_EQ(d.path, "/tmp/a.tar");
  EXPECT_EQ(d.ref, "repo/name:tag");
  EXPECT_EQ(ImageLocation::parse("oci:dir").ref, "");
  EXPECT_EQ(ImageLocation::parse("some/path").transport, Transport::kDetect);
  EXPECT_THROW(ImageLocation::parse("oci:"), InputError);
}

}  // namespace
}  // namespace ecr

// Copies between local places (OCI layout, oci-archive, docker-archive):
// ecr::copy with no registry on either side, checked against what skopeo and
// umoci (real peers) read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "ecr/error.hpp"
#include "ecr/image_location.hpp"
#include "ecr/transfer.hpp"
#include "oci/peer_tools.hpp"

namespace ecr {
namespace {

using test::fixture;
using test::kHelloDiffId;
using test::kHelloManifest;
using test::run;
using test::ScratchDir;
using test::skopeo_digest;
using ::testing::HasSubstr;

// A copy between local places needs no client configuration.
TransferResult copy_local(const ImageLocation& from, const ImageLocation& to,
                          const TransferOptions& options = {}) {
  return copy(from, to, ClientConfig{}, options);
}

TEST(OciArchive, WhatWeWriteSkopeoReadsWithSameDigest) {
  REQUIRE_PEERS();
  ScratchDir dir;
  TransferResult r = copy_local(ImageLocation::parse(fixture("hello.oci.tar")),
                                ImageLocation::parse("oci-archive:" + (dir / "out.tar") + ":v2"));
  EXPECT_EQ(r.digest.str(), kHelloManifest);
  EXPECT_EQ(skopeo_digest("oci-archive:" + (dir / "out.tar") + ":v2"), kHelloManifest);
  run("skopeo copy -q oci-archive:" + (dir / "out.tar") + ":v2 oci:" + (dir / "back") + ":v2");
}

TEST(OciLayout, UmociUnpacksOurLayoutToTheSameFiles) {
  REQUIRE_PEERS();
  ScratchDir dir;
  copy_local(ImageLocation::parse(fixture("hello.docker.tar")),
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
  copy_local(ImageLocation::parse(fixture("hello.oci.tar")),
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
  copy_local(ImageLocation::parse(fixture("hello.oci.tar")),
             ImageLocation::parse("oci:" + (dir / "a") + ":latest"));
  copy_local(ImageLocation::parse("oci:" + (dir / "a") + ":latest"),
             ImageLocation::parse("oci-archive:" + (dir / "b.tar")));
  TransferResult r = copy_local(ImageLocation::parse("oci-archive:" + (dir / "b.tar")),
                                ImageLocation::parse("oci:" + (dir / "c")));
  EXPECT_EQ(r.digest.str(), kHelloManifest);
}

TEST(RoundTrip, DockerToCompressedOciToDockerKeepsDiffIds) {
  ScratchDir dir;
  TransferOptions two_threads;
  two_threads.compression.threads = 2;
  TransferResult oci = copy_local(ImageLocation::parse(fixture("hello.docker.tar")),
                                  ImageLocation::parse("oci:" + (dir / "o")), two_threads);
  auto source = open_image_source(ImageLocation::parse("oci:" + (dir / "o")));
  ParsedManifest m = source->resolve("");
  EXPECT_EQ(m.digest, oci.digest);
  EXPECT_EQ(m.layers[0].media_type, media_type::kOciLayerGzip);
  TransferOptions one_thread;
  one_thread.compression.threads = 1;
  TransferResult again = copy_local(ImageLocation::parse(fixture("hello.docker.tar")),
                                    ImageLocation::parse("oci:" + (dir / "o1")), one_thread);
  EXPECT_EQ(again.digest, oci.digest) << "compression must not depend on the thread count";
  copy_local(ImageLocation::parse("oci:" + (dir / "o")),
             ImageLocation::parse("docker-archive:" + (dir / "d.tar") + ":x:y"));
  auto back = open_image_source(ImageLocation::parse("docker-archive:" + (dir / "d.tar")));
  EXPECT_EQ(back->resolve("x:y").layers[0].digest.str(), kHelloDiffId);
}

TEST(Sink, NothingVisibleWithoutCommit) {
  ScratchDir dir;
  {
    auto source = open_image_source(ImageLocation::parse(fixture("hello.oci.tar")));
    auto sink = open_image_sink(ImageLocation::parse("oci-archive:" + (dir / "x.tar")));
    copy(*source, "", *sink);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(HostileArchive, BlobNotMatchingItsNameIsAnIntegrityErrorAndNothingIsWritten) {
  ScratchDir dir;
  run("mkdir " + (dir / "src") + " && tar xf " + fixture("hello.oci.tar") + " -C " + (dir / "src"));
  // Same size, different bytes: only the digest check can notice.
  const std::string config =
      dir / "src/blobs/sha256/0fdf461982b910da467a36a9360f284ecf0ba15bb9d3a583a135e33d4ba737b3";
  run("chmod u+w " + config + " && sed -i 's/amd64/AMD64/' " + config);
  std::filesystem::create_directory(dir / "out");
  try {
    copy_local(ImageLocation::parse("oci:" + (dir / "src")),
               ImageLocation::parse("oci-archive:" + (dir / "out/x.tar")));
    FAIL() << "copy accepted a corrupted blob";
  } catch (const IntegrityError& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr("blob sha256:0fdf461982b910da467a36a9360f284ecf0ba15bb9d3a583a135e33d4ba737b3 "
                  "does not match its content"));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir / "out"));
}

}  // namespace
}  // namespace ecr

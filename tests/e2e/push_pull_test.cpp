// The shipped tools against each other: ecr-push and ecr-pull move the fixture
// images through a real ecr-local, as a user would run them.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "ecr/digest.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

class PushPull : public EcrLocalSuite {
 protected:
  static Summary push(const std::string& source, const std::string& dest,
                      std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), "--create-repository");
    extra.push_back(source);
    extra.push_back(dest);
    return run_json(kEcrPush, extra, "bytesUploaded");
  }

  static Summary pull(const std::string& source, const std::string& dest) {
    return run_json(kEcrPull, {source, dest}, "bytesDownloaded");
  }
};

TEST_F(PushPull, OciArchivePushKeepsTheArchiveManifestDigest) {
  const Summary pushed = push("oci-archive:" + kOciArchive, "hello/oci:latest");

  EXPECT_EQ(pushed.digest, kHelloDigest);
  EXPECT_EQ(pushed.blobs.size(), 2u);  // config and the one layer
  for (const auto& b : pushed.blobs) EXPECT_EQ(b.action, "uploaded") << b.digest;
  std::int64_t total = 0;
  for (const auto& b : pushed.blobs) total += b.size;
  EXPECT_EQ(pushed.bytes, total);
}

TEST_F(PushPull, RepushReportsEveryBlobAsExistingAndUploadsNothing) {
  push("oci-archive:" + kOciArchive, "hello/repush:latest");

  const Summary again = push("oci-archive:" + kOciArchive, "hello/repush:latest");

  EXPECT_EQ(again.digest, kHelloDigest);
  ASSERT_FALSE(again.blobs.empty());
  for (const auto& b : again.blobs) EXPECT_EQ(b.action, "exists") << b.digest;
  EXPECT_EQ(again.bytes, 0);
}

TEST_F(PushPull, PullIntoOciArchiveAndLayoutKeepsThePushedDigest) {
  const Summary pushed = push("oci-archive:" + kOciArchive, "hello/pull:latest");
  const fs::path archive = work_ / "pulled.oci.tar";
  const fs::path layout = work_ / "pulled-layout";

  const Summary to_archive = pull("hello/pull:latest", "oci-archive:" + archive.string());
  const Summary to_layout = pull("hello/pull:latest", "oci:" + layout.string());

  EXPECT_EQ(pushed.digest, kHelloDigest);
  EXPECT_EQ(to_archive.digest, kHelloDigest);
  EXPECT_EQ(to_layout.digest, kHelloDigest);
  EXPECT_TRUE(fs::is_regular_file(archive));
  EXPECT_TRUE(fs::is_regular_file(layout / "index.json"));
  EXPECT_TRUE(fs::is_regular_file(layout / "blobs/sha256" / std::string(kHelloDigest).substr(7)));
}

// ecr-push does not hash a layer it sends as it is: the registry hashes what
// it receives and refuses a mismatch at CompleteLayerUpload. A layout whose
// layer was damaged in place (same size) therefore fails the push, naming the
// blob and the registry's error, and no manifest is put.
TEST_F(PushPull, PushOfADamagedLayerFailsNamingTheBlobAndPutsNoManifest) {
  const OciImage image = write_image(work_ / "damaged-layout", random_bytes(50000, 21), "v1");
  const fs::path blob = image.dir / "blobs" / "sha256" / image.layer_digest.substr(7);
  std::string bytes = read_file(blob);
  bytes[49000] = static_cast<char>(bytes[49000] ^ 0x40);
  write_file(blob, bytes);
  const int puts_before = server_->requests("PutImage");

  const testing::ProcessResult r =
      run(kEcrPush, {"--no-cache", "--create-repository", "oci:" + image.dir.string() + ":v1",
                     "hello/damaged:v1"});

  EXPECT_EQ(r.exit_status, 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("InvalidLayerException"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(image.layer_digest), std::string::npos) << r.stderr_text;
  EXPECT_EQ(server_->requests("PutImage"), puts_before);
}

// The default cache is an optimisation: when it cannot be created (here
// XDG_CACHE_HOME names a regular file) the pull still succeeds, without a
// cache, and says so once.
TEST_F(PushPull, UnusableDefaultCacheOnlyWarns) {
  push("oci-archive:" + kOciArchive, "hello/nocache:latest");
  const fs::path not_a_dir = work_ / "cache-is-a-file";
  std::ofstream(not_a_dir) << "x";
  testing::ProcessOptions opts =
      tool(kEcrPull, {"--json", "--quiet", "hello/nocache:latest",
                      "oci-archive:" + (work_ / "nocache.tar").string()});
  opts.env["XDG_CACHE_HOME"] = not_a_dir.string();

  const testing::ProcessResult r = testing::run_process(opts, kToolTimeout);

  EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("warning: no blob cache: " + (not_a_dir / "ecr").string()),
            std::string::npos)
      << r.stderr_text;
  EXPECT_EQ(parse_summary(r.stdout_text, "bytesDownloaded").digest, kHelloDigest);
}

TEST_F(PushPull, PulledOciArchivePushesBackUnderTheSameDigest) {
  push("oci-archive:" + kOciArchive, "hello/roundtrip:latest");
  const fs::path archive = work_ / "roundtrip.oci.tar";
  pull("hello/roundtrip:latest", "oci-archive:" + archive.string());

  const Summary again = push("oci-archive:" + archive.string(), "hello/roundtrip2:latest");

  EXPECT_EQ(again.digest, kHelloDigest);
}

TEST_F(PushPull, PushedManifestIsServedAsTheExactArchiveBytes) {
  push("oci-archive:" + kOciArchive, "hello/cli:latest");

  const testing::ProcessResult r = run(kEcrCli, {"batch-get-image", "--repository-name",
                                                 "hello/cli", "--image-ids", "imageTag=latest"});
  EXPECT_EQ(r.exit_status, 0) << kEcrCli << " failed\nstdout: " << r.stdout_text
                              << "\nstderr: " << r.stderr_text;

  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(r.stdout_text);
  const simdjson::dom::array images = doc["images"].get_array();
  ASSERT_EQ(images.size(), 1u);
  Sha256 sha;
  sha.update(std::string_view(images.at(0)["imageManifest"]));
  EXPECT_EQ(sha.finish().str(), kHelloDigest);
  EXPECT_EQ(std::string_view(images.at(0)["imageId"]["imageDigest"]), kHelloDigest);
}

// hello.docker.tar holds an uncompressed layer (docker save). By default
// ecr-push gzips it deterministically: the pushed layer is compressed, the
// same tarball pushed twice gives the same digest, and a pull back into a
// docker-archive restores the layer whose digest is the config's diff_id.
TEST_F(PushPull, DockerArchivePushCompressesTheLayerDeterministically) {
  const std::string diff_id =
      "sha256:fcbe0f98103baa30ca79f04a80992cd94eb33daeee547f66989dcb53c2e2f728";
  const Summary first = push("docker-archive:" + kDockerArchive, "hello/docker-gz:one");
  const Summary second = push("docker-archive:" + kDockerArchive, "hello/docker-gz:two");
  ASSERT_EQ(first.blobs.size(), 2u);
  EXPECT_EQ(second.digest, first.digest);
  EXPECT_EQ(second.bytes, 0);  // every blob already there
  for (const auto& b : first.blobs) EXPECT_NE(b.digest, diff_id);

  const fs::path out = work_ / "gz.docker.tar";
  const Summary pulled =
      pull("hello/docker-gz:one", "docker-archive:" + out.string() + ":hello:one");
  EXPECT_EQ(pulled.digest, first.digest);
  testing::ProcessOptions tar;
  tar.argv = {"tar", "-tf", out.string()};
  const testing::ProcessResult listing = testing::run_process(tar, kToolTimeout);
  EXPECT_NE(listing.stdout_text.find(diff_id.substr(7) + ".tar"), std::string::npos)
      << listing.stdout_text;
}

// `--compression none` keeps the layer as docker save wrote it.
TEST_F(PushPull, DockerArchivePushWithoutCompressionRoundTripsUnderThePushedDigest) {
  const Summary pushed = push("docker-archive:" + kDockerArchive, "hello/docker-raw:latest",
                              {"--compression", "none"});
  ASSERT_FALSE(pushed.digest.empty());

  const Summary pulled = pull("hello/docker-raw:latest", "oci:" + (work_ / "raw").string());

  EXPECT_EQ(pulled.digest, pushed.digest);
  EXPECT_EQ(pushed.blobs.size(), 2u);  // config and the one layer
  // fixtures/README.md: the uncompressed layer is its own diff_id.
  bool has_diff_id = false;
  for (const auto& b : pushed.blobs) {
    has_diff_id |=
        b.digest == "sha256:fcbe0f98103baa30ca79f04a80992cd94eb33daeee547f66989dcb53c2e2f728";
  }
  EXPECT_TRUE(has_diff_id);
}

}  // namespace
}  // namespace ecr

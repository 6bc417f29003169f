// One layer, one digest (include/ecr/compression.hpp): an uncompressed
// docker-archive layer compressed on the way gives the same blob, and so the
// same manifest, whichever path pushes it into ecr-local: `ecr-push`, `ecr
// image copy ... ecr:REPO:TAG`, or the library called in this process. A
// local `ecr image copy ... oci:DIR` writes that same blob, and the blob
// decompresses (gzip and zstd, the real tools) to the layer's diff_id.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "ecr/config.hpp"
#include "ecr/image_location.hpp"
#include "ecr/transfer.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

// What one path wrote: the manifest's digest and its layers' descriptors.
struct Written {
  std::string manifest;
  std::vector<Descriptor> layers;
};

// "<media type> <digest> <size>", for readable comparisons.
std::string shown(const Descriptor& d) {
  return d.media_type + " " + d.digest.str() + " " + std::to_string(d.size);
}

class CompressionDigest : public EcrLocalSuite {
 protected:
  static ClientConfig client_config() {
    ClientConfig c;
    c.credentials =
        Credentials{testing::EcrLocalServer::kAccessKey, testing::EcrLocalServer::kSecretKey, ""};
    c.region = testing::EcrLocalServer::kRegion;
    c.endpoint_url = server_->endpoint_url();
    return c;
  }

  // The manifest `repo`:v1 holds in ecr-local, read back with the library.
  static Written in_registry(const std::string& repo) {
    auto source = open_registry_source(ImageReference::parse(repo + ":v1"), client_config());
    const ParsedManifest m = source->resolve("");
    return {m.digest.str(), m.layers};
  }

  static Written with_ecr_push(const std::string& archive, const std::string& algorithm,
                               const std::string& repo) {
    const Summary s = run_json(kEcrPush,
                               {"--create-repository", "--compression", algorithm,
                                "docker-archive:" + archive, repo + ":v1"},
                               "bytesUploaded");
    const Written w = in_registry(repo);
    EXPECT_EQ(s.digest, w.manifest) << "ecr-push reported another digest than it put";
    return w;
  }

  static Written with_ecr_image_copy(const std::string& archive, const std::string& algorithm,
                                     const std::string& repo) {
    const testing::ProcessResult r =
        run(kEcrCli, {"image", "copy", "--create-repository", "--compression", algorithm,
                      "docker-archive:" + archive, "ecr:" + repo + ":v1"});
    EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
    const Written w = in_registry(repo);
    EXPECT_EQ(r.stdout_text, w.manifest + "\n");
    return w;
  }

  static Written with_library(const std::string& archive, Compression algorithm,
                              const std::string& repo) {
    TransferOptions options;
    options.create_repository = true;
    options.compression.algorithm = algorithm;
    // The tools compress on every core; one thread here shows the blob does
    // not depend on the thread count either.
    options.compression.threads = 1;
    const TransferResult r =
        copy(ImageLocation::parse("docker-archive:" + archive),
             ImageLocation::parse("ecr:" + repo + ":v1"), client_config(), options);
    const Written w = in_registry(repo);
    EXPECT_EQ(r.digest.str(), w.manifest);
    return w;
  }

  // `ecr image copy` into an OCI layout, no registry involved.
  static Written with_local_copy(const std::string& archive, const std::string& algorithm,
                                 const fs::path& layout) {
    const testing::ProcessResult r =
        run(kEcrCli, {"image", "copy", "--compression", algorithm, "docker-archive:" + archive,
                      "oci:" + layout.string()});
    EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
    const ParsedManifest m =
        open_image_source(ImageLocation::parse("oci:" + layout.string()))->resolve("");
    EXPECT_EQ(r.stdout_text, m.digest.str() + "\n");
    return {m.digest.str(), m.layers};
  }

  // The digest of what `tool -dc` (gzip or zstd) makes of `file`.
  static std::string decompressed_digest(const std::string& tool, const fs::path& file) {
    testing::ProcessOptions opts;
    opts.argv = {tool, "-dc", file.string()};
    const testing::ProcessResult r = testing::run_process(opts, kToolTimeout);
    EXPECT_EQ(r.exit_status, 0) << tool << ": " << r.stderr_text;
    return sha256(r.stdout_text);
  }

  // Pushes the single-layer docker-archive `archive` three ways and copies
  // it locally, with gzip and with zstd; checks that each algorithm gives
  // one manifest and one layer blob everywhere, that the blob decompresses
  // to `diff_id`, and that gzip and zstd differ. `by_algorithm` gets what
  // ecr-push wrote with each.
  static void expect_one_digest_per_algorithm(const std::string& archive, const std::string& name,
                                              const std::string& diff_id,
                                              std::map<std::string, Written>& by_algorithm) {
    for (const auto& [algorithm, compression, layer_type] :
         {std::tuple{std::string("gzip"), Compression::kGzip, media_type::kOciLayerGzip},
          std::tuple{std::string("zstd"), Compression::kZstd, media_type::kOciLayerZstd}}) {
      SCOPED_TRACE(name + " " + algorithm);
      const std::string repo = "digest/" + name + "-" + algorithm;
      const fs::path layout = work_ / (name + "-" + algorithm + "-layout");

      const Written pushed = with_ecr_push(archive, algorithm, repo + "-push");
      const Written copied = with_ecr_image_copy(archive, algorithm, repo + "-copy");
      const Written library = with_library(archive, compression, repo + "-lib");
      const Written local = with_local_copy(archive, algorithm, layout);

      EXPECT_EQ(copied.manifest, pushed.manifest);
      EXPECT_EQ(library.manifest, pushed.manifest);
      EXPECT_EQ(local.manifest, pushed.manifest);
      ASSERT_EQ(pushed.layers.size(), 1u);
      EXPECT_EQ(pushed.layers[0].media_type, layer_type);
      for (const Written* w : {&copied, &library, &local}) {
        ASSERT_EQ(w->layers.size(), 1u);
        EXPECT_EQ(shown(w->layers[0]), shown(pushed.layers[0]));
      }
      const fs::path blob = layout / "blobs/sha256" / std::string(pushed.layers[0].digest.hex());
      EXPECT_EQ(sha256(read_file(blob)), pushed.layers[0].digest.str());
      EXPECT_EQ(decompressed_digest(algorithm, blob), diff_id);
      by_algorithm[algorithm] = pushed;
    }
    EXPECT_NE(by_algorithm["gzip"].manifest, by_algorithm["zstd"].manifest);
    EXPECT_NE(by_algorithm["gzip"].layers.at(0).digest, by_algorithm["zstd"].layers.at(0).digest);
  }
};

TEST_F(CompressionDigest, HelloLayerHasOneDigestPerAlgorithmWhicheverPathPushesIt) {
  std::map<std::string, Written> pushed;
  expect_one_digest_per_algorithm(kDockerArchive, "hello", kHelloDiffId, pushed);
  EXPECT_EQ(pushed["gzip"].manifest, kHelloDockerGzipDigest);
}

// A layer of several gzip blocks (kGzipBlockSize, 128 KiB), half
// incompressible and half compressible, in a docker-archive made by umoci
// and skopeo as fixtures/hello.docker.tar was (fixtures/README.md).
TEST_F(CompressionDigest, MultiBlockLayerHasOneDigestPerAlgorithmWhicheverPathPushesIt) {
  for (const char* tool : {"umoci", "skopeo", "zstd"}) {
    testing::ProcessOptions which;
    which.argv = {"sh", "-c", std::string("command -v ") + tool};
    if (testing::run_process(which, kToolTimeout).exit_status != 0) {
      GTEST_SKIP() << tool << " is needed (Debian package " << tool << ")";
    }
  }
  const fs::path dir = work_ / "multi-block";
  fs::create_directories(dir / "files");
  write_file(dir / "files/random.bin", random_bytes(256 * 1024, 42));
  std::string text;
  for (int i = 0; text.size() < 256 * 1024; ++i) {
    text += "line " + std::to_string(i) + " of a file that compresses well\n";
  }
  write_file(dir / "files/text.txt", text);
  testing::ProcessOptions build;
  build.working_dir = dir.string();
  build.argv = {"sh", "-ec",
                "umoci init --layout layout\n"
                "umoci new --image layout:big\n"
                "umoci unpack --rootless --image layout:big bundle\n"
                "cp files/random.bin files/text.txt bundle/rootfs/\n"
                "umoci repack --image layout:big bundle\n"
                "skopeo copy -q oci:layout:big docker-archive:big.docker.tar:big:latest\n"
                "tar xOf big.docker.tar manifest.json\n"};
  const testing::ProcessResult built = testing::run_process(build, kToolTimeout);
  ASSERT_EQ(built.exit_status, 0) << built.stdout_text << built.stderr_text;
  const fs::path archive = dir / "big.docker.tar";
  // The docker-archive's one layer is an uncompressed tar, named by its
  // diff_id, holding both files: past 300 KiB, so several gzip blocks.
  auto source = open_image_source(ImageLocation::parse("docker-archive:" + archive.string()));
  const ParsedManifest docker = source->resolve("");
  ASSERT_EQ(docker.layers.size(), 1u);
  const Descriptor layer = docker.layers[0];
  EXPECT_GT(layer.size, 512 * 1024);
  EXPECT_EQ(layer.media_type, media_type::kOciLayer);  // a plain tar

  std::map<std::string, Written> pushed;
  expect_one_digest_per_algorithm(archive.string(), "multi-block", layer.digest.str(), pushed);
}

}  // namespace
}  // namespace ecr

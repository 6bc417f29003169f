// What the end-to-end suites share: files, deterministic random bytes, OCI
// image layouts written by hand, the tools' --json summary, a fixture that
// runs the shipped tools against one ecr-local per suite, and one that puts a
// fresh ecr-local behind a FaultProxy for each test.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/ecr_local_server.hpp"
#include "support/fault_proxy.hpp"
#include "support/subprocess.hpp"

namespace ecr::e2e {

inline const std::string kEcrPush = ECR_PUSH_BINARY;
inline const std::string kEcrPull = ECR_PULL_BINARY;
inline const std::string kEcrCli = ECR_CLI_BINARY;
inline const std::string kOciArchive = std::string(ECR_SOURCE_DIR) + "/fixtures/hello.oci.tar";
inline const std::string kDockerArchive =
    std::string(ECR_SOURCE_DIR) + "/fixtures/hello.docker.tar";
// fixtures/README.md: the manifest digest of hello.oci.tar.
inline const std::string kHelloDigest =
    "sha256:2c08ddd3f6dd05fb9768756e6ba3b1c203e4ad69cff1673318968b122e8458de";
// hello.docker.tar with its layer gzipped by the deterministic compressor at
// the default level, as every path (ecr-push, ecr image copy, the library)
// writes it. Since gzip level 1 is ISA-L's igzip (include/ecr/compression.hpp);
// checked with gzip -t, Python's gzip (the diff_id below), skopeo and umoci.
inline constexpr const char* kHelloDockerGzipDigest =
    "sha256:720955389e236951e1bffeaba0ae16f32b8d9584d78553fe6884fb87483c6654";
// Its layer's diff_id (fixtures/README.md).
inline constexpr const char* kHelloDiffId =
    "sha256:fcbe0f98103baa30ca79f04a80992cd94eb33daeee547f66989dcb53c2e2f728";
inline constexpr auto kToolTimeout = std::chrono::seconds(120);

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";

// The whole file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);
// Replaces the file with `bytes`; a failed write fails the test.
void write_file(const std::filesystem::path& path, std::string_view bytes);
// "sha256:<hex>" of `bytes`.
std::string sha256(std::string_view bytes);
// Pseudo-random, incompressible bytes (xorshift64), the same for the same
// seed on every run, so a torn or misplaced range shows.
std::string random_bytes(std::size_t size, std::uint64_t seed);
// The lines of `text`, without their '\n'.
std::vector<std::string> lines_of(const std::string& text);
// The last non-empty line of `text`.
std::string last_line(const std::string& text);

// The OCI descriptor of `bytes`; `extra` is spliced in after "size".
std::string descriptor_json(const char* media_type, const std::string& bytes,
                            const std::string& extra = "");

// An OCI image layout written by hand, blob by blob.
class LayoutWriter {
 public:
  explicit LayoutWriter(std::filesystem::path dir);
  // Stores `bytes` as a blob; returns them.
  const std::string& add(const std::string& bytes);
  // An image for linux/`arch` with `layers` (labelled gzip: nothing on the
  // way decompresses them); returns its manifest bytes.
  std::string add_image(const std::string& arch, const std::vector<std::string>& layers);
  std::string add_image(const std::string& arch, const std::string& layer) {
    return add_image(arch, std::vector<std::string>{layer});
  }
  // index.json naming `root` (a manifest or an index) `name`.
  void name(const char* media_type, const std::string& root, const std::string& name);

 private:
  std::filesystem::path dir_;
};

// An OCI layout in `dir` holding one single-layer amd64 image tagged `tag`.
struct OciImage {
  std::filesystem::path dir;
  std::string layer;
  std::string layer_digest;
  std::string manifest_digest;
};
OciImage write_image(const std::filesystem::path& dir, std::string layer, const std::string& tag);

// An OCI layout in `dir` holding an index (named `name`) of a linux/amd64 and
// a linux/arm64 image of one random layer each; the three documents' bytes.
struct TwoPlatformImage {
  std::string amd;
  std::string arm;
  std::string index;
};
TwoPlatformImage write_two_platform_layout(const std::filesystem::path& dir,
                                           const std::string& name);

// One entry of the summary's "blobs".
struct BlobLine {
  std::string digest;
  std::int64_t size = 0;
  std::string action;
};

// The tools' --json summary: the last line of stdout.
struct Summary {
  std::string digest;
  std::vector<BlobLine> blobs;
  std::int64_t bytes = -1;  // bytesUploaded or bytesDownloaded

  // Blob digest -> action.
  std::map<std::string, std::string> actions() const;
};

// Parses the summary in `stdout_text`, taking the byte count under `bytes_key`.
Summary parse_summary(const std::string& stdout_text, const char* bytes_key);

// A shipped tool's command line and environment against `endpoint_url`:
// ecr-local's credentials only (whatever the machine's AWS setup), and a
// private default blob cache (`work`/xdg-cache/ecr), never the user's.
testing::ProcessOptions tool_options(const std::string& binary, const std::string& endpoint_url,
                                     const std::vector<std::string>& args,
                                     const std::filesystem::path& work);

// One ecr-local for the whole suite, and the shipped tools run against it.
class EcrLocalSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // tool_options against this server.
  static testing::ProcessOptions tool(const std::string& binary,
                                      const std::vector<std::string>& args);
  static testing::ProcessResult run(const std::string& binary,
                                    const std::vector<std::string>& args);
  // Runs `binary` with --json --quiet and `args`; fails the test on a
  // non-zero exit, showing what the tool said.
  static Summary run_json(const std::string& binary, const std::vector<std::string>& args,
                          const char* bytes_key);

  static inline std::unique_ptr<testing::EcrLocalServer> server_;
  static inline std::filesystem::path work_;
};

// A fresh ecr-local per test behind a FaultProxy: ecr-local hands out
// download URLs on the proxy's address (--public-url), so blob downloads
// pass through it too. The tools talk to proxy_.url(); work_ is a directory
// for their files. TearDown fails the test when ecr-local does not exit 0.
class EcrLocalBehindProxy : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  testing::FaultProxy proxy_;
  std::unique_ptr<testing::EcrLocalServer> server_;
  std::filesystem::path work_;
};

}  // namespace ecr::e2e

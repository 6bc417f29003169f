// ecr-pull into a filesystem that runs out of space, through the shipped
// binaries against a real ecr-local: each local destination (oci-archive, OCI
// layout, docker-archive) and the blob cache fail with exit status 1 and one
// line naming the path and "No space left on device", leave nothing behind
// (no partial archive, layout, staging directory, temp file or cache entry),
// and the same pull succeeds byte for byte once space is back.
//
// The small filesystem is a tmpfs mounted in the test's scratch directory and
// unmounted when the test ends, pass or fail; mounting needs root (CI runs as
// root). As another user the tests skip, saying why; as root a mount that
// fails is a failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/scratch_dir.hpp"
#include "support/small_disk.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

constexpr const char* kNoSpace = "No space left on device";
constexpr std::int64_t kBytesPerMiB = 1024 * 1024;
// The small filesystem, and the image pulled into it: one layer bigger than
// what is left free on it, yet small enough to fit once the filler is gone.
constexpr int kDiskMiB = 24;
constexpr std::size_t kLayerBytes = 10 * kBytesPerMiB;
constexpr std::int64_t kLeftFree = 3 * kBytesPerMiB;

// Every path under `dir` (relative, sorted), files and directories alike.
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Relative path -> bytes of every regular file under `dir`.
std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_file(e.path());
  }
  return out;
}

// `path` as a regular expression that matches it literally.
std::string literal(const fs::path& path) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(path.string(), special, R"(\$&)");
}

// The layer of the image every test pulls.
std::string layer_hex() { return sha256(random_bytes(kLayerBytes, 77)).substr(7); }

class FullDisk : public EcrLocalSuite {
 protected:
  static void SetUpTestSuite() {
    EcrLocalSuite::SetUpTestSuite();
    write_image(work_ / "source", random_bytes(kLayerBytes, 77), "v1");
    const testing::ProcessResult r =
        run(kEcrPush, {"--quiet", "--no-cache", "--create-repository",
                       "oci:" + (work_ / "source").string() + ":v1", "full/app:v1"});
    ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  }

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "mounting a tmpfs needs root (euid " << ::geteuid()
                   << "); CI runs these as root";
    }
    scratch_.emplace("ecr-full-disk");
    if (const auto error = disk_.mount(scratch_->path() / "disk", kDiskMiB)) FAIL() << *error;
    dir_ = disk_.path();
  }

  // Fills the disk but for `leave` bytes.
  void fill(std::int64_t leave) {
    const std::optional<std::int64_t> free = disk_.fill(leave);
    ASSERT_TRUE(free) << "cannot fill " << disk_.path() << ": " << std::strerror(errno);
    ASSERT_GE(*free, leave);
    ASSERT_LT(*free, leave + kBytesPerMiB);
  }
  void unfill() { disk_.unfill(); }

  // ecr-pull of full/app:v1 into `dest`, with `args` before it.
  static testing::ProcessResult pull(std::vector<std::string> args, const std::string& dest,
                                     const std::map<std::string, std::string>& env = {}) {
    testing::ProcessOptions opts = tool(kEcrPull, {});
    opts.argv.insert(opts.argv.end(), {"--quiet"});
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    opts.argv.insert(opts.argv.end(), {"full/app:v1", dest});
    for (const auto& [k, v] : env) opts.env[k] = v;
    return testing::run_process(opts, kToolTimeout);
  }

  // The same pull onto the big disk: what the small one must hold after a retry.
  static fs::path reference(const std::string& kind) {
    const fs::path out = work_ / ("reference-" + kind);
    if (!fs::exists(out)) {
      const testing::ProcessResult r =
          pull({"--cache-dir", (work_ / "reference-cache").string()}, kind + ":" + out.string());
      EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
    }
    return out;
  }

  // Asserts that `r` is ecr-pull's full-disk failure: exit status 1 and one
  // line "ecr-pull: pull failed: cannot <verb> <path under `where`>...: No
  // space left on device"; returns the part after "pull failed: ".
  std::string expect_no_space(const testing::ProcessResult& r, const fs::path& where) {
    EXPECT_EQ(r.exit_status, 1) << r.stderr_text;
    const std::vector<std::string> lines = lines_of(r.stderr_text);
    EXPECT_EQ(lines.size(), 1u) << r.stderr_text;
    const std::string line = lines.empty() ? "" : lines.back();
    const std::string prefix = "ecr-pull: pull failed: cannot ";
    EXPECT_EQ(line.substr(0, prefix.size()), prefix) << line;
    EXPECT_TRUE(line.ends_with(std::string(": ") + kNoSpace)) << line;
    EXPECT_NE(line.find(where.string() + "/"), std::string::npos) << line;
    return line.size() > prefix.size() ? line.substr(prefix.size() - 7) : line;
  }

  std::optional<testing::ScratchDir> scratch_;
  testing::SmallDisk disk_;  // after scratch_: unmounted before the directory goes
  fs::path dir_;             // where disk_ is mounted
};

// The archive is laid out at its full size (fallocate) before any byte is
// downloaded, so a disk too small for it fails at once, with no download.
TEST_F(FullDisk, OciArchiveFailsAtItsAllocationNamingItAndLeavesNothing) {
  fill(kLeftFree);
  const fs::path archive = dir_ / "app.tar";

  const testing::ProcessResult r = pull({"--cache-dir", (scratch_->path() / "cache").string()},
                                        "oci-archive:" + archive.string());

  EXPECT_EQ(expect_no_space(r, dir_),
            "cannot allocate " + archive.string() + " (unnamed temp file): " + kNoSpace);
  EXPECT_EQ(tree(dir_), std::vector<std::string>{"filler"});

  unfill();
  const testing::ProcessResult again = pull({"--cache-dir", (scratch_->path() / "cache").string()},
                                            "oci-archive:" + archive.string());
  ASSERT_EQ(again.exit_status, 0) << again.stderr_text;
  EXPECT_EQ(read_file(archive), read_file(reference("oci-archive")));
  EXPECT_EQ(tree(dir_), std::vector<std::string>{"app.tar"});
}

// Without a cache the layer lands in a staging directory under TMPDIR (the
// big disk) and is copied into the layout's staging directory next to DEST,
// where the space runs out; both staging directories go.
TEST_F(FullDisk, OciLayoutFailsWritingABlobAndLeavesNoStagingBehind) {
  fill(kLeftFree);
  const fs::path layout = dir_ / "layout";
  const fs::path tmp = scratch_->path() / "tmp";
  fs::create_directories(tmp);

  const testing::ProcessResult r =
      pull({"--no-cache"}, "oci:" + layout.string(), {{"TMPDIR", tmp.string()}});

  const std::string message = expect_no_space(r, dir_);
  EXPECT_TRUE(std::regex_match(
      message, std::regex("cannot write " + literal(layout) + R"(\.tmp-[a-z0-9]{8}/blobs/sha256/)" +
                          layer_hex() + R"(\.tmp-[0-9a-f]{16}: )" + kNoSpace)))
      << message;
  EXPECT_EQ(tree(dir_), std::vector<std::string>{"filler"});
  EXPECT_EQ(tree(tmp), std::vector<std::string>{});

  unfill();
  const testing::ProcessResult again =
      pull({"--no-cache"}, "oci:" + layout.string(), {{"TMPDIR", tmp.string()}});
  ASSERT_EQ(again.exit_status, 0) << again.stderr_text;
  EXPECT_EQ(contents(layout), contents(reference("oci")));
  EXPECT_EQ(tree(tmp), std::vector<std::string>{});
}

// A docker-archive stages each blob next to DEST before writing the tar.
TEST_F(FullDisk, DockerArchiveFailsStagingALayerAndLeavesNothing) {
  fill(kLeftFree);
  const fs::path archive = dir_ / "app.docker.tar";
  const fs::path cache = scratch_->path() / "cache";

  const testing::ProcessResult r =
      pull({"--cache-dir", cache.string()}, "docker-archive:" + archive.string());

  const std::string message = expect_no_space(r, dir_);
  EXPECT_TRUE(std::regex_match(message, std::regex("cannot write " + literal(archive) +
                                                   R"(\.tmp-[a-z0-9]{8}/[0-9]+: )" + kNoSpace)))
      << message;
  EXPECT_EQ(tree(dir_), std::vector<std::string>{"filler"});

  unfill();
  const testing::ProcessResult again =
      pull({"--cache-dir", cache.string()}, "docker-archive:" + archive.string());
  ASSERT_EQ(again.exit_status, 0) << again.stderr_text;
  EXPECT_EQ(read_file(archive), read_file(reference("docker-archive")));
  EXPECT_EQ(tree(dir_), std::vector<std::string>{"app.docker.tar"});
}

// Room for the staged layer but not for the tar made of it: the tar writer's
// failure says why (libarchive alone says "Write error"), and both the
// staging directory and the half-written tar go.
TEST_F(FullDisk, DockerArchiveFailsWritingTheTarSayingWhy) {
  fill(static_cast<std::int64_t>(kLayerBytes) + 4 * kBytesPerMiB);
  const fs::path archive = dir_ / "app.docker.tar";

  const testing::ProcessResult r = pull({"--cache-dir", (scratch_->path() / "cache").string()},
                                        "docker-archive:" + archive.string());

  const std::string message = expect_no_space(r, dir_);
  EXPECT_TRUE(std::regex_match(
      message, std::regex("cannot write " + literal(archive) + R"( \(unnamed temp file\) \()" +
                          layer_hex() + R"(\.tar\): Write error: )" + kNoSpace)))
      << message;
  EXPECT_EQ(tree(dir_), std::vector<std::string>{"filler"});
}

// The cache and the destination on the small disk: the layer's cache entry is
// allocated whole before it downloads, fails there, and leaves no temp file
// and no half entry (`ecr cache verify` finds every entry intact).
TEST_F(FullDisk, CacheOnTheFullDiskGetsNoHalfEntry) {
  const fs::path cache = dir_ / "cache";
  const fs::path layout = dir_ / "layout";
  fill(kLeftFree);

  const testing::ProcessResult r = pull({"--cache-dir", cache.string()}, "oci:" + layout.string());

  const std::string message = expect_no_space(r, cache / "tmp");
  EXPECT_TRUE(std::regex_match(message, std::regex("cannot allocate " + literal(cache / "tmp") +
                                                   R"(/[0-9a-f]{16}\.tmp: )" + kNoSpace)))
      << message;
  EXPECT_EQ(tree(cache / "tmp"), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(layout));
  for (const std::string& entry : tree(dir_)) {
    EXPECT_TRUE(entry == "filler" || entry.starts_with("cache")) << entry;
  }
  const testing::ProcessResult verify =
      run(kEcrCli, {"cache", "verify", "--cache-dir", cache.string()});
  EXPECT_EQ(verify.exit_status, 0) << verify.stderr_text;
  const std::size_t cached = tree(cache / "blobs" / "sha256").size();
  EXPECT_EQ(last_line(verify.stdout_text), std::to_string(cached) + " blobs intact, dropped 0");
  for (const std::string& hex : tree(cache / "blobs" / "sha256")) {
    EXPECT_NE("sha256:" + hex, sha256(random_bytes(kLayerBytes, 77))) << "the layer is cached";
  }

  unfill();
  const testing::ProcessResult again =
      pull({"--cache-dir", cache.string()}, "oci:" + layout.string());
  ASSERT_EQ(again.exit_status, 0) << again.stderr_text;
  EXPECT_EQ(contents(layout), contents(reference("oci")));
  EXPECT_EQ(tree(cache / "tmp"), std::vector<std::string>{});
  const testing::ProcessResult verified =
      run(kEcrCli, {"cache", "verify", "--cache-dir", cache.string()});
  EXPECT_EQ(last_line(verified.stdout_text), "3 blobs intact, dropped 0");
}

}  // namespace
}  // namespace ecr

// An oci-archive written in place (InPlaceArchive, laid out from the plan the
// walk announces) holds exactly the bytes the staged writer (a layout tarred
// by TarWriter at commit) writes for the same image; a pull writes each blob
// once, at its place, not into the cache; and a transfer that fails or is
// cancelled part way leaves neither an archive nor a temp file.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ecr/image_location.hpp"
#include "ecr/transfer.hpp"
#include "oci/oci_archive_sink.hpp"
#include "oci/peer_tools.hpp"
#include "oci/tar_writer.hpp"
#include "support/scratch_dir.hpp"
#include "transfer/engine.hpp"
#include "transfer/fake_registry.hpp"
#include "transfer/memory_source.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::FakeRegistry;
using testing::MemorySource;
using testing::read_file;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// What the staged writer makes of `source`: the layout, then the tar of it
// in the order OciArchiveSink's staged commit tars it (the archive the code
// wrote before archives were written in place).
std::string staged_archive(ImageSource& source, const fs::path& dir) {
  const fs::path layout = dir / "expected-layout";
  {
    oci::OciLayoutSink sink(layout);
    copy(source, "", sink, TransferOptions{});
    sink.commit();
  }
  const fs::path tar = dir / "expected.tar";
  oci::TarWriter w(tar);
  w.add_bytes("oci-layout", oci::kOciLayoutFile);
  w.add_file("index.json", layout / "index.json");
  w.add_directory("blobs");
  w.add_directory("blobs/sha256");
  for (const auto& hex : names_in(layout / "blobs" / "sha256")) {
    w.add_file("blobs/sha256/" + hex, layout / "blobs" / "sha256" / hex);
  }
  w.commit();
  return read_file(tar);
}

// A source whose blob `failing` breaks after `after` bytes.
class FailingSource final : public ImageSource {
 public:
  FailingSource(MemorySource& inner, Digest failing, std::size_t after)
      : inner_(inner), failing_(std::move(failing)), after_(after) {}
  std::vector<ImageEntry> list() override { return inner_.list(); }

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& d) override {
    std::string bytes = inner_.bytes(d.digest);
    if (d.digest != failing_) return std::make_unique<testing::StringStream>(std::move(bytes));
    return std::make_unique<Breaking>(bytes.substr(0, after_));
  }

 private:
  class Breaking final : public ByteStream {
   public:
    explicit Breaking(std::string head) : head_(std::move(head)) {}
    std::size_t read(std::span<std::byte> out) override {
      const std::size_t n = head_.read(out.first(std::min<std::size_t>(out.size(), 4096)));
      if (n == 0) throw TransportError("connection reset mid blob");
      return n;
    }

   private:
    testing::StringStream head_;
  };

  MemorySource& inner_;
  Digest failing_;
  std::size_t after_;
};

class ArchiveInPlaceTest : public ::testing::Test {
 protected:
  ArchiveInPlaceTest()
      : registry_(std::make_shared<FakeRegistry>()),
        session_(testing::open_fake_session(registry_)) {
    std::string pattern = (fs::temp_directory_path() / "ecr-archive-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    out_ = dir_ / "out";
    fs::create_directories(out_);
    options_.jobs = 2;
    options_.cache_dir = dir_ / "cache";
    // Several layers, one empty, one split into ranges that land out of
    // order (25000 bytes in 10000-byte ranges on two workers).
    source_.set_root(source_.add_image({25000, 0, 3000, 511, 512}, 'a'));
  }
  ~ArchiveInPlaceTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void push() { transfer::push_image(*session_, source_, "", {"v1"}, options_); }
  PullResult pull(ImageSink& sink) {
    return transfer::pull_image(*session_, ImageReference::parse("team/app:v1"), sink, {"v1"},
                                options_, kRanges);
  }
  fs::path cached(const Digest& d) const {
    return dir_ / "cache" / "blobs" / "sha256" / std::string(d.hex());
  }

  // Ranges ahead are always taken, so blobs land out of order too.
  static constexpr transfer::DownloadTuning kRanges{
      .range_chunk = 10000, .range_threshold = 20000, .extra_range_busy_limit = 1};
  fs::path dir_;
  fs::path out_;  // where archives are written
  std::shared_ptr<FakeRegistry> registry_;
  std::unique_ptr<transfer::RegistrySession> session_;
  MemorySource source_;
  TransferOptions options_;
};

TEST_F(ArchiveInPlaceTest, ALocalCopyIsByteIdenticalToTheStagedArchive) {
  const fs::path archive = out_ / "image.tar";
  {
    oci::OciArchiveSink sink(archive);
    copy(source_, "", sink, TransferOptions{});
    sink.commit();
  }

  EXPECT_TRUE(read_file(archive) == staged_archive(source_, dir_));
  EXPECT_EQ(names_in(out_), std::vector<std::string>{"image.tar"});
}

TEST_F(ArchiveInPlaceTest, AnIndexAndItsManifestsAreLaidOutAsTheStagedArchiveHasThem) {
  const Descriptor amd = source_.add_image({4000, 700}, 'b');
  const Descriptor arm = source_.add_image({900}, 'c');
  source_.set_root(
      source_.add_blob(serialize_oci_index({amd, arm}), std::string(media_type::kOciIndex)));
  const fs::path archive = out_ / "index.tar";
  {
    oci::OciArchiveSink sink(archive);
    copy(source_, "", sink, TransferOptions{});
    sink.commit();
  }

  EXPECT_TRUE(read_file(archive) == staged_archive(source_, dir_));
}

// Layers compressed on the way are named only once written: no plan is
// announced, and the archive is staged and tarred as before.
TEST_F(ArchiveInPlaceTest, ADockerArchiveCompressedOnTheWayGivesTheStagedArchive) {
  const auto location = ImageLocation::parse("docker-archive:" + test::fixture("hello.docker.tar"));
  const fs::path archive = out_ / "from-docker.tar";
  {
    auto source = open_image_source(location);
    oci::OciArchiveSink sink(archive);
    copy(*source, "", sink, TransferOptions{});
    sink.commit();
  }

  auto source = open_image_source(location);
  EXPECT_TRUE(read_file(archive) == staged_archive(*source, dir_));
  EXPECT_EQ(names_in(out_), std::vector<std::string>{"from-docker.tar"});
}

TEST_F(ArchiveInPlaceTest, APullWritesEveryBlobOnceInPlaceAndNotIntoTheCache) {
  push();
  const fs::path archive = out_ / "pulled.tar";

  oci::OciArchiveSink sink(archive);
  const PullResult r = pull(sink);

  for (const auto& b : r.blobs) {
    EXPECT_EQ(b.action, BlobAction::kDownloaded) << b.digest.str();
    EXPECT_FALSE(fs::exists(cached(b.digest))) << b.digest.str();
  }
  EXPECT_TRUE(read_file(archive) == staged_archive(source_, dir_));
  EXPECT_GE(registry_->range_headers().size(), 3u);
  EXPECT_EQ(names_in(out_), std::vector<std::string>{"pulled.tar"});
}

TEST_F(ArchiveInPlaceTest, ACachedBlobIsCopiedFromTheCacheIntoItsPlace) {
  push();
  {
    // A pull into a layout keeps what it downloads in the cache.
    oci::OciLayoutSink warm(dir_ / "warm-layout");
    pull(warm);
  }
  const fs::path archive = out_ / "warm.tar";

  oci::OciArchiveSink sink(archive);
  const PullResult r = pull(sink);

  for (const auto& b : r.blobs) EXPECT_EQ(b.action, BlobAction::kCached) << b.digest.str();
  EXPECT_TRUE(read_file(archive) == staged_archive(source_, dir_));
}

TEST_F(ArchiveInPlaceTest, ACorruptDownloadIsFetchedAgainIntoItsPlace) {
  push();
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->corrupt_first_get.insert(layer.digest.str());
  const fs::path archive = out_ / "refetched.tar";

  oci::OciArchiveSink sink(archive);
  pull(sink);

  EXPECT_TRUE(read_file(archive) == staged_archive(source_, dir_));
}

TEST_F(ArchiveInPlaceTest, APersistentlyCorruptDownloadLeavesNoArchiveAndNoTempFile) {
  push();
  const Descriptor layer = source_.resolve("").layers[0];
  registry_->corrupt_always.insert(layer.digest.str());

  {
    oci::OciArchiveSink sink(out_ / "corrupt.tar");
    try {
      pull(sink);
      FAIL() << "expected IntegrityError";
    } catch (const IntegrityError& e) {
      EXPECT_NE(std::string(e.what()).find(layer.digest.str()), std::string::npos) << e.what();
    }
  }

  EXPECT_TRUE(fs::is_empty(out_)) << names_in(out_).front();
}

TEST_F(ArchiveInPlaceTest, ACancelledPullLeavesNoArchiveAndNoTempFile) {
  push();
  std::atomic<bool> cancel = false;
  options_.cancel = &cancel;
  options_.progress = [&](const ProgressEvent& e) {
    if (e.state == BlobState::kDownloading && e.bytes_done > 0) cancel = true;
  };

  {
    oci::OciArchiveSink sink(out_ / "cancelled.tar");
    EXPECT_THROW(pull(sink), Cancelled);
  }

  EXPECT_TRUE(fs::is_empty(out_)) << names_in(out_).front();
}

TEST_F(ArchiveInPlaceTest, ASourceFailingMidBlobLeavesNoArchiveAndNoTempFile) {
  const Descriptor layer = source_.resolve("").layers[0];
  FailingSource failing(source_, layer.digest, 12000);

  {
    oci::OciArchiveSink sink(out_ / "failed.tar");
    EXPECT_THROW(copy(failing, "", sink, TransferOptions{}), TransportError);
  }

  EXPECT_TRUE(fs::is_empty(out_)) << names_in(out_).front();
}

TEST_F(ArchiveInPlaceTest, AnExistingArchiveIsReplacedOnlyAtCommit) {
  const fs::path archive = out_ / "existing.tar";
  { std::ofstream(archive) << "the archive from before"; }

  oci::OciArchiveSink sink(archive);
  copy(source_, "", sink, TransferOptions{});
  EXPECT_EQ(read_file(archive), "the archive from before");
  sink.commit();

  EXPECT_TRUE(read_file(archive) == staged_archive(source_, dir_));
  EXPECT_EQ(names_in(out_), std::vector<std::string>{"existing.tar"});
}

TEST_F(ArchiveInPlaceTest, SkopeoAndUmociReadAPulledArchive) {
  if (!test::have_tool("skopeo") || !test::have_tool("umoci")) {
    GTEST_SKIP() << "skopeo or umoci missing";
  }
  push();
  const fs::path archive = out_ / "peers.tar";
  {
    oci::OciArchiveSink sink(archive);
    pull(sink);  // commits
  }
  const std::string manifest = source_.resolve("").digest.str();

  // skopeo finds the image by its name, and copies every blob out of it,
  // checking each digest.
  EXPECT_EQ(test::skopeo_digest("oci-archive:" + archive.string() + ":v1"), manifest);
  test::run("skopeo --insecure-policy copy --quiet oci-archive:" + archive.string() +
            ":v1 oci:" + (dir_ / "skopeo-copy").string() + ":v1");
  // umoci reads the layout the archive holds.
  const fs::path unpacked = dir_ / "unpacked";
  fs::create_directories(unpacked);
  test::run("tar -xf " + archive.string() + " -C " + unpacked.string());
  EXPECT_NE(test::run("umoci ls --layout " + unpacked.string()).find("v1"), std::string::npos);
}

}  // namespace
}  // namespace ecr

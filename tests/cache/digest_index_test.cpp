// DigestIndex: a hit only for the very same file (device, inode, size, mtime,
// path) and subkey.
#include <gtest/gtest.h>

#include "cache/cache_test_support.hpp"
#include "cache/digest_index.hpp"
#include "ecr/cache.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::instant;
using testing::ScratchDir;
using testing::write_file;

class DigestIndexTest : public ::testing::Test {
 protected:
  DigestIndexTest() {
    write_file(source, "layer bytes");
    fs::last_write_time(source, instant(10));
  }
  ScratchDir dir;
  fs::path source = dir.path() / "layer.tar";
  DigestIndex index{dir.path() / "cache"};
  IndexedDigest value{Digest::of("compressed layer"), 16, "sha256-of-uncompressed"};
};

TEST_F(DigestIndexTest, RecordedFileHitsWithTheRecordedValue) {
  index.record(SourceFileKey::of(source), value);
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), value);
}

TEST_F(DigestIndexTest, UnrecordedFileMisses) {
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), std::nullopt);
}

TEST_F(DigestIndexTest, KeyDescribesTheFile) {
  const SourceFileKey key = SourceFileKey::of(source, "sub");
  EXPECT_EQ(key.path, source.lexically_normal());
  EXPECT_EQ(key.size, 11);
  EXPECT_EQ(key.mtime_ns, 1'000'000'010LL * 1'000'000'000LL);
  EXPECT_EQ(key.subkey, "sub");
  EXPECT_NE(key.inode, 0u);
}

TEST_F(DigestIndexTest, TouchingTheMtimeMisses) {
  index.record(SourceFileKey::of(source), value);
  fs::last_write_time(source, instant(11));
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), std::nullopt);
}

TEST_F(DigestIndexTest, ASizeChangeMissesEvenWithTheSameMtime) {
  index.record(SourceFileKey::of(source), value);
  write_file(source, "layer bytes, longer");
  fs::last_write_time(source, instant(10));
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), std::nullopt);
}

TEST_F(DigestIndexTest, AReplacedFileWithSameBytesAndMtimeMissesByInode) {
  index.record(SourceFileKey::of(source), value);
  const fs::path replacement = dir.path() / "new.tar";
  write_file(replacement, "layer bytes");
  fs::last_write_time(replacement, instant(10));
  const fs::path keep_inode_busy = dir.path() / "old.tar";
  fs::rename(source, keep_inode_busy);  // so the new file cannot reuse the inode
  fs::rename(replacement, source);
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), std::nullopt);
}

TEST_F(DigestIndexTest, SubkeysOfOneFileAreSeparateEntries) {
  const IndexedDigest gzip6{Digest::of("gzip 6"), 6, ""};
  const IndexedDigest zstd3{Digest::of("zstd 3"), 3, "x"};
  index.record(SourceFileKey::of(source, "gzip level 6"), gzip6);
  index.record(SourceFileKey::of(source, "zstd level 3"), zstd3);

  EXPECT_EQ(index.lookup(SourceFileKey::of(source, "gzip level 6")), gzip6);
  EXPECT_EQ(index.lookup(SourceFileKey::of(source, "zstd level 3")), zstd3);
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), std::nullopt);
}

TEST_F(DigestIndexTest, ReRecordingAChangedFileReplacesItsEntry) {
  const SourceFileKey old_key = SourceFileKey::of(source);
  index.record(old_key, value);
  fs::last_write_time(source, instant(20));
  const IndexedDigest changed{Digest::of("new"), 3, ""};
  index.record(SourceFileKey::of(source), changed);

  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), changed);
  EXPECT_EQ(index.lookup(old_key), std::nullopt);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path() / "cache" / "index"),
                          fs::directory_iterator()),
            1);
}

TEST_F(DigestIndexTest, PathsAndSubkeysMayHoldAnyBytes) {
  const fs::path odd = dir.path() / "line\nbreak:7:";
  write_file(odd, "x");
  const SourceFileKey key = SourceFileKey::of(odd, std::string("member\n3:abc\0z", 14));
  index.record(key, value);
  EXPECT_EQ(index.lookup(key), value);
}

TEST_F(DigestIndexTest, AMalformedEntryIsAMiss) {
  index.record(SourceFileKey::of(source), value);
  const fs::path entry = fs::directory_iterator(dir.path() / "cache" / "index")->path();
  write_file(entry, "ecr-digest-index 1\n9999:truncated");
  EXPECT_EQ(index.lookup(SourceFileKey::of(source)), std::nullopt);
}

TEST_F(DigestIndexTest, MissingSourceFileIsAnInputError) {
  EXPECT_THROW(SourceFileKey::of(dir.path() / "absent.tar"), InputError);
}

}  // namespace
}  // namespace ecr

// BlobCache::ranged_writer: bytes at any offset from several threads (parallel
// ranged downloads), still verified before anything becomes visible;
// BlobCache::remove.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "cache/cache_test_support.hpp"
#include "ecr/cache.hpp"
#include "ecr/error.hpp"
#include "support/pattern.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::ScratchDir;

using testing::pattern;

class RangedWriterTest : public ::testing::Test {
 protected:
  ScratchDir dir;
  BlobCache cache{dir.path() / "cache"};
  fs::path blob_file(const Digest& d) const {
    return dir.path() / "cache" / "blobs" / "sha256" / std::string(d.hex());
  }
  std::size_t temps() const {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir.path() / "cache/tmp"), fs::directory_iterator()));
  }
};

constexpr std::size_t kChunk = 100'000;

TEST_F(RangedWriterTest, RangesWrittenOutOfOrderFromThreadsCommitTheExactBlob) {
  const std::string blob = pattern(1'000'003, 'a');
  const Digest digest = Digest::of(blob);
  BlobWriter w = cache.ranged_writer(digest, static_cast<std::int64_t>(blob.size()));
  std::vector<std::thread> threads;
  // Last range first, so most bytes arrive out of order and commit reads them back.
  for (std::size_t begin = blob.size() / kChunk * kChunk;; begin -= kChunk) {
    threads.emplace_back([&w, &blob, begin] {
      const std::size_t n = std::min(kChunk, blob.size() - begin);
      w.write_at(static_cast<std::int64_t>(begin), std::string_view(blob).substr(begin, n));
    });
    if (begin == 0) break;
  }
  for (auto& t : threads) t.join();

  EXPECT_FALSE(cache.contains(digest));
  const fs::path p = w.commit();

  EXPECT_EQ(p, blob_file(digest));
  EXPECT_EQ(read_file(p), blob);
  EXPECT_EQ(temps(), 0u);
}

TEST_F(RangedWriterTest, RangesWrittenInOrderCommitTheExactBlob) {
  const std::string blob = pattern(70'000, 'b');
  const Digest digest = Digest::of(blob);
  BlobWriter w = cache.ranged_writer(digest, static_cast<std::int64_t>(blob.size()));
  for (std::size_t begin = 0; begin < blob.size(); begin += 30'000) {
    w.write_at(static_cast<std::int64_t>(begin), std::string_view(blob).substr(begin, 30'000));
  }
  EXPECT_EQ(w.size(), static_cast<std::int64_t>(blob.size()));
  EXPECT_EQ(read_file(w.commit()), blob);
}

TEST_F(RangedWriterTest, AMissingRangeFailsTheDigestAndLeavesNothingVisible) {
  const std::string blob = pattern(50'000, 'c');
  const Digest digest = Digest::of(blob);
  BlobWriter w = cache.ranged_writer(digest, static_cast<std::int64_t>(blob.size()));
  w.write_at(0, std::string_view(blob).substr(0, 20'000));
  w.write_at(30'000, std::string_view(blob).substr(30'000));

  try {
    w.commit();
    FAIL() << "expected IntegrityError";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find(digest.str()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(cache.contains(digest));
  EXPECT_EQ(temps(), 0u);
}

TEST_F(RangedWriterTest, AnOverwrittenHashedRangeIsHashedAgainAtCommit) {
  const std::string blob = pattern(40'000, 'd');
  const Digest digest = Digest::of(blob);
  BlobWriter w = cache.ranged_writer(digest, static_cast<std::int64_t>(blob.size()));
  w.write_at(0, std::string(20'000, 'x'));  // wrong bytes, hashed on the way
  w.write_at(0, std::string_view(blob).substr(0, 20'000));
  w.write_at(20'000, std::string_view(blob).substr(20'000));

  EXPECT_EQ(read_file(w.commit()), blob);
}

TEST_F(RangedWriterTest, BytesPastTheSizeAreRefusedNamingTheDigest) {
  const std::string blob = pattern(1000, 'e');
  const Digest digest = Digest::of(blob);
  BlobWriter w = cache.ranged_writer(digest, 1000);
  try {
    w.write_at(900, std::string(101, 'x'));
    FAIL() << "expected IntegrityError";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find(digest.str()), std::string::npos) << e.what();
  }
  w.write_at(0, blob);
  EXPECT_EQ(read_file(w.commit()), blob);
}

TEST_F(RangedWriterTest, SequentialAndRangedWritesDoNotMix) {
  const Digest digest = Digest::of("abc");
  BlobWriter ranged = cache.ranged_writer(digest, 3);
  EXPECT_THROW(ranged.write(std::string_view("abc")), std::logic_error);
  BlobWriter sequential = cache.writer(digest, 3);
  EXPECT_THROW(sequential.write_at(0, std::string_view("abc")), std::logic_error);
}

TEST_F(RangedWriterTest, AbandonedRangedWriterRemovesItsTempFile) {
  {
    BlobWriter w = cache.ranged_writer(Digest::of("abc"), 3);
    w.write_at(1, std::string_view("bc"));
    EXPECT_EQ(temps(), 1u);
  }
  EXPECT_EQ(temps(), 0u);
}

TEST_F(RangedWriterTest, RemoveDropsTheBlobAndReportsWhetherItWasThere) {
  testing::StringStream in("hello", testing::kShortReads);
  const Digest digest = Digest::of("hello");
  cache.put(digest, in, 5);

  EXPECT_TRUE(cache.remove(digest));
  EXPECT_FALSE(cache.contains(digest));
  EXPECT_FALSE(cache.remove(digest));
}

}  // namespace
}  // namespace ecr

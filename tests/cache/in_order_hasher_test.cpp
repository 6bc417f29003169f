// InOrderHasher: the digest of a file written at any offsets is always the
// file's, and bytes that arrive at the frontier (or once it reaches them) are
// hashed during the writes, not at finish().
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cache/cache_test_support.hpp"
#include "core/hash_meet.hpp"
#include "core/in_order_hasher.hpp"
#include "core/piece_pool.hpp"
#include "core/sha256_lanes.hpp"
#include "ecr/error.hpp"

namespace ecr::cache {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::string pattern(std::size_t size, std::uint32_t seed) {
  std::string s(size, '\0');
  std::uint32_t x = seed;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

// A file of `size` bytes (zeros until written) and a hasher over it.
class InOrderHasherTest : public ::testing::Test {
 protected:
  void open_file(std::int64_t size) {
    path = dir.path() / "blob";
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    hasher.emplace(fd, size, path);
  }
  void TearDown() override {
    if (fd >= 0) ::close(fd);
  }
  // Writes `data` at `offset`, then tells the hasher, as a ranged writer does.
  void write(std::int64_t offset, std::string_view data) {
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(data.size()));
    hasher->landed(offset, bytes(data));
  }

  testing::ScratchDir dir;
  std::filesystem::path path;
  int fd = -1;
  std::optional<InOrderHasher> hasher;
};

TEST_F(InOrderHasherTest, BytesInOrderAreHashedAsTheyLand) {
  const std::string blob = pattern(100000, 1);
  open_file(static_cast<std::int64_t>(blob.size()));
  for (std::size_t at = 0; at < blob.size(); at += 7000) {
    write(static_cast<std::int64_t>(at), std::string_view(blob).substr(at, 7000));
    EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(std::min(at + 7000, blob.size())));
  }
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

TEST_F(InOrderHasherTest, BytesAheadAreHashedOnceTheFrontierReachesThem) {
  const std::string blob = pattern(30000, 2);
  const std::string_view b(blob);
  open_file(30000);
  write(20000, b.substr(20000, 10000));  // the last range first
  write(10000, b.substr(10000, 5000));
  EXPECT_EQ(hasher->hashed(), 0);
  write(0, b.substr(0, 10000));  // reaches 10000, then reads back 10000..15000
  EXPECT_EQ(hasher->hashed(), 15000);
  write(15000, b.substr(15000, 5000));  // joins the stretch at 20000
  EXPECT_EQ(hasher->hashed(), 30000);
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

// A writer that hashes while its direct write is on the way: bytes at the
// frontier are hashed from its memory before the file has them; bytes ahead
// are left to landed(), after the write, since they will be read back.
TEST_F(InOrderHasherTest, BytesNextInLineAreHashedBeforeTheFileHasThem) {
  const std::string blob = pattern(30000, 20);
  const std::string_view b(blob);
  open_file(30000);
  EXPECT_TRUE(hasher->would_take(0));
  EXPECT_FALSE(hasher->would_take(10000));
  EXPECT_TRUE(hasher->take(0, bytes(b.substr(0, 10000))));
  EXPECT_EQ(hasher->hashed(), 10000);  // the file still reads as zeros there

  EXPECT_FALSE(hasher->take(20000, bytes(b.substr(20000))));
  EXPECT_EQ(hasher->hashed(), 10000);
  ASSERT_EQ(::pwrite(fd, blob.data(), blob.size(), 0), 30000);
  hasher->landed(20000, bytes(b.substr(20000)));  // the write has ended
  EXPECT_TRUE(hasher->would_take(10000));
  EXPECT_TRUE(hasher->take(10000, bytes(b.substr(10000, 10000))));
  EXPECT_EQ(hasher->hashed(), 30000);  // and caught up on the bytes ahead
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

TEST_F(InOrderHasherTest, ChunksInAnyOrderGiveTheFilesDigest) {
  const std::string blob = pattern(1 << 20, 3);
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    // Random cut points, chunks written in a random order.
    std::vector<std::size_t> cuts{0, blob.size()};
    for (int i = 0; i < 30; ++i) cuts.push_back(random() % blob.size());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<std::size_t> order(cuts.size() - 1);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), random);
    open_file(static_cast<std::int64_t>(blob.size()));
    for (std::size_t i : order) {
      write(static_cast<std::int64_t>(cuts[i]),
            std::string_view(blob).substr(cuts[i], cuts[i + 1] - cuts[i]));
    }
    EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(blob.size())) << "round " << round;
    EXPECT_EQ(hasher->finish(), Digest::of(blob)) << "round " << round;
    ::close(fd);
    fd = -1;
  }
}

// Ranges the size of a download's (8 MiB and an odd tail), all but the first
// landing before it: the frontier then catches up across far more bytes than
// one read back takes (1 MiB), in several reads, on another thread's buffer
// than the one a later catch-up uses.
TEST_F(InOrderHasherTest, AStretchAheadLongerThanOneReadBackIsHashedInFull) {
  const std::string blob = pattern((17 << 20) + 4097, 11);
  const std::string_view b(blob);
  constexpr std::size_t kRange = 8 << 20;
  open_file(static_cast<std::int64_t>(blob.size()));
  std::thread ahead([&] {
    write(2 * kRange, b.substr(2 * kRange));
    write(kRange, b.substr(kRange, kRange));
  });
  ahead.join();
  EXPECT_EQ(hasher->hashed(), 0);
  write(0, b.substr(0, kRange));
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(blob.size()));
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

TEST_F(InOrderHasherTest, OverlappingWritesAheadAreMerged) {
  const std::string blob = pattern(5000, 4);
  const std::string_view b(blob);
  open_file(5000);
  write(3000, b.substr(3000, 2000));
  write(1000, b.substr(1000, 2500));  // overlaps the stretch at 3000
  write(2000, b.substr(2000, 100));   // inside the merged stretch
  write(0, b.substr(0, 1000));
  EXPECT_EQ(hasher->hashed(), 5000);
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

TEST_F(InOrderHasherTest, RewrittenHashedBytesAreHashedFromTheFile) {
  const std::string first = pattern(4000, 5);
  const std::string second = pattern(4000, 6);
  open_file(4000);
  write(0, first);
  write(1000, std::string_view(second).substr(1000, 500));  // inside the hashed prefix
  std::string expected = first;
  expected.replace(1000, 500, second.substr(1000, 500));
  EXPECT_EQ(hasher->finish(), Digest::of(expected));
}

TEST_F(InOrderHasherTest, AWriteAtTheFrontierOverlappingBytesAheadRehashes) {
  const std::string blob = pattern(3000, 7);
  const std::string other = pattern(3000, 8);
  open_file(3000);
  write(1000, std::string_view(other).substr(1000, 1000));
  write(0, std::string_view(blob).substr(0, 2000));  // overwrites 1000..2000 in the file
  write(2000, std::string_view(blob).substr(2000));
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

TEST_F(InOrderHasherTest, ABlobAtAnOffsetOfTheFileIsHashedFromThere) {
  const std::string blob = pattern(5000, 9);
  open_file(100 + 5000);
  InOrderHasher at_100(fd, 5000, path, 100);
  // Written in two ranges, the second first: read back from offset 100 + 2000.
  for (std::int64_t begin : {2000, 0}) {
    const std::string_view range =
        std::string_view(blob).substr(static_cast<std::size_t>(begin), begin == 0 ? 2000 : 3000);
    ASSERT_EQ(::pwrite(fd, range.data(), range.size(), static_cast<off_t>(100 + begin)),
              static_cast<ssize_t>(range.size()));
    at_100.landed(begin, bytes(range));
  }

  EXPECT_EQ(at_100.finish(), Digest::of(blob));
}

TEST_F(InOrderHasherTest, BytesNeverWrittenHashAsZeros) {
  const std::string blob = pattern(3000, 9);
  open_file(3000);
  write(0, std::string_view(blob).substr(0, 1000));
  write(2000, std::string_view(blob).substr(2000));
  std::string expected = blob;
  std::fill(expected.begin() + 1000, expected.begin() + 2000, '\0');
  EXPECT_EQ(hasher->finish(), Digest::of(expected));
}

TEST_F(InOrderHasherTest, AFileShorterThanItsSizeIsAnInputErrorNamingIt) {
  open_file(100);
  write(0, pattern(50, 10));
  ASSERT_EQ(::ftruncate(fd, 80), 0);
  EXPECT_THAT([&] { hasher->finish(); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path.string()), HasSubstr("ends at 80"),
                                              HasSubstr("before its size 100"))));
}

TEST_F(InOrderHasherTest, ThreadsWritingRangesInParallelGiveTheFilesDigest) {
  const std::string blob = pattern(4 << 20, 11);
  open_file(static_cast<std::int64_t>(blob.size()));
  constexpr std::size_t kRange = 256 * 1024, kChunk = 16 * 1024;
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      // Thread t writes ranges t, t + 4, ... in 16 KiB chunks, as curl delivers them.
      for (std::size_t r = t; r * kRange < blob.size(); r += 4) {
        for (std::size_t at = r * kRange; at < (r + 1) * kRange; at += kChunk) {
          const std::string_view piece = std::string_view(blob).substr(at, kChunk);
          ASSERT_EQ(::pwrite(fd, piece.data(), piece.size(), static_cast<off_t>(at)),
                    static_cast<ssize_t>(piece.size()));
          hasher->landed(static_cast<std::int64_t>(at), bytes(piece));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(blob.size()));
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

// A second file for the set-aside tests: its own hasher, written the same way.
class OtherFile {
 public:
  OtherFile(const std::filesystem::path& path, std::int64_t size) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0 || ::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      throw std::runtime_error("open");
    hasher.emplace(fd_, size, path);
  }
  ~OtherFile() {
    hasher.reset();
    ::close(fd_);
  }
  void write(std::int64_t offset, std::string_view data) {
    ASSERT_EQ(::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(data.size()));
    hasher->landed(offset, bytes(data));
  }
  std::optional<InOrderHasher> hasher;

 private:
  int fd_ = -1;
};

// Hands `data` at `offset` over with take(), as a direct writer does, and
// never writes it: the file keeps zeros there, so a digest that comes out
// right was taken from the hasher's memory.
void take_unwritten(InOrderHasher& hasher, std::int64_t offset, std::string_view data) {
  EXPECT_TRUE(hasher.would_take(offset));
  EXPECT_TRUE(hasher.take(offset, bytes(data)));
}

// Past HashMeet's `recent` (no partner would be waited for), well within
// InOrderHasher::kPartnerRecent.
constexpr auto kTurnOver = std::chrono::milliseconds(40);

bool set_aside_pairs() { return Sha256Lane::interleaves(); }

// Another file, 1,000 bytes of `seed`, that landed a while ago (kTurnOver):
// bytes landing now at a file's frontier are set aside for its next piece.
std::unique_ptr<OtherFile> partner_landed_lately(const std::filesystem::path& path, char seed) {
  auto other = std::make_unique<OtherFile>(path, 1000);
  other->write(0, pattern(1000, seed));
  std::this_thread::sleep_for(kTurnOver);
  return other;
}

// A link feeding its connections in turns: file B's bytes landed a while
// ago, so A's bytes at its frontier wait, unhashed, for B's next piece, and
// the two are hashed together.
TEST_F(InOrderHasherTest, BytesAtTheFrontierWaitForAFileThatLandedLatelyAndPairWithIt) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  constexpr std::size_t kPiece = 1 << 20;
  const std::string a = pattern(2 * kPiece, 12);
  const std::string b = pattern(2 * kPiece, 13);
  open_file(static_cast<std::int64_t>(a.size()));
  OtherFile other(dir.path() / "other", static_cast<std::int64_t>(b.size()));

  other.write(0, std::string_view(b).substr(0, kPiece));
  EXPECT_EQ(other.hasher->hashed(), static_cast<std::int64_t>(kPiece));  // no one to pair with
  std::this_thread::sleep_for(kTurnOver);
  const HashMeet::Counts before = HashMeet::shared().counts();
  write(0, std::string_view(a).substr(0, kPiece));
  EXPECT_EQ(hasher->hashed(), 0);  // set aside
  other.write(static_cast<std::int64_t>(kPiece), std::string_view(b).substr(kPiece));
  EXPECT_EQ(other.hasher->hashed(), static_cast<std::int64_t>(b.size()));
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(kPiece));  // read back, paired
  EXPECT_EQ(HashMeet::shared().counts().paired_bytes - before.paired_bytes, 2 * kPiece);

  write(static_cast<std::int64_t>(kPiece), std::string_view(a).substr(kPiece));
  EXPECT_EQ(hasher->finish(), Digest::of(a));
  EXPECT_EQ(other.hasher->finish(), Digest::of(b));
}

TEST_F(InOrderHasherTest, BytesSetAsideBeyondTheLimitAreHashedAtOnce) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  constexpr std::size_t kPiece = 1 << 20;
  constexpr auto kLimit = static_cast<std::size_t>(InOrderHasher::kSetAsideBytes);
  const std::string a = pattern(kLimit + 2 * kPiece, 14);
  open_file(static_cast<std::int64_t>(a.size()));
  const auto other = partner_landed_lately(dir.path() / "other", 15);

  for (std::size_t at = 0; at < kLimit; at += kPiece) {
    write(static_cast<std::int64_t>(at), std::string_view(a).substr(at, kPiece));
  }
  EXPECT_EQ(hasher->hashed(), 0);
  write(static_cast<std::int64_t>(kLimit), std::string_view(a).substr(kLimit, kPiece));
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(kLimit + kPiece));
  write(static_cast<std::int64_t>(kLimit + kPiece), std::string_view(a).substr(kLimit + kPiece));
  EXPECT_EQ(hasher->finish(), Digest::of(a));
}

// Bytes a direct writer hands over (take()) that are set aside are held in
// memory, since the file's page cache does not have them: a partner's next
// piece pairs with them from there, and the next piece of their own file
// hashes them first.
TEST_F(InOrderHasherTest, BytesTakenAndSetAsideAreHeldInMemory) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  constexpr std::size_t kPiece = 1 << 20;
  const std::string a = pattern(3 * kPiece, 30);
  const std::string b = pattern(2 * kPiece, 31);
  const std::string_view av(a);
  open_file(static_cast<std::int64_t>(a.size()));
  OtherFile other(dir.path() / "other", static_cast<std::int64_t>(b.size()));

  other.write(0, std::string_view(b).substr(0, kPiece));
  std::this_thread::sleep_for(kTurnOver);
  take_unwritten(*hasher, 0, av.substr(0, kPiece / 2));
  take_unwritten(*hasher, kPiece / 2, av.substr(kPiece / 2, kPiece / 2));
  EXPECT_EQ(hasher->hashed(), 0);  // set aside, in memory
  EXPECT_FALSE(hasher->would_take(0));
  const HashMeet::Counts before = HashMeet::shared().counts();
  other.write(static_cast<std::int64_t>(kPiece), std::string_view(b).substr(kPiece));
  EXPECT_EQ(HashMeet::shared().counts().paired_bytes - before.paired_bytes, kPiece);
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(kPiece / 2));  // one held piece paired

  // The file's next piece comes with no partner in sight: the held bytes
  // left are hashed before it.
  EXPECT_EQ(other.hasher->finish(), Digest::of(b));
  std::this_thread::sleep_for(InOrderHasher::kPartnerRecent);
  take_unwritten(*hasher, static_cast<std::int64_t>(kPiece), av.substr(kPiece, kPiece));
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(2 * kPiece));
  ASSERT_EQ(::pwrite(fd, a.data() + 2 * kPiece, kPiece, 2 * kPiece), static_cast<ssize_t>(kPiece));
  hasher->landed(static_cast<std::int64_t>(2 * kPiece), bytes(av.substr(2 * kPiece)));
  EXPECT_EQ(hasher->finish(), Digest::of(a));
}

// Bytes a download gathered in its piece (core/piece_pool.hpp) are held in
// that piece itself: the download gathers its next bytes in another.
TEST_F(InOrderHasherTest, BytesTakenFromADownloadsPieceAreHeldInThatPiece) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  const std::string a = pattern(200000, 37);
  open_file(static_cast<std::int64_t>(a.size()));
  const auto other = partner_landed_lately(dir.path() / "other", 38);

  const std::span<std::byte> piece = gathering_piece();
  std::memcpy(piece.data() + 100, a.data(), 100000);
  EXPECT_TRUE(hasher->take(0, piece.subspan(100, 100000)));
  EXPECT_EQ(hasher->hashed(), 0);  // set aside
  const std::span<std::byte> next = gathering_piece();
  EXPECT_NE(next.data(), piece.data());
  std::memset(next.data(), 0xee, next.size());
  std::memcpy(next.data(), a.data() + 100000, 100000);
  EXPECT_TRUE(hasher->take(100000, next.first(100000)));
  EXPECT_EQ(hasher->finish(), Digest::of(a));
}

// Bytes held in memory and then written again (a range fetched twice) may
// differ from the held copy: the digest is of what the file holds.
TEST_F(InOrderHasherTest, HeldBytesWrittenAgainAreHashedFromTheFile) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  const std::string first = pattern(100000, 39);
  const std::string blob = pattern(100000, 40);
  open_file(static_cast<std::int64_t>(blob.size()));
  const auto other = partner_landed_lately(dir.path() / "other", 41);
  take_unwritten(*hasher, 0, first);
  EXPECT_EQ(hasher->hashed(), 0);
  write(40000, std::string_view(blob).substr(40000, 20000));
  write(0, blob);
  EXPECT_EQ(hasher->finish(), Digest::of(blob));
}

// Held bytes no partner came for are hashed by finish(), from memory; a
// piece larger than the held pieces is hashed at once.
TEST_F(InOrderHasherTest, BytesHeldWhenTheFileFinishesAreHashedFromMemory) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  const std::string a = pattern(300000, 32);
  open_file(static_cast<std::int64_t>(a.size()));
  const auto other = partner_landed_lately(dir.path() / "other", 33);
  take_unwritten(*hasher, 0, std::string_view(a).substr(0, 100000));
  EXPECT_EQ(hasher->hashed(), 0);
  ASSERT_EQ(::pwrite(fd, a.data() + 100000, 200000, 100000), 200000);
  hasher->landed(100000, bytes(std::string_view(a).substr(100000)));  // joins the set-aside stretch
  EXPECT_EQ(hasher->finish(), Digest::of(a));

  const std::string big = pattern(kPieceBytes + 1, 34);
  ::close(fd);
  open_file(static_cast<std::int64_t>(big.size()));
  const auto another = partner_landed_lately(dir.path() / "another", 33);
  take_unwritten(*hasher, 0, big);
  EXPECT_EQ(hasher->hashed(), static_cast<std::int64_t>(big.size()));
  EXPECT_EQ(hasher->finish(), Digest::of(big));
}

// The process holds kHeldPieces of set-aside bytes at most: two files fill
// them, and a third file's piece is hashed at once, paired with held bytes.
TEST_F(InOrderHasherTest, HeldBytesStopAtTheProcesssLimit) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  constexpr std::size_t kPiece = 1 << 20;
  constexpr std::size_t kPerFile = InOrderHasher::kHeldPieces / 2 * kPiece;
  static_assert(kPerFile <= static_cast<std::size_t>(InOrderHasher::kSetAsideBytes));
  const std::string blob = pattern(kPerFile, 35);
  std::vector<std::unique_ptr<OtherFile>> files;
  for (int i = 0; i < 3; ++i) {
    files.push_back(std::make_unique<OtherFile>(dir.path() / ("f" + std::to_string(i)),
                                                static_cast<std::int64_t>(blob.size())));
  }
  OtherFile starter(dir.path() / "starter", 1000);
  starter.write(0, pattern(1000, 36));
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(kTurnOver);
    for (std::size_t at = 0; at < kPerFile; at += kPiece) {
      take_unwritten(*files[i]->hasher, static_cast<std::int64_t>(at),
                     std::string_view(blob).substr(at, kPiece));
    }
    EXPECT_EQ(files[i]->hasher->hashed(), 0) << "file " << i;
  }
  std::this_thread::sleep_for(kTurnOver);
  take_unwritten(*files[2]->hasher, 0, std::string_view(blob).substr(0, kPiece));
  EXPECT_EQ(files[2]->hasher->hashed(), static_cast<std::int64_t>(kPiece));
  EXPECT_EQ(files[0]->hasher->hashed() + files[1]->hasher->hashed(),
            static_cast<std::int64_t>(kPiece));
  for (std::size_t at = kPiece; at < kPerFile; at += kPiece) {
    take_unwritten(*files[2]->hasher, static_cast<std::int64_t>(at),
                   std::string_view(blob).substr(at, kPiece));
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(files[i]->hasher->finish(), Digest::of(blob));
}

// Finished (or gone) with bytes set aside: finish() hashes them, and the
// other file no longer finds them.
TEST_F(InOrderHasherTest, AFileFinishedWithBytesSetAsideHashesThem) {
  if (!set_aside_pairs()) GTEST_SKIP() << "no SHA-NI: nothing is set aside";
  const std::string a = pattern(300000, 16);
  const std::string b = pattern(200000, 17);
  open_file(static_cast<std::int64_t>(a.size()));
  OtherFile other(dir.path() / "other", static_cast<std::int64_t>(b.size()));
  other.write(0, std::string_view(b).substr(0, 100000));
  std::this_thread::sleep_for(kTurnOver);
  write(0, a);
  EXPECT_EQ(hasher->hashed(), 0);

  EXPECT_EQ(hasher->finish(), Digest::of(a));
  hasher.reset();
  other.write(100000, std::string_view(b).substr(100000));
  EXPECT_EQ(other.hasher->finish(), Digest::of(b));
}

// Three files fed in turns on three threads (bursts apart, as over the wan
// link), one of them also written out of order: bytes are set aside, taken
// by other threads as partners, read back, and every digest is the file's.
TEST_F(InOrderHasherTest, FilesFedInTurnsOnSeveralThreadsGiveTheirDigests) {
  constexpr std::size_t kSize = 3 << 20, kPiece = 128 * 1024, kBurst = 8;
  std::vector<std::string> blobs;
  std::vector<std::unique_ptr<OtherFile>> files;
  for (std::uint32_t i = 0; i < 3; ++i) {
    blobs.push_back(pattern(kSize, 20 + i));
    files.push_back(std::make_unique<OtherFile>(dir.path() / ("f" + std::to_string(i)), kSize));
  }
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::size_t> order;
      for (std::size_t at = 0; at < kSize; at += kPiece) order.push_back(at);
      // The last file's second half comes first.
      if (t == 2) std::rotate(order.begin(), order.begin() + order.size() / 2, order.end());
      for (std::size_t i = 0; i < order.size(); ++i) {
        if (i % kBurst == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5 + 10 * t));
        files[t]->write(static_cast<std::int64_t>(order[i]),
                        std::string_view(blobs[t]).substr(order[i], kPiece));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(files[i]->hasher->finish(), Digest::of(blobs[i]));
}

}  // namespace
}  // namespace ecr::cache

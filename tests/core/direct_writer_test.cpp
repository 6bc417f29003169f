// DirectWriter: every byte lands where it was written, whether its pages went
// past the page cache or through it; only whole pages of a buffer laid out
// page-aligned with the file go direct.
#include "core/direct_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/scratch_dir.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;

// A page-aligned buffer of `size` bytes, each a function of its index.
struct AlignedBytes {
  explicit AlignedBytes(std::size_t size, unsigned seed = 1)
      : data(static_cast<std::byte*>(std::aligned_alloc(kDirectPage, size + kDirectPage))) {
    std::uint32_t x = seed;
    for (std::size_t i = 0; i < size + kDirectPage; ++i) {
      x = x * 1103515245u + 12345u;
      data.get()[i] = static_cast<std::byte>(x >> 16);
    }
  }
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> data;  // `size` bytes and a page more
};

class DirectWriterTest : public ::testing::Test {
 protected:
  DirectWriterTest() : path_(dir_.path() / "file") {
    fd_ = open_file(path_, O_RDWR | O_CREAT | O_TRUNC);
    allocate_file(fd_.get(), kFileBytes, path_);
    expected_.assign(kFileBytes, '\0');
  }

  // Writes `data` at `offset` and notes what the file should now hold.
  std::size_t write(DirectWriter& w, std::span<const std::byte> data, std::int64_t offset) {
    expected_.replace(static_cast<std::size_t>(offset), data.size(),
                      reinterpret_cast<const char*>(data.data()), data.size());
    return w.write_at(data, offset);
  }
  std::string contents() const { return testing::read_file(path_); }

  static constexpr std::int64_t kFileBytes = 1 << 20;
  testing::ScratchDir dir_{"ecr-direct-writer-test"};
  fs::path path_;
  UniqueFd fd_;
  std::string expected_;
};

TEST_F(DirectWriterTest, WholePagesGoDirectAndTheRaggedEndsThroughThePageCache) {
  DirectWriter w(fd_.get(), path_);
  const AlignedBytes bytes(5 * kDirectPage);
  // Starting 100 bytes into a page, from a buffer 100 bytes into a page:
  // a 3996-byte head, three whole pages, a tail of 4096 - 3996 = 100 bytes.
  const auto data = std::span<const std::byte>(bytes.data.get() + 100, 4 * kDirectPage);
  const std::size_t cached = write(w, data, 2 * kDirectPage + 100);

  EXPECT_EQ(contents(), expected_);
  if (!w.direct_possible()) GTEST_SKIP() << "no direct I/O on " << path_;
  EXPECT_EQ(cached, kDirectPage);
}

TEST_F(DirectWriterTest, ABufferNotAlignedWithItsPlaceGoesThroughThePageCache) {
  DirectWriter w(fd_.get(), path_);
  const AlignedBytes bytes(3 * kDirectPage);
  // Page-aligned in memory, 512 bytes into a page of the file.
  const std::size_t cached = write(w, std::span<const std::byte>(bytes.data.get(), 2 * kDirectPage),
                                   kDirectPage + 512);
  EXPECT_EQ(cached, 2 * kDirectPage);
  EXPECT_EQ(contents(), expected_);
}

TEST_F(DirectWriterTest, AWriteWithinOnePageGoesThroughThePageCache) {
  DirectWriter w(fd_.get(), path_);
  const AlignedBytes bytes(kDirectPage);
  const std::size_t cached =
      write(w, std::span<const std::byte>(bytes.data.get() + 10, 1000), 3 * kDirectPage + 10);
  EXPECT_EQ(cached, 1000u);
  EXPECT_EQ(contents(), expected_);
}

TEST_F(DirectWriterTest, BytesWrittenTwiceReadAsTheLastWrite) {
  // A range fetched again (a refetch after a digest mismatch) overwrites
  // pages that went direct through the page cache and the other way round.
  DirectWriter w(fd_.get(), path_);
  const AlignedBytes first(4 * kDirectPage, 1);
  const AlignedBytes second(4 * kDirectPage, 2);
  write(w, std::span<const std::byte>(first.data.get(), 4 * kDirectPage), 0);
  EXPECT_EQ(contents(), expected_);  // read into the page cache
  write(w, std::span<const std::byte>(second.data.get() + 1, 3 * kDirectPage), 1);
  write(w, std::span<const std::byte>(first.data.get(), 2 * kDirectPage), 0);
  EXPECT_EQ(contents(), expected_);
}

TEST_F(DirectWriterTest, ThreadsWritingDisjointRangesLeaveEveryByteInPlace) {
  DirectWriter w(fd_.get(), path_);
  // Eight threads, each writing its 128 KiB (less 7 bytes, so that
  // neighbours share a page) in uneven pieces, in page-aligned buffers.
  constexpr std::size_t kShare = kFileBytes / 8;
  std::vector<AlignedBytes> bytes;
  for (unsigned t = 0; t < 8; ++t) bytes.emplace_back(kShare, t + 1);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) {
    const std::int64_t base = static_cast<std::int64_t>(t * kShare) + 7;
    const std::size_t length = kShare - 7;
    // Byte i of the share goes at base + i from address data + 7 + i: the
    // same offset within a page.
    const auto share = std::span<const std::byte>(bytes[t].data.get() + 7, length);
    expected_.replace(static_cast<std::size_t>(base), length,
                      reinterpret_cast<const char*>(share.data()), length);
    threads.emplace_back([&w, share, base] {
      std::size_t at = 0;
      for (std::size_t piece = 5000; at < share.size(); piece = piece * 3 % 70001 + 1) {
        const std::size_t n = std::min(piece, share.size() - at);
        w.write_at(share.subspan(at, n), base + static_cast<std::int64_t>(at));
        at += n;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(contents(), expected_);
}

}  // namespace
}  // namespace ecr

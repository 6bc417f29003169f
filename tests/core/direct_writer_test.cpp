// DirectWriter (core/direct_writer.hpp): whole pages written past the page
// cache land as written, the bytes around them are left to the caller, a
// write is waited for even when no one asks, and a write the file system
// refuses either falls back (EINVAL) or is an error naming the file.
#include "core/direct_writer.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <string>
#include <thread>

#include "core/file.hpp"
#include "ecr/error.hpp"
#include "support/scratch_dir.hpp"

namespace ecr {
namespace {
namespace direct_writer_test {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr std::size_t kPage = 4096;

// Page-aligned memory holding `size` bytes of a pattern.
struct AlignedBytes {
  explicit AlignedBytes(std::size_t n, unsigned seed)
      : data(static_cast<std::byte*>(::operator new[](n + kPage, std::align_val_t{kPage}))) {
    for (std::size_t i = 0; i < n + kPage; ++i) {
      data[i] = static_cast<std::byte>((i * 131 + seed) >> 3);
    }
  }
  ~AlignedBytes() { ::operator delete[](data, std::align_val_t{kPage}); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  // `n` bytes starting `lead` bytes into the memory's first page.
  std::span<const std::byte> at(std::size_t lead, std::size_t n) const { return {data + lead, n}; }
  std::byte* data;
};

std::string contents(int fd, std::int64_t offset, std::size_t n) {
  std::string out(n, '\0');
  EXPECT_EQ(::pread(fd, out.data(), n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
  return out;
}

std::string as_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class DirectWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path = dir.path() / "file";
    fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
    allocate_file(fd.get(), 1 << 22, path);
    writer = DirectWriter::open(fd.get(), path);
    // This project's CI writes its temp files on ext4, which takes them.
    ASSERT_TRUE(writer.valid()) << path << " takes no direct writes";
  }

  testing::ScratchDir dir{"ecr-direct-test"};
  std::filesystem::path path;
  UniqueFd fd;
  DirectWriter writer;
};

TEST_F(DirectWriterTest, OnlyTheWholePagesInsideAreWrittenDirectly) {
  const AlignedBytes memory(3 * kPage, 1);
  // File offset 5000 is 904 bytes into its page; so are the bytes in memory.
  const auto bytes = memory.at(904, 2 * kPage + 100);
  const DirectWriter::Stretch s = writer.aligned_part(5000, bytes);
  EXPECT_EQ(s.begin, 8192);
  EXPECT_EQ(s.end, 12288);  // 5000 + 8292 = 13292: the page from 12288 is not whole

  // Bytes that sit elsewhere in a page of memory than in the file's page.
  EXPECT_EQ(writer.aligned_part(5000, memory.at(0, 2 * kPage + 100)).end, 0);
  // No whole page inside.
  EXPECT_EQ(writer.aligned_part(5000, memory.at(904, 3000)).end, 0);
  EXPECT_EQ(writer.aligned_part(8192, memory.at(0, kPage)).end, 8192 + 4096);
}

TEST_F(DirectWriterTest, AWriteLandsAndTheBytesAroundItAreUntouched) {
  const AlignedBytes memory(4 * kPage, 2);
  const auto bytes = memory.at(0, 4 * kPage);
  DirectWriter::Pending pending = writer.start(bytes, 3 * kPage);
  EXPECT_TRUE(pending.wait());
  EXPECT_TRUE(pending.wait());  // asking again gives the same answer
  EXPECT_EQ(contents(fd.get(), 3 * kPage, bytes.size()), as_string(bytes));
  EXPECT_EQ(contents(fd.get(), 2 * kPage, kPage), std::string(kPage, '\0'));
  EXPECT_EQ(contents(fd.get(), 7 * kPage, kPage), std::string(kPage, '\0'));
}

TEST_F(DirectWriterTest, APendingWriteIsWaitedForWhenItGoes) {
  const AlignedBytes memory(256 * kPage, 3);
  const auto bytes = memory.at(0, 256 * kPage);
  { const DirectWriter::Pending dropped = writer.start(bytes, 0); }
  EXPECT_EQ(contents(fd.get(), 0, bytes.size()), as_string(bytes));
}

TEST_F(DirectWriterTest, ASecondWriteWhileOneIsInFlightIsMadeInWait) {
  const AlignedBytes a(16 * kPage, 4);
  const AlignedBytes b(16 * kPage, 5);
  DirectWriter::Pending first = writer.start(a.at(0, 16 * kPage), 0);
  DirectWriter::Pending second = writer.start(b.at(0, 16 * kPage), 16 * kPage);
  EXPECT_TRUE(second.wait());
  EXPECT_TRUE(first.wait());
  EXPECT_EQ(contents(fd.get(), 0, 16 * kPage), as_string(a.at(0, 16 * kPage)));
  EXPECT_EQ(contents(fd.get(), 16 * kPage, 16 * kPage), as_string(b.at(0, 16 * kPage)));
}

TEST_F(DirectWriterTest, WritesFromSeveralThreadsAllLand) {
  const AlignedBytes memory(64 * kPage, 6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        const std::int64_t at = (t * 4 + i) * 4 * static_cast<std::int64_t>(kPage);
        writer.start(memory.at(static_cast<std::size_t>(at) % (60 * kPage), 4 * kPage), at).wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int n = 0; n < 16; ++n) {
    const std::int64_t at = n * 4 * static_cast<std::int64_t>(kPage);
    EXPECT_EQ(contents(fd.get(), at, 4 * kPage),
              as_string(memory.at(static_cast<std::size_t>(at) % (60 * kPage), 4 * kPage)))
        << "at " << at;
  }
}

// A write the device cannot take directly (here: not at a sector) is handed
// back: the caller writes those bytes through the page cache, and the
// writer writes nothing more directly.
TEST_F(DirectWriterTest, AWriteTheDeviceRefusesIsHandedBackAndEndsDirectWrites) {
  const AlignedBytes memory(2 * kPage, 7);
  EXPECT_FALSE(writer.start(memory.at(0, 2 * kPage), 100).wait());
  EXPECT_FALSE(writer.valid());
  EXPECT_EQ(writer.aligned_part(0, memory.at(0, 2 * kPage)).end, 0);
}

TEST_F(DirectWriterTest, AFailedWriteIsAnErrorNamingTheFile) {
  const AlignedBytes memory(kPage, 8);
  // Past the largest file ext4 holds (16 TiB with 4 KiB blocks).
  DirectWriter::Pending pending = writer.start(memory.at(0, kPage), std::int64_t{1} << 50);
  EXPECT_THAT([&] { pending.wait(); }, ThrowsMessage<InputError>(HasSubstr(path.string())));
}

TEST(DirectWriter, APipeTakesNoDirectWrites) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  const UniqueFd read_end(ends[0]), write_end(ends[1]);
  EXPECT_FALSE(DirectWriter::open(write_end.get(), "a pipe").valid());
}

}  // namespace direct_writer_test
}  // namespace
}  // namespace ecr

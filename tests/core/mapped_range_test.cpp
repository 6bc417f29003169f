#include "core/mapped_range.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <span>
#include <string>

#include "core/file.hpp"
#include "ecr/error.hpp"
#include "support/scratch_dir.hpp"

namespace ecr {
namespace {

using ::testing::HasSubstr;

// `n` bytes that differ from page to page and within one.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 4096) % 251);
  return s;
}

std::size_t page() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

class MappedRangeTest : public ::testing::Test {
 protected:
  // A file of `contents`, opened for reading.
  UniqueFd file_of(const std::string& contents) {
    testing::write_file(path_, contents);
    return open_regular_file(path_);
  }

  // The mapping's bytes [begin, end), copied out inside read().
  static std::string read(const MappedRange& range, std::size_t begin, std::size_t end) {
    std::string out(end - begin, '\0');
    range.read(begin, end, [&](std::span<const std::byte> bytes) {
      std::memcpy(out.data(), bytes.data(), bytes.size());
    });
    return out;
  }
  static std::string read_all(const MappedRange& range) { return read(range, 0, range.size()); }

  testing::ScratchDir dir_{"mapped-range"};
  std::filesystem::path path_ = dir_.path() / "blob";
};

TEST_F(MappedRangeTest, ReadsTheBytesOfAStretchThatStartsAnywhereInAPage) {
  const std::string contents = pattern(3 * page() + 100);
  const UniqueFd fd = file_of(contents);
  for (const std::size_t offset : {std::size_t{0}, std::size_t{7}, page(), page() + 4095}) {
    const std::size_t size = contents.size() - offset - 3;
    const auto range = MappedRange::map(fd.get(), static_cast<std::int64_t>(offset), size);
    ASSERT_NE(range, nullptr) << offset;
    EXPECT_EQ(read_all(*range), contents.substr(offset, size)) << offset;
  }
}

TEST_F(MappedRangeTest, AnEmptyStretchOrAPipeIsNotMapped) {
  const UniqueFd fd = file_of("abc");
  EXPECT_EQ(MappedRange::map(fd.get(), 0, 0), nullptr);
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  EXPECT_EQ(MappedRange::map(pipe_ends[0], 0, 10), nullptr);
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
}

// Cut inside the page that holds the stretch's end, the file reads as zeros
// there: the size check after the read says so.
TEST_F(MappedRangeTest, AFileCutShortInsideItsLastPageIsAnError) {
  const std::string contents = pattern(1000);
  const UniqueFd fd = file_of(contents);
  const auto range = MappedRange::map(fd.get(), 0, 1000);
  ASSERT_NE(range, nullptr);
  std::filesystem::resize_file(path_, 600);
  try {
    read_all(*range);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "the file ends before byte 1000: it shrank while it was read");
  }
}

// Cut pages before the stretch's end, a read past the file's new last page
// raises SIGBUS: it is an error naming the first page gone, the process goes
// on, and the next read meets the same error.
TEST_F(MappedRangeTest, AFileCutShortPagesBeforeItsEndIsAnErrorNotADeath) {
  const std::string contents = pattern(4 * page());
  const UniqueFd fd = file_of(contents);
  const auto range = MappedRange::map(fd.get(), 0, contents.size());
  ASSERT_NE(range, nullptr);
  std::filesystem::resize_file(path_, 100);
  for (int i = 0; i < 2; ++i) {
    try {
      read_all(*range);
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), "the file ends before byte " + std::to_string(page()) +
                                           ": it shrank while it was read");
    }
  }
  // What is still there reads as before.
  const auto head = MappedRange::map(fd.get(), 0, 100);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(read_all(*head), contents.substr(0, 100));
}

// A SIGBUS that no read() expects (here: a mapping of the test's own) is not
// swallowed: the process dies of it, as it would without MappedRange.
TEST_F(MappedRangeTest, ASigbusOutsideAReadStillEndsTheProcess) {
  const std::string contents = pattern(4 * page());
  const UniqueFd fd = file_of(contents);
  const auto range = MappedRange::map(fd.get(), 0, contents.size());
  ASSERT_NE(range, nullptr);
  EXPECT_EQ(read_all(*range), contents);  // the handler is installed
  void* own = ::mmap(nullptr, contents.size(), PROT_READ, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(own, MAP_FAILED);
  std::filesystem::resize_file(path_, 100);
  EXPECT_DEATH(
      {
        volatile std::byte b = static_cast<const std::byte*>(own)[3 * page()];
        (void)b;
      },
      "");
  ::munmap(own, contents.size());
}

// Only a read that reaches the mapping's last page checks the file's size
// (a cut in an earlier page faults at the next one): a read of the pages
// still there succeeds, one past them fails.
TEST_F(MappedRangeTest, ReadsBeforeACutSucceedAndReadsPastItFail) {
  const std::string contents = pattern(4 * page());
  const UniqueFd fd = file_of(contents);
  const auto range = MappedRange::map(fd.get(), 0, contents.size());
  ASSERT_NE(range, nullptr);
  std::filesystem::resize_file(path_, 2 * page());
  EXPECT_EQ(read(*range, 10, 2 * page()), contents.substr(10, 2 * page() - 10));
  EXPECT_THROW(read(*range, page(), 3 * page()), InputError);
}

}  // namespace
}  // namespace ecr

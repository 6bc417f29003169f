// thread_buffer (core/thread_buffer.hpp): one buffer per thread and use, kept
// across calls, never shared between threads or between uses.
#include "core/thread_buffer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>

namespace ecr {
namespace {

struct UseA;
struct UseB;

TEST(ThreadBuffer, ACallOnTheSameThreadGetsTheSameBytesBack) {
  const std::span<std::byte> first = thread_buffer<UseA>(4096);
  ASSERT_EQ(first.size(), 4096u);
  std::memset(first.data(), 0x5a, first.size());
  const std::span<std::byte> again = thread_buffer<UseA>(1024);
  EXPECT_EQ(again.data(), first.data());
  EXPECT_EQ(again.size(), 1024u);
  EXPECT_EQ(again[1023], std::byte{0x5a});
}

TEST(ThreadBuffer, StartsAtAPageBoundary) {
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(thread_buffer<UseA>(100).data()) % 4096, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(thread_buffer<UseB>(3 << 20).data()) % 4096, 0u);
}

TEST(ThreadBuffer, EachUseHasItsOwn) {
  const std::span<std::byte> a = thread_buffer<UseA>(4096);
  const std::span<std::byte> b = thread_buffer<UseB>(4096);
  EXPECT_NE(a.data(), b.data());
}

TEST(ThreadBuffer, EachThreadHasItsOwn) {
  const std::byte* mine = thread_buffer<UseA>(4096).data();
  const std::byte* theirs = nullptr;
  std::thread([&] {
    const std::span<std::byte> other = thread_buffer<UseA>(4096);
    std::memset(other.data(), 0, other.size());  // ASan: the bytes are its to write
    theirs = other.data();
  }).join();
  EXPECT_NE(theirs, mine);
}

TEST(ThreadBuffer, AskingForMoreGivesABufferThatLarge) {
  thread_buffer<UseB>(16);
  const std::span<std::byte> big = thread_buffer<UseB>(1 << 20);
  ASSERT_EQ(big.size(), std::size_t{1} << 20);
  std::memset(big.data(), 1, big.size());  // ASan: all of it is the buffer's
  EXPECT_EQ(big[(1 << 20) - 1], std::byte{1});
}

}  // namespace
}  // namespace ecr

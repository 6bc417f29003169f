#include "oci/deflate_block.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <vector>

namespace ecr::oci {
namespace {

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

TEST(GzipCrc32, EqualsZlibsCrc32AtEveryLengthAndWhenContinued) {
  const auto data = random_bytes(70000, 7);
  for (std::size_t n : {0u, 1u, 3u, 15u, 16u, 17u, 63u, 64u, 255u, 4096u, 65537u, 70000u}) {
    const std::span<const std::byte> s(data.data(), n);
    const auto zlib = crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(n));
    EXPECT_EQ(gzip_crc32(0, s), zlib) << n << " bytes";
    // Continued over two pieces, as a CRC is carried across reads.
    EXPECT_EQ(gzip_crc32(gzip_crc32(0, s.first(n / 3)), s.subspan(n / 3)), zlib) << n << " bytes";
  }
}

TEST(GzipLevels, FastLevelsUseIsalAndTheRestZlib) {
  EXPECT_EQ(deflate_setting_for_gzip_level(1).engine, DeflateEngine::kIsal);
  EXPECT_EQ(deflate_setting_for_gzip_level(1).level, 1);
  EXPECT_EQ(deflate_setting_for_gzip_level(2).engine, DeflateEngine::kIsal);
  EXPECT_EQ(deflate_setting_for_gzip_level(2).level, 2);
  for (int level = 3; level <= 9; ++level) {
    EXPECT_EQ(deflate_setting_for_gzip_level(level).engine, DeflateEngine::kZlib);
    EXPECT_EQ(deflate_setting_for_gzip_level(level).level, level);
  }
}

// A fragment is a function of its dictionary and block only: compressing an
// unrelated block first on the same thread (whose ISA-L workspace is reused)
// changes nothing.
TEST(DeflateBlock, BytesDoNotDependOnTheBlockCompressedBefore) {
  const auto dict = random_bytes(32 * 1024, 1);
  std::vector<std::byte> block(100000);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = dict[(i * 7) % dict.size()];
  for (int level : {1, 2}) {
    const DeflateSetting setting{DeflateEngine::kIsal, level};
    const auto first = deflate_block(dict, block, setting, false);
    deflate_block({}, random_bytes(128 * 1024, 2), setting, true);
    EXPECT_EQ(deflate_block(dict, block, setting, false).data, first.data) << "level " << level;
  }
}

// The dictionary is used: a block that repeats its second half compresses to
// a fraction of what it takes alone.
TEST(DeflateBlock, ReferencesReachIntoTheDictionary) {
  const auto dict = random_bytes(32 * 1024, 3);
  const std::span<const std::byte> block = std::span(dict).subspan(16 * 1024);
  for (auto engine : {DeflateEngine::kIsal, DeflateEngine::kZlib}) {
    const auto with = deflate_block(dict, block, {engine, 1}, true);
    const auto without = deflate_block({}, block, {engine, 1}, true);
    EXPECT_LT(with.data.size(), without.data.size() / 10)
        << (engine == DeflateEngine::kIsal ? "ISA-L" : "zlib");
  }
}

}  // namespace
}  // namespace ecr::oci

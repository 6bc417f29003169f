#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ecr/compression.hpp"
#include "ecr/error.hpp"
#include "support/string_stream.hpp"

namespace ecr {
namespace {

// Several gzip blocks of mixed content (text and noise), not block-aligned.
std::string mixed_input() {
  std::string s;
  std::mt19937 rng(42);
  while (s.size() < 5 * kGzipBlockSize + 777) {
    s += "line of fairly repetitive text " + std::to_string(s.size() % 97) + "\n";
    for (int i = 0; i < 40; ++i) s += static_cast<char>(rng());
  }
  return s;
}

std::pair<std::string, CompressedLayer> compress(const std::string& in, Compression alg,
                                                 std::size_t threads) {
  testing::StringStream src(in);
  std::string out;
  CompressOptions o{
      .algorithm = alg, .level = alg == Compression::kZstd ? 3 : 1, .threads = threads};
  CompressedLayer c = compress_layer(
      src,
      [&](std::span<const std::byte> b) {
        out.append(reinterpret_cast<const char*>(b.data()), b.size());
      },
      o);
  return {out, c};
}

std::string decompress(const std::string& in, Compression alg) {
  auto s = decompressing_stream(std::make_unique<testing::StringStream>(in), alg);
  std::string out;
  std::byte buf[4096];
  while (std::size_t n = s->read(buf)) out.append(reinterpret_cast<const char*>(buf), n);
  return out;
}

TEST(Compression, DetectsByMagicBytes) {
  auto detect = [](std::string s) {
    return detect_compression(std::as_bytes(std::span(s.data(), s.size())));
  };
  EXPECT_EQ(detect("\x1f\x8b\x08\x00"), Compression::kGzip);
  EXPECT_EQ(detect(std::string("\x28\xb5\x2f\xfd", 4)), Compression::kZstd);
  EXPECT_EQ(detect("ustar"), Compression::kNone);
  EXPECT_EQ(detect(""), Compression::kNone);
}

TEST(Compression, ParallelGzipIsIdenticalForAnyThreadCountAndRoundTrips) {
  const std::string in = mixed_input();
  auto [one, c1] = compress(in, Compression::kGzip, 1);
  auto [three, c3] = compress(in, Compression::kGzip, 3);
  EXPECT_EQ(one, three);
  EXPECT_EQ(c1.digest, c3.digest);
  EXPECT_EQ(c1.digest, Digest::of(one));
  EXPECT_EQ(c1.diff_id, Digest::of(in));
  EXPECT_EQ(c1.uncompressed_size, static_cast<std::int64_t>(in.size()));
  EXPECT_EQ(decompress(one, Compression::kGzip), in);
}

TEST(Compression, GzipOfEmptyInputIsAValidEmptyStream) {
  auto [out, c] = compress("", Compression::kGzip, 2);
  EXPECT_EQ(decompress(out, Compression::kGzip), "");
  EXPECT_EQ(c.diff_id, Digest::of(""));
}

TEST(Compression, ZstdIsIdenticalForAnyThreadCountAndRoundTrips) {
  const std::string in = mixed_input();
  auto [one, c1] = compress(in, Compression::kZstd, 1);
  auto [two, c2] = compress(in, Compression::kZstd, 2);
  EXPECT_EQ(one, two);
  EXPECT_EQ(decompress(one, Compression::kZstd), in);
}

TEST(Compression, TruncatedGzipIsRefused) {
  auto [out, c] = compress(mixed_input(), Compression::kGzip, 1);
  out.resize(out.size() / 2);
  EXPECT_THROW(decompress(out, Compression::kGzip), InputError);
}

}  // namespace
}  // namespace ecr

#include <gtest/gtest.h>
#include <isa-l.h>

#include <cstring>
#include <fstream>
#include <random>

#include "ecr/compression.hpp"
#include "ecr/error.hpp"
#include "peer_tools.hpp"
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
                                                 std::size_t threads, int level = 0) {
  testing::StringStream src(in);
  std::string out;
  CompressOptions o{.algorithm = alg,
                    .level = level                       ? level
                             : alg == Compression::kZstd ? 3
                                                         : 1,
                    .threads = threads};
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

std::string random_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// The inputs where a block-parallel compressor goes wrong: no block, a block
// of one byte, exactly one block (the last block is full), one byte past it
// (the last block holds one byte), and several blocks that compress to almost
// nothing or not at all (stored-size fragments).
std::vector<std::pair<std::string, std::string>> edge_inputs() {
  return {{"empty", ""},
          {"one byte", "x"},
          {"one block", random_bytes(kGzipBlockSize, 1)},
          {"block + 1", random_bytes(kGzipBlockSize + 1, 2)},
          {"zeros, 5.5 blocks", std::string(5 * kGzipBlockSize + kGzipBlockSize / 2, '\0')},
          {"random, 4 blocks + 3", random_bytes(4 * kGzipBlockSize + 3, 3)},
          {"mixed", mixed_input()}};
}

TEST(Compression, GzipAtEveryLevelRoundTripsAndIsIdenticalAt1And2And8Threads) {
  for (const auto& [name, in] : edge_inputs()) {
    for (int level = 1; level <= 9; ++level) {
      SCOPED_TRACE(name + " at level " + std::to_string(level));
      auto [one, c1] = compress(in, Compression::kGzip, 1, level);
      auto [two, c2] = compress(in, Compression::kGzip, 2, level);
      auto [eight, c8] = compress(in, Compression::kGzip, 8, level);
      EXPECT_EQ(one, two);
      EXPECT_EQ(one, eight);
      EXPECT_EQ(c1.digest, Digest::of(one));
      EXPECT_EQ(c1.size, static_cast<std::int64_t>(one.size()));
      EXPECT_EQ(c1.diff_id, Digest::of(in));
      EXPECT_EQ(decompress(one, Compression::kGzip), in);
    }
  }
}

// Levels 1 and 2 (ISA-L) trade size for speed against zlib's 6 and 9.
TEST(Compression, HigherGzipLevelsMakeSmallerLayers) {
  std::string text;
  while (text.size() < 3 * kGzipBlockSize) {
    text += "registry layer " + std::to_string(text.size() % 1013) + " manifest digest\n";
  }
  auto size = [&](int level) { return compress(text, Compression::kGzip, 2, level).second.size; };
  EXPECT_LE(size(2), size(1));
  EXPECT_LT(size(6), size(2));
  EXPECT_LE(size(9), size(6));
}

// gzip(1) and Python's gzip module, two decoders that share no code with the
// one above, accept the stream (header, every fragment, CRC and length).
TEST(Compression, GzipIsReadByGzipAndPython) {
  if (!test::have_tool("gzip") || !test::have_tool("python3")) {
    GTEST_SKIP() << "gzip and python3 are needed";
  }
  test::ScratchDir dir;
  for (const auto& [name, in] : edge_inputs()) {
    for (int level : {1, 2, 6}) {
      SCOPED_TRACE(name + " at level " + std::to_string(level));
      const std::string gz = dir / "layer.gz";
      {
        std::ofstream f(gz, std::ios::binary);
        const std::string out = compress(in, Compression::kGzip, 2, level).first;
        f.write(out.data(), static_cast<std::streamsize>(out.size()));
      }
      test::run("gzip -t " + gz);
      const std::string hex = test::run(
          "python3 -c 'import gzip, hashlib, sys; "
          "print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest(), end=\"\")' " +
          gz);
      EXPECT_EQ("sha256:" + hex, Digest::of(in).str());
    }
  }
}

TEST(Compression, CompressorNameSaysTheEngine) {
  // igzip with the version of ISA-L built against (a new one may cut other bytes).
  EXPECT_EQ(compressor_name({}), "gzip level 1 igzip " + std::to_string(ISAL_MAJOR_VERSION) + "." +
                                     std::to_string(ISAL_MINOR_VERSION));
  EXPECT_EQ(compressor_name({.algorithm = Compression::kGzip, .level = 6}), "gzip level 6 zlib");
  EXPECT_EQ(compressor_name({.algorithm = Compression::kZstd}), "zstd level 3");
}

// pigz -i and `cat a.gz b.gz` write several members; they are one stream.
TEST(Compression, ConcatenatedGzipMembersDecompressAsOne) {
  const std::string a = mixed_input(), b = "tail member\n";
  const std::string joined = compress(a, Compression::kGzip, 2).first +
                             compress("", Compression::kGzip, 1).first +
                             compress(b, Compression::kGzip, 1).first;
  EXPECT_EQ(decompress(joined, Compression::kGzip), a + b);
}

TEST(Compression, GzipWithACorruptCrcIsRefused) {
  std::string out = compress(mixed_input(), Compression::kGzip, 1).first;
  out[out.size() - 8] = static_cast<char>(out[out.size() - 8] ^ 1);  // the CRC-32's first byte
  EXPECT_THROW(decompress(out, Compression::kGzip), InputError);
}

TEST(Compression, GzipFollowedByGarbageIsRefused) {
  const std::string out = compress("payload", Compression::kGzip, 1).first + "not gzip at all";
  EXPECT_THROW(decompress(out, Compression::kGzip), InputError);
}

TEST(Compression, TruncatedGzipIsRefused) {
  auto [out, c] = compress(mixed_input(), Compression::kGzip, 1);
  out.resize(out.size() / 2);
  EXPECT_THROW(decompress(out, Compression::kGzip), InputError);
}

}  // namespace
}  // namespace ecr

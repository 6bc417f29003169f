// Layer compression: detection by magic bytes, deterministic parallel gzip,
// multithreaded zstd, and decompression with bomb caps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ecr/digest.hpp"
#include "ecr/image.hpp"

namespace ecr {

enum class Compression { kNone, kGzip, kZstd };

// Detects gzip (1f 8b) or zstd (28 b5 2f fd) from a blob's first bytes; anything
// else (a tar, or fewer than 4 bytes) is kNone. Media types are not trusted for this.
Compression detect_compression(std::span<const std::byte> head) noexcept;
std::string_view compression_name(Compression c) noexcept;

// Caps on what decompressing outside input may produce.
struct DecompressionLimits {
  // Total output cap. 64 GiB is far above any layer a registry takes and
  // below what fills this machine's disk.
  std::uint64_t max_bytes = 64ull << 30;
  // Output may exceed input by at most this factor once past `ratio_floor`
  // bytes. Above DEFLATE's maximum (about 1032:1), so no honest gzip trips it;
  // zstd frames can claim far more.
  std::uint64_t max_ratio = 1500;
  std::uint64_t ratio_floor = 64ull << 20;
};

// Wraps `compressed` (gzip, possibly multi-member, or zstd; kNone passes
// through) and yields the decompressed bytes. Throws InputError on corrupt
// data or when a limit is crossed ("decompression bomb").
std::unique_ptr<ByteStream> decompressing_stream(std::unique_ptr<ByteStream> compressed,
                                                 Compression algorithm,
                                                 const DecompressionLimits& limits = {});

// The level each algorithm compresses at unless told otherwise, chosen once
// for every path (ecr-push, ecr image copy, the library), so one layer gives
// one digest whichever tool pushed it.
// gzip 1: the fastest level, which bounds a docker-archive push (DESIGN.md
// performance model); higher levels gain a few percent of size.
//
// Which deflate engine makes each gzip level (docs/performance.md has the
// figures, from bench/compress_bench.cpp on a tar of Python and Perl sources):
//   1 -> ISA-L igzip level 1: zlib 1's size (+0.6-2.3%) at ~6x its speed per core.
//   2 -> ISA-L igzip level 2: between zlib 1 and 2 in size, ~6x zlib 2's speed.
//   3-9 -> zlib at the same level: what these levels are asked for is size,
//          which only zlib gives (ISA-L's best is larger than zlib 3).
// ISA-L level 3 is not used although it exists: its output differs between
// CPUs (its AVX-512, AVX2 and SSE4.2 kernels each make other bytes), and a
// layer's digest must not depend on the machine that compressed it. Levels 1
// and 2 made the same bytes with all three kernels (docs/performance.md, how
// it was checked); on an x86-64 without SSE4.2 (none since 2008) ISA-L falls
// back to a C kernel with another hash, and the bytes, still valid gzip,
// differ. aarch64 has not been compared yet.
inline constexpr int kDefaultGzipLevel = 1;
// zstd 3: zstd's own default, and what `zstd` and containerd's zstd layers use.
inline constexpr int kDefaultZstdLevel = 3;

struct CompressOptions {
  Compression algorithm = Compression::kGzip;
  // 0: the algorithm's default (kDefaultGzipLevel, kDefaultZstdLevel); else
  // gzip 1-9, zstd 1-19.
  int level = 0;
  // Worker threads; 0 = hardware concurrency. The output is identical for any
  // value (gzip: fixed independent blocks; zstd: always in its worker mode).
  std::size_t threads = 0;

  // The level used: `level`, or the algorithm's default for 0.
  int effective_level() const noexcept;
  // Throws InputError naming the algorithm's range when the level is outside it.
  void validate() const;
};

// gzip block size: pigz's default. Each block is compressed independently,
// primed with the 32 KiB before it, so the output depends only on the input.
inline constexpr std::size_t kGzipBlockSize = 128 * 1024;

// Names the compressor that `options` select: algorithm, level, and for gzip
// the deflate engine ("gzip level 1 igzip", "gzip level 6 zlib", "zstd level
// 3"). Digests remembered for compressed layers (the push digest index) are
// keyed by it, so a change of engine, which changes the bytes, misses the
// entries an older build recorded instead of reusing a digest it would no
// longer produce.
std::string compressor_name(const CompressOptions& options);

struct CompressedLayer {
  Digest digest;          // of the compressed bytes
  std::int64_t size = 0;  // compressed
  Digest diff_id;         // of the uncompressed bytes
  std::int64_t uncompressed_size = 0;
};

// Compresses `in` to `out` in one pass, hashing both sides on the way.
// Throws what `in` and `out` throw; InputError for an invalid level.
CompressedLayer compress_layer(ByteStream& in,
                               const std::function<void(std::span<const std::byte>)>& out,
                               const CompressOptions& options = {});

}  // namespace ecr

// One block of the deterministic parallel gzip (compression.cpp): a raw
// DEFLATE fragment for one kGzipBlockSize block, primed with the 32 KiB before
// it, so that the fragments of all blocks concatenate into one valid stream.
// Two engines make it: ISA-L's igzip for the fast levels and zlib for the
// rest (the level mapping is documented at kDefaultGzipLevel in
// include/ecr/compression.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ecr::oci {

enum class DeflateEngine { kIsal, kZlib };

// Which engine, at which of its own levels, compresses a gzip level 1-9.
struct DeflateSetting {
  DeflateEngine engine;
  int level;  // ISA-L 1-3, or zlib 1-9
};
DeflateSetting deflate_setting_for_gzip_level(int gzip_level) noexcept;

struct DeflatedBlock {
  std::vector<std::byte> data;  // raw DEFLATE, byte-aligned at its end
  std::uint32_t crc = 0;        // CRC-32 (gzip's) of the block, without the dictionary
  std::size_t length = 0;       // bytes of the block, without the dictionary
};

// Compresses `block` as a raw DEFLATE fragment whose back-references may reach
// into `dictionary` (at most the 32 KiB window is used). A block that is not
// `last` ends with a sync flush (an empty stored block), so the next fragment
// starts byte-aligned; the `last` one sets BFINAL. The bytes depend only on
// the arguments. Throws InputError if the engine refuses the level.
DeflatedBlock deflate_block(std::span<const std::byte> dictionary, std::span<const std::byte> block,
                            DeflateSetting setting, bool last);

// gzip's CRC-32 of `bytes`, continuing from `crc` (0 to start): ISA-L's
// folding implementation, several times faster than zlib's crc32.
std::uint32_t gzip_crc32(std::uint32_t crc, std::span<const std::byte> bytes) noexcept;

}  // namespace ecr::oci

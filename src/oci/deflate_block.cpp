#include "oci/deflate_block.hpp"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <memory>
#include <string>

#include "ecr/error.hpp"

namespace ecr::oci {
namespace {

constexpr std::size_t kWindow = 32 * 1024;  // DEFLATE's reach back

// ISA-L's scratch memory for one level: the stream state (~100 KiB, too large
// for a pool thread's stack to hold comfortably) and the level's hash tables.
// One per pool thread, reused for every block it compresses: allocating
// ~400 KiB per 128 KiB block would cost page faults on every block.
// isal_deflate_init and the dictionary set-up clear every table the output
// depends on, so reuse cannot make a block's bytes depend on the block the
// thread compressed before (the thread-count tests check this).
struct IsalWorkspace {
  isal_zstream stream;
  std::vector<std::uint8_t> level_buf;
};

std::size_t isal_level_buf_size(int level) {
  switch (level) {
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    case 3:
      return ISAL_DEF_LVL3_DEFAULT;
  }
  throw InputError("ISA-L: no compression level " + std::to_string(level));
}

// An upper bound on one fragment: the block as stored blocks (5 bytes per
// 64 KiB) or Huffman-coded, plus a block header and the closing empty stored
// block. Twice the input is far above either; sized once so that each engine
// finishes in one call, and its output never depends on how its output buffer
// was cut.
std::size_t fragment_bound(std::size_t block) { return 2 * block + 4096; }

DeflatedBlock deflate_isal(std::span<const std::byte> dictionary, std::span<const std::byte> block,
                           int level, bool last) {
  thread_local std::unique_ptr<IsalWorkspace> workspace;
  if (!workspace) workspace = std::make_unique<IsalWorkspace>();
  isal_zstream& s = workspace->stream;
  workspace->level_buf.resize(isal_level_buf_size(level));

  isal_deflate_init(&s);
  s.gzip_flag = IGZIP_DEFLATE;  // the gzip header and trailer go once around all blocks
  s.level = static_cast<std::uint32_t>(level);
  s.level_buf = workspace->level_buf.data();
  s.level_buf_size = static_cast<std::uint32_t>(workspace->level_buf.size());
  s.end_of_stream = last ? 1 : 0;
  s.flush = last ? NO_FLUSH : SYNC_FLUSH;
  if (!dictionary.empty()) {
    // ISA-L keeps a copy; the const_cast is for its non-const parameter only.
    auto* dict = reinterpret_cast<std::uint8_t*>(const_cast<std::byte*>(dictionary.data()));
    if (isal_deflate_set_dict(&s, dict, static_cast<std::uint32_t>(dictionary.size())) != COMP_OK) {
      throw InputError("ISA-L: cannot set the deflate dictionary");
    }
  }
  DeflatedBlock out;
  out.length = block.size();
  out.data.resize(fragment_bound(block.size()));
  s.next_in = reinterpret_cast<std::uint8_t*>(const_cast<std::byte*>(block.data()));
  s.avail_in = static_cast<std::uint32_t>(block.size());
  s.next_out = reinterpret_cast<std::uint8_t*>(out.data.data());
  s.avail_out = static_cast<std::uint32_t>(out.data.size());
  const int rc = isal_deflate(&s);
  if (rc != COMP_OK) {
    throw InputError("ISA-L: deflate at level " + std::to_string(level) + " failed (" +
                     std::to_string(rc) + ")");
  }
  // Everything consumed and the flush (or the final block) written out.
  const bool done = s.avail_in == 0 && (last ? s.internal_state.state == ZSTATE_END
                                             : s.internal_state.state == ZSTATE_NEW_HDR);
  if (!done) throw InputError("ISA-L: deflate stopped before the end of the block");
  out.data.resize(out.data.size() - s.avail_out);
  return out;
}

DeflatedBlock deflate_zlib(std::span<const std::byte> dictionary, std::span<const std::byte> block,
                           int level, bool last) {
  z_stream z{};
  // Raw deflate (-15): the gzip header and trailer are written once, around all blocks.
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw InputError("zlib: cannot initialize deflate at level " + std::to_string(level));
  }
  if (!dictionary.empty()) {
    deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary.data()),
                         static_cast<uInt>(dictionary.size()));
  }
  DeflatedBlock out;
  out.length = block.size();
  out.data.resize(deflateBound(&z, block.size()) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(block.data()));
  z.avail_in = static_cast<uInt>(block.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data.data());
  z.avail_out = static_cast<uInt>(out.data.size());
  const int rc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
  const bool ok = last ? rc == Z_STREAM_END : rc == Z_OK && z.avail_in == 0;
  out.data.resize(out.data.size() - z.avail_out);
  deflateEnd(&z);
  if (!ok) throw InputError("zlib: deflate failed");
  return out;
}

}  // namespace

DeflateSetting deflate_setting_for_gzip_level(int gzip_level) noexcept {
  if (gzip_level <= 2) return {DeflateEngine::kIsal, std::max(gzip_level, 1)};
  return {DeflateEngine::kZlib, gzip_level};
}

DeflatedBlock deflate_block(std::span<const std::byte> dictionary, std::span<const std::byte> block,
                            DeflateSetting setting, bool last) {
  if (dictionary.size() > kWindow) dictionary = dictionary.last(kWindow);
  DeflatedBlock out = setting.engine == DeflateEngine::kIsal
                          ? deflate_isal(dictionary, block, setting.level, last)
                          : deflate_zlib(dictionary, block, setting.level, last);
  out.crc = gzip_crc32(0, block);
  return out;
}

std::uint32_t gzip_crc32(std::uint32_t crc, std::span<const std::byte> bytes) noexcept {
  return crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

}  // namespace ecr::oci

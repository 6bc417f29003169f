// Layer compression. gzip is pigz-style: the input is cut into fixed
// kGzipBlockSize blocks, each deflated on the pool as a raw deflate fragment
// primed with the 32 KiB before it and ended with a sync flush (the last with
// the final block), so the concatenation is one valid deflate stream whose
// bytes do not depend on how many threads made it (oci/deflate_block.hpp).
#include "ecr/compression.hpp"

#include <isa-l.h>  // ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#include <deque>
#include <future>
#include <vector>

#include "core/thread_pool.hpp"
#include "ecr/error.hpp"
#include "oci/deflate_block.hpp"

namespace ecr {
namespace {

std::size_t read_full(ByteStream& in, std::byte* dst, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = in.read(std::span<std::byte>(dst + got, n - got));
    if (r == 0) break;
    got += r;
  }
  return got;
}

using Sink = std::function<void(std::span<const std::byte>)>;

CompressedLayer gzip_parallel(ByteStream& in, const Sink& out, const CompressOptions& o) {
  o.validate();
  ThreadPool pool(o.threads);
  Sha256 compressed_hash, plain_hash;
  std::int64_t compressed_size = 0;
  auto emit = [&](std::span<const std::byte> bytes) {
    compressed_hash.update(bytes.data(), bytes.size());
    compressed_size += static_cast<std::int64_t>(bytes.size());
    out(bytes);
  };
  // Fixed header: no name, mtime 0, OS "unknown", so it never varies.
  static constexpr std::byte kHeader[10] = {
      std::byte{0x1f}, std::byte{0x8b}, std::byte{8}, std::byte{0}, std::byte{0},
      std::byte{0},    std::byte{0},    std::byte{0}, std::byte{0}, std::byte{255}};
  emit(kHeader);

  std::uint32_t crc = 0;
  std::uint64_t total = 0;
  // Bounded look-ahead: memory is (2 x threads) blocks, whatever the layer size.
  const std::size_t max_in_flight = 2 * pool.size();
  std::deque<std::future<oci::DeflatedBlock>> pending;
  auto drain_one = [&] {
    oci::DeflatedBlock b = pending.front().get();
    pending.pop_front();
    crc = static_cast<std::uint32_t>(crc32_combine(crc, b.crc, static_cast<z_off_t>(b.length)));
    emit(b.data);
  };

  const oci::DeflateSetting setting = oci::deflate_setting_for_gzip_level(o.effective_level());
  // Each block is shared by its own task and the next block's, which reads its
  // last 32 KiB as the dictionary.
  using Block = std::shared_ptr<const std::vector<std::byte>>;
  auto read_block = [&in] {
    auto b = std::make_shared<std::vector<std::byte>>(kGzipBlockSize);
    b->resize(read_full(in, b->data(), b->size()));
    return b;
  };
  Block previous;
  Block block = read_block();
  while (true) {
    Block next = block->size() == kGzipBlockSize ? read_block() : nullptr;
    const bool last = !next || next->empty();
    plain_hash.update(block->data(), block->size());
    total += block->size();
    pending.push_back(pool.submit([previous, block, setting, last] {
      const std::span<const std::byte> dict =
          previous ? std::span<const std::byte>(*previous) : std::span<const std::byte>();
      return oci::deflate_block(dict, *block, setting, last);
    }));
    if (pending.size() >= max_in_flight) drain_one();
    if (last) break;
    previous = std::move(block);
    block = std::move(next);
  }
  while (!pending.empty()) drain_one();
  std::byte trailer[8];
  for (int i = 0; i < 4; ++i) trailer[i] = std::byte((crc >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) trailer[4 + i] = std::byte((total >> (8 * i)) & 0xff);
  emit(trailer);
  return CompressedLayer{.digest = compressed_hash.finish(),
                         .size = compressed_size,
                         .diff_id = plain_hash.finish(),
                         .uncompressed_size = static_cast<std::int64_t>(total)};
}

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

CompressedLayer zstd_compress(ByteStream& in, const Sink& out, const CompressOptions& o) {
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> c(ZSTD_createCCtx());
  o.validate();
  const int level = o.effective_level();
  std::size_t threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, level);
  // Always worker mode (nbWorkers >= 1): zstd's output is then the same for any
  // worker count, while nbWorkers 0 would frame it differently.
  if (ZSTD_isError(ZSTD_CCtx_setParameter(c.get(), ZSTD_c_nbWorkers, static_cast<int>(threads)))) {
    throw InputError("zstd was built without multithreading");
  }
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
  Sha256 compressed_hash, plain_hash;
  std::int64_t compressed_size = 0, plain_size = 0;
  std::vector<std::byte> ibuf(ZSTD_CStreamInSize() * 8), obuf(ZSTD_CStreamOutSize());
  auto flush = [&](ZSTD_inBuffer& ib, ZSTD_EndDirective mode) {
    while (true) {
      ZSTD_outBuffer ob{obuf.data(), obuf.size(), 0};
      const std::size_t rem = ZSTD_compressStream2(c.get(), &ob, &ib, mode);
      if (ZSTD_isError(rem)) throw InputError(std::string("zstd: ") + ZSTD_getErrorName(rem));
      compressed_hash.update(obuf.data(), ob.pos);
      compressed_size += static_cast<std::int64_t>(ob.pos);
      out(std::span<const std::byte>(obuf.data(), ob.pos));
      if (mode == ZSTD_e_end ? rem == 0 : ib.pos == ib.size) break;
    }
  };
  while (std::size_t n = read_full(in, ibuf.data(), ibuf.size())) {
    plain_hash.update(ibuf.data(), n);
    plain_size += static_cast<std::int64_t>(n);
    ZSTD_inBuffer ib{ibuf.data(), n, 0};
    flush(ib, ZSTD_e_continue);
  }
  ZSTD_inBuffer empty{nullptr, 0, 0};
  flush(empty, ZSTD_e_end);
  return CompressedLayer{.digest = compressed_hash.finish(),
                         .size = compressed_size,
                         .diff_id = plain_hash.finish(),
                         .uncompressed_size = plain_size};
}

// Decompression, checked against the limits after every output chunk.
class Decompressor final : public ByteStream {
 public:
  Decompressor(std::unique_ptr<ByteStream> in, Compression alg, DecompressionLimits limits)
      : in_(std::move(in)), alg_(alg), limits_(limits), ibuf_(1 << 16) {
    if (alg_ == Compression::kGzip) {
      gzip_ = std::make_unique<inflate_state>();
      start_gzip_member();
    } else if (alg_ == Compression::kZstd) {
      d_.reset(ZSTD_createDCtx());
      // Refuse frames asking for windows past 128 MiB (zstd's own default cap).
      ZSTD_DCtx_setParameter(d_.get(), ZSTD_d_windowLogMax, 27);
    }
  }

  std::size_t read(std::span<std::byte> out) override {
    if (alg_ == Compression::kNone) return in_->read(out);
    while (true) {
      if (in_pos_ == in_len_ && !eof_) {
        in_len_ = in_->read(ibuf_);
        in_pos_ = 0;
        consumed_ += in_len_;
        eof_ = in_len_ == 0;
      }
      const std::size_t n = alg_ == Compression::kGzip ? inflate_some(out) : zstd_some(out);
      if (n > 0) {
        produced_ += n;
        if (produced_ > limits_.max_bytes ||
            (produced_ > limits_.ratio_floor && produced_ / (consumed_ + 1) > limits_.max_ratio)) {
          throw InputError("decompression bomb: " + std::string(compression_name(alg_)) +
                           " data expands past " + std::to_string(produced_) + " bytes from " +
                           std::to_string(consumed_) +
                           " (limits: " + std::to_string(limits_.max_bytes) + " bytes, ratio " +
                           std::to_string(limits_.max_ratio) + ")");
        }
        return n;
      }
      if (eof_ && in_pos_ == in_len_) {
        if (!at_frame_end_) {
          throw InputError(std::string(compression_name(alg_)) + " data is truncated");
        }
        return 0;
      }
    }
  }

 private:
  // ISA-L's inflate: 2.2-2.4x zlib's output per CPU second here (docs/performance.md). It checks
  // each member's header, CRC-32 and length itself.
  void start_gzip_member() {
    isal_inflate_init(gzip_.get());
    gzip_->crc_flag = ISAL_GZIP;
  }

  std::size_t inflate_some(std::span<std::byte> out) {
    if (at_frame_end_) {
      if (in_pos_ == in_len_) return 0;
      // Another gzip member follows (concatenated gzip is one valid stream).
      start_gzip_member();
      at_frame_end_ = false;
    }
    // Called even without new input: ISA-L may hold decoded bytes that did
    // not fit the last output buffer.
    inflate_state& s = *gzip_;
    s.next_in = reinterpret_cast<std::uint8_t*>(ibuf_.data() + in_pos_);
    s.avail_in = static_cast<std::uint32_t>(in_len_ - in_pos_);
    s.next_out = reinterpret_cast<std::uint8_t*>(out.data());
    s.avail_out = static_cast<std::uint32_t>(out.size());
    const int rc = isal_inflate(&s);
    // At a member's end ISA-L hands back the bytes it read ahead, so
    // avail_in is exactly what follows the member.
    in_pos_ = in_len_ - s.avail_in;
    if (rc < 0) throw InputError("gzip data is corrupt: " + std::string(isal_inflate_error(rc)));
    at_frame_end_ = s.block_state == ISAL_BLOCK_FINISH;
    return out.size() - s.avail_out;
  }

  static std::string_view isal_inflate_error(int rc) {
    switch (rc) {
      case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
      case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
      case ISAL_INVALID_LOOKBACK:
        return "distance too far back";
      case ISAL_INVALID_WRAPPER:
        return "not a gzip header";
      case ISAL_UNSUPPORTED_METHOD:
        return "unknown compression method";
      case ISAL_INCORRECT_CHECKSUM:
        return "CRC-32 or length mismatch";
    }
    return "inflate failed";
  }

  std::size_t zstd_some(std::span<std::byte> out) {
    if (in_pos_ == in_len_ && !pending_output_) return 0;
    ZSTD_inBuffer ib{ibuf_.data(), in_len_, in_pos_};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(d_.get(), &ob, &ib);
    if (ZSTD_isError(rc)) {
      throw InputError(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc));
    }
    in_pos_ = ib.pos;
    at_frame_end_ = rc == 0;
    pending_output_ = ob.pos == ob.size;
    return ob.pos;
  }

  std::unique_ptr<ByteStream> in_;
  Compression alg_;
  DecompressionLimits limits_;
  std::vector<std::byte> ibuf_;
  std::size_t in_pos_ = 0, in_len_ = 0;
  std::uint64_t consumed_ = 0, produced_ = 0;
  bool eof_ = false;
  bool at_frame_end_ = true;  // an empty input is an empty stream
  bool pending_output_ = false;
  std::unique_ptr<inflate_state> gzip_;  // 85 KiB of ISA-L state and window
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> d_;
};

}  // namespace

Compression detect_compression(std::span<const std::byte> head) noexcept {
  auto at = [&](std::size_t i) { return std::to_integer<unsigned>(head[i]); };
  if (head.size() >= 2 && at(0) == 0x1f && at(1) == 0x8b) return Compression::kGzip;
  if (head.size() >= 4 && at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

std::string_view compression_name(Compression c) noexcept {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "none";
}

std::unique_ptr<ByteStream> decompressing_stream(std::unique_ptr<ByteStream> compressed,
                                                 Compression algorithm,
                                                 const DecompressionLimits& limits) {
  return std::make_unique<Decompressor>(std::move(compressed), algorithm, limits);
}

int CompressOptions::effective_level() const noexcept {
  if (level != 0) return level;
  return algorithm == Compression::kZstd ? kDefaultZstdLevel : kDefaultGzipLevel;
}

void CompressOptions::validate() const {
  const int l = effective_level();
  if (algorithm == Compression::kGzip && (l < 1 || l > 9)) {
    throw InputError("gzip level must be 1-9 (found " + std::to_string(l) + ")");
  }
  if (algorithm == Compression::kZstd && (l < 1 || l > 19)) {
    throw InputError("zstd level must be 1-19 (found " + std::to_string(l) + ")");
  }
}

std::string compressor_name(const CompressOptions& options) {
  std::string name = std::string(compression_name(options.algorithm)) + " level " +
                     std::to_string(options.effective_level());
  if (options.algorithm == Compression::kGzip) {
    const auto setting = oci::deflate_setting_for_gzip_level(options.effective_level());
    // The library's version is part of the name: a new ISA-L may cut
    // different bytes, and the digest index must then miss.
    name += setting.engine == oci::DeflateEngine::kIsal
                ? " igzip " + std::to_string(ISAL_MAJOR_VERSION) + "." +
                      std::to_string(ISAL_MINOR_VERSION)
                : " zlib";
  }
  return name;
}

CompressedLayer compress_layer(ByteStream& in, const Sink& out, const CompressOptions& options) {
  switch (options.algorithm) {
    case Compression::kGzip:
      return gzip_parallel(in, out, options);
    case Compression::kZstd:
      return zstd_compress(in, out, options);
    case Compression::kNone:
      break;
  }
  throw InputError("compress_layer needs gzip or zstd");
}

}  // namespace ecr

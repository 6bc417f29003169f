// SHA-256 for two streams at once on one core.
//
// With the x86 SHA extensions (SHA-NI), one stream's rounds wait on each
// other: the latency of sha256rnds2, not its throughput, sets the rate (about
// 1.65 GB/s on the 2-core EPYC machines this project is measured on, for
// OpenSSL and for the plain loop here alike). Two independent streams whose
// rounds are interleaved block by block go through 2.6-2.9 GB/s together
// (bench/sha256_bench.cpp). A push signs every UploadLayerPart body with its
// SHA-256 (SigV4's payload hash), most of the client's CPU, so the push hashes
// each part's body beside the next one's (transfer/layer_upload.cpp).
//
// Without SHA-NI a lane is an OpenSSL stream (Sha256), and update_pair()
// feeds the two lanes one after the other: the same digests, at one
// stream's rate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "ecr/digest.hpp"

namespace ecr {

class Sha256Lane {
 public:
  // kOpenSsl makes the lane an OpenSSL stream even where SHA-NI is there
  // (tests and benchmarks of the fallback).
  enum class Engine { kBest, kOpenSsl };

  explicit Sha256Lane(Engine engine = Engine::kBest);

  void update(const void* data, std::size_t size);
  // Finishes the sum; the lane is then reset and may be reused.
  Digest finish();
  // Bytes fed since construction or the last finish().
  std::uint64_t size() const noexcept { return size_; }

  // Whether two lanes' rounds interleave on this CPU (it has SHA-NI).
  static bool interleaves() noexcept;

  // Feeds `a_size` bytes at `a_data` to `a` and `b_size` bytes at `b_data` to
  // `b`, as a.update() and b.update() would, interleaving the blocks the two
  // have in common. `a` and `b` must be different lanes.
  friend void update_pair(Sha256Lane& a, const void* a_data, std::size_t a_size, Sha256Lane& b,
                          const void* b_data, std::size_t b_size);

 private:
  // Feeds whole 64-byte blocks through the SHA-NI state.
  void absorb(const unsigned char*& data, std::size_t& size);
  // Completes a partly filled block from `data`, if one is waiting.
  void top_up(const unsigned char*& data, std::size_t& size);
  void reset() noexcept;

  std::uint32_t state_[8];
  std::array<unsigned char, 64> block_{};  // a block's first held_ bytes, waiting
  std::size_t held_ = 0;
  std::uint64_t size_ = 0;
  std::optional<Sha256> fallback_;  // without SHA-NI
};

}  // namespace ecr

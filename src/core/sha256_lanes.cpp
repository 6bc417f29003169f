#include "core/sha256_lanes.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define ECR_SHA256_NI 1
#endif

namespace ecr {
namespace {

constexpr std::uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#ifdef ECR_SHA256_NI

alignas(16) constexpr std::uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

bool cpu_has_sha_ni() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3_sse41 = (c & bit_SSSE3) != 0 && (c & bit_SSE4_1) != 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  return ssse3_sse41 && (b & bit_SHA) != 0;
}

// The rounds below are compiled for SHA-NI whatever the build targets; they
// run only when cpu_has_sha_ni().
#define ECR_SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

// The eight state words as SHA-NI holds them: ABEF and CDGH.
struct NiState {
  __m128i abef;
  __m128i cdgh;
};

ECR_SHA_NI NiState load_state(const std::uint32_t* h) {
  const __m128i dcba =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)), 0xB1);
  const __m128i efgh =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4)), 0x1B);
  return {_mm_alignr_epi8(dcba, efgh, 8), _mm_blend_epi16(efgh, dcba, 0xF0)};
}

ECR_SHA_NI void store_state(const NiState& s, std::uint32_t* h) {
  const __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

// Four rounds with the message words `w` (already scheduled).
ECR_SHA_NI inline void rounds4(NiState& s, __m128i w, int group) {
  const __m128i m =
      _mm_add_epi32(w, _mm_load_si128(reinterpret_cast<const __m128i*>(&kRound[4 * group])));
  s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, m);
  s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, _mm_shuffle_epi32(m, 0x0E));
}

// The next four message words from the sixteen before them (w0 the oldest).
ECR_SHA_NI inline __m128i schedule(__m128i w0, __m128i w1, __m128i w2, __m128i w3) {
  return _mm_sha256msg2_epu32(
      _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)), w3);
}

ECR_SHA_NI inline __m128i load_words(const unsigned char* p) {
  const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), big_endian);
}

ECR_SHA_NI void compress(std::uint32_t* h, const unsigned char* p, std::size_t blocks) {
  NiState s = load_state(h);
  for (; blocks > 0; --blocks, p += 64) {
    const NiState in = s;
    __m128i w0 = load_words(p);
    __m128i w1 = load_words(p + 16);
    __m128i w2 = load_words(p + 32);
    __m128i w3 = load_words(p + 48);
    rounds4(s, w0, 0), rounds4(s, w1, 1), rounds4(s, w2, 2), rounds4(s, w3, 3);
    for (int g = 4; g < 16; g += 4) {
      w0 = schedule(w0, w1, w2, w3), rounds4(s, w0, g);
      w1 = schedule(w1, w2, w3, w0), rounds4(s, w1, g + 1);
      w2 = schedule(w2, w3, w0, w1), rounds4(s, w2, g + 2);
      w3 = schedule(w3, w0, w1, w2), rounds4(s, w3, g + 3);
    }
    s.abef = _mm_add_epi32(s.abef, in.abef);
    s.cdgh = _mm_add_epi32(s.cdgh, in.cdgh);
  }
  store_state(s, h);
}

// Two streams' blocks, their rounds interleaved: the two chains are
// independent, so the core overlaps them.
ECR_SHA_NI void compress(std::uint32_t* ha, const unsigned char* pa, std::uint32_t* hb,
                         const unsigned char* pb, std::size_t blocks) {
  NiState a = load_state(ha);
  NiState b = load_state(hb);
  for (; blocks > 0; --blocks, pa += 64, pb += 64) {
    const NiState a_in = a;
    const NiState b_in = b;
    __m128i a0 = load_words(pa);
    __m128i b0 = load_words(pb);
    __m128i a1 = load_words(pa + 16);
    __m128i b1 = load_words(pb + 16);
    __m128i a2 = load_words(pa + 32);
    __m128i b2 = load_words(pb + 32);
    __m128i a3 = load_words(pa + 48);
    __m128i b3 = load_words(pb + 48);
    rounds4(a, a0, 0), rounds4(b, b0, 0), rounds4(a, a1, 1), rounds4(b, b1, 1);
    rounds4(a, a2, 2), rounds4(b, b2, 2), rounds4(a, a3, 3), rounds4(b, b3, 3);
    for (int g = 4; g < 16; g += 4) {
      a0 = schedule(a0, a1, a2, a3), b0 = schedule(b0, b1, b2, b3);
      rounds4(a, a0, g), rounds4(b, b0, g);
      a1 = schedule(a1, a2, a3, a0), b1 = schedule(b1, b2, b3, b0);
      rounds4(a, a1, g + 1), rounds4(b, b1, g + 1);
      a2 = schedule(a2, a3, a0, a1), b2 = schedule(b2, b3, b0, b1);
      rounds4(a, a2, g + 2), rounds4(b, b2, g + 2);
      a3 = schedule(a3, a0, a1, a2), b3 = schedule(b3, b0, b1, b2);
      rounds4(a, a3, g + 3), rounds4(b, b3, g + 3);
    }
    a.abef = _mm_add_epi32(a.abef, a_in.abef);
    a.cdgh = _mm_add_epi32(a.cdgh, a_in.cdgh);
    b.abef = _mm_add_epi32(b.abef, b_in.abef);
    b.cdgh = _mm_add_epi32(b.cdgh, b_in.cdgh);
  }
  store_state(a, ha);
  store_state(b, hb);
}

#else  // not x86-64: every lane is an OpenSSL stream, so nothing below runs

bool cpu_has_sha_ni() noexcept { return false; }
[[noreturn]] void compress(std::uint32_t*, const unsigned char*, std::size_t) { std::abort(); }
[[noreturn]] void compress(std::uint32_t*, const unsigned char*, std::uint32_t*,
                           const unsigned char*, std::size_t) {
  std::abort();
}

#endif

}  // namespace

bool Sha256Lane::interleaves() noexcept {
  static const bool has = cpu_has_sha_ni();
  return has;
}

Sha256Lane::Sha256Lane(Engine engine) {
  reset();
  if (engine == Engine::kOpenSsl || !interleaves()) fallback_.emplace();
}

void Sha256Lane::reset() noexcept {
  std::memcpy(state_, kInitial, sizeof state_);
  held_ = 0;
  size_ = 0;
}

void Sha256Lane::top_up(const unsigned char*& data, std::size_t& size) {
  if (held_ == 0) return;
  const std::size_t take = std::min(size, block_.size() - held_);
  std::memcpy(block_.data() + held_, data, take);
  held_ += take;
  data += take;
  size -= take;
  if (held_ == block_.size()) {
    compress(state_, block_.data(), 1);
    held_ = 0;
  }
}

void Sha256Lane::absorb(const unsigned char*& data, std::size_t& size) {
  top_up(data, size);
  if (held_ > 0) return;  // `data` ran out inside the waiting block
  const std::size_t blocks = size / 64;
  compress(state_, data, blocks);
  data += blocks * 64;
  size -= blocks * 64;
  std::memcpy(block_.data(), data, size);
  held_ = size;
  data += size;
  size = 0;
}

void Sha256Lane::update(const void* data, std::size_t size) {
  if (size == 0) return;
  size_ += size;
  if (fallback_) return fallback_->update(data, size);
  const auto* p = static_cast<const unsigned char*>(data);
  absorb(p, size);
}

void update_pair(Sha256Lane& a, const void* a_data, std::size_t a_size, Sha256Lane& b,
                 const void* b_data, std::size_t b_size) {
  if (a.fallback_ || b.fallback_) {
    a.update(a_data, a_size);
    b.update(b_data, b_size);
    return;
  }
  a.size_ += a_size;
  b.size_ += b_size;
  const auto* pa = static_cast<const unsigned char*>(a_data);
  const auto* pb = static_cast<const unsigned char*>(b_data);
  a.top_up(pa, a_size);
  b.top_up(pb, b_size);
  if (a.held_ == 0 && b.held_ == 0) {
    const std::size_t common = std::min(a_size, b_size) / 64;
    compress(a.state_, pa, b.state_, pb, common);
    pa += common * 64;
    a_size -= common * 64;
    pb += common * 64;
    b_size -= common * 64;
  }
  a.absorb(pa, a_size);
  b.absorb(pb, b_size);
}

Digest Sha256Lane::finish() {
  if (fallback_) {
    size_ = 0;
    return fallback_->finish();
  }
  const std::uint64_t bits = size_ * 8;
  block_[held_++] = 0x80;
  if (held_ > 56) {
    std::fill(block_.begin() + static_cast<std::ptrdiff_t>(held_), block_.end(), 0);
    compress(state_, block_.data(), 1);
    held_ = 0;
  }
  std::fill(block_.begin() + static_cast<std::ptrdiff_t>(held_), block_.begin() + 56, 0);
  for (int i = 0; i < 8; ++i) block_[63 - i] = static_cast<unsigned char>(bits >> (8 * i));
  compress(state_, block_.data(), 1);
  std::array<std::uint8_t, 32> sum{};
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j)
      sum[4 * i + j] = static_cast<std::uint8_t>(state_[i] >> (24 - 8 * j));
  }
  reset();
  return Digest::from_bytes(sum);
}

}  // namespace ecr

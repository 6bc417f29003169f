// AVX2 base64 encoding, 24 input bytes -> 32 characters per step, after the
// approach of Wojciech Mula and Daniel Lemire ("Faster Base64 Encoding and
// Decoding using AVX2 Instructions", 2018): spread each 3-byte group over a
// 32-bit lane, cut the four 6-bit fields out with two multiplies, then map
// fields to characters with one 16-entry shuffle lookup instead of branches.
// Decoding validates by ranges ('A'-'Z', 'a'-'z', '0'-'9', '+', '/'), which
// also yields each character's offset to its 6-bit value, then packs the
// fields back with two multiply-adds.
// Compiled with a target attribute, so the rest of the library stays baseline
// x86-64 and the loop runs only where the CPU reports AVX2.
#include "core/base64_avx2.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ECR_BASE64_AVX2 1
#endif

namespace ecr::base64::detail {

#ifdef ECR_BASE64_AVX2

bool have_avx2() noexcept { return __builtin_cpu_supports("avx2"); }

namespace {

// Each 128-bit lane holds 12 input bytes (four groups a,b,c). Reordering each
// group to b,a,c,b makes its 16-bit halves a:b and b:c, from which the fields
// are a[7:2] and a[1:0]b[7:4] (low half), b[3:0]c[7:6] and c[5:0] (high half).
__attribute__((target("avx2"))) inline __m256i fields_of(__m256i in) {
  const __m256i spread = _mm256_shuffle_epi8(
      in, _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                           1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10));
  // Fields 0 and 2 sit at bits 15..10 and 11..6 of their halves: a high
  // multiply by 2^6 and 2^10 shifts them right by 10 and 6 into bytes 0 and 2.
  const __m256i high = _mm256_mulhi_epu16(_mm256_and_si256(spread, _mm256_set1_epi32(0x0fc0fc00)),
                                          _mm256_set1_epi32(0x04000040));
  // Fields 1 and 3 sit at bits 9..4 and 5..0: a low multiply by 2^4 and 2^8
  // shifts them left into bytes 1 and 3.
  const __m256i low = _mm256_mullo_epi16(_mm256_and_si256(spread, _mm256_set1_epi32(0x003f03f0)),
                                         _mm256_set1_epi32(0x01000010));
  return _mm256_or_si256(high, low);
}

// Field -> character is field + offset, the offset fixed per range: 0..25
// +'A', 26..51 +('a'-26), 52..61 +('0'-52), 62 '+', 63 '/'. The range number
// (0 for 26..51, 1..12 for 52..63, 13 for 0..25) indexes the offset table.
__attribute__((target("avx2"))) inline __m256i characters_of(__m256i fields) {
  __m256i range = _mm256_subs_epu8(fields, _mm256_set1_epi8(51));
  const __m256i below_26 = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), fields);
  range = _mm256_or_si256(range, _mm256_and_si256(below_26, _mm256_set1_epi8(13)));
  const __m256i offsets =
      _mm256_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                       '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,  //
                       'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                       '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  return _mm256_add_epi8(fields, _mm256_shuffle_epi8(offsets, range));
}

__attribute__((target("avx2"))) inline __m256i in_range(__m256i c, char first, char last) {
  return _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8(static_cast<char>(first - 1))),
                          _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(last + 1)), c));
}

// Character -> 6-bit field. Bytes >= 0x80 compare as negative and fall in no
// range. Returns the fields and sets `valid` to all-ones bytes where the
// character is in the alphabet.
__attribute__((target("avx2"))) inline __m256i fields_from(__m256i c, __m256i& valid) {
  const __m256i upper = in_range(c, 'A', 'Z');
  const __m256i lower = in_range(c, 'a', 'z');
  const __m256i digit = in_range(c, '0', '9');
  const __m256i plus = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('+'));
  const __m256i slash = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('/'));
  valid = _mm256_or_si256(_mm256_or_si256(upper, lower),
                          _mm256_or_si256(digit, _mm256_or_si256(plus, slash)));
  __m256i offset = _mm256_and_si256(upper, _mm256_set1_epi8(-'A'));
  offset = _mm256_or_si256(offset, _mm256_and_si256(lower, _mm256_set1_epi8(26 - 'a')));
  offset = _mm256_or_si256(offset, _mm256_and_si256(digit, _mm256_set1_epi8(52 - '0')));
  offset = _mm256_or_si256(offset, _mm256_and_si256(plus, _mm256_set1_epi8(62 - '+')));
  offset = _mm256_or_si256(offset, _mm256_and_si256(slash, _mm256_set1_epi8(63 - '/')));
  return _mm256_add_epi8(c, offset);
}

// Four fields f0..f3 per 32-bit lane -> their 24 bits, big-endian, packed to
// the front of the register (bytes 24..31 are left over).
__attribute__((target("avx2"))) inline __m256i bytes_from(__m256i fields) {
  // f0*64 + f1 and f2*64 + f3 as 16-bit values, then (f0f1)*4096 + f2f3.
  const __m256i pairs = _mm256_maddubs_epi16(fields, _mm256_set1_epi32(0x01400140));
  const __m256i words = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
  const __m256i in_lane = _mm256_shuffle_epi8(
      words, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,  //
                              2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
  return _mm256_permutevar8x32_epi32(in_lane, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
}

}  // namespace

__attribute__((target("avx2"))) std::size_t decode_blocks_avx2(const char* in, std::size_t n,
                                                               char* out, bool& bad) noexcept {
  std::size_t done = 0;
  __m256i all_valid = _mm256_set1_epi8(-1);
  while (n - done >= 44) {
    const __m256i chars = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + done));
    __m256i valid;
    const __m256i fields = fields_from(chars, valid);
    all_valid = _mm256_and_si256(all_valid, valid);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), bytes_from(fields));
    done += 32;
    out += 24;
  }
  bad = _mm256_movemask_epi8(all_valid) != -1;
  return done;
}

__attribute__((target("avx2"))) std::size_t encode_blocks_avx2(const char* in, std::size_t n,
                                                               char* out) noexcept {
  std::size_t done = 0;
  while (n - done >= 28) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + done));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + done + 12));
    const __m256i block = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), characters_of(fields_of(block)));
    done += 24;
    out += 32;
  }
  return done;
}

#else

bool have_avx2() noexcept { return false; }
std::size_t encode_blocks_avx2(const char*, std::size_t, char*) noexcept { return 0; }
std::size_t decode_blocks_avx2(const char*, std::size_t, char*, bool& bad) noexcept {
  bad = false;
  return 0;
}

#endif

}  // namespace ecr::base64::detail

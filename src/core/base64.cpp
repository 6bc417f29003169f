// Base64 (RFC 4648 section 4) tuned for layer parts: a 20 MiB part is encoded
// once per upload and decoded once per part on the server, so both directions
// are table-driven with no per-character branches in the main loops.
#include "core/base64.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "core/base64_avx2.hpp"
#include "ecr/error.hpp"

namespace ecr::base64 {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xff;

// 12 input bits -> the two output characters they encode. 8 KiB, stays in L1,
// and halves the number of lookups compared to a 64-entry table.
constexpr auto kPairs = [] {
  std::array<std::array<char, 2>, 4096> t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  return t;
}();

// Character -> 6-bit value, kInvalid outside the alphabet ('=' included).
constexpr auto kValues = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(kInvalid);
  for (std::size_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}();

// Decoding tables, one per position in a quad: each maps a character to its
// bits already placed in the output bytes of a native-endian 32-bit word, so a
// quad decodes with four loads, three ORs and one 4-byte store. An invalid
// character sets a bit in the word's fourth byte, which is never a real output
// byte: OR-ing all words of the input gives one error mask to test at the end.
constexpr unsigned byte_shift(unsigned k) {
  return std::endian::native == std::endian::little ? 8 * k : 8 * (3 - k);
}
constexpr std::uint32_t kErrorMask = std::uint32_t{0xff} << byte_shift(3);

constexpr auto make_quad_table(unsigned position) {
  std::array<std::uint32_t, 256> t{};
  for (std::size_t c = 0; c < 256; ++c) {
    std::uint32_t v = kValues[c];
    if (v == kInvalid) {
      t[c] = kErrorMask;
      continue;
    }
    std::uint32_t b0 = 0, b1 = 0, b2 = 0;
    switch (position) {
      case 0:
        b0 = v << 2;
        break;
      case 1:
        b0 = v >> 4;
        b1 = (v & 0xf) << 4;
        break;
      case 2:
        b1 = v >> 2;
        b2 = (v & 0x3) << 6;
        break;
      default:
        b2 = v;
        break;
    }
    t[c] = (b0 << byte_shift(0)) | (b1 << byte_shift(1)) | (b2 << byte_shift(2));
  }
  return t;
}
constexpr auto kQuad0 = make_quad_table(0);
constexpr auto kQuad1 = make_quad_table(1);
constexpr auto kQuad2 = make_quad_table(2);
constexpr auto kQuad3 = make_quad_table(3);

inline std::uint64_t load_be64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline void put_pair(char* out, std::uint64_t twelve_bits) noexcept {
  std::memcpy(out, kPairs[twelve_bits & 0xfff].data(), 2);
}

// Encodes the 48 bits in the top of `v` (six input bytes) as eight characters.
inline void encode6(std::uint64_t v, char* out) noexcept {
  put_pair(out, v >> 52);
  put_pair(out + 2, v >> 40);
  put_pair(out + 4, v >> 28);
  put_pair(out + 6, v >> 16);
}

inline std::uint32_t decode_quad(const unsigned char* p) noexcept {
  return kQuad0[p[0]] | kQuad1[p[1]] | kQuad2[p[2]] | kQuad3[p[3]];
}

std::string printable(unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = std::string("0x") + kHex[c >> 4] + kHex[c & 0xf];
  if (c >= 0x21 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "' (" + hex + ")";
  return "byte " + hex;
}

// Asked once per process; on this project's x86-64 machines the vector loops
// run about 3x (encode) and 2x (decode) the scalar ones (bench/base64_bench).
bool use_avx2() noexcept {
  static const bool available = detail::have_avx2();
  return available;
}

[[noreturn]] void fail(const std::string& what) { throw InputError("invalid base64: " + what); }

// Called once the fast path knows something is wrong: finds the first bad
// character of the first `n` characters and says what it is.
[[noreturn]] void fail_at_first_bad(std::string_view in, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (kValues[c] != kInvalid) continue;
    if (c == '=') fail("padding '=' at offset " + std::to_string(i) + " is not at the end");
    fail("character " + printable(c) + " at offset " + std::to_string(i) +
         " is not in the base64 alphabet");
  }
  fail("internal error: no bad character found");  // unreachable: the mask said one exists
}

// Decodes the last quad, which alone may carry padding. Returns bytes written.
std::size_t decode_last_quad(std::string_view in, char* out) {
  const std::size_t at = in.size() - 4;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data()) + at;
  std::size_t data_chars = 4;
  if (p[3] == '=') data_chars = p[2] == '=' ? 2 : 3;
  std::uint32_t v[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < data_chars; ++i) {
    v[i] = kValues[p[i]];
    if (v[i] == kInvalid) fail_at_first_bad(in, in.size());
  }
  if (data_chars == 2 && (v[1] & 0xf) != 0) {
    fail("non-zero trailing bits in character " + printable(p[1]) + " at offset " +
         std::to_string(at + 1));
  }
  if (data_chars == 3 && (v[2] & 0x3) != 0) {
    fail("non-zero trailing bits in character " + printable(p[2]) + " at offset " +
         std::to_string(at + 2));
  }
  const std::uint32_t bits = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
  out[0] = static_cast<char>(bits >> 16);
  if (data_chars >= 3) out[1] = static_cast<char>(bits >> 8);
  if (data_chars == 4) out[2] = static_cast<char>(bits);
  return data_chars - 1;
}

}  // namespace

std::size_t encode_to(std::string_view in, char* out) noexcept {
  const char* p = in.data();
  std::size_t n = in.size();
  char* o = out;
  if (use_avx2()) {
    const std::size_t consumed = detail::encode_blocks_avx2(p, n, o);
    p += consumed;
    n -= consumed;
    o += consumed / 3 * 4;
  }
  // Twelve bytes per step through two overlapping 8-byte loads; each load
  // uses its top six bytes, so the loop stops while eight remain readable.
  while (n >= 14) {
    encode6(load_be64(p), o);
    encode6(load_be64(p + 6), o + 8);
    p += 12;
    o += 16;
    n -= 12;
  }
  while (n >= 3) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
                            static_cast<unsigned char>(p[2]);
    put_pair(o, v >> 12);
    put_pair(o + 2, v);
    p += 3;
    o += 4;
    n -= 3;
  }
  if (n > 0) {
    const std::uint32_t b0 = static_cast<unsigned char>(p[0]);
    const std::uint32_t b1 = n == 2 ? static_cast<unsigned char>(p[1]) : 0;
    o[0] = kAlphabet[b0 >> 2];
    o[1] = kAlphabet[((b0 & 0x3) << 4) | (b1 >> 4)];
    o[2] = n == 2 ? kAlphabet[(b1 & 0xf) << 2] : '=';
    o[3] = '=';
    o += 4;
  }
  return static_cast<std::size_t>(o - out);
}

std::string encode(std::string_view in) {
  std::string out(encoded_size(in.size()), '\0');
  encode_to(in, out.data());
  return out;
}

std::size_t decode_to(std::string_view in, char* out) {
  const std::size_t n = in.size();
  if (n % 4 != 0) {
    fail("length " + std::to_string(n) + " is not a multiple of 4 (input ends at offset " +
         std::to_string(n) + ")");
  }
  if (n == 0) return 0;
  // All quads but the last cannot hold padding. Each writes a 4-byte word of
  // which 3 bytes are output; the spare byte lands where the next quad's
  // output starts (max_decoded_size leaves room for it).
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t consumed = 0;
  std::uint32_t errors = 0;
  char* o = out;
  if (use_avx2()) {
    bool bad = false;
    consumed = detail::decode_blocks_avx2(in.data(), n, out, bad);
    if (bad) errors = kErrorMask;
    p += consumed;
    o += consumed / 4 * 3;
  }
  const std::size_t full_quads = (n - consumed) / 4 - 1;
  for (std::size_t q = 0; q < full_quads; ++q) {
    const std::uint32_t word = decode_quad(p);
    errors |= word;
    std::memcpy(o, &word, 4);
    p += 4;
    o += 3;
  }
  if ((errors & kErrorMask) != 0) fail_at_first_bad(in, n - 4);
  o += decode_last_quad(in, o);
  return static_cast<std::size_t>(o - out);
}

std::string decode(std::string_view in) {
  std::string out(max_decoded_size(in.size()), '\0');
  out.resize(decode_to(in, out.data()));
  return out;
}

}  // namespace ecr::base64

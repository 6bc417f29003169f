#include "core/base64.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ecr/error.hpp"

namespace ecr {
namespace {

std::string decode_error(std::string_view text) {
  try {
    base64::decode(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64::encode(plain), encoded);
    EXPECT_EQ(base64::decode(encoded), plain);
  }
}

TEST(Base64, EncodesEveryAlphabetCharacter) {
  std::string bytes;
  // 0x00 0x10 0x83 0x10 0x51 0x87 ... : consecutive 6-bit groups 0..63.
  for (int i = 0; i < 64; i += 4) {
    const unsigned v = static_cast<unsigned>(i) << 18 | static_cast<unsigned>(i + 1) << 12 |
                       static_cast<unsigned>(i + 2) << 6 | static_cast<unsigned>(i + 3);
    bytes += static_cast<char>(v >> 16);
    bytes += static_cast<char>(v >> 8);
    bytes += static_cast<char>(v);
  }
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  EXPECT_EQ(base64::encode(bytes), alphabet);
  EXPECT_EQ(base64::decode(alphabet), bytes);
}

TEST(Base64, RoundTripsRandomBytesOfEveryLengthTo300) {
  std::mt19937 rng(20240521);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t n = 0; n <= 300; ++n) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(byte(rng));
    const std::string encoded = base64::encode(data);
    ASSERT_EQ(encoded.size(), base64::encoded_size(n)) << n;
    ASSERT_EQ(encoded.size() % 4, 0u) << n;
    ASSERT_EQ(base64::decode(encoded), data) << n;
  }
}

TEST(Base64, EncodeToWritesExactlyEncodedSize) {
  const std::string data = "any carnal pleasure.";
  std::string buffer(base64::encoded_size(data.size()) + 4, '#');
  const std::size_t written = base64::encode_to(data, buffer.data());
  EXPECT_EQ(written, base64::encoded_size(data.size()));
  EXPECT_EQ(buffer, "YW55IGNhcm5hbCBwbGVhc3VyZS4=####");
}

TEST(Base64, DecodeToReturnsBytesWritten) {
  const std::string text = "YW55IGNhcm5hbCBwbGVhc3VyZQ==";
  std::string buffer(base64::max_decoded_size(text.size()), '#');
  const std::size_t written = base64::decode_to(text, buffer.data());
  EXPECT_EQ(written, 19u);
  EXPECT_EQ(buffer.substr(0, written), "any carnal pleasure");
}

TEST(Base64, AcceptsZeroTrailingBits) {
  EXPECT_EQ(base64::decode("QQ=="), "A");
  EXPECT_EQ(base64::decode("QUI="), "AB");
}

TEST(Base64, RejectsNonZeroTrailingBits) {
  EXPECT_EQ(decode_error("QR=="),
            "invalid base64: non-zero trailing bits in character 'R' (0x52) at offset 1");
  EXPECT_EQ(decode_error("AAAAQUJ="),
            "invalid base64: non-zero trailing bits in character 'J' (0x4a) at offset 6");
}

TEST(Base64, RejectsLengthNotMultipleOfFour) {
  EXPECT_EQ(decode_error("Zm9vY"),
            "invalid base64: length 5 is not a multiple of 4 (input ends at offset 5)");
  EXPECT_EQ(decode_error("Zg="),
            "invalid base64: length 3 is not a multiple of 4 (input ends at offset 3)");
  EXPECT_EQ(decode_error("Zg"),
            "invalid base64: length 2 is not a multiple of 4 (input ends at offset 2)");
}

TEST(Base64, RejectsCharactersOutsideAlphabet) {
  EXPECT_EQ(decode_error("Zm9v YmFy"),
            "invalid base64: length 9 is not a multiple of 4 (input ends at offset 9)");
  EXPECT_EQ(decode_error("Zm9vYm\nF"),
            "invalid base64: character byte 0x0a at offset 6 is not in the base64 alphabet");
  EXPECT_EQ(decode_error("Zm9v YmF"),
            "invalid base64: character byte 0x20 at offset 4 is not in the base64 alphabet");
  EXPECT_EQ(decode_error("ab-_"),
            "invalid base64: character '-' (0x2d) at offset 2 is not in the base64 alphabet");
  EXPECT_EQ(decode_error("AAAAab_c"),
            "invalid base64: character '_' (0x5f) at offset 6 is not in the base64 alphabet");
  EXPECT_EQ(decode_error(std::string("AA\0A", 4)),
            "invalid base64: character byte 0x00 at offset 2 is not in the base64 alphabet");
  EXPECT_EQ(decode_error("AAA\xc3"),
            "invalid base64: character byte 0xc3 at offset 3 is not in the base64 alphabet");
}

TEST(Base64, ReportsFirstBadCharacterInLongInput) {
  std::string text(4000, 'A');
  text[2222] = '*';
  text[3000] = '!';
  EXPECT_EQ(decode_error(text),
            "invalid base64: character '*' (0x2a) at offset 2222 is not in the base64 alphabet");
}

TEST(Base64, RejectsMisplacedPadding) {
  EXPECT_EQ(decode_error("Zg==Zg=="), "invalid base64: padding '=' at offset 2 is not at the end");
  EXPECT_EQ(decode_error("Z==="), "invalid base64: padding '=' at offset 1 is not at the end");
  EXPECT_EQ(decode_error("===="), "invalid base64: padding '=' at offset 0 is not at the end");
  EXPECT_EQ(decode_error("Zg=A"), "invalid base64: padding '=' at offset 2 is not at the end");
  EXPECT_EQ(decode_error("Z=g="), "invalid base64: padding '=' at offset 1 is not at the end");
  EXPECT_EQ(decode_error("=Zg="), "invalid base64: padding '=' at offset 0 is not at the end");
}

}  // namespace
}  // namespace ecr

namespace ecr {
namespace {

// Bit-at-a-time encoder, independent of the table and vector code paths.
std::string reference_encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : data) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

TEST(Base64, MatchesBitwiseReferenceOnLargeBuffers) {
  std::mt19937 rng(7);
  for (std::size_t n : {1000u, 4096u, 65535u, 65536u, 65537u}) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    const std::string expected = reference_encode(data);
    ASSERT_EQ(base64::encode(data), expected) << n;
    ASSERT_EQ(base64::decode(expected), data) << n;
  }
}

TEST(Base64, DecodesEveryByteValueAtEveryBlockPosition) {
  std::string data;
  for (int round = 0; round < 3; ++round) {
    for (int b = 0; b < 256; ++b) data += static_cast<char>(b + round);
  }
  for (std::size_t shift = 0; shift < 40; ++shift) {
    const std::string slice = data.substr(shift);
    ASSERT_EQ(base64::decode(reference_encode(slice)), slice) << shift;
  }
}

// A bad character anywhere in a long input is found, whichever loop (vector
// block, scalar quad or padded last quad) sees it.
TEST(Base64, RejectsBadCharacterAtEveryPosition) {
  // 200 characters, no padding: even '=' in the last two places is an error,
  // since 'p' (value 41) has non-zero low bits and "Wl=a" misplaces it.
  const std::string good = reference_encode(std::string(150, '\x5a'));
  ASSERT_EQ(good.substr(196), "Wlpa");
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (char bad : {'=', '-', '\x80', '\xff', ' ', '\0', '@', '[', '`', '{', ':', '.'}) {
      std::string text = good;
      text[at] = bad;
      EXPECT_THROW(base64::decode(text), InputError) << at << " " << int(bad);
    }
  }
}

}  // namespace
}  // namespace ecr

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
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
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
  EXPECT_EQ(decode_error("Zg==Zg=="),
            "invalid base64: padding '=' at offset 2 is not at the end");
  EXPECT_EQ(decode_error("Z==="), "invalid base64: padding '=' at offset 1 is not at the end");
  EXPECT_EQ(decode_error("===="), "invalid base64: padding '=' at offset 0 is not at the end");
  EXPECT_EQ(decode_error("Zg=A"), "invalid base64: padding '=' at offset 2 is not at the end");
  EXPECT_EQ(decode_error("Z=g="), "invalid base64: padding '=' at offset 1 is not at the end");
  EXPECT_EQ(decode_error("=Zg="), "invalid base64: padding '=' at offset 0 is not at the end");
}

}  // namespace
}  // namespace ecr

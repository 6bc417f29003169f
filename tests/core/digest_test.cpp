#include "ecr/digest.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <unordered_set>

#include "ecr/error.hpp"

namespace ecr {
namespace {

constexpr char kEmptySha[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcSha[] =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// FIPS 180-2 test vector, two blocks.
constexpr char kTwoBlockInput[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr char kTwoBlockSha[] =
    "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

std::string parse_error(std::string_view text) {
  try {
    Digest::parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Digest, ParsesValidDigest) {
  const Digest d = Digest::parse(kAbcSha);
  EXPECT_EQ(d.str(), kAbcSha);
  EXPECT_EQ(d.algorithm(), "sha256");
  EXPECT_EQ(d.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(Digest::valid(kAbcSha));
}

TEST(Digest, RejectsMissingAlgorithm) {
  const std::string hex(64, 'a');
  EXPECT_EQ(parse_error(hex),
            "invalid digest \"" + hex + "\": missing algorithm prefix \"sha256:\"");
  EXPECT_FALSE(Digest::valid(hex));
  EXPECT_EQ(parse_error(""), "invalid digest \"\": missing algorithm prefix \"sha256:\"");
  EXPECT_FALSE(Digest::valid(""));
}

TEST(Digest, RejectsEmptyAlgorithm) {
  EXPECT_EQ(parse_error(":" + std::string(64, 'a')),
            "invalid digest \":" + std::string(64, 'a') + "\": empty algorithm before ':'");
}

TEST(Digest, RejectsUnsupportedAlgorithm) {
  const std::string text = "sha512:" + std::string(128, '0');
  EXPECT_EQ(parse_error(text), "invalid digest \"sha512:" + std::string(73, '0') +
                                   "\"... (135 bytes): unsupported algorithm \"sha512\" "
                                   "(only sha256 is accepted)");
  EXPECT_FALSE(Digest::valid(text));
  EXPECT_FALSE(Digest::valid("SHA256:" + std::string(64, '0')));
}

TEST(Digest, RejectsWrongLength) {
  EXPECT_EQ(parse_error("sha256:abc"),
            "invalid digest \"sha256:abc\": hex part has 3 characters, expected 64");
  EXPECT_EQ(parse_error("sha256:"),
            "invalid digest \"sha256:\": hex part has 0 characters, expected 64");
  EXPECT_FALSE(Digest::valid("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(Digest::valid("sha256:" + std::string(65, 'a')));
  EXPECT_EQ(parse_error("sha256:" + std::string(65, 'a')),
            "invalid digest \"sha256:" + std::string(65, 'a') +
                "\": hex part has 65 characters, expected 64");
}

TEST(Digest, RejectsUppercaseHex) {
  std::string text = kAbcSha;
  text[10] = 'A';
  EXPECT_EQ(parse_error(text),
            "invalid digest \"" + text + "\": uppercase hex character 'A' at offset 10");
  EXPECT_FALSE(Digest::valid(text));
}

TEST(Digest, RejectsNonHexCharacters) {
  std::string text = kAbcSha;
  text[70] = 'g';
  EXPECT_EQ(parse_error(text),
            "invalid digest \"" + text + "\": non-hex character 'g' at offset 70");
  EXPECT_FALSE(Digest::valid(text));
  text[70] = '\n';
  EXPECT_EQ(parse_error(text), "invalid digest \"" + std::string(kAbcSha).substr(0, 70) + "\\x0a" +
                                   std::string(kAbcSha).substr(71) +
                                   "\": non-hex character byte 0x0a at offset 70");
  EXPECT_FALSE(Digest::valid(text));
}

TEST(Digest, RejectsSurroundingWhitespace) {
  EXPECT_FALSE(Digest::valid(std::string(kAbcSha) + " "));
  EXPECT_FALSE(Digest::valid(std::string(" ") + kAbcSha));
  EXPECT_THROW(Digest::parse(std::string(kAbcSha) + "\n"), InputError);
}

TEST(Digest, QuotesLongInputTruncated) {
  const std::string text(1000, 'x');
  EXPECT_EQ(parse_error(text), "invalid digest \"" + std::string(80, 'x') +
                                   "\"... (1000 bytes): missing algorithm prefix \"sha256:\"");
}

TEST(Digest, KnownSha256Vectors) {
  EXPECT_EQ(Digest::of("").str(), kEmptySha);
  EXPECT_EQ(Digest::of("abc").str(), kAbcSha);
  EXPECT_EQ(Digest::of(kTwoBlockInput).str(), kTwoBlockSha);
}

TEST(Digest, OneMillionAsVector) {
  EXPECT_EQ(Digest::of(std::string(1000000, 'a')).str(),
            "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Digest, FromBytesWritesLowercaseHex) {
  std::array<std::uint8_t, 32> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 8 + 7);
  EXPECT_EQ(Digest::from_bytes(bytes).str(),
            "sha256:070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

TEST(Digest, ComparesAndHashesByText) {
  const Digest a = Digest::parse(kAbcSha);
  const Digest b = Digest::of("abc");
  const Digest e = Digest::of("");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, e);
  EXPECT_LT(a, e);  // "ba78..." < "e3b0..."
  std::unordered_set<Digest> set{a, b, e};
  EXPECT_EQ(set.size(), 2u);
}

TEST(Sha256, StreamingInOddChunksEqualsOneShot) {
  std::string data(100003, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131 + 7) % 251);
  const Digest expected = Digest::of(data);
  for (std::size_t chunk : {1u, 3u, 63u, 64u, 65u, 997u, 4096u, 65537u}) {
    Sha256 hasher;
    for (std::size_t at = 0; at < data.size(); at += chunk) {
      hasher.update(std::string_view(data).substr(at, chunk));
    }
    EXPECT_EQ(hasher.size(), data.size()) << "chunk " << chunk;
    EXPECT_EQ(hasher.finish(), expected) << "chunk " << chunk;
  }
}

TEST(Sha256, FinishResetsForReuse) {
  Sha256 hasher;
  hasher.update("ab");
  hasher.update(std::string_view("c"));
  EXPECT_EQ(hasher.finish().str(), kAbcSha);
  EXPECT_EQ(hasher.size(), 0u);
  EXPECT_EQ(hasher.finish().str(), kEmptySha);
  hasher.update("abc", 3);
  EXPECT_EQ(hasher.finish().str(), kAbcSha);
}

TEST(Sha256, MovedHasherKeepsState) {
  Sha256 first;
  first.update("a");
  Sha256 second(std::move(first));
  second.update("bc");
  EXPECT_EQ(second.size(), 3u);
  Sha256 third;
  third = std::move(second);
  EXPECT_EQ(third.finish().str(), kAbcSha);
}

}  // namespace
}  // namespace ecr

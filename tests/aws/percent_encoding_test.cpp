// Percent-encoding as SigV4 and ecr-local's download URLs use it, fed hostile input.
#include "aws/percent_encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ecr::aws {
namespace {

TEST(PercentEncoding, UnreservedCharactersPassAndEverythingElseIsUppercaseHex) {
  EXPECT_EQ(uri_encode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(uri_encode("a b+c=d&e%f", false), "a%20b%2Bc%3Dd%26e%25f");
}

TEST(PercentEncoding, SlashIsKeptOnlyInPaths) {
  EXPECT_EQ(uri_encode("team/app:v1", true), "team/app%3Av1");
  EXPECT_EQ(uri_encode("team/app:v1", false), "team%2Fapp%3Av1");
}

TEST(PercentEncoding, EmptyStaysEmpty) {
  EXPECT_EQ(uri_encode("", false), "");
  EXPECT_EQ(percent_decode(""), "");
}

TEST(PercentEncoding, NonAsciiIsEncodedByteByByte) {
  EXPECT_EQ(uri_encode("\xC3\xA9", false), "%C3%A9");  // U+00E9 in UTF-8
  EXPECT_EQ(uri_encode(std::string("\x00\x7F\xFF", 3), false), "%00%7F%FF");
  EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");
  EXPECT_EQ(percent_decode("caf\xC3\xA9"), "caf\xC3\xA9");  // raw bytes pass through
}

TEST(PercentEncoding, DecodesEitherHexCaseAndNul) {
  EXPECT_EQ(percent_decode("%2f%2F"), "//");
  EXPECT_EQ(percent_decode("a%00b"), std::string("a\0b", 3));
}

TEST(PercentEncoding, InvalidEscapesStayLiteral) {
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("100%zz%4"), "100%zz%4");
  EXPECT_EQ(percent_decode("%G1%1G%-1%+1"), "%G1%1G%-1%+1");
  EXPECT_EQ(percent_decode("%%41"), "%A");
}

TEST(PercentEncoding, DecodesOnceAndPlusIsNotASpace) {
  EXPECT_EQ(percent_decode("%2541"), "%41");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
}

TEST(PercentEncoding, EveryByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(percent_decode(uri_encode(all, false)), all);
  EXPECT_EQ(percent_decode(uri_encode(all, true)), all);
}

TEST(PercentEncoding, OverlongInputRoundTripsAtThreeBytesPerByte) {
  const std::string long_text(1 << 20, '\xFF');
  const std::string encoded = uri_encode(long_text, false);
  EXPECT_EQ(encoded.size(), 3 * long_text.size());
  EXPECT_EQ(percent_decode(encoded), long_text);
}

}  // namespace
}  // namespace ecr::aws

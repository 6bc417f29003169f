// Canonicalisation rules the official suite does not pin down on its own.
#include "aws/canonical_request.hpp"

#include <gtest/gtest.h>

namespace ecr::aws {
namespace {

TEST(CanonicalRequest, PathIsEncodedAgainForDoubleEncodingServices) {
  // The URL already carries "%20"; every service but S3 signs it encoded twice.
  EXPECT_EQ(canonical_path("/a%20b/c", true), "/a%2520b/c");
}

TEST(CanonicalRequest, PathKeepsUnreservedAndEncodesColonAndAt) {
  EXPECT_EQ(canonical_path("/v2/app/blobs/sha256:ab@~x", true), "/v2/app/blobs/sha256%3Aab%40~x");
}

TEST(CanonicalRequest, EmptyPathIsSlash) {
  EXPECT_EQ(canonical_path("", true), "/");
  EXPECT_EQ(canonical_path("", false), "/");
}

TEST(CanonicalRequest, DotSegmentsAndEmptySegmentsAreRemoved) {
  EXPECT_EQ(remove_dot_segments("/a/./b/../c//d/"), "/a/c/d/");
  EXPECT_EQ(remove_dot_segments("/../.."), "/");
  EXPECT_EQ(remove_dot_segments("/a/.."), "/");
  EXPECT_EQ(remove_dot_segments("a/b"), "a/b");
}

TEST(CanonicalRequest, QueryIsDecodedThenEncodedOnce) {
  // Already-encoded and raw forms of the same parameter canonicalise alike.
  EXPECT_EQ(canonical_query(parse_query("k%2Fx=a%2bb")), "k%2Fx=a%2Bb");
  EXPECT_EQ(canonical_query(parse_query("k/x=a+b")), "k%2Fx=a%2Bb");
}

TEST(CanonicalRequest, QuerySortsByKeyThenValueAndKeepsBareKeys) {
  EXPECT_EQ(canonical_query(parse_query("b=2&a=2&a=1&c&&Param-3=x&Param=y")),
            "Param=y&Param-3=x&a=1&a=2&b=2&c=");
}

TEST(CanonicalRequest, MalformedPercentEscapeStaysLiteral) {
  EXPECT_EQ(canonical_query(parse_query("p=100%zz")), "p=100%25zz");
}

TEST(CanonicalRequest, HeaderValuesAreTrimmedAndInnerWhitespaceCollapsed) {
  EXPECT_EQ(canonical_header_value("  a \t b\n   c  "), "a b c");
  EXPECT_EQ(canonical_header_value("   "), "");
}

TEST(CanonicalRequest, RepeatedHeadersJoinWithCommaInOrder) {
  const SignedHeaderMap headers{{"host", {"h"}}, {"x-m", {" 2 ", "1"}}};
  EXPECT_EQ(build_canonical_request("GET", "/", "", headers, "p"),
            "GET\n/\n\nhost:h\nx-m:2,1\n\nhost;x-m\np");
}

}  // namespace
}  // namespace ecr::aws

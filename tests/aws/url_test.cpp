// URL splitting for signing (host header) and endpoint validation.
#include "aws/url.hpp"

#include <gtest/gtest.h>

#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

TEST(SplitUrl, AllParts) {
  const UrlParts u = split_url("HTTPS://Api.Example.COM:8443/a/b%20c?x=1&y");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "api.example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/a/b%20c");
  EXPECT_EQ(u.query, "x=1&y");
  EXPECT_EQ(u.host_header(), "api.example.com:8443");
  EXPECT_EQ(u.origin(), "https://api.example.com:8443");
}

TEST(SplitUrl, DefaultPortIsLeftOutOfHostHeader) {
  EXPECT_EQ(split_url("https://h:443/").host_header(), "h");
  EXPECT_EQ(split_url("http://h:80").host_header(), "h");
  EXPECT_EQ(split_url("http://h:443").host_header(), "h:443");
}

TEST(SplitUrl, QueryWithoutPathAndBareHost) {
  const UrlParts u = split_url("http://h?k=v");
  EXPECT_EQ(u.path, "");
  EXPECT_EQ(u.query, "k=v");
  EXPECT_EQ(split_url("http://h").path, "");
}

TEST(SplitUrl, Ipv6Literal) {
  const UrlParts u = split_url("http://[::1]:5000/x");
  EXPECT_EQ(u.host, "[::1]");
  EXPECT_EQ(u.port, 5000);
  EXPECT_EQ(u.host_header(), "[::1]:5000");
}

TEST(SplitUrl, RefusesWhatIsNotHttpSchemeHostPort) {
  for (const char* bad :
       {"", "h/x", "ftp://h", "http://", "http://:80", "http://h:", "http://h:0", "http://h:65536",
        "http://h:8a", "http://u@h", "http://h/#f", "http://[::1", "http://h h"}) {
    EXPECT_THROW(split_url(bad), InputError) << bad;
  }
}

}  // namespace
}  // namespace ecr::aws

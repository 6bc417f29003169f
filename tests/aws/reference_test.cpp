// Image references: what parses, what each part becomes, and how each bad
// part is named in the error.
#include "ecr/reference.hpp"

#include <gtest/gtest.h>

#include "ecr/error.hpp"

namespace ecr {
namespace {

const std::string kDigest =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string error_of(std::string_view text) {
  try {
    ImageReference::parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

TEST(ImageReference, FullEcrReferenceWithTagAndDigest) {
  const auto ref = ImageReference::parse(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2@" + kDigest);
  EXPECT_EQ(ref.registry_id, "123456789012");
  EXPECT_EQ(ref.region, "eu-west-1");
  EXPECT_EQ(ref.repository, "team/app");
  EXPECT_EQ(ref.tag, "v1.2");
  ASSERT_TRUE(ref.digest.has_value());
  EXPECT_EQ(ref.digest->str(), kDigest);
  EXPECT_EQ(ref.registry_host(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
  EXPECT_EQ(ref.str(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2@" + kDigest);
}

TEST(ImageReference, BareRepositoryHasNoRegistry) {
  const auto ref = ImageReference::parse("app");
  EXPECT_EQ(ref.repository, "app");
  EXPECT_EQ(ref.registry_id, std::nullopt);
  EXPECT_EQ(ref.region, std::nullopt);
  EXPECT_EQ(ref.tag, std::nullopt);
  EXPECT_EQ(ref.digest, std::nullopt);
  EXPECT_EQ(ref.registry_host(), std::nullopt);
  EXPECT_EQ(ref.str(), "app");
}

TEST(ImageReference, NestedRepositoryWithDigestOnly) {
  const auto ref = ImageReference::parse("a/b.c/d__e/f---g@" + kDigest);
  EXPECT_EQ(ref.repository, "a/b.c/d__e/f---g");
  EXPECT_EQ(ref.tag, std::nullopt);
  EXPECT_EQ(ref.str(), "a/b.c/d__e/f---g@" + kDigest);
}

TEST(ImageReference, UpperCaseHostIsLowercased) {
  const auto ref = ImageReference::parse("123456789012.DKR.ECR.us-east-1.AMAZONAWS.COM/app:Latest");
  EXPECT_EQ(ref.str(), "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:Latest");
}

TEST(ImageReference, ChinaFipsAndDualStackHosts) {
  const auto cn = ImageReference::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app");
  EXPECT_EQ(cn.region, "cn-north-1");
  EXPECT_EQ(cn.registry_host(), "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn");
  const auto fips =
      ImageReference::parse("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app");
  EXPECT_EQ(fips.region, "us-gov-west-1");
  EXPECT_EQ(fips.str(), "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app");
  const auto dual = ImageReference::parse("123456789012.dkr-ecr.us-west-2.on.aws/app:1");
  EXPECT_EQ(dual.region, "us-west-2");
  EXPECT_EQ(dual.registry_id, "123456789012");
}

struct HostCase {
  const char* host;
  const char* region;  // nullptr: not an ECR registry host
  bool fips;
  bool dual_stack;
};

// Every registry host form ECR documents, per partition, and near misses.
const HostCase kHostCases[] = {
    {"123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1", false, false},
    {"123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM", "eu-west-1", false, false},
    {"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", "us-gov-west-1", false, false},
    {"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1", false, false},
    {"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", false, false},
    {"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1", false, false},
    {"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", "eu-isoe-west-1", false, false},
    {"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", "us-isof-south-1", false, false},
    {"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1", false, false},
    {"123456789012.dkr.ecr-fips.us-east-2.amazonaws.com", "us-east-2", true, false},
    {"123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com", "us-gov-east-1", true, false},
    {"123456789012.dkr-ecr.us-west-2.on.aws", "us-west-2", false, true},
    {"123456789012.dkr-ecr-fips.us-west-2.on.aws", "us-west-2", true, true},
    {"123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn", "cn-northwest-1", false,
     true},
    // A suffix from another partition than the region's.
    {"123456789012.dkr.ecr.us-east-1.amazonaws.com.cn", nullptr, false, false},
    {"123456789012.dkr.ecr.cn-north-1.amazonaws.com", nullptr, false, false},
    {"123456789012.dkr.ecr.us-iso-east-1.amazonaws.com", nullptr, false, false},
    {"123456789012.dkr-ecr.cn-north-1.on.aws", nullptr, false, false},
    {"123456789012.dkr-ecr.us-west-2.amazonaws.com", nullptr, false, false},
    // Near misses.
    {"12345678901.dkr.ecr.us-east-1.amazonaws.com", nullptr, false, false},
    {"1234567890123.dkr.ecr.us-east-1.amazonaws.com", nullptr, false, false},
    {"12345678901a.dkr.ecr.us-east-1.amazonaws.com", nullptr, false, false},
    {"123456789012.dkr.ecr.amazonaws.com", nullptr, false, false},
    {"123456789012.dkr.ecr..amazonaws.com", nullptr, false, false},
    {"123456789012.dkr.ecr.us_east_1.amazonaws.com", nullptr, false, false},
    {"123456789012.dkr.ecr.us-east-1.amazonaws.com.", nullptr, false, false},
    {"123456789012.dkr.ecr.us-east-1.amazonaws.org", nullptr, false, false},
    {"123456789012.ecr.us-east-1.amazonaws.com", nullptr, false, false},
    {"api.ecr.us-east-1.amazonaws.com", nullptr, false, false},
    {"public.ecr.aws", nullptr, false, false},
    {"docker.io", nullptr, false, false},
    {"localhost:5000", nullptr, false, false},
    {"123456789012", nullptr, false, false},
    {"", nullptr, false, false},
};

TEST(EcrRegistryHost, RecognisesEveryPartitionFipsAndDualStackForm) {
  for (const HostCase& c : kHostCases) {
    const auto parsed = parse_ecr_registry_host(c.host);
    if (c.region == nullptr) {
      EXPECT_EQ(parsed.has_value(), false) << c.host;
      continue;
    }
    ASSERT_TRUE(parsed.has_value()) << c.host;
    EXPECT_EQ(parsed->registry_id, "123456789012") << c.host;
    EXPECT_EQ(parsed->region, c.region) << c.host;
    EXPECT_EQ(parsed->fips, c.fips) << c.host;
    EXPECT_EQ(parsed->dual_stack, c.dual_stack) << c.host;
  }
}

TEST(ImageReference, IsoPartitionHostsParse) {
  const auto ref = ImageReference::parse("123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app:1");
  EXPECT_EQ(ref.region, "us-isob-east-1");
  EXPECT_EQ(ref.registry_id, "123456789012");
}

TEST(ImageReference, RegistryHostDerivedFromIdAndRegion) {
  ImageReference ref;
  ref.registry_id = "210987654321";
  ref.region = "cn-northwest-1";
  ref.repository = "x1";
  EXPECT_EQ(ref.str(), "210987654321.dkr.ecr.cn-northwest-1.amazonaws.com.cn/x1");
  ref.region = "us-iso-west-1";
  EXPECT_EQ(ref.str(), "210987654321.dkr.ecr.us-iso-west-1.c2s.ic.gov/x1");
}

TEST(ImageReference, LengthLimitsFromTheModel) {
  EXPECT_NO_THROW(ImageReference::parse("ab"));
  EXPECT_NO_THROW(ImageReference::parse(std::string(256, 'a')));
  EXPECT_NO_THROW(ImageReference::parse("ab:" + std::string(300, 't')));
  EXPECT_EQ(error_of("a"),
            "invalid repository name 'a' in image reference 'a': must be 2 to 256 characters, "
            "is 1");
  EXPECT_NE(error_of(std::string(257, 'a')).find("must be 2 to 256 characters, is 257"),
            std::string::npos);
  EXPECT_NE(error_of("ab:" + std::string(301, 't')).find("invalid tag"), std::string::npos);
}

TEST(ImageReference, NonEcrHostIsRefusedByName) {
  EXPECT_EQ(error_of("docker.io/library/x"),
            "registry host 'docker.io' is not an Amazon ECR registry (expected <12-digit "
            "account>.dkr.ecr.<region>.amazonaws.com) in image reference 'docker.io/library/x'");
  EXPECT_NE(error_of("localhost:5000/app").find("registry host 'localhost:5000'"),
            std::string::npos);
  EXPECT_NE(error_of("12345678901.dkr.ecr.us-east-1.amazonaws.com/app").find("registry host"),
            std::string::npos);
  EXPECT_NE(error_of("123456789012.dkr.ecr.amazonaws.com/app").find("registry host"),
            std::string::npos);
  EXPECT_NE(error_of("123456789012.dkr.ecr.us-east-1.amazonaws.org/app").find("registry host"),
            std::string::npos);
}

TEST(ImageReference, BadRepositoryNamesTheBadPart) {
  EXPECT_EQ(error_of("team/App"),
            "invalid repository name 'team/App' in image reference 'team/App': each "
            "'/'-separated part must be lowercase letters and digits, joined by '.', '_', '__' "
            "or '-' (bad part 'App')");
  for (const char* bad : {"a//b", "/ab", "ab/", "a..b", "a___b", "-ab", "ab_", "a b"}) {
    EXPECT_NE(error_of(bad).find("invalid repository name '"), std::string::npos) << bad;
  }
}

TEST(ImageReference, BadTagIsNamed) {
  EXPECT_EQ(error_of("app:"),
            "invalid tag '' in image reference 'app:': must be 1 to 300 characters from A-Z "
            "a-z 0-9 _ . -, not starting with '.' or '-'");
  for (const char* bad : {"app:.x", "app:-x", "app:a+b", "app:a:b"}) {
    EXPECT_NE(error_of(bad).find("invalid tag '"), std::string::npos) << bad;
  }
}

TEST(ImageReference, BadDigestIsNamed) {
  const std::string message = error_of("app@sha256:1234");
  // The digest part of the message is Digest::parse's own wording.
  EXPECT_TRUE(message.starts_with("invalid digest \"sha256:1234\"")) << message;
  EXPECT_TRUE(message.ends_with(" in image reference 'app@sha256:1234'")) << message;
  EXPECT_NE(error_of("app@md5:abc").find("invalid digest"), std::string::npos);
}

TEST(ImageReference, EmptyIsRefused) { EXPECT_EQ(error_of(""), "empty image reference"); }

}  // namespace
}  // namespace ecr

// The registry API's pieces that need no server: its path grammar, ECR's
// repository name rule, the Basic credentials and the tokens
// GetAuthorizationToken issues (registry_api.hpp, registry_token.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/base64.hpp"
#include "server/registry_api.hpp"
#include "server/registry_token.hpp"
#include "support/scratch_dir.hpp"

namespace ecr::server {
namespace {

using Kind = RegistryApiRoute::Kind;
using namespace std::chrono_literals;

void expect_route(std::string_view path, Kind kind, std::string_view name,
                  std::string_view reference) {
  const auto route = parse_registry_api_path(path);
  ASSERT_TRUE(route.has_value()) << path;
  EXPECT_EQ(route->kind, kind) << path;
  EXPECT_EQ(route->name, name) << path;
  EXPECT_EQ(route->reference, reference) << path;
}

TEST(RegistryApiPath, EveryRouteSplitsIntoNameAndReference) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  expect_route("/v2/", Kind::kBase, "", "");
  expect_route("/v2", Kind::kBase, "", "");
  expect_route("/v2/app/blobs/" + digest, Kind::kBlob, "app", digest);
  expect_route("/v2/team/app/blobs/uploads/", Kind::kUploadStart, "team/app", "");
  expect_route("/v2/team/app/blobs/uploads", Kind::kUploadStart, "team/app", "");
  expect_route("/v2/team/app/blobs/uploads/0b9a-11", Kind::kUpload, "team/app", "0b9a-11");
  expect_route("/v2/a/b/c/manifests/latest", Kind::kManifest, "a/b/c", "latest");
  expect_route("/v2/app/tags/list", Kind::kTags, "app", "");
  expect_route("/v2/app/referrers/" + digest, Kind::kReferrers, "app", digest);
}

TEST(RegistryApiPath, RouteWordsInsideANameBelongToTheName) {
  expect_route("/v2/blobs/manifests/v1", Kind::kManifest, "blobs", "v1");
  expect_route("/v2/x/manifests/y/manifests/v1", Kind::kManifest, "x/manifests/y", "v1");
  expect_route("/v2/tags/list/tags/list", Kind::kTags, "tags/list", "");
  expect_route("/v2/x/blobs/uploads/y/blobs/uploads/", Kind::kUploadStart, "x/blobs/uploads/y", "");
}

TEST(RegistryApiPath, OtherPathsAreNoRoute) {
  for (std::string_view path : {"/", "/v1/", "/v2x", "/v2/app", "/v2/app/", "/v2/app/manifests/",
                                "/v2/app/blobs/", "/v2/manifests/latest", "/v2//manifests/latest",
                                "/v2/app/unknown/x", "/v2/app/tags", "/v2/_catalog"}) {
    EXPECT_FALSE(parse_registry_api_path(path).has_value()) << path;
  }
}

TEST(RepositoryName, FollowsEcrsPattern) {
  for (std::string good : {"ab", "app", "team/app", "a.b_c-d/e1", "0a/b9", "x1"}) {
    EXPECT_TRUE(is_valid_repository_name(good)) << good;
  }
  const std::string too_long(257, 'a');
  for (std::string bad :
       {std::string(), std::string("a"), std::string("App"), std::string("team//app"),
        std::string("/app"), std::string("app/"), std::string("a..b"), std::string("a-"),
        std::string("-a"), std::string("a_/b"), std::string("a b"), std::string("a:b"),
        std::string("a%2fb"), std::string("../etc"), too_long}) {
    EXPECT_FALSE(is_valid_repository_name(bad)) << bad;
  }
  EXPECT_TRUE(is_valid_repository_name(std::string(256, 'a')));
}

TEST(BasicAuth, TakesThePasswordOfTheUserAws) {
  EXPECT_EQ(basic_auth_password("Basic " + base64::encode("AWS:secret:with:colons")),
            "secret:with:colons");
  EXPECT_EQ(basic_auth_password("basic  " + base64::encode("AWS:x") + " "), "x");
  EXPECT_FALSE(basic_auth_password("Basic " + base64::encode("root:x")));
  EXPECT_FALSE(basic_auth_password("Bearer " + base64::encode("AWS:x")));
  EXPECT_FALSE(basic_auth_password("Basic not*base64"));
  EXPECT_FALSE(basic_auth_password(""));
  EXPECT_FALSE(basic_auth_password("Basic"));
}

class RegistryTokensTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"ecr-tokens"};
  RegistryTokens tokens_{dir_.path() / "registry-token.key"};
  const std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  aws::SecretLookup pairs_ = [](std::string_view key) -> std::optional<std::string> {
    if (key == "AKIDONE") return "secret-one";
    if (key == "AKIDTWO") return "secret-two";
    return std::nullopt;
  };
};

TEST_F(RegistryTokensTest, ATokenIsGoodUntilItExpires) {
  const std::string token = tokens_.issue("AKIDONE", "secret-one", now_ + 12h);
  EXPECT_EQ(tokens_.refuse(token, pairs_, now_), std::nullopt);
  EXPECT_EQ(tokens_.refuse(token, pairs_, now_ + 12h), std::nullopt);
  EXPECT_EQ(tokens_.refuse(token, pairs_, now_ + 12h + 1s), "the token has expired");
}

TEST_F(RegistryTokensTest, ATokenSurvivesARestartWithTheSameKeyFile) {
  const std::string token = tokens_.issue("AKIDONE", "secret-one", now_ + 1h);
  RegistryTokens again(dir_.path() / "registry-token.key");
  EXPECT_EQ(again.refuse(token, pairs_, now_), std::nullopt);
  testing::ScratchDir other{"ecr-tokens"};
  RegistryTokens other_server(other.path() / "registry-token.key");
  EXPECT_EQ(other_server.refuse(token, pairs_, now_), "the token's signature does not match");
}

TEST_F(RegistryTokensTest, ATokenIsBoundToThePairThatAskedForIt) {
  const std::string token = tokens_.issue("AKIDONE", "secret-one", now_ + 1h);
  // The same key id with another secret (the pair was rotated).
  aws::SecretLookup rotated = [](std::string_view key) -> std::optional<std::string> {
    if (key == "AKIDONE") return "secret-one-rotated";
    return std::nullopt;
  };
  EXPECT_EQ(tokens_.refuse(token, rotated, now_), "the token's signature does not match");
  // The pair no longer accepted at all.
  aws::SecretLookup none = [](std::string_view) -> std::optional<std::string> {
    return std::nullopt;
  };
  EXPECT_EQ(tokens_.refuse(token, none, now_), "the token's signature does not match");
  // Renamed to the other pair: the signature no longer covers it.
  std::string renamed = token;
  const std::string one_hex = "414b49444f4e45";  // "AKIDONE"
  const std::string two_hex = "414b494454574f";  // "AKIDTWO"
  renamed.replace(renamed.find(one_hex), one_hex.size(), two_hex);
  EXPECT_EQ(tokens_.refuse(renamed, pairs_, now_), "the token's signature does not match");
}

TEST_F(RegistryTokensTest, ForgedAndMalformedTokensAreRefused) {
  const std::string token = tokens_.issue("AKIDONE", "secret-one", now_ + 1h);
  // A later expiry written into a good token.
  std::string extended = token;
  const std::string expiry = std::to_string(1'800'003'600);
  extended.replace(extended.find(expiry), expiry.size(), std::to_string(1'900'000'000));
  EXPECT_EQ(tokens_.refuse(extended, pairs_, now_), "the token's signature does not match");
  std::string flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(tokens_.refuse(flipped, pairs_, now_), "the token's signature does not match");
  for (std::string_view bad :
       {"", "ecrlocal1.", "ecrlocal1...", "ecrlocal1.zz.1.ab", "ecrlocal1.41.x.ab",
        "ecrlocal1.41.1", "AKIDONE", "ecrlocal2.414b49444f4e45.1800003600.00"}) {
    EXPECT_TRUE(tokens_.refuse(bad, pairs_, now_).has_value()) << bad;
  }
  EXPECT_TRUE(tokens_.refuse(std::string(100'000, 'e'), pairs_, now_).has_value());
}

}  // namespace
}  // namespace ecr::server

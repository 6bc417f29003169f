// docker-credential-ecr's protocol and token cache, in process: a scripted
// token source and clock stand in for GetAuthorizationToken and time.
// tests/cli/docker_credential_ecr_test.cpp runs the binary against ecr-local.
#include "credential_helper.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "cli/credential_helper_support.hpp"
#include "ecr/error.hpp"
#include "registry_target.hpp"

namespace ecr::credential_helper {
namespace {

using ecr::testing::cache_entries;
using ecr::testing::file_mode;
using ecr::testing::read_file;
using ecr::testing::ScratchDir;
using ecr::testing::write_file;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kEcrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

Environment environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// ---- which servers are ECR registries --------------------------------------

struct TargetCase {
  const char* server_url;
  const char* server;       // nullptr: not found
  const char* registry_id;  // nullptr: none (the configured endpoint)
  const char* region;       // nullptr: not set by the host
  const char* endpoint;     // nullptr: not set by the host
};

// With AWS_ENDPOINT_URL_ECR=http://127.0.0.1:5000 (ecr-local).
const TargetCase kTargets[] = {
    {kEcrHost, kEcrHost, "123456789012", "us-east-1", nullptr},
    {"https://123456789012.dkr.ecr.us-east-1.amazonaws.com", kEcrHost, "123456789012", "us-east-1",
     nullptr},
    {"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/", kEcrHost, "123456789012", "us-east-1",
     nullptr},
    {"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/app/manifests/1", kEcrHost,
     "123456789012", "us-east-1", nullptr},
    {"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app", kEcrHost, "123456789012", "us-east-1",
     nullptr},
    {"https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443", kEcrHost, "123456789012",
     "us-east-1", nullptr},
    {"HTTPS://123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM", kEcrHost, "123456789012", "us-east-1",
     nullptr},
    {"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
     "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012", "cn-north-1", nullptr},
    {"https://123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/",
     "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", "123456789012", "us-gov-west-1", nullptr},
    {"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
     "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", "123456789012", "us-iso-east-1", nullptr},
    {"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
     "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", "123456789012", "us-isob-east-1",
     nullptr},
    {"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
     "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", "123456789012", "eu-isoe-west-1",
     nullptr},
    {"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
     "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", "123456789012", "us-isof-south-1",
     nullptr},
    {"123456789012.dkr-ecr.us-west-2.on.aws", "123456789012.dkr-ecr.us-west-2.on.aws",
     "123456789012", "us-west-2", nullptr},
    {"https://123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/v2/",
     "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn", "123456789012", "cn-north-1",
     nullptr},
    // The endpoint is configured, so FIPS hosts use it (no FIPS endpoint of their own).
    {"123456789012.dkr.ecr-fips.us-east-2.amazonaws.com",
     "123456789012.dkr.ecr-fips.us-east-2.amazonaws.com", "123456789012", "us-east-2", nullptr},
    // ecr-local: the configured endpoint's host:port, with or without scheme and path.
    {"127.0.0.1:5000", "127.0.0.1:5000", nullptr, nullptr, nullptr},
    {"http://127.0.0.1:5000", "127.0.0.1:5000", nullptr, nullptr, nullptr},
    {"http://127.0.0.1:5000/v2/", "127.0.0.1:5000", nullptr, nullptr, nullptr},
    {"https://127.0.0.1:5000/", "127.0.0.1:5000", nullptr, nullptr, nullptr},
    // Not ECR, not the endpoint.
    {"127.0.0.1:5001", nullptr, nullptr, nullptr, nullptr},
    {"127.0.0.1", nullptr, nullptr, nullptr, nullptr},
    {"localhost:5000", nullptr, nullptr, nullptr, nullptr},
    {"docker.io", nullptr, nullptr, nullptr, nullptr},
    {"https://index.docker.io/v1/", nullptr, nullptr, nullptr, nullptr},
    {"public.ecr.aws", nullptr, nullptr, nullptr, nullptr},
    {"ghcr.io", nullptr, nullptr, nullptr, nullptr},
    {"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", nullptr, nullptr, nullptr,
     nullptr},
    {"evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com", nullptr, nullptr, nullptr,
     nullptr},
    {"ftp://123456789012.dkr.ecr.us-east-1.amazonaws.com", nullptr, nullptr, nullptr, nullptr},
    {"https://user@123456789012.dkr.ecr.us-east-1.amazonaws.com", nullptr, nullptr, nullptr,
     nullptr},
    {"not a url", nullptr, nullptr, nullptr, nullptr},
};

TEST(FindRegistry, EcrHostsOfEveryFormAndTheConfiguredEndpoint) {
  const Environment env = environment({{"AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:5000"}});
  for (const TargetCase& c : kTargets) {
    const auto target = find_registry(c.server_url, env);
    if (c.server == nullptr) {
      EXPECT_EQ(target.has_value(), false) << c.server_url;
      continue;
    }
    ASSERT_TRUE(target.has_value()) << c.server_url;
    EXPECT_EQ(target->server, c.server) << c.server_url;
    EXPECT_EQ(target->registry_id,
              c.registry_id ? std::optional<std::string>(c.registry_id) : std::nullopt)
        << c.server_url;
    EXPECT_EQ(target->config.region, c.region ? std::optional<std::string>(c.region) : std::nullopt)
        << c.server_url;
    EXPECT_EQ(target->config.endpoint_url, std::nullopt) << c.server_url;
  }
}

TEST(FindRegistry, WithoutAConfiguredEndpointOnlyEcrHostsAreFound) {
  const Environment env = environment({});
  EXPECT_TRUE(find_registry(kEcrHost, env).has_value());
  EXPECT_FALSE(find_registry("127.0.0.1:5000", env).has_value());
}

TEST(FindRegistry, FipsHostAsksTheRegionsFipsEndpoint) {
  const auto target =
      find_registry("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", environment({}));
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->config.endpoint_url, "https://ecr-fips.us-gov-west-1.amazonaws.com");
  const auto dual = find_registry("123456789012.dkr-ecr-fips.us-east-1.on.aws", environment({}));
  ASSERT_TRUE(dual.has_value());
  EXPECT_EQ(dual->config.endpoint_url, "https://ecr-fips.us-east-1.amazonaws.com");
}

TEST(FindRegistry, EndpointWithDefaultPortMatchesTheBareHost) {
  const Environment env = environment({{"AWS_ENDPOINT_URL", "https://ecr.example.test:443/"}});
  const auto target = find_registry("ecr.example.test", env);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->server, "ecr.example.test");
  EXPECT_FALSE(find_registry("ecr.example.test:8443", env).has_value());
}

TEST(FindRegistry, MalformedConfiguredEndpointIsAnInputError) {
  EXPECT_THROW(
      find_registry("127.0.0.1:5000", environment({{"AWS_ENDPOINT_URL_ECR", "http://h/path"}})),
      InputError);
}

// ---- the protocol, with a scripted token source ----------------------------

class CredentialHelper : public ::testing::Test {
 protected:
  CredentialHelper() {
    options_.env = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
    options_.now = [this] { return now_; };
    options_.cache_dir = cache_dir();
    options_.fetch = [this](const ResolvedConfig& config,
                            const std::optional<std::string>& registry_id) {
      ++fetches_;
      last_config_ = config;
      last_registry_id_ = registry_id;
      if (fail_with_) throw *fail_with_;
      return AuthorizationToken{"AWS", "password-" + std::to_string(fetches_), now_ + 12h};
    };
  }

  std::filesystem::path cache_dir() const { return scratch_.path() / "cache" / "credentials"; }

  struct Result {
    int status;
    std::string out;
    std::string err;
  };
  Result run_action(std::string_view action, const std::string& input = {}) {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    const int status = run(action, in, out, err, options_);
    return {status, out.str(), err.str()};
  }
  Result get(const std::string& server_url = kEcrHost) { return run_action("get", server_url); }

  static std::string login_json(const std::string& server_url, const std::string& secret) {
    return "{\"ServerURL\":\"" + server_url + "\",\"Username\":\"AWS\",\"Secret\":\"" + secret +
           "\"}\n";
  }

  ScratchDir scratch_;
  std::map<std::string, std::string> vars_{{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                           {"AWS_SECRET_ACCESS_KEY", "the-secret-key"},
                                           {"AWS_CONFIG_FILE", "/dev/null"},
                                           {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}};
  Clock::time_point now_ = Clock::time_point(std::chrono::seconds(1'700'000'000));
  int fetches_ = 0;
  std::optional<ServiceError> fail_with_;
  std::optional<ResolvedConfig> last_config_;
  std::optional<std::string> last_registry_id_;
  HelperOptions options_;
};

TEST_F(CredentialHelper, GetAsksTheHostsRegionForItsAccountAndPrintsTheLogin) {
  const Result r = get("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            login_json("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/", "password-1"));
  EXPECT_EQ(r.err, "");
  ASSERT_TRUE(last_config_.has_value());
  EXPECT_EQ(last_config_->region, "eu-west-1");
  EXPECT_EQ(last_config_->endpoint_url, "https://api.ecr.eu-west-1.amazonaws.com");
  EXPECT_EQ(last_registry_id_, "123456789012");
}

TEST_F(CredentialHelper, SecondGetIsServedFromThePrivateCache) {
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-1"));
  now_ += 11h;
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-1"));
  EXPECT_EQ(fetches_, 1);
  const auto entries = cache_entries(cache_dir());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(file_mode(entries[0]), 0600u);
  EXPECT_EQ(file_mode(cache_dir()), 0700u);
  EXPECT_THAT(read_file(entries[0]), Not(HasSubstr("the-secret-key")));
}

TEST_F(CredentialHelper, TokenIsRefreshedFifteenMinutesBeforeItExpires) {
  get();
  now_ += 12h - 16min;
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-1"));
  now_ += 2min;
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-2"));
  EXPECT_EQ(fetches_, 2);
}

TEST_F(CredentialHelper, FailedRefreshWithinTheMarginUsesTheCachedTokenAndSaysSoWithoutIt) {
  get();
  now_ += 12h - 5min;
  fail_with_ = ServiceError("ThrottlingException", "Rate exceeded", 400);
  const Result r = get();
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, login_json(kEcrHost, "password-1"));
  EXPECT_THAT(r.err, HasSubstr("warning: could not refresh the token for " + std::string(kEcrHost) +
                               " (ThrottlingException: Rate exceeded); using the cached one"));
  EXPECT_THAT(r.err, Not(HasSubstr("password-1")));
}

TEST_F(CredentialHelper, ExpiredTokenAndFailedRefreshIsAnErrorNamingHostAndCode) {
  get();
  now_ += 12h;
  fail_with_ = ServiceError("AccessDeniedException", "not authorized", 400);
  const Result r = get();
  EXPECT_EQ(r.status, kExitFailure);
  const std::string message = "GetAuthorizationToken for " + std::string(kEcrHost) +
                              " failed: AccessDeniedException: not authorized\n";
  EXPECT_EQ(r.out, message);
  EXPECT_EQ(r.err, "docker-credential-ecr: " + message);
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("password-1")));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("the-secret-key")));
}

TEST_F(CredentialHelper, CorruptCacheFileIsIgnoredAndReplaced) {
  get();
  const auto entries = cache_entries(cache_dir());
  ASSERT_EQ(entries.size(), 1u);
  write_file(entries[0], "{\"version\":1,\"server\":");
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-2"));
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-2"));
  EXPECT_EQ(fetches_, 2);
  EXPECT_EQ(cache_entries(cache_dir()), entries);
}

TEST_F(CredentialHelper, EachCredentialIdentityHasItsOwnEntry) {
  get();
  vars_["AWS_ACCESS_KEY_ID"] = "AKIDOTHER";
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-2"));
  vars_["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  EXPECT_EQ(get().out, login_json(kEcrHost, "password-1"));
  EXPECT_EQ(cache_entries(cache_dir()).size(), 2u);
}

TEST_F(CredentialHelper, StoringSweepsOtherExpiredAndDamagedEntries) {
  get();
  std::filesystem::copy_file(cache_entries(cache_dir())[0], cache_dir() / "old.json");
  write_file(cache_dir() / "junk.json", "not json");
  write_file(cache_dir() / "unrelated.txt", "kept");
  now_ += 13h;
  get();
  const auto entries = cache_entries(cache_dir());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_THAT(read_file(entries[0]), HasSubstr("password-2"));
  EXPECT_TRUE(std::filesystem::exists(cache_dir() / "unrelated.txt"));
}

TEST_F(CredentialHelper, UnwritableCacheStillAnswersAndWarnsWithoutTheSecret) {
  write_file(scratch_.path() / "cache", "a file where the cache directory should be");
  const Result r = get();
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, login_json(kEcrHost, "password-1"));
  EXPECT_THAT(r.err, HasSubstr("warning: token for " + std::string(kEcrHost) + " not cached"));
  EXPECT_THAT(r.err, Not(HasSubstr("password-1")));
}

TEST_F(CredentialHelper, WithoutACacheEveryGetAsks) {
  options_.cache_dir.reset();
  get();
  get();
  EXPECT_EQ(fetches_, 2);
}

TEST_F(CredentialHelper, UnknownHostIsTheProtocolsNotFound) {
  const Result r = get("https://index.docker.io/v1/");
  EXPECT_EQ(r.status, kExitFailure);
  EXPECT_EQ(r.out, "credentials not found in native keychain\n");
  EXPECT_EQ(r.err, "docker-credential-ecr: index.docker.io is not an Amazon ECR registry host\n");
  EXPECT_EQ(fetches_, 0);
}

TEST_F(CredentialHelper, NotFoundNamesTheConfiguredEndpoint) {
  vars_["AWS_ENDPOINT_URL_ECR"] = "http://127.0.0.1:5000";
  const Result r = get("localhost:5000");
  EXPECT_EQ(r.out, "credentials not found in native keychain\n");
  EXPECT_EQ(r.err,
            "docker-credential-ecr: localhost:5000 is not an Amazon ECR registry host nor the "
            "configured endpoint http://127.0.0.1:5000\n");
}

TEST_F(CredentialHelper, ConfiguredEndpointIsAskedWithoutARegistryId) {
  vars_["AWS_ENDPOINT_URL_ECR"] = "http://127.0.0.1:5000";
  vars_["AWS_REGION"] = "us-west-2";
  const Result r = get("http://127.0.0.1:5000/v2/");
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(last_config_.has_value());
  EXPECT_EQ(last_config_->endpoint_url, "http://127.0.0.1:5000");
  EXPECT_EQ(last_registry_id_, std::nullopt);
}

TEST_F(CredentialHelper, NoCredentialsIsAnErrorNamingTheHost) {
  vars_.erase("AWS_ACCESS_KEY_ID");
  vars_.erase("AWS_SECRET_ACCESS_KEY");
  vars_["HOME"] = scratch_.path().string();
  const Result r = get();
  EXPECT_EQ(r.status, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("no token for " + std::string(kEcrHost) + ": no AWS credentials"));
  EXPECT_EQ(fetches_, 0);
}

TEST_F(CredentialHelper, EmptyServerUrlIsTheProtocolsMissingUrl) {
  const Result r = get(" \n");
  EXPECT_EQ(r.status, kExitFailure);
  EXPECT_EQ(r.out, "no credentials server URL\n");
}

TEST_F(CredentialHelper, ListShowsTheRegistriesWithAnUnexpiredToken) {
  EXPECT_EQ(run_action("list").out, "{}\n");
  get("123456789012.dkr.ecr.us-east-1.amazonaws.com");
  now_ += 1h;
  get("https://210987654321.dkr.ecr.eu-west-1.amazonaws.com/");
  const Result r = run_action("list");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "{\"123456789012.dkr.ecr.us-east-1.amazonaws.com\":\"AWS\","
            "\"210987654321.dkr.ecr.eu-west-1.amazonaws.com\":\"AWS\"}\n");
  now_ += 11h + 30min;
  EXPECT_EQ(run_action("list").out, "{\"210987654321.dkr.ecr.eu-west-1.amazonaws.com\":\"AWS\"}\n");
}

TEST_F(CredentialHelper, StoreAndEraseAcceptTheirInputAndDoNothing) {
  for (const char* action : {"store", "erase"}) {
    const Result r = run_action(action, "{\"ServerURL\":\"" + std::string(kEcrHost) +
                                            "\",\"Username\":\"AWS\",\"Secret\":\"x\"}");
    EXPECT_EQ(r.status, 0) << action;
    EXPECT_EQ(r.out, "") << action;
    EXPECT_EQ(r.err, "") << action;
  }
  EXPECT_FALSE(std::filesystem::exists(cache_dir()));
  EXPECT_EQ(fetches_, 0);
}

TEST_F(CredentialHelper, VersionHelpAndUnknownActions) {
  EXPECT_EQ(run_action("version").out, "docker-credential-ecr " ECR_VERSION "\n");
  EXPECT_EQ(run_action("--version").out, "docker-credential-ecr " ECR_VERSION "\n");
  const Result help = run_action("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: docker-credential-ecr <store|get|erase|list|version>"));
  const Result bad = run_action("fetch");
  EXPECT_EQ(bad.status, kExitFailure);
  EXPECT_EQ(bad.out, "unknown action: fetch\n");
}

}  // namespace
}  // namespace ecr::credential_helper

// The shared-file INI dialect, the credentials chain, and region, endpoint
// and CA bundle resolution, each with a fake environment and files in a temp directory.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "aws/ini_file.hpp"
#include "ecr/config.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

namespace fs = std::filesystem;

// A fresh directory that is removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ = ::testing::TempDir() + "ecr_config_XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

// ---- INI dialect ----------------------------------------------------------

TEST(IniFile, SectionsAndKeys) {
  const IniSections s =
      parse_ini("[default]\naws_access_key_id = AKID\n[dev]\nregion=eu-west-1\n", "creds");
  EXPECT_EQ(s, (IniSections{{"default", {{"aws_access_key_id", "AKID"}}},
                            {"dev", {{"region", "eu-west-1"}}}}));
}

TEST(IniFile, FullLineAndInlineComments) {
  const IniSections s = parse_ini(
      "# top\n; also\n[default] ; trailing\n  # indented comment\nregion = us-east-1 # why\n"
      "secret = ab#cd;ef\n",
      "f");
  EXPECT_EQ(s, (IniSections{{"default", {{"region", "us-east-1"}, {"secret", "ab#cd;ef"}}}}));
}

TEST(IniFile, OddWhitespaceColonsAndKeyCase) {
  const IniSections s = parse_ini(
      "\n\n  [ default ]  \n\tAWS_Access_Key_ID\t=\t AKID  \nregion:eu-west-1\n   \n"
      "output =\n",
      "f");
  EXPECT_EQ(
      s, (IniSections{{"default",
                       {{"aws_access_key_id", "AKID"}, {"region", "eu-west-1"}, {"output", ""}}}}));
}

TEST(IniFile, CrlfLineEnds) {
  EXPECT_EQ(parse_ini("[default]\r\nregion = us-west-2\r\n\r\n[b]\r\nk=v", "f"),
            (IniSections{{"default", {{"region", "us-west-2"}}}, {"b", {{"k", "v"}}}}));
}

TEST(IniFile, NestedSubSectionIsSkipped) {
  const IniSections s = parse_ini(
      "[default]\ns3 =\n  max_concurrent_requests = 4\n  addressing_style = path\n"
      "region = ap-south-1\n",
      "f");
  EXPECT_EQ(s, (IniSections{{"default", {{"region", "ap-south-1"}, {"s3", ""}}}}));
}

TEST(IniFile, RepeatedSectionMergesAndLastKeyWins) {
  EXPECT_EQ(parse_ini("[a]\nx=1\ny=1\n[b]\n[a]\nx=2\n", "f"),
            (IniSections{{"a", {{"x", "2"}, {"y", "1"}}}, {"b", {}}}));
}

TEST(IniFile, ErrorsNameFileAndLine) {
  EXPECT_EQ(message_of([] { parse_ini("region = x\n", "cfg"); }),
            "cfg:1: 'region = x' comes before any [section] header");
  EXPECT_EQ(message_of([] { parse_ini("[a]\n\njunk\n", "cfg"); }),
            "cfg:3: expected '[section]' or 'key = value', got 'junk'");
  EXPECT_EQ(message_of([] { parse_ini("[a\n", "cfg"); }),
            "cfg:1: section header '[a' has no closing ']'");
}

TEST(IniFile, MissingFileIsNotAnError) {
  const TempDir dir;
  EXPECT_EQ(load_ini_file((dir.path() / "nope").string()), std::nullopt);
}

TEST(IniFile, LoadsFromDisk) {
  const TempDir dir;
  std::ofstream(dir.path() / "f") << "[p]\nk = v\n";
  EXPECT_EQ(load_ini_file((dir.path() / "f").string()), (IniSections{{"p", {{"k", "v"}}}}));
}

// ---- resolve_config --------------------------------------------------------

class ResolveConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_["HOME"] = dir_.path().string();
    fs::create_directories(dir_.path() / ".aws");
  }
  Environment env() const {
    return [vars = vars_](const std::string& name) -> std::optional<std::string> {
      const auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string credentials_path() const { return (dir_.path() / ".aws/credentials").string(); }
  std::string config_path() const { return (dir_.path() / ".aws/config").string(); }
  void write_credentials(const std::string& text) { std::ofstream(credentials_path()) << text; }
  void write_config(const std::string& text) { std::ofstream(config_path()) << text; }
  ResolvedConfig resolve(const ClientConfig& config = {}) const {
    return resolve_config(config, env());
  }
  std::string error(const ClientConfig& config = {}) const {
    return message_of([&] { resolve(config); });
  }
  void set_env_credentials() {
    vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  }

  TempDir dir_;
  std::map<std::string, std::string> vars_{{"AWS_REGION", "us-east-1"}};
};

TEST_F(ResolveConfig, ExplicitCredentialsBeatEnvironment) {
  set_env_credentials();
  ClientConfig config;
  config.credentials = Credentials{"EXPLICIT", "s", "t"};
  const ResolvedConfig r = resolve(config);
  EXPECT_EQ(r.credentials.access_key_id, "EXPLICIT");
  EXPECT_EQ(r.credentials.session_token, "t");
}

TEST_F(ResolveConfig, EnvironmentBeatsCredentialsFile) {
  set_env_credentials();
  vars_["AWS_SESSION_TOKEN"] = "envtoken";
  write_credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = f\n");
  const ResolvedConfig r = resolve();
  EXPECT_EQ(r.credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(r.credentials.secret_access_key, "envsecret");
  EXPECT_EQ(r.credentials.session_token, "envtoken");
}

TEST_F(ResolveConfig, HalfAnEnvironmentPairIsAnError) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  EXPECT_EQ(error(), "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
}

TEST_F(ResolveConfig, EmptyEnvironmentValuesCountAsUnset) {
  vars_["AWS_ACCESS_KEY_ID"] = "";
  vars_["AWS_SECRET_ACCESS_KEY"] = "";
  write_credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = f\n");
  EXPECT_EQ(resolve().credentials.access_key_id, "FILEKEY");
}

TEST_F(ResolveConfig, CredentialsFileBeatsConfigFile) {
  write_credentials(
      "[default]\naws_access_key_id = CREDKEY\naws_secret_access_key = c\n"
      "aws_session_token = ctoken\n");
  write_config("[default]\naws_access_key_id = CONFKEY\naws_secret_access_key = k\n");
  const ResolvedConfig r = resolve();
  EXPECT_EQ(r.credentials.access_key_id, "CREDKEY");
  EXPECT_EQ(r.credentials.session_token, "ctoken");
  EXPECT_EQ(r.profile, "default");
}

TEST_F(ResolveConfig, ConfigFileKeysWhenCredentialsFileLacksTheProfile) {
  write_credentials("[other]\naws_access_key_id = O\naws_secret_access_key = o\n");
  write_config("[profile dev]\naws_access_key_id = CONFKEY\naws_secret_access_key = k\n");
  vars_["AWS_PROFILE"] = "dev";
  const ResolvedConfig r = resolve();
  EXPECT_EQ(r.credentials.access_key_id, "CONFKEY");
  EXPECT_EQ(r.profile, "dev");
}

TEST_F(ResolveConfig, ProfileOptionBeatsAwsProfile) {
  write_credentials(
      "[a]\naws_access_key_id = A\naws_secret_access_key = a\n"
      "[b]\naws_access_key_id = B\naws_secret_access_key = b\n");
  vars_["AWS_PROFILE"] = "a";
  ClientConfig config;
  config.profile = "b";
  EXPECT_EQ(resolve(config).credentials.access_key_id, "B");
}

TEST_F(ResolveConfig, HalfAProfilePairNamesTheFile) {
  write_credentials("[default]\naws_access_key_id = A\n");
  EXPECT_EQ(error(), "profile 'default' in " + credentials_path() +
                         " sets aws_access_key_id but not aws_secret_access_key");
}

TEST_F(ResolveConfig, FilePathsComeFromEnvironmentOverrides) {
  const fs::path creds = dir_.path() / "elsewhere-creds";
  std::ofstream(creds) << "[default]\naws_access_key_id = ELSEWHERE\naws_secret_access_key = e\n";
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = creds.string();
  write_credentials("[default]\naws_access_key_id = HOME\naws_secret_access_key = h\n");
  EXPECT_EQ(resolve().credentials.access_key_id, "ELSEWHERE");
}

TEST_F(ResolveConfig, CredentialProcessSuppliesCredentials) {
  std::ofstream(dir_.path() / "creds.json")
      << R"({"Version": 1, "AccessKeyId": "PROCKEY", "SecretAccessKey": "procsecret",)"
      << R"( "SessionToken": "proctoken", "Expiration": "2099-01-01T00:00:00Z"})";
  write_config("[profile p]\ncredential_process = cat '" + (dir_.path() / "creds.json").string() +
               "'\n");
  vars_["AWS_PROFILE"] = "p";
  const ResolvedConfig r = resolve();
  EXPECT_EQ(r.credentials.access_key_id, "PROCKEY");
  EXPECT_EQ(r.credentials.secret_access_key, "procsecret");
  EXPECT_EQ(r.credentials.session_token, "proctoken");
}

TEST_F(ResolveConfig, FailingCredentialProcessReportsItsStderr) {
  write_config("[default]\ncredential_process = echo 'token expired' >&2; exit 3\n");
  // ';' right after a non-blank character is part of the value, not a comment.
  EXPECT_EQ(error(),
            "credential_process 'echo 'token expired' >&2; exit 3' of profile 'default' exited "
            "with status 3: token expired");
}

TEST_F(ResolveConfig, CredentialProcessWithWrongVersionIsRefused) {
  write_config("[default]\ncredential_process = printf '%s' '{\"Version\":2}'\n");
  EXPECT_EQ(error(),
            "credential_process 'printf '%s' '{\"Version\":2}'' of profile 'default' "
            "printed no \"Version\": 1 (the only version the protocol defines)");
}

TEST_F(ResolveConfig, CredentialProcessWithoutSecretIsRefused) {
  write_config(
      "[default]\ncredential_process = printf '%s' '{\"Version\":1,\"AccessKeyId\":\"K\"}'\n");
  EXPECT_NE(error().find("printed no \"SecretAccessKey\""), std::string::npos) << error();
}

TEST_F(ResolveConfig, NoCredentialsListsEveryPlaceSearched) {
  write_config("[default]\nregion = eu-west-1\n");
  EXPECT_EQ(error(),
            "no AWS credentials found; searched: explicit credentials, environment variables "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profile 'default' in the shared "
            "credentials file " +
                credentials_path() + " (not found), profile 'default' in the config file " +
                config_path() + ", credential_process of profile 'default'");
}

TEST_F(ResolveConfig, NamedProfileMissingFromBothFilesIsAnError) {
  set_env_credentials();
  vars_["AWS_PROFILE"] = "ghost";
  write_config("[profile real]\nregion = eu-west-1\n");
  EXPECT_EQ(error(), "profile 'ghost' not found in " + credentials_path() + ", " + config_path());
}

TEST_F(ResolveConfig, MissingHomeIsNotAnErrorWithExplicitCredentials) {
  vars_.erase("HOME");
  ClientConfig config;
  config.credentials = Credentials{"K", "s", ""};
  EXPECT_EQ(resolve(config).credentials.access_key_id, "K");
}

// Region: option > AWS_REGION > AWS_DEFAULT_REGION > profile > error.
class RegionOrder : public ResolveConfig {
 protected:
  void SetUp() override {
    ResolveConfig::SetUp();
    set_env_credentials();
    vars_["AWS_REGION"] = "from-aws-region";
    vars_["AWS_DEFAULT_REGION"] = "from-default-region";
    write_config("[default]\nregion = from-profile\n");
  }
};

TEST_F(RegionOrder, OptionFirst) {
  ClientConfig config;
  config.region = "from-option";
  EXPECT_EQ(resolve(config).region, "from-option");
}

TEST_F(RegionOrder, ThenAwsRegion) { EXPECT_EQ(resolve().region, "from-aws-region"); }

TEST_F(RegionOrder, ThenAwsDefaultRegion) {
  vars_.erase("AWS_REGION");
  EXPECT_EQ(resolve().region, "from-default-region");
}

TEST_F(RegionOrder, ThenProfile) {
  vars_.erase("AWS_REGION");
  vars_.erase("AWS_DEFAULT_REGION");
  EXPECT_EQ(resolve().region, "from-profile");
}

TEST_F(RegionOrder, ProfileRegionMayComeFromCredentialsFile) {
  vars_.erase("AWS_REGION");
  vars_.erase("AWS_DEFAULT_REGION");
  write_config("");
  write_credentials("[default]\nregion = from-credentials-file\n");
  EXPECT_EQ(resolve().region, "from-credentials-file");
}

TEST_F(RegionOrder, NoneIsAnErrorListingWhereItLooked) {
  vars_.erase("AWS_REGION");
  vars_.erase("AWS_DEFAULT_REGION");
  write_config("[default]\n");
  EXPECT_EQ(error(),
            "no AWS region found; searched: the region option, environment variables AWS_REGION "
            "and AWS_DEFAULT_REGION, `region` of profile 'default' in " +
                credentials_path() + ", " + config_path());
}

TEST_F(RegionOrder, InvalidRegionIsRefused) {
  vars_["AWS_REGION"] = "us-east-1/../x";
  EXPECT_EQ(error(), "region 'us-east-1/../x' from AWS_REGION is not a valid region name");
}

// Endpoint: option > AWS_ENDPOINT_URL_ECR > AWS_ENDPOINT_URL > regional default.
class EndpointOrder : public ResolveConfig {
 protected:
  void SetUp() override {
    ResolveConfig::SetUp();
    set_env_credentials();
    vars_["AWS_REGION"] = "eu-central-1";
    vars_["AWS_ENDPOINT_URL_ECR"] = "http://ecr-specific:5000/";
    vars_["AWS_ENDPOINT_URL"] = "https://generic.example";
  }
};

TEST_F(EndpointOrder, OptionFirstWithTrailingSlashStripped) {
  ClientConfig config;
  config.endpoint_url = "http://127.0.0.1:5000/";
  EXPECT_EQ(resolve(config).endpoint_url, "http://127.0.0.1:5000");
}

TEST_F(EndpointOrder, ThenServiceSpecificVariable) {
  EXPECT_EQ(resolve().endpoint_url, "http://ecr-specific:5000");
}

TEST_F(EndpointOrder, ThenGenericVariable) {
  vars_.erase("AWS_ENDPOINT_URL_ECR");
  EXPECT_EQ(resolve().endpoint_url, "https://generic.example");
}

TEST_F(EndpointOrder, ThenRegionalDefault) {
  vars_.erase("AWS_ENDPOINT_URL_ECR");
  vars_.erase("AWS_ENDPOINT_URL");
  EXPECT_EQ(resolve().endpoint_url, "https://api.ecr.eu-central-1.amazonaws.com");
}

TEST_F(EndpointOrder, RegionalDefaultUsesThePartitionsDnsSuffix) {
  vars_.erase("AWS_ENDPOINT_URL_ECR");
  vars_.erase("AWS_ENDPOINT_URL");
  const std::pair<const char*, const char*> cases[] = {
      {"us-gov-west-1", "https://api.ecr.us-gov-west-1.amazonaws.com"},
      {"cn-north-1", "https://api.ecr.cn-north-1.amazonaws.com.cn"},
      {"us-iso-east-1", "https://api.ecr.us-iso-east-1.c2s.ic.gov"},
      {"us-isob-east-1", "https://api.ecr.us-isob-east-1.sc2s.sgov.gov"},
      {"eu-isoe-west-1", "https://api.ecr.eu-isoe-west-1.cloud.adc-e.uk"},
      {"us-isof-south-1", "https://api.ecr.us-isof-south-1.csp.hci.ic.gov"},
      {"eusc-de-east-1", "https://api.ecr.eusc-de-east-1.amazonaws.eu"},
  };
  for (const auto& [region, endpoint] : cases) {
    vars_["AWS_REGION"] = region;
    EXPECT_EQ(resolve().endpoint_url, endpoint) << region;
  }
}

TEST_F(EndpointOrder, ConfiguredEndpointNeedsNoRegionOrCredentials) {
  vars_.clear();
  vars_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000/";
  EXPECT_EQ(configured_endpoint({}, env()), "http://127.0.0.1:5000");
  vars_["AWS_ENDPOINT_URL_ECR"] = "https://ecr.example:8443";
  EXPECT_EQ(configured_endpoint({}, env()), "https://ecr.example:8443");
  vars_.clear();
  EXPECT_EQ(configured_endpoint({}, env()), std::nullopt);
  vars_["AWS_ENDPOINT_URL_ECR"] = "http://host/path";
  EXPECT_THROW(configured_endpoint({}, env()), InputError);
}

TEST_F(EndpointOrder, EndpointsThatAreNotSchemeHostPortAreRefused) {
  for (const char* bad : {"ftp://host", "host:5000", "http://", "http://host:99999",
                          "http://user@host", "http://host/path", "http://host?x=1"}) {
    ClientConfig config;
    config.endpoint_url = bad;
    EXPECT_NE(error(config).find("endpoint from the endpoint option"), std::string::npos)
        << bad << " -> " << error(config);
  }
}

// CA bundle: option > AWS_CA_BUNDLE > profile `ca_bundle` > the system's.
class CaBundleOrder : public ResolveConfig {
 protected:
  void SetUp() override {
    ResolveConfig::SetUp();
    set_env_credentials();
    for (const char* name : {"option.pem", "env.pem", "profile.pem"}) {
      std::ofstream(bundle(name)) << "-----BEGIN CERTIFICATE-----\n";
    }
    vars_["AWS_CA_BUNDLE"] = bundle("env.pem");
    write_config("[default]\nca_bundle = " + bundle("profile.pem") + "\n");
  }
  std::string bundle(const char* name) const { return (dir_.path() / name).string(); }
};

TEST_F(CaBundleOrder, OptionFirst) {
  ClientConfig config;
  config.ca_bundle = bundle("option.pem");
  EXPECT_EQ(resolve(config).ca_bundle, bundle("option.pem"));
}

TEST_F(CaBundleOrder, ThenAwsCaBundle) { EXPECT_EQ(resolve().ca_bundle, bundle("env.pem")); }

TEST_F(CaBundleOrder, ThenProfile) {
  vars_.erase("AWS_CA_BUNDLE");
  EXPECT_EQ(resolve().ca_bundle, bundle("profile.pem"));
}

TEST_F(CaBundleOrder, EmptyVariableCountsAsUnset) {
  vars_["AWS_CA_BUNDLE"] = "";
  EXPECT_EQ(resolve().ca_bundle, bundle("profile.pem"));
}

TEST_F(CaBundleOrder, NoneLeavesTheSystemTrustStore) {
  vars_.erase("AWS_CA_BUNDLE");
  write_config("[default]\n");
  EXPECT_EQ(resolve().ca_bundle, "");
}

TEST_F(CaBundleOrder, UnreadableBundleIsAnErrorNamingTheFileAndWhereItCameFrom) {
  vars_["AWS_CA_BUNDLE"] = bundle("missing.pem");
  EXPECT_EQ(error(), "CA bundle " + bundle("missing.pem") +
                         " from AWS_CA_BUNDLE cannot be read: No such file or directory");
  vars_.erase("AWS_CA_BUNDLE");
  write_config("[default]\nca_bundle = " + bundle("missing.pem") + "\n");
  EXPECT_EQ(error(), "CA bundle " + bundle("missing.pem") +
                         " from `ca_bundle` of profile 'default' cannot be read: No such file or "
                         "directory");
}

// Attempts: option > AWS_MAX_ATTEMPTS > profile `max_attempts` > 3.
class MaxAttemptsOrder : public ResolveConfig {
 protected:
  void SetUp() override {
    ResolveConfig::SetUp();
    set_env_credentials();
    vars_["AWS_MAX_ATTEMPTS"] = "7";
    write_config("[default]\nmax_attempts = 5\n");
  }
};

TEST_F(MaxAttemptsOrder, OptionFirst) {
  ClientConfig config;
  config.max_attempts = 2;
  EXPECT_EQ(resolve(config).max_attempts, 2);
}

TEST_F(MaxAttemptsOrder, ThenAwsMaxAttempts) { EXPECT_EQ(resolve().max_attempts, 7); }

TEST_F(MaxAttemptsOrder, ThenProfile) {
  vars_.erase("AWS_MAX_ATTEMPTS");
  EXPECT_EQ(resolve().max_attempts, 5);
}

TEST_F(MaxAttemptsOrder, NoneIsTheStandardModesThree) {
  vars_.erase("AWS_MAX_ATTEMPTS");
  write_config("[default]\n");
  EXPECT_EQ(resolve().max_attempts, 3);
}

TEST_F(MaxAttemptsOrder, AnUnusableCountIsRefusedNamingWhereItCameFrom) {
  for (const char* bad : {"0", "-1", "101", "three", "3.5", "3 "}) {
    vars_["AWS_MAX_ATTEMPTS"] = bad;
    EXPECT_EQ(error(), "max_attempts '" + std::string(bad) +
                           "' from AWS_MAX_ATTEMPTS must be a whole number from 1 to 100");
  }
  vars_.erase("AWS_MAX_ATTEMPTS");
  write_config("[default]\nmax_attempts = lots\n");
  EXPECT_EQ(error(),
            "max_attempts 'lots' from `max_attempts` of profile 'default' must be a "
            "whole number from 1 to 100");
  ClientConfig config;
  config.max_attempts = 0;
  EXPECT_EQ(error(config),
            "max_attempts '0' from the max attempts option must be a whole "
            "number from 1 to 100");
}

// Stall timeout: option > ECR_STALL_TIMEOUT > 15 s.
class StallTimeoutOrder : public ResolveConfig {
 protected:
  void SetUp() override {
    ResolveConfig::SetUp();
    set_env_credentials();
    write_config("[default]\n");
    vars_["ECR_STALL_TIMEOUT"] = "40";
  }
};

TEST_F(StallTimeoutOrder, OptionFirst) {
  ClientConfig config;
  config.stall_timeout = std::chrono::seconds(2);
  EXPECT_EQ(resolve(config).stall_timeout, std::chrono::seconds(2));
}

TEST_F(StallTimeoutOrder, ThenTheEnvironment) {
  EXPECT_EQ(resolve().stall_timeout, std::chrono::seconds(40));
}

TEST_F(StallTimeoutOrder, NoneIsFifteenSeconds) {
  vars_.erase("ECR_STALL_TIMEOUT");
  EXPECT_EQ(resolve().stall_timeout, std::chrono::seconds(15));
}

TEST_F(StallTimeoutOrder, AnUnusableTimeoutIsRefusedNamingWhereItCameFrom) {
  for (const char* bad : {"0", "-5", "3601", "15s", "1.5", ""}) {
    vars_["ECR_STALL_TIMEOUT"] = bad;
    if (std::string(bad).empty()) {
      EXPECT_EQ(resolve().stall_timeout, std::chrono::seconds(15));  // "" counts as unset
      continue;
    }
    EXPECT_EQ(error(), "stall timeout '" + std::string(bad) +
                           "' from ECR_STALL_TIMEOUT must be a whole number of seconds from 1 "
                           "to 3600");
  }
  vars_.erase("ECR_STALL_TIMEOUT");
  ClientConfig config;
  config.stall_timeout = std::chrono::seconds(0);
  EXPECT_EQ(error(config),
            "stall timeout '0' from the stall timeout option must be a whole number of seconds "
            "from 1 to 3600");
}

TEST(ProcessEnvironment, ReadsTheRealEnvironment) {
  setenv("ECR_CONFIG_TEST_VARIABLE", "value 1", 1);
  const Environment env = process_environment();
  EXPECT_EQ(env("ECR_CONFIG_TEST_VARIABLE"), "value 1");
  unsetenv("ECR_CONFIG_TEST_VARIABLE");
  EXPECT_EQ(env("ECR_CONFIG_TEST_VARIABLE"), std::nullopt);
}

}  // namespace
}  // namespace ecr::aws

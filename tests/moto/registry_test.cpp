// Registry-wide operations through ecr::Client against moto_server:
// authorization tokens, DescribeRegistry, replication and registry scanning.
#include "core/base64.hpp"
#include "moto/moto_fixture.hpp"

namespace ecr::moto_test {
namespace {

using RegistryTest = MotoTest;

api::ReplicationConfiguration replicate_to(const std::string& region, const std::string& registry) {
  api::ReplicationDestination destination;
  destination.region = region;
  destination.registryId = registry;
  api::ReplicationRule rule;
  rule.destinations = {destination};
  api::ReplicationConfiguration config;
  config.rules = {rule};
  return config;
}

api::RegistryScanningRule scan_continuously(const std::string& filter) {
  api::RegistryScanningRule rule;
  rule.scanFrequency = "CONTINUOUS_SCAN";
  rule.repositoryFilters = {api::ScanningRepositoryFilter{filter, "WILDCARD"}};
  return rule;
}

TEST_F(RegistryTest, GetAuthorizationTokenGivesADockerLoginForTheRegistry) {
  api::GetAuthorizationTokenResponse response = client().get_authorization_token();

  ASSERT_EQ(response.authorizationData.value().size(), 1u);
  const api::AuthorizationData& data = response.authorizationData->at(0);
  EXPECT_EQ(data.proxyEndpoint, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com");
  EXPECT_TRUE(data.expiresAt.has_value());
  // The token is base64("AWS:<password>"): docker login -u AWS -p <password>.
  std::string login = base64::decode(data.authorizationToken.value());
  EXPECT_EQ(login.substr(0, 4), "AWS:");
  EXPECT_GT(login.size(), 4u);
}

TEST_F(RegistryTest, DescribeRegistryStartsWithoutReplicationRules) {
  api::DescribeRegistryResponse response = client().describe_registry();

  EXPECT_EQ(response.registryId, std::string(kAccount));
  ASSERT_TRUE(response.replicationConfiguration.has_value());
  EXPECT_TRUE(response.replicationConfiguration->rules.empty());
}

TEST_F(RegistryTest, PutReplicationConfigurationIsReturnedAndDescribed) {
  api::PutReplicationConfigurationRequest request;
  request.replicationConfiguration = replicate_to("eu-west-1", std::string(kAccount));

  api::PutReplicationConfigurationResponse response =
      client().put_replication_configuration(request);

  EXPECT_EQ(response.replicationConfiguration, request.replicationConfiguration);
  EXPECT_EQ(client().describe_registry().replicationConfiguration,
            request.replicationConfiguration);
}

TEST_F(RegistryTest, ReplicatingToTheSourceRegistryThrowsInvalidParameter) {
  api::PutReplicationConfigurationRequest request;
  request.replicationConfiguration = replicate_to(std::string(kRegion), std::string(kAccount));

  try {
    client().put_replication_configuration(request);
    FAIL() << "no exception";
  } catch (const api::InvalidParameterException& e) {
    EXPECT_EQ(e.name(), "InvalidParameterException");
    EXPECT_EQ(e.message(),
              "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
              "'Replication destination cannot be the same as the source registry'");
  }
}

TEST_F(RegistryTest, RegistryScanningConfigurationStartsBasicWithoutRules) {
  api::GetRegistryScanningConfigurationResponse response =
      client().get_registry_scanning_configuration();

  EXPECT_EQ(response.registryId, std::string(kAccount));
  const api::RegistryScanningConfiguration& config = response.scanningConfiguration.value();
  EXPECT_EQ(config.scanType, "BASIC");
  EXPECT_EQ(config.rules, std::vector<api::RegistryScanningRule>{});
}

TEST_F(RegistryTest, PutRegistryScanningConfigurationIsReturnedAndRead) {
  api::PutRegistryScanningConfigurationRequest request;
  request.scanType = "ENHANCED";
  request.rules = std::vector<api::RegistryScanningRule>{scan_continuously("prod-*")};

  api::PutRegistryScanningConfigurationResponse response =
      client().put_registry_scanning_configuration(request);

  api::RegistryScanningConfiguration expected;
  expected.scanType = "ENHANCED";
  expected.rules = request.rules;
  EXPECT_EQ(response.registryScanningConfiguration, expected);
  EXPECT_EQ(client().get_registry_scanning_configuration().scanningConfiguration, expected);
}

TEST_F(RegistryTest, RegistryScanningRulesApplyToMatchingRepositories) {
  create_repository("prod-api");
  create_repository("dev-api");
  api::PutRegistryScanningConfigurationRequest put;
  put.scanType = "ENHANCED";
  put.rules = std::vector<api::RegistryScanningRule>{scan_continuously("prod-*")};
  client().put_registry_scanning_configuration(put);
  api::BatchGetRepositoryScanningConfigurationRequest request;
  request.repositoryNames = {"prod-api", "dev-api"};

  api::BatchGetRepositoryScanningConfigurationResponse response =
      client().batch_get_repository_scanning_configuration(request);

  ASSERT_EQ(response.scanningConfigurations.value().size(), 2u);
  const auto& prod = response.scanningConfigurations->at(0);
  const auto& dev = response.scanningConfigurations->at(1);
  EXPECT_EQ(prod.repositoryName, "prod-api");
  EXPECT_EQ(prod.scanFrequency, "CONTINUOUS_SCAN");
  EXPECT_EQ(prod.appliedScanFilters,
            (std::vector<api::ScanningRepositoryFilter>{{"prod-*", "WILDCARD"}}));
  EXPECT_EQ(dev.repositoryName, "dev-api");
  EXPECT_EQ(dev.scanFrequency, "MANUAL");
  EXPECT_EQ(dev.appliedScanFilters, std::vector<api::ScanningRepositoryFilter>{});
}

}  // namespace
}  // namespace ecr::moto_test

// Repositories through ecr::Client against moto_server: create, describe
// (one page and all pages), delete, tags, tag mutability and scanning
// configuration, with the typed errors ECR answers.
#include <algorithm>
#include <vector>

#include "moto/moto_fixture.hpp"

namespace ecr::moto_test {
namespace {

using RepositoriesTest = MotoTest;

std::vector<std::string> names_of(const std::vector<api::Repository>& repositories) {
  std::vector<std::string> names;
  for (const auto& r : repositories) names.push_back(r.repositoryName.value_or("<none>"));
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<api::Tag> sorted(std::vector<api::Tag> tags) {
  std::sort(tags.begin(), tags.end(),
            [](const api::Tag& a, const api::Tag& b) { return a.Key < b.Key; });
  return tags;
}

TEST_F(RepositoriesTest, CreateRepositoryReturnsArnUriAndDefaults) {
  api::CreateRepositoryRequest request;
  request.repositoryName = "team/app";

  api::CreateRepositoryResponse response = client().create_repository(request);

  ASSERT_TRUE(response.repository.has_value());
  const api::Repository& repo = *response.repository;
  EXPECT_EQ(repo.repositoryName, "team/app");
  EXPECT_EQ(repo.registryId, std::string(kAccount));
  EXPECT_EQ(repo.repositoryArn, "arn:aws:ecr:us-east-1:123456789012:repository/team/app");
  EXPECT_EQ(repo.repositoryUri, "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app");
  EXPECT_EQ(repo.imageTagMutability, "MUTABLE");
  ASSERT_TRUE(repo.imageScanningConfiguration.has_value());
  EXPECT_EQ(repo.imageScanningConfiguration->scanOnPush, false);
  ASSERT_TRUE(repo.encryptionConfiguration.has_value());
  EXPECT_EQ(repo.encryptionConfiguration->encryptionType, "AES256");
  EXPECT_TRUE(repo.createdAt.has_value());
}

TEST_F(RepositoriesTest, CreateRepositoryKeepsRequestedSettings) {
  api::CreateRepositoryRequest request;
  request.repositoryName = "locked";
  request.imageTagMutability = "IMMUTABLE";
  request.imageScanningConfiguration = api::ImageScanningConfiguration{true};

  api::Repository repo = client().create_repository(request).repository.value();

  EXPECT_EQ(repo.imageTagMutability, "IMMUTABLE");
  ASSERT_TRUE(repo.imageScanningConfiguration.has_value());
  EXPECT_EQ(repo.imageScanningConfiguration->scanOnPush, true);
}

TEST_F(RepositoriesTest, CreateRepositoryKeepsTagMutabilityExclusionFilters) {
  api::CreateRepositoryRequest request;
  request.repositoryName = "mostly-locked";
  request.imageTagMutability = "IMMUTABLE_WITH_EXCLUSION";
  request.imageTagMutabilityExclusionFilters =
      std::vector<api::ImageTagMutabilityExclusionFilter>{{"dev-*", "WILDCARD"}};

  api::Repository repo = client().create_repository(request).repository.value();

  EXPECT_EQ(repo.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
  EXPECT_EQ(repo.imageTagMutabilityExclusionFilters, request.imageTagMutabilityExclusionFilters);
}

TEST_F(RepositoriesTest, ATagMatchingAnExclusionFilterMovesInAnImmutableRepository) {
  api::CreateRepositoryRequest create;
  create.repositoryName = "mostly-locked";
  create.imageTagMutability = "IMMUTABLE_WITH_EXCLUSION";
  create.imageTagMutabilityExclusionFilters =
      std::vector<api::ImageTagMutabilityExclusionFilter>{{"dev-*", "WILDCARD"}};
  client().create_repository(create);
  put_image("mostly-locked", docker_manifest("a"), "dev-1");
  std::string second = docker_manifest("b");

  api::Image moved = put_image("mostly-locked", second, "dev-1");

  EXPECT_EQ(moved.imageId.value().imageDigest, Digest::of(second).str());
  api::BatchGetImageRequest get;
  get.repositoryName = "mostly-locked";
  api::ImageIdentifier id;
  id.imageTag = "dev-1";
  get.imageIds = {id};
  EXPECT_EQ(client().batch_get_image(get).images.value().at(0).imageManifest, second);
}

TEST_F(RepositoriesTest, CreatingAnExistingRepositoryThrowsRepositoryAlreadyExists) {
  create_repository("twice");
  api::CreateRepositoryRequest request;
  request.repositoryName = "twice";

  try {
    client().create_repository(request);
    FAIL() << "no exception";
  } catch (const api::RepositoryAlreadyExistsException& e) {
    EXPECT_EQ(e.name(), "RepositoryAlreadyExistsException");
    EXPECT_EQ(e.message(),
              "The repository with name 'twice' already exists in the registry with id "
              "'123456789012'");
    EXPECT_EQ(e.http_status(), 400);
  }
}

TEST_F(RepositoriesTest, DescribeRepositoriesByNameReturnsOnlyThoseRepositories) {
  create_repository("one");
  create_repository("two");
  create_repository("three");
  api::DescribeRepositoriesRequest request;
  request.repositoryNames = std::vector<std::string>{"one", "three"};

  api::DescribeRepositoriesResponse response = client().describe_repositories(request);

  ASSERT_TRUE(response.repositories.has_value());
  EXPECT_EQ(names_of(*response.repositories), (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(response.nextToken, std::nullopt);
}

TEST_F(RepositoriesTest, DescribeRepositoriesOfAMissingNameThrowsRepositoryNotFound) {
  api::DescribeRepositoriesRequest request;
  request.repositoryNames = std::vector<std::string>{"missing"};

  try {
    client().describe_repositories(request);
    FAIL() << "no exception";
  } catch (const api::RepositoryNotFoundException& e) {
    EXPECT_EQ(e.name(), "RepositoryNotFoundException");
    EXPECT_EQ(e.message(),
              "The repository with name 'missing' does not exist in the registry with id "
              "'123456789012'");
  }
}

// ECR pages by maxResults; moto ignores maxResults and answers one page
// without nextToken. Either way the paginator must return every repository
// exactly once.
TEST_F(RepositoriesTest, DescribeRepositoriesAllCollectsEveryRepositoryAcrossPages) {
  for (const char* name : {"r1", "r2", "r3", "r4", "r5"}) create_repository(name);
  api::DescribeRepositoriesRequest request;
  request.maxResults = 2;

  std::vector<api::Repository> all = client().describe_repositories_all(request);

  EXPECT_EQ(names_of(all), (std::vector<std::string>{"r1", "r2", "r3", "r4", "r5"}));
}

TEST_F(RepositoriesTest, PaginateDescribeRepositoriesStopsWhenTheCallbackSaysSo) {
  for (const char* name : {"r1", "r2", "r3"}) create_repository(name);
  int pages = 0;

  client().paginate_describe_repositories(api::DescribeRepositoriesRequest{},
                                          [&pages](const api::DescribeRepositoriesResponse&) {
                                            ++pages;
                                            return false;
                                          });

  EXPECT_EQ(pages, 1);
}

TEST_F(RepositoriesTest, DeleteRepositoryReturnsItAndForgetsIt) {
  create_repository("doomed");
  api::DeleteRepositoryRequest request;
  request.repositoryName = "doomed";

  api::DeleteRepositoryResponse response = client().delete_repository(request);

  ASSERT_TRUE(response.repository.has_value());
  EXPECT_EQ(response.repository->repositoryName, "doomed");
  EXPECT_EQ(response.repository->repositoryArn, repository_arn("doomed"));
  EXPECT_TRUE(client().describe_repositories_all().empty());
}

TEST_F(RepositoriesTest, DeletingAMissingRepositoryThrowsRepositoryNotFound) {
  api::DeleteRepositoryRequest request;
  request.repositoryName = "never-made";

  EXPECT_THROW(client().delete_repository(request), api::RepositoryNotFoundException);
}

TEST_F(RepositoriesTest, DeletingARepositoryWithImagesThrowsRepositoryNotEmpty) {
  create_repository("full");
  put_image("full", docker_manifest("a"), "v1");
  api::DeleteRepositoryRequest request;
  request.repositoryName = "full";

  try {
    client().delete_repository(request);
    FAIL() << "no exception";
  } catch (const api::RepositoryNotEmptyException& e) {
    EXPECT_EQ(e.name(), "RepositoryNotEmptyException");
    EXPECT_EQ(e.message(),
              "The repository with name 'full' in registry with id '123456789012' cannot be "
              "deleted because it still contains images");
  }
}

TEST_F(RepositoriesTest, ForceDeletesARepositoryWithImages) {
  create_repository("full");
  put_image("full", docker_manifest("a"), "v1");
  api::DeleteRepositoryRequest request;
  request.repositoryName = "full";
  request.force = true;

  api::DeleteRepositoryResponse response = client().delete_repository(request);

  EXPECT_EQ(response.repository.value().repositoryName, "full");
  EXPECT_TRUE(client().describe_repositories_all().empty());
}

TEST_F(RepositoriesTest, TagsGivenAtCreationAreListed) {
  api::CreateRepositoryRequest request;
  request.repositoryName = "tagged";
  request.tags = std::vector<api::Tag>{{"team", "platform"}, {"env", "test"}};
  client().create_repository(request);
  api::ListTagsForResourceRequest list;
  list.resourceArn = repository_arn("tagged");

  api::ListTagsForResourceResponse response = client().list_tags_for_resource(list);

  EXPECT_EQ(sorted(response.tags.value()),
            (std::vector<api::Tag>{{"env", "test"}, {"team", "platform"}}));
}

TEST_F(RepositoriesTest, TagResourceAddsAndOverwritesTags) {
  api::CreateRepositoryRequest create;
  create.repositoryName = "tagged";
  create.tags = std::vector<api::Tag>{{"env", "test"}};
  client().create_repository(create);
  api::TagResourceRequest tag;
  tag.resourceArn = repository_arn("tagged");
  tag.tags = {{"env", "prod"}, {"owner", "me"}};

  client().tag_resource(tag);

  api::ListTagsForResourceRequest list;
  list.resourceArn = repository_arn("tagged");
  EXPECT_EQ(sorted(client().list_tags_for_resource(list).tags.value()),
            (std::vector<api::Tag>{{"env", "prod"}, {"owner", "me"}}));
}

TEST_F(RepositoriesTest, UntagResourceRemovesOnlyTheNamedKeys) {
  api::CreateRepositoryRequest create;
  create.repositoryName = "tagged";
  create.tags = std::vector<api::Tag>{{"a", "1"}, {"b", "2"}, {"c", "3"}};
  client().create_repository(create);
  api::UntagResourceRequest untag;
  untag.resourceArn = repository_arn("tagged");
  untag.tagKeys = {"a", "c"};

  client().untag_resource(untag);

  api::ListTagsForResourceRequest list;
  list.resourceArn = repository_arn("tagged");
  EXPECT_EQ(client().list_tags_for_resource(list).tags.value(),
            (std::vector<api::Tag>{{"b", "2"}}));
}

TEST_F(RepositoriesTest, ListingTagsOfAMissingRepositoryThrowsRepositoryNotFound) {
  api::ListTagsForResourceRequest list;
  list.resourceArn = repository_arn("ghost");

  EXPECT_THROW(client().list_tags_for_resource(list), api::RepositoryNotFoundException);
}

TEST_F(RepositoriesTest, TaggingAnArnThatIsNoRepositoryThrowsInvalidParameter) {
  api::TagResourceRequest tag;
  tag.resourceArn = "arn:aws:s3:::not-a-repository";
  tag.tags = {{"k", "v"}};

  try {
    client().tag_resource(tag);
    FAIL() << "no exception";
  } catch (const api::InvalidParameterException& e) {
    EXPECT_EQ(e.name(), "InvalidParameterException");
  }
}

TEST_F(RepositoriesTest, PutImageTagMutabilityChangesTheRepository) {
  create_repository("app");
  api::PutImageTagMutabilityRequest request;
  request.repositoryName = "app";
  request.imageTagMutability = "IMMUTABLE";

  api::PutImageTagMutabilityResponse response = client().put_image_tag_mutability(request);

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.imageTagMutability, "IMMUTABLE");
  api::DescribeRepositoriesRequest describe;
  describe.repositoryNames = std::vector<std::string>{"app"};
  EXPECT_EQ(client().describe_repositories(describe).repositories.value().at(0).imageTagMutability,
            "IMMUTABLE");
}

TEST_F(RepositoriesTest, PutImageTagMutabilityOfAMissingRepositoryThrowsRepositoryNotFound) {
  api::PutImageTagMutabilityRequest request;
  request.repositoryName = "ghost";
  request.imageTagMutability = "IMMUTABLE";

  EXPECT_THROW(client().put_image_tag_mutability(request), api::RepositoryNotFoundException);
}

TEST_F(RepositoriesTest, PutImageScanningConfigurationChangesTheRepository) {
  create_repository("app");
  api::PutImageScanningConfigurationRequest request;
  request.repositoryName = "app";
  request.imageScanningConfiguration.scanOnPush = true;

  api::PutImageScanningConfigurationResponse response =
      client().put_image_scanning_configuration(request);

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  ASSERT_TRUE(response.imageScanningConfiguration.has_value());
  EXPECT_EQ(response.imageScanningConfiguration->scanOnPush, true);
  api::DescribeRepositoriesRequest describe;
  describe.repositoryNames = std::vector<std::string>{"app"};
  EXPECT_EQ(client()
                .describe_repositories(describe)
                .repositories.value()
                .at(0)
                .imageScanningConfiguration.value()
                .scanOnPush,
            true);
}

TEST_F(RepositoriesTest, BatchGetRepositoryScanningConfigurationReportsMissingOnesAsFailures) {
  create_repository("present");
  api::BatchGetRepositoryScanningConfigurationRequest request;
  request.repositoryNames = {"present", "absent"};

  api::BatchGetRepositoryScanningConfigurationResponse response =
      client().batch_get_repository_scanning_configuration(request);

  ASSERT_EQ(response.scanningConfigurations.value().size(), 1u);
  const api::RepositoryScanningConfiguration& config = response.scanningConfigurations->at(0);
  EXPECT_EQ(config.repositoryName, "present");
  EXPECT_EQ(config.repositoryArn, repository_arn("present"));
  EXPECT_EQ(config.scanOnPush, false);
  EXPECT_EQ(config.scanFrequency, "MANUAL");
  ASSERT_EQ(response.failures.value().size(), 1u);
  EXPECT_EQ(response.failures->at(0).repositoryName, "absent");
  EXPECT_EQ(response.failures->at(0).failureCode, "REPOSITORY_NOT_FOUND");
}

}  // namespace
}  // namespace ecr::moto_test

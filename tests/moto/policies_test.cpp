// Repository, registry and lifecycle policies through ecr::Client against
// moto_server: each text goes in and comes back byte for byte, and each
// "none set" case is its own typed error.
#include "moto/moto_fixture.hpp"

namespace ecr::moto_test {
namespace {

using PoliciesTest = MotoTest;

constexpr const char* kRepositoryPolicy =
    R"({"Version":"2012-10-17","Statement":[{"Sid":"AllowPull","Effect":"Allow",)"
    R"("Principal":{"AWS":"arn:aws:iam::123456789012:root"},)"
    R"("Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]})";

// A registry policy may only grant ecr:CreateRepository and ecr:ReplicateImage.
constexpr const char* kRegistryPolicy =
    R"({"Version":"2012-10-17","Statement":[{"Sid":"Replicate","Effect":"Allow",)"
    R"("Principal":{"AWS":"arn:aws:iam::210987654321:root"},)"
    R"("Action":["ecr:CreateRepository","ecr:ReplicateImage"],)"
    R"("Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]})";

// At least 100 characters: the model's minimum for LifecyclePolicyText.
constexpr const char* kLifecyclePolicy =
    R"({"rules":[{"rulePriority":1,"description":"expire untagged images beyond ten",)"
    R"("selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":10},)"
    R"("action":{"type":"expire"}}]})";

api::SetRepositoryPolicyRequest repository_policy(const std::string& repository,
                                                  const std::string& text) {
  api::SetRepositoryPolicyRequest request;
  request.repositoryName = repository;
  request.policyText = text;
  return request;
}

api::PutLifecyclePolicyRequest lifecycle_policy(const std::string& repository) {
  api::PutLifecyclePolicyRequest request;
  request.repositoryName = repository;
  request.lifecyclePolicyText = kLifecyclePolicy;
  return request;
}

api::PutRegistryPolicyRequest registry_policy() {
  api::PutRegistryPolicyRequest request;
  request.policyText = kRegistryPolicy;
  return request;
}

TEST_F(PoliciesTest, SetRepositoryPolicyReturnsThePolicyText) {
  create_repository("app");

  api::SetRepositoryPolicyResponse response =
      client().set_repository_policy(repository_policy("app", kRepositoryPolicy));

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.policyText, kRepositoryPolicy);
}

TEST_F(PoliciesTest, GetRepositoryPolicyReturnsTheTextAsSet) {
  create_repository("app");
  client().set_repository_policy(repository_policy("app", kRepositoryPolicy));
  api::GetRepositoryPolicyRequest request;
  request.repositoryName = "app";

  api::GetRepositoryPolicyResponse response = client().get_repository_policy(request);

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.policyText, kRepositoryPolicy);
}

TEST_F(PoliciesTest, GetRepositoryPolicyWhenNoneIsSetThrowsRepositoryPolicyNotFound) {
  create_repository("app");
  api::GetRepositoryPolicyRequest request;
  request.repositoryName = "app";

  try {
    client().get_repository_policy(request);
    FAIL() << "no exception";
  } catch (const api::RepositoryPolicyNotFoundException& e) {
    EXPECT_EQ(e.name(), "RepositoryPolicyNotFoundException");
    EXPECT_EQ(e.message(),
              "Repository policy does not exist for the repository with name 'app' in the "
              "registry with id '123456789012'");
  }
}

TEST_F(PoliciesTest, DeleteRepositoryPolicyReturnsTheTextAndRemovesIt) {
  create_repository("app");
  client().set_repository_policy(repository_policy("app", kRepositoryPolicy));
  api::DeleteRepositoryPolicyRequest request;
  request.repositoryName = "app";

  api::DeleteRepositoryPolicyResponse response = client().delete_repository_policy(request);

  EXPECT_EQ(response.policyText, kRepositoryPolicy);
  EXPECT_EQ(response.repositoryName, "app");
  api::GetRepositoryPolicyRequest get;
  get.repositoryName = "app";
  EXPECT_THROW(client().get_repository_policy(get), api::RepositoryPolicyNotFoundException);
}

TEST_F(PoliciesTest, DeleteRepositoryPolicyWhenNoneIsSetThrowsRepositoryPolicyNotFound) {
  create_repository("app");
  api::DeleteRepositoryPolicyRequest request;
  request.repositoryName = "app";

  EXPECT_THROW(client().delete_repository_policy(request), api::RepositoryPolicyNotFoundException);
}

TEST_F(PoliciesTest, SetRepositoryPolicyOfAMissingRepositoryThrowsRepositoryNotFound) {
  EXPECT_THROW(client().set_repository_policy(repository_policy("ghost", kRepositoryPolicy)),
               api::RepositoryNotFoundException);
}

TEST_F(PoliciesTest, SetRepositoryPolicyThatIsNotAPolicyThrowsInvalidParameter) {
  create_repository("app");

  try {
    client().set_repository_policy(repository_policy("app", R"({"Statement":"nonsense"})"));
    FAIL() << "no exception";
  } catch (const api::InvalidParameterException& e) {
    EXPECT_EQ(e.name(), "InvalidParameterException");
    EXPECT_EQ(e.message(),
              "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid "
              "repository policy provided'");
  }
}

TEST_F(PoliciesTest, PutRegistryPolicyReturnsTheTextAndRegistry) {
  api::PutRegistryPolicyResponse response = client().put_registry_policy(registry_policy());

  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.policyText, kRegistryPolicy);
}

TEST_F(PoliciesTest, GetRegistryPolicyReturnsTheTextAsPut) {
  client().put_registry_policy(registry_policy());

  api::GetRegistryPolicyResponse response = client().get_registry_policy();

  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.policyText, kRegistryPolicy);
}

TEST_F(PoliciesTest, GetRegistryPolicyWhenNoneIsSetThrowsRegistryPolicyNotFound) {
  try {
    client().get_registry_policy();
    FAIL() << "no exception";
  } catch (const api::RegistryPolicyNotFoundException& e) {
    EXPECT_EQ(e.name(), "RegistryPolicyNotFoundException");
    EXPECT_EQ(e.message(), "Registry policy does not exist in the registry with id '123456789012'");
  }
}

TEST_F(PoliciesTest, DeleteRegistryPolicyReturnsTheTextAndRemovesIt) {
  client().put_registry_policy(registry_policy());

  api::DeleteRegistryPolicyResponse response = client().delete_registry_policy();

  EXPECT_EQ(response.policyText, kRegistryPolicy);
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_THROW(client().get_registry_policy(), api::RegistryPolicyNotFoundException);
}

TEST_F(PoliciesTest, PutRegistryPolicyGrantingOtherActionsThrowsInvalidParameter) {
  api::PutRegistryPolicyRequest request;
  request.policyText =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
      R"("Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"ecr:BatchGetImage",)"
      R"("Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]})";

  EXPECT_THROW(client().put_registry_policy(request), api::InvalidParameterException);
}

TEST_F(PoliciesTest, PutLifecyclePolicyReturnsTheText) {
  create_repository("app");

  api::PutLifecyclePolicyResponse response = client().put_lifecycle_policy(lifecycle_policy("app"));

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.lifecyclePolicyText, kLifecyclePolicy);
}

TEST_F(PoliciesTest, GetLifecyclePolicyReturnsTheTextAsPut) {
  create_repository("app");
  client().put_lifecycle_policy(lifecycle_policy("app"));
  api::GetLifecyclePolicyRequest request;
  request.repositoryName = "app";

  api::GetLifecyclePolicyResponse response = client().get_lifecycle_policy(request);

  EXPECT_EQ(response.repositoryName, "app");
  EXPECT_EQ(response.registryId, std::string(kAccount));
  EXPECT_EQ(response.lifecyclePolicyText, kLifecyclePolicy);
  EXPECT_TRUE(response.lastEvaluatedAt.has_value());
}

TEST_F(PoliciesTest, GetLifecyclePolicyWhenNoneIsSetThrowsLifecyclePolicyNotFound) {
  create_repository("app");
  api::GetLifecyclePolicyRequest request;
  request.repositoryName = "app";

  try {
    client().get_lifecycle_policy(request);
    FAIL() << "no exception";
  } catch (const api::LifecyclePolicyNotFoundException& e) {
    EXPECT_EQ(e.name(), "LifecyclePolicyNotFoundException");
    EXPECT_EQ(e.message(),
              "Lifecycle policy does not exist for the repository with name 'app' in the "
              "registry with id '123456789012'");
  }
}

TEST_F(PoliciesTest, DeleteLifecyclePolicyReturnsTheTextAndRemovesIt) {
  create_repository("app");
  client().put_lifecycle_policy(lifecycle_policy("app"));
  api::DeleteLifecyclePolicyRequest request;
  request.repositoryName = "app";

  api::DeleteLifecyclePolicyResponse response = client().delete_lifecycle_policy(request);

  EXPECT_EQ(response.lifecyclePolicyText, kLifecyclePolicy);
  EXPECT_EQ(response.repositoryName, "app");
  api::GetLifecyclePolicyRequest get;
  get.repositoryName = "app";
  EXPECT_THROW(client().get_lifecycle_policy(get), api::LifecyclePolicyNotFoundException);
}

TEST_F(PoliciesTest, DeleteLifecyclePolicyWhenNoneIsSetThrowsLifecyclePolicyNotFound) {
  create_repository("app");
  api::DeleteLifecyclePolicyRequest request;
  request.repositoryName = "app";

  EXPECT_THROW(client().delete_lifecycle_policy(request), api::LifecyclePolicyNotFoundException);
}

TEST_F(PoliciesTest, PutLifecyclePolicyWithAnUnknownActionThrowsInvalidParameter) {
  create_repository("app");
  api::PutLifecyclePolicyRequest request = lifecycle_policy("app");
  request.lifecyclePolicyText =
      R"({"rules":[{"rulePriority":1,"description":"an action ECR does not know",)"
      R"("selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},)"
      R"("action":{"type":"archive-forever"}}]})";

  EXPECT_THROW(client().put_lifecycle_policy(request), api::InvalidParameterException);
}

TEST_F(PoliciesTest, PutLifecyclePolicyOfAMissingRepositoryThrowsRepositoryNotFound) {
  EXPECT_THROW(client().put_lifecycle_policy(lifecycle_policy("ghost")),
               api::RepositoryNotFoundException);
}

}  // namespace
}  // namespace ecr::moto_test

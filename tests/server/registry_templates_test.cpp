// Repository creation templates in the Registry: prefix matching,
// create-on-push with every setting, the quota, and concurrent first pushes.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "server/registry.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLifecycle =
    R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]})";

CreationTemplate push_template(std::string prefix, std::string tag_value = "") {
  CreationTemplate t;
  t.prefix = std::move(prefix);
  t.applied_for = {"CREATE_ON_PUSH"};
  if (!tag_value.empty()) t.resource_tags = {{"from", tag_value}};
  return t;
}

class RegistryTemplatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ecr-registry-templates-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    registry_ = std::make_unique<Registry>(root_, RegistrySettings{}, [this] { return now_; });
  }
  void TearDown() override {
    registry_.reset();
    fs::remove_all(root_);
  }
  std::string created_from(const std::string& name) {
    registry_->repository_for_push(name);
    auto tags = registry_->repository_tags(name);
    return tags.count("from") ? tags.at("from") : "";
  }
  fs::path root_;
  Timestamp now_ = Timestamp(std::chrono::milliseconds(1'700'000'000'123));
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTemplatesTest, TheLongestPrefixFollowedBySlashWinsAndRootTakesTheRest) {
  registry_->create_creation_template(push_template("ROOT", "root"));
  registry_->create_creation_template(push_template("prod", "prod"));
  registry_->create_creation_template(push_template("prod/team/", "team"));
  EXPECT_EQ(created_from("prod/team/app"), "team");
  EXPECT_EQ(created_from("prod/teams/app"), "prod");
  EXPECT_EQ(created_from("prod/team"), "prod");
  EXPECT_EQ(created_from("prod"), "root");
  EXPECT_EQ(created_from("production/app"), "root");
}

TEST_F(RegistryTemplatesTest, ACreatedRepositoryCarriesEveryTemplateSetting) {
  CreationTemplate t = push_template("svc", "svc");
  t.tag_mutability = "IMMUTABLE";
  t.encryption_type = "KMS";
  t.kms_key = "arn:aws:kms:us-east-1:000000000000:key/abc";
  t.lifecycle_policy = std::string(kLifecycle);
  t.repository_policy = R"({"Version":"2012-10-17","Statement":[]})";
  registry_->create_creation_template(t);
  const RepositoryInfo info = registry_->repository_for_push("svc/api");
  EXPECT_EQ(info.name, "svc/api");
  EXPECT_EQ(info.tag_mutability, "IMMUTABLE");
  EXPECT_EQ(info.encryption_type, "KMS");
  EXPECT_EQ(info.kms_key, t.kms_key);
  EXPECT_FALSE(info.scan_on_push);
  EXPECT_EQ(info.created_at, std::chrono::time_point_cast<std::chrono::seconds>(now_));
  EXPECT_EQ(registry_->lifecycle_policy("svc/api").first, kLifecycle);
  EXPECT_EQ(registry_->repository_policy("svc/api"), *t.repository_policy);
  EXPECT_EQ(registry_->repository_tags("svc/api"),
            (std::map<std::string, std::string>{{"from", "svc"}}));
  // Found, not created, the second time.
  EXPECT_EQ(registry_->repository_for_push("svc/api").created_at, info.created_at);
}

TEST_F(RegistryTemplatesTest, WithoutAPushTemplateNothingIsCreated) {
  CreationTemplate replication = push_template("ROOT");
  replication.applied_for = {"REPLICATION", "PULL_THROUGH_CACHE"};
  registry_->create_creation_template(replication);
  EXPECT_FALSE(registry_->creates_on_push("app"));
  EXPECT_THROW(registry_->repository_for_push("app"), api::RepositoryNotFoundException);
  EXPECT_THROW(registry_->repository("app"), api::RepositoryNotFoundException);
}

TEST_F(RegistryTemplatesTest, CreatesOnPushOnlyForRepositoriesThatDoNotExist) {
  registry_->create_creation_template(push_template("ROOT"));
  EXPECT_TRUE(registry_->creates_on_push("app"));
  registry_->repository_for_push("app");
  EXPECT_FALSE(registry_->creates_on_push("app"));
}

TEST_F(RegistryTemplatesTest, APrefixWithItsSlashIsTheSameTemplate) {
  EXPECT_EQ(registry_->create_creation_template(push_template("prod/")).prefix, "prod");
  EXPECT_THROW(registry_->create_creation_template(push_template("prod")),
               api::TemplateAlreadyExistsException);
  EXPECT_EQ(registry_->delete_creation_template("prod/").prefix, "prod");
  EXPECT_THROW(registry_->delete_creation_template("prod"), api::TemplateNotFoundException);
}

TEST_F(RegistryTemplatesTest, UpdateKeepsCreatedAtAndMovesUpdatedAt) {
  const CreationTemplate created = registry_->create_creation_template(push_template("a"));
  now_ += std::chrono::seconds(5);
  const CreationTemplate updated = registry_->update_creation_template(
      "a", [](CreationTemplate& t) { t.description = "changed"; });
  EXPECT_EQ(updated.created_at, created.created_at);
  EXPECT_EQ(updated.updated_at, now_);
  std::optional<std::string> next;
  const auto all = registry_->describe_creation_templates({}, {}, next);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].description, "changed");
  EXPECT_THROW(registry_->update_creation_template("b", [](CreationTemplate&) {}),
               api::TemplateNotFoundException);
}

TEST_F(RegistryTemplatesTest, ARegistryHoldsAtMostTheQuotaOfTemplates) {
  for (std::size_t i = 0; i < kMaxCreationTemplates; ++i) {
    registry_->create_creation_template(push_template("t" + std::to_string(i)));
  }
  EXPECT_THROW(registry_->create_creation_template(push_template("ROOT")),
               api::LimitExceededException);
}

TEST_F(RegistryTemplatesTest, ConcurrentFirstPushesMakeOneRepository) {
  registry_->create_creation_template(push_template("race", "race"));
  constexpr int kPushers = 16;
  std::vector<std::thread> pushers;
  std::atomic<int> failures{0};
  for (int i = 0; i < kPushers; ++i) {
    pushers.emplace_back([&] {
      try {
        registry_->repository_for_push("race/app");
        registry_->initiate_upload("race/app");
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& t : pushers) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::optional<std::string> next;
  const auto repos = registry_->describe_repositories({}, {}, next);
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].name, "race/app");
}

TEST_F(RegistryTemplatesTest, TemplatesSurviveReopening) {
  CreationTemplate t = push_template("keep", "kept");
  t.resource_tags.emplace_back("second", "2");
  registry_->create_creation_template(t);
  registry_.reset();
  registry_ = std::make_unique<Registry>(root_, RegistrySettings{}, [this] { return now_; });
  std::optional<std::string> next;
  const auto all = registry_->describe_creation_templates({"keep"}, {}, next);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].resource_tags,
            (std::vector<std::pair<std::string, std::string>>{{"from", "kept"}, {"second", "2"}}));
  EXPECT_EQ(all[0].applied_for, std::vector<std::string>{"CREATE_ON_PUSH"});
}

}  // namespace
}  // namespace ecr::server

// Registry and BlobStore rules that the boto3 suite cannot reach directly:
// exact resume points, upload expiry with a fake clock, sweeping after a crash.
#include "server/registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

RepositoryInfo app() {
  RepositoryInfo info;
  info.name = "app";
  return info;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ecr-registry-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::unique_ptr<Registry> open() {
    RegistrySettings settings;
    settings.upload_expiry = std::chrono::hours(1);
    return std::make_unique<Registry>(root_, settings, [this] { return now_; });
  }
  fs::path root_;
  Timestamp now_ = Timestamp(std::chrono::milliseconds(1'700'000'000'000));
};

TEST_F(RegistryTest, UploadResumesFromLastValidByte) {
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  EXPECT_EQ(registry->upload_part("app", id, 0, 2, "abc"), 2);
  try {
    registry->upload_part("app", id, 5, 5, "x");
    FAIL() << "a gap was accepted";
  } catch (const InvalidLayerPartError& e) {
    EXPECT_EQ(e.last_valid_byte_received, 2);
    EXPECT_EQ(e.name(), "InvalidLayerPartException");
  }
  EXPECT_EQ(registry->upload_part("app", id, 3, 4, "de"), 4);
  std::ifstream received(root_ / "uploads" / id);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(received), {}), "abcde");
}

TEST_F(RegistryTest, IdleUploadsExpireWithTheirBytes) {
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  registry->upload_part("app", id, 0, 2, "abc");
  ASSERT_TRUE(fs::exists(root_ / "uploads" / id));
  now_ += std::chrono::hours(2);
  EXPECT_EQ(registry->expire_uploads(), 1u);
  EXPECT_FALSE(fs::exists(root_ / "uploads" / id));
  try {
    registry->upload_part("app", id, 3, 3, "d");
    FAIL() << "an expired upload took a part";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "UploadNotFoundException");
  }
}

TEST_F(RegistryTest, RestartSweepsUploadFilesWithoutASession) {
  open();
  fs::path orphan = root_ / "uploads" / "0f0f0f0f-0000-4000-8000-000000000000";
  std::ofstream(orphan) << "partial";
  fs::path temp = root_ / "blobs" / "sha256" / "abc.tmp123-0";
  std::ofstream(temp) << "partial";
  open();
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(temp));
}

TEST_F(RegistryTest, DigestMismatchLeavesNoBlob) {
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  registry->upload_part("app", id, 0, 2, "abc");
  try {
    registry->complete_upload("app", id, {Digest::of("abd").str()});
    FAIL() << "a wrong digest was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidLayerException");
  }
  EXPECT_FALSE(registry->blobs().contains(Digest::of("abd")));
  EXPECT_FALSE(registry->blobs().contains(Digest::of("abc")));
}

}  // namespace
}  // namespace ecr::server

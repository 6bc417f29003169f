// Registry and BlobStore rules that the boto3 suite cannot reach directly:
// exact resume points, upload expiry with a fake clock, sweeping after a crash,
// the running layer digest and its fallback to hashing the upload file.
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
    root_ =
        fs::temp_directory_path() / ("ecr-registry-test-" + std::to_string(std::random_device{}()));
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

// Every part but the last must be at least 5 MiB (LayerPartTooSmallException).
const std::string& first_part() {
  static const std::string part(5 * 1024 * 1024, 'a');
  return part;
}

TEST_F(RegistryTest, CompletionUsesTheDigestHashedAsPartsArrived) {
  const std::string& first = first_part();
  const auto end = static_cast<std::int64_t>(first.size());
  auto registry = open();
  registry->create_repository(app(), {});
  std::string id = registry->initiate_upload("app");
  registry->upload_part("app", id, 0, end - 1, first);
  EXPECT_THROW(registry->upload_part("app", id, end + 2, end + 2, "x"), InvalidLayerPartError);
  registry->upload_part("app", id, end, end + 1, "de");
  ASSERT_EQ(registry->upload_hashes().size(), 1u);
  const Digest whole = Digest::of(first + "de");
  try {
    registry->complete_upload("app", id, {Digest::of(first + "dx").str()});
    FAIL() << "a wrong digest was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidLayerException");
    EXPECT_NE(std::string(e.what()).find(whole.str()), std::string::npos) << e.what();
  }
  EXPECT_EQ(registry->complete_upload("app", id, {whole.str()}), whole.str());
  EXPECT_EQ(registry->upload_hashes().size(), 0u);
  std::ifstream blob(registry->blobs().blob_path(whole));
  EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(blob), {}) == first + "de");
}

TEST_F(RegistryTest, AfterARestartCompletionHashesTheUploadFile) {
  const std::string& first = first_part();
  const auto end = static_cast<std::int64_t>(first.size());
  std::string id;
  {
    auto registry = open();
    registry->create_repository(app(), {});
    id = registry->initiate_upload("app");
    registry->upload_part("app", id, 0, end - 1, first);
  }
  auto registry = open();
  registry->upload_part("app", id, end, end + 1, "de");
  EXPECT_EQ(registry->upload_hashes().size(), 0u);
  try {
    registry->complete_upload("app", id, {Digest::of("de").str()});
    FAIL() << "the digest of the last part alone was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidLayerException");
  }
  const Digest whole = Digest::of(first + "de");
  EXPECT_EQ(registry->complete_upload("app", id, {whole.str()}), whole.str());
  EXPECT_TRUE(registry->blobs().contains(whole));
}

TEST(UploadHashes, CoverTheBytesFromZeroInOrder) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  hashes.add("u", 3, "de");
  EXPECT_EQ(hashes.take("u", 5), Digest::of("abcde"));
  EXPECT_EQ(hashes.size(), 0u);
}

TEST(UploadHashes, APartNotWhereTheHashStopsDropsIt) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  hashes.add("u", 2, "Xde");  // rewrites byte 2: the hash no longer matches the file
  EXPECT_EQ(hashes.size(), 0u);
  EXPECT_EQ(hashes.take("u", 5), std::nullopt);
}

TEST(UploadHashes, ARewriteFromZeroStartsOver) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  hashes.add("u", 0, "xy");
  EXPECT_EQ(hashes.take("u", 2), Digest::of("xy"));
}

TEST(UploadHashes, TakeOfAnotherLengthGivesNothing) {
  UploadHashes hashes;
  hashes.add("u", 0, "abc");
  EXPECT_EQ(hashes.take("u", 4), std::nullopt);
  EXPECT_EQ(hashes.take("u", 3), std::nullopt);  // taken: the file is hashed instead
}

}  // namespace
}  // namespace ecr::server

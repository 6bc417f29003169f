// States a kill -9 leaves in a root, made by hand, and what the registry
// does with them after a restart (the crash loop, crash_loop_test.py, finds
// them at random; these pin each one).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "server/registry.hpp"
#include "server/registry_check.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

class CrashStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ecr-crash-state-test-" + std::to_string(std::random_device{}()));
    restart();
    RepositoryInfo info;
    info.name = "app";
    registry_->create_repository(info, {});
  }
  void TearDown() override {
    registry_.reset();
    fs::remove_all(root_);
  }
  void restart() {
    registry_.reset();
    RegistrySettings settings;
    settings.upload_expiry = std::chrono::hours(1);
    settings.blob_retention = std::chrono::seconds(0);
    registry_ = std::make_unique<Registry>(root_, settings, [this] { return now_; });
  }
  // An upload whose bytes are all in and whose completion was killed after
  // its file became the blob and before the session closed: the file is
  // renamed, the session row is still there.
  std::string completion_cut_short(const std::string& bytes) {
    const std::string id = registry_->initiate_upload("app");
    registry_->upload_part("app", id, 0, static_cast<std::int64_t>(bytes.size()) - 1, bytes);
    fs::rename(root_ / "uploads" / id, registry_->blobs().blob_path(Digest::of(bytes)));
    restart();
    return id;
  }

  fs::path root_;
  Timestamp now_ = Timestamp(std::chrono::milliseconds(1'700'000'000'000));
  std::unique_ptr<Registry> registry_;
};

TEST_F(CrashStateTest, GarbageCollectionKeepsTheBlobOfACompletionCutShort) {
  const std::string bytes = "a layer whose completion was killed";
  const std::string id = completion_cut_short(bytes);
  EXPECT_EQ(registry_->collect_garbage().blobs, 0u);
  ASSERT_TRUE(registry_->blobs().contains(Digest::of(bytes)));
  // The client's retry finds the blob in place and records the layer.
  EXPECT_EQ(registry_->complete_upload("app", id, {Digest::of(bytes).str()}),
            Digest::of(bytes).str());
  std::vector<LayerFailure> failures;
  EXPECT_TRUE(registry_->check_layers("app", {Digest::of(bytes).str()}, failures).at(0).available);
  EXPECT_TRUE(check_root(root_).findings.empty());
}

TEST_F(CrashStateTest, TheBlobOfACompletionCutShortGoesWhenItsSessionExpires) {
  const std::string bytes = "nobody came back for this one";
  completion_cut_short(bytes);
  now_ += std::chrono::hours(2);
  EXPECT_EQ(registry_->expire_uploads(), 1u);
  const GarbageCollected gc = registry_->collect_garbage();
  EXPECT_EQ(gc.blobs, 1u);
  EXPECT_EQ(gc.bytes, bytes.size());
  EXPECT_FALSE(registry_->blobs().contains(Digest::of(bytes)));
}

TEST_F(CrashStateTest, TheCheckCallsACompletionCutShortALeftover) {
  const std::string bytes = "checked between the kill and the retry";
  const std::string id = completion_cut_short(bytes);
  const CheckReport report = check_root(root_);
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(report.problems(), 0u);
  EXPECT_EQ(to_string(report.findings[0]),
            "leftover: blob " + Digest::of(bytes).str() + " (" + std::to_string(bytes.size()) +
                " bytes) that no repository holds yet: an upload session of its size may claim "
                "it (a retried CompleteLayerUpload)");
  EXPECT_EQ(to_string(report.findings[1]),
            "leftover: upload session " + id + " (repository app) of " +
                std::to_string(bytes.size()) +
                " bytes: its completion was cut short after its blob was committed (a retried "
                "CompleteLayerUpload finishes it)");
}

}  // namespace
}  // namespace ecr::server
